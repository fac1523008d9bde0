"""Where output goes: local paths and URLs as zarr stores, and the overwrite policy.

A local output is written into a staging directory beside it (``<OUTPUT>.partial``) and
renamed into place when complete, so a crash never leaves a store at OUTPUT, and
``--overwrite`` replaces an old output only once the new one is whole. An interrupted
run (Ctrl-C, or a kill) keeps the staging directory, and ``--resume`` continues in it
(see :mod:`omeconv.journal`); any other failure removes it. Remote outputs
(URLs) are written in place; their root metadata is written last, so an unfinished store
never looks like an OME-Zarr image.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.errors import (
    ConversionInterruptedError,
    DestinationError,
    DestinationExistsError,
    OmeconvError,
    StoreWriteError,
    UsageError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Destination", "is_url", "open_store", "staged_output", "staging_path"]

PARTIAL_SUFFIX = ".partial"


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for ``scheme://`` locations other than ``file://``."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def _local_path(location: str | os.PathLike[str]) -> Path:
    text = str(location)
    return Path(text.removeprefix("file://"))


def open_store(
    location: str | os.PathLike[str],
    *,
    mode: str = "w",
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """A zarr store for a local path or an fsspec URL (``s3://``, ``memory://`` …)."""
    from zarr.storage import FsspecStore, LocalStore

    if is_url(location):
        return FsspecStore.from_url(
            str(location), storage_options=storage_options, read_only=mode == "r"
        )
    return LocalStore(_local_path(location), read_only=mode == "r")


def _exists(location: str | os.PathLike[str], storage_options: dict[str, Any] | None) -> bool:
    if not is_url(location):
        return _local_path(location).exists()
    import fsspec

    fs, path = fsspec.core.url_to_fs(str(location), **(storage_options or {}))
    return bool(fs.exists(path)) and bool(fs.ls(path))


def _remove(location: str | os.PathLike[str], storage_options: dict[str, Any] | None) -> None:
    if not is_url(location):
        path = _local_path(location)
        if path.is_dir() and not path.is_symlink():
            _rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        return
    import fsspec

    fs, path = fsspec.core.url_to_fs(str(location), **(storage_options or {}))
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _rmtree(path: Path, *, attempts: int = 40) -> None:
    """Remove a folder that writes still finishing in zarr's I/O loop may briefly refill."""
    for _ in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        time.sleep(0.025)
        if not path.exists():
            return
    shutil.rmtree(path)


def staging_path(location: str | os.PathLike[str]) -> Path | None:
    """Where a local output is written before it is complete (None for URLs)."""
    if is_url(location):
        return None
    target = _local_path(location)
    return target.with_name(target.name + PARTIAL_SUFFIX)


@dataclass(frozen=True)
class Destination:
    """Where a write goes now (``store``) and where the result will live (``final``)."""

    store: Any
    final: str
    staging: str


@contextmanager
def staged_output(
    location: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    inputs: tuple[str | os.PathLike[str], ...] = (),
    resume: bool = False,
) -> Iterator[Destination]:
    """Yield a store to write into; move it to ``location`` when the block completes.

    Refuses an existing ``location`` unless ``overwrite``, and an output that is, or is
    inside, one of ``inputs``. With ``resume``, an existing staging directory is kept and
    written on; on Ctrl-C the staging directory is kept for a later ``resume``.
    """
    final = str(location)
    _refuse_inside_inputs(final, inputs)
    if _exists(final, storage_options) and not overwrite:
        raise DestinationExistsError("output exists; pass --overwrite to replace it", path=final)
    if is_url(final):
        if overwrite:
            _remove(final, storage_options)
        yield Destination(open_store(final, storage_options=storage_options), final, final)
        return
    target = _local_path(final)
    staging = target.with_name(target.name + PARTIAL_SUFFIX)
    blocking = next((p for p in target.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise StoreWriteError(f"cannot create output: {blocking} is not a folder", path=final)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if staging.exists() and not (resume and staging.is_dir()):
            _remove(staging, None)
        staging.mkdir(exist_ok=resume)
    except OSError as exc:
        raise StoreWriteError(f"cannot create output: {exc.strerror or exc}", path=final) from exc
    try:
        yield Destination(open_store(staging), final, str(staging))
    except KeyboardInterrupt as exc:
        raise ConversionInterruptedError(
            f"interrupted; the unfinished output is kept in {staging.name}: run the same "
            "command again with --resume to finish it",
            path=final,
        ) from exc
    except BaseException as exc:
        _remove(staging, None)
        if isinstance(exc, DestinationError):
            exc.at(final)
        elif isinstance(exc, OSError) and not isinstance(exc, OmeconvError):
            raise StoreWriteError(
                f"cannot write output: {exc.strerror or exc}", path=final
            ) from exc
        raise
    try:
        _swap_into_place(staging, target)
    except OSError as exc:
        raise StoreWriteError(
            f"cannot move the output into place: {exc.strerror or exc}", path=final
        ) from exc


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an old ``target`` is removed only after the swap.

    Where the system can (Linux ``renameat2``), old and new are exchanged in one atomic
    step, so no kill can leave OUTPUT missing; elsewhere the old one is first moved aside.
    """
    if not (target.exists() or target.is_symlink()):
        staging.rename(target)
        return
    if _exchange(staging, target):
        _remove(staging, None)
        return
    old = target.with_name(f"{target.name}.old-{os.getpid()}")
    target.rename(old)
    staging.rename(target)
    _remove(old, None)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


def _refuse_inside_inputs(final: str, inputs: tuple[str | os.PathLike[str], ...]) -> None:
    if is_url(final):
        return
    out = _local_path(final).resolve()
    for source in inputs:
        if is_url(source):
            continue
        src = _local_path(source).resolve()
        if out == src or src in out.parents:
            raise UsageError("output must not be the input or lie inside it", path=final)
