"""One process at a time: an exclusive, non-blocking lock held through a lock file.

``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows; neither is imported until a lock is
taken, so ``import omeconv`` works everywhere. The operating system releases the lock when
its holder dies (even by SIGKILL), so a lock file left by a killed run never blocks the next.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING

from omeconv.errors import StoreWriteError, UsageError, describe_os_error

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["exclusive_lock"]


@contextmanager
def exclusive_lock(lock_file: Path, *, busy: str, path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` for the block, then remove the file.

    A second holder is refused at once with :class:`UsageError` (``busy``, naming ``path``).
    A run that locked a file another run removed meanwhile locks the new file instead, so
    exactly one run holds the lock of the current file.
    """
    while True:
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreWriteError(
                f"cannot create the lock file {lock_file.name}: {describe_os_error(exc)}",
                path=path,
            ) from exc
        if not _try_lock(fd):
            os.close(fd)
            raise UsageError(busy, path=path)
        try:
            if os.fstat(fd).st_ino == os.stat(lock_file).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        try:
            lock_file.unlink(missing_ok=True)  # while locked: no other run holds this file
        except OSError:  # Windows cannot remove an open file: it is left, unlocked
            os.close(fd)
        else:
            os.close(fd)


def _try_lock(fd: int) -> bool:
    """Lock ``fd`` exclusively without waiting; False when another process holds it."""
    try:
        import fcntl
    except ImportError:
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
