"""Where output goes: local paths and URLs as zarr stores, and the overwrite policy.

A local output is written into a staging directory beside it (``<OUTPUT>.partial``, or
``.omeconv-<hash>.partial`` when that name would be too long) and renamed into place when
complete, so a crash never leaves a store at OUTPUT. One run at a time writes an OUTPUT: a
lock file beside it (``.<OUTPUT>.omeconv.lock``) is held for the whole run. An interrupted
run (Ctrl-C, SIGTERM, a kill) keeps the staging directory, and ``--resume`` continues in it
(see :mod:`omeconv.journal`); any other failure removes it.

``overwrite`` replaces only what omeconv can recognise as a Zarr store (its root holds
``zarr.json``, ``.zgroup``, ``.zattrs`` or ``.zarray``) or an empty folder, never a file, a
folder of other files, nor a folder that holds an INPUT; the old output is removed only
once the new one is complete. Remote outputs (URLs) are written in place when new (root
metadata last, so an unfinished store never looks like an image); an existing one is
replaced by writing ``<URL>.partial`` and moving it into place, root metadata last.

A local OUTPUT ending in ``.ozx`` is written as a directory store in the staging folder as
usual, then packed into one RFC-9 zip file (:func:`omeconv.ozx.pack`, which renames it into
place only once complete) and the staging folder removed. An INPUT ending in ``.ozx`` opens
as zarr's read-only ``ZipStore``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.errors import (
    AccessDeniedError,
    ConversionInterruptedError,
    DestinationError,
    DestinationExistsError,
    OmeconvError,
    StoreWriteError,
    UsageError,
    credential_problem,
    describe_os_error,
    from_os_error,
)
from omeconv.journal import JOURNAL_DIR
from omeconv.locks import exclusive_lock
from omeconv.zarr_io import NODE_KEYS

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = [
    "Destination",
    "folder_stores",
    "is_url",
    "join_location",
    "open_store",
    "remote_access_error",
    "series_folder",
    "staged_output",
    "staging_path",
]

PARTIAL_SUFFIX = ".partial"
#: Longest file name most file systems take, in bytes.
NAME_MAX = 255
_LOCAL_SCHEMES = ("file://", "local://")


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for ``scheme://`` locations other than ``file://``."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def _local_path(location: str | os.PathLike[str]) -> Path:
    text = str(location)
    for scheme in _LOCAL_SCHEMES:
        text = text.removeprefix(scheme)
    return Path(text)


def _local_target(location: str | os.PathLike[str]) -> Path | None:
    """The absolute local path of a path, ``file://`` or ``local://`` URL; None if remote."""
    text = str(location)
    if "://" in text and not text.startswith(_LOCAL_SCHEMES):
        return None
    return Path(os.path.abspath(_local_path(text)))


def open_store(
    location: str | os.PathLike[str],
    *,
    mode: str = "w",
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """A zarr store for a local path, a ``.ozx`` file (read only) or an fsspec URL
    (``s3://``, ``memory://`` …)."""
    from zarr.storage import FsspecStore, LocalStore, ZipStore

    from omeconv.ozx import is_ozx

    if is_ozx(location) and not is_url(location):
        if mode != "r":
            raise UsageError("a .ozx file is written from a finished store, not in place")
        from omeconv.zarr_io import run

        return run(ZipStore.open(_local_path(location), mode="r"))
    if is_url(location):
        return FsspecStore.from_url(
            str(location), storage_options=storage_options, read_only=mode == "r"
        )
    return LocalStore(_local_path(location), read_only=mode == "r")


def _beside(target: Path, prefix: str, suffix: str) -> Path:
    """``<prefix><name><suffix>`` beside ``target``; a short hashed name when too long."""
    name = f"{prefix}{target.name}{suffix}"
    if len(os.fsencode(name)) <= NAME_MAX:
        return target.with_name(name)
    digest = hashlib.sha1(os.fsencode(target.name), usedforsecurity=False).hexdigest()[:16]
    return target.with_name(f".omeconv-{digest}{suffix}")


def staging_path(location: str | os.PathLike[str]) -> Path | None:
    """Where a local output is written before it is complete (None for remote URLs)."""
    target = _local_target(location)
    return None if target is None else _beside(target, "", PARTIAL_SUFFIX)


def lock_path(location: str | os.PathLike[str]) -> Path | None:
    """The lock file held while a local output is written (None for remote URLs)."""
    target = _local_target(location)
    return None if target is None else _beside(target, ".", ".omeconv.lock")


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

    Refuses, touching nothing: an output that is, holds or lies inside one of ``inputs``;
    an existing ``location`` unless ``overwrite``; with ``overwrite``, anything at
    ``location`` that is not a Zarr store or an empty folder; a second run writing the
    same local output. With ``resume``, an existing staging directory is kept and written
    on; on Ctrl-C (or SIGTERM through the CLI) it is kept for a later ``resume``. A remote
    OUTPUT or INPUT that refuses its credentials is an :class:`AccessDeniedError` naming it.
    """
    try:
        with _staged_output(
            location,
            overwrite=overwrite,
            storage_options=storage_options,
            inputs=inputs,
            resume=resume,
        ) as out:
            yield out
    except Exception as exc:
        error = remote_access_error(exc, (location, *inputs))
        if error is None:
            raise
        raise error from exc


def remote_access_error(
    exc: BaseException, locations: Sequence[str | os.PathLike[str]]
) -> AccessDeniedError | None:
    """The one-line error for ``exc`` when it says a remote location refused the
    credentials (:func:`~omeconv.errors.credential_problem`), naming the URL of
    ``locations`` it concerns: of the scheme the error belongs to, the one whose bucket or
    host it mentions, else the first; None for any other error."""
    import re

    found = credential_problem(exc)
    if found is None:
        return None
    schemes, problem = found
    urls = [str(u) for u in locations if is_url(u)]
    urls = [u for u in urls if u.lower().startswith(schemes)] or urls
    if not urls:
        return AccessDeniedError(problem)
    said = " ".join(_said(e) for e in _chain(exc))

    def mentioned(url: str) -> bool:
        host = url.split("://", 1)[1].split("/", 1)[0]
        return re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w.-])", said) is not None

    return AccessDeniedError(problem, path=([u for u in urls if mentioned(u)] or urls)[0])


def _said(exc: BaseException) -> str:
    """``str(exc)``, or nothing where that fails (aiohttp's errors without a request)."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - only read for a bucket or host name
        return ""


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


@contextmanager
def _staged_output(
    location: str | os.PathLike[str],
    *,
    overwrite: bool,
    storage_options: dict[str, Any] | None,
    inputs: tuple[str | os.PathLike[str], ...],
    resume: bool,
) -> Iterator[Destination]:
    from omeconv.ozx import is_ozx

    final = str(location)
    target = _local_target(final)
    _refuse_overlap(final, inputs, storage_options)
    if target is None and is_ozx(final):
        raise UsageError("a .ozx OUTPUT must be a local path", path=final)
    if target is None:
        with _remote_output(final, overwrite=overwrite, storage_options=storage_options) as out:
            yield out
        return
    staging = _beside(target, "", PARTIAL_SUFFIX)
    blocking = next((p for p in target.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise StoreWriteError(f"cannot create output: {blocking} is not a folder", path=final)
    _refuse_existing(final, target, staging, overwrite=overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreWriteError(
            f"cannot create output: {describe_os_error(exc)}", path=final
        ) from exc
    busy = "another omeconv run is writing this output; wait for it to finish"
    with exclusive_lock(_beside(target, ".", ".omeconv.lock"), busy=busy, path=final):
        _refuse_existing(final, target, staging, overwrite=overwrite)  # again, now we hold it
        with _staging(final, staging, resume=resume, resumable=not is_url(final)) as out:
            yield out
        if is_ozx(target):
            _pack(staging, target)
            return
        try:
            _swap_into_place(staging, target)
        except OSError as exc:
            raise StoreWriteError(
                f"cannot move the output into place: {describe_os_error(exc)}", path=final
            ) from exc


@contextmanager
def _staging(final: str, staging: Path, *, resume: bool, resumable: bool) -> Iterator[Destination]:
    """Create (or, resuming, keep) ``staging`` and yield it; remove it on failure."""
    try:
        if staging.exists() and not (resume and staging.is_dir()):
            _remove(staging)
        (staging / JOURNAL_DIR).mkdir(parents=True, exist_ok=resume)  # marks it as ours
    except OSError as exc:
        raise StoreWriteError(
            f"cannot create output: {describe_os_error(exc)}", path=final
        ) from exc
    try:
        yield Destination(open_store(staging), final, str(staging))
    except KeyboardInterrupt as exc:
        if resumable:
            raise ConversionInterruptedError(
                f"interrupted; the unfinished output is kept in {staging.name}: run the same "
                "command again with --resume to finish it",
                path=final,
            ) from exc
        _remove(staging)
        raise ConversionInterruptedError("interrupted; OUTPUT was not changed", path=final) from exc
    except BaseException as exc:
        _remove(staging)
        error = _write_error(exc, final, str(staging))
        if error is None:
            raise
        raise error from exc
    _remove(staging / JOURNAL_DIR)


def _pack(staging: Path, target: Path) -> None:
    """Zip the finished store ``staging`` into ``target``, then remove ``staging``; on any
    failure (a kill included) no ``target`` is left, and the old one, if any, stays."""
    from omeconv.ozx import pack

    try:
        pack(staging, target)
    except BaseException:
        _remove(staging)
        raise
    _remove(staging)


def _write_error(exc: BaseException, final: str, staging: str) -> BaseException | None:
    """The one-line error to raise instead of ``exc`` (None: ``exc`` itself, naming ``final``).

    An OSError names the output (a file being written) or the input file concerned.
    """
    if isinstance(exc, DestinationError):
        exc.at(final)
    elif isinstance(exc, OSError) and not isinstance(exc, OmeconvError):
        name = "" if exc.filename is None else str(exc.filename)
        if not name or name.startswith(staging):
            return StoreWriteError(f"cannot write output: {describe_os_error(exc)}", path=final)
        return from_os_error(exc)
    return None


def _kind(path: Path, final: str) -> str | None:
    """What is at ``path``: None (nothing), ``store``, ``empty`` (folder) or what else it is."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreWriteError(
            f"cannot create output: {describe_os_error(exc)}", path=final
        ) from exc
    try:
        if stat.S_ISLNK(st.st_mode) and not path.exists():
            return "a broken symbolic link"
        if not path.is_dir():
            return "store" if _is_ozx_file(path) else "a file"
        if any((path / marker).is_file() for marker in NODE_KEYS):
            return "store"
        with os.scandir(path) as entries:
            return "empty" if next(entries, None) is None else "a folder of other files"
    except OSError as exc:
        raise StoreWriteError(f"cannot read {path}: {describe_os_error(exc)}", path=final) from exc


def _is_ozx_file(path: Path) -> bool:
    """Whether ``path`` is an OME-Zarr zip file (``.ozx`` whose comment states a version)."""
    from omeconv.errors import CorruptSourceError
    from omeconv.ozx import is_ozx, ome_version

    try:
        return is_ozx(path) and ome_version(path) is not None
    except CorruptSourceError:
        return False


def _refuse_existing(final: str, target: Path, staging: Path, *, overwrite: bool) -> None:
    """Refuse an OUTPUT (or staging folder) that must not be replaced."""
    kind = _kind(target, final)
    if kind in ("store", "empty") and not overwrite:
        raise DestinationExistsError("output exists; pass --overwrite to replace it", path=final)
    if kind not in (None, "store", "empty"):
        raise DestinationExistsError(
            f"output exists and is {kind}, not a Zarr store; --overwrite replaces only "
            "OME-Zarr stores: move it away or choose another OUTPUT",
            path=final,
        )
    ours = _kind(staging, final) in (None, "store", "empty") or (staging / JOURNAL_DIR).is_dir()
    if not ours:
        raise DestinationExistsError(
            f"{staging.name} exists and was not written by omeconv: move it away or choose "
            "another OUTPUT",
            path=final,
        )


def _refuse_overlap(
    final: str,
    inputs: tuple[str | os.PathLike[str], ...],
    storage_options: dict[str, Any] | None,
) -> None:
    """Refuse an output that is an input, lies inside one or holds one (symlinks resolved)."""
    out = _location_key(final, storage_options)
    for source in inputs:
        src = _location_key(str(source), storage_options)
        if out[0] != src[0]:
            continue
        for o, s in zip(out[1], src[1], strict=False):
            if o == s or _under(o, s):
                raise UsageError("output must not be the input or lie inside it", path=final)
            if _under(s, o):
                raise UsageError(
                    f"output must not hold the input ({source} lies inside it)", path=final
                )


def _location_key(
    location: str, storage_options: dict[str, Any] | None
) -> tuple[str, tuple[str, ...]]:
    """``(protocol, paths)`` to compare locations: a local path as given and resolved."""
    local = _local_target(location)
    if local is not None:
        return "file", (str(local), str(local.resolve()))
    import fsspec

    fs, path = fsspec.core.url_to_fs(location, **(storage_options or {}))
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol, (str(path).rstrip("/"),)


def _under(path: str, folder: str) -> bool:
    base = folder.rstrip("/" + os.sep)
    return path.startswith((base + "/", base + os.sep))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        _rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _rmtree(path: Path, *, attempts: int = 40) -> None:
    """Remove a folder that writes still finishing in zarr's I/O loop may briefly refill."""
    for _ in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        time.sleep(0.025)
        if not path.exists():
            return
    shutil.rmtree(path)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an old ``target`` is removed only after the swap.

    Where the system can (Linux ``renameat2``), old and new are exchanged in one atomic
    step, so no kill can leave OUTPUT missing; elsewhere the old one is first moved aside.
    """
    if not (target.exists() or target.is_symlink()):
        staging.rename(target)
        return
    if _exchange(staging, target):
        _remove(staging)
        return
    old = _beside(target, "", f".old-{os.getpid()}")
    target.rename(old)
    staging.rename(target)
    _remove(old)


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


# -- remote outputs ---------------------------------------------------------------------------


@contextmanager
def _remote_output(
    final: str, *, overwrite: bool, storage_options: dict[str, Any] | None
) -> Iterator[Destination]:
    """Write a new remote store in place, or replace an old one through ``<URL>.partial``."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(final, **(storage_options or {}))
    path = str(path).rstrip("/")
    if any(c in path for c in "*?[]"):
        # fsspec takes them for a pattern: a removal could match other stores
        raise UsageError(
            "a URL OUTPUT must not contain * ? [ or ] (fsspec reads them as a pattern); "
            "choose another name",
            path=final,
        )
    kind = _remote_kind(fs, path)
    if kind is None:
        try:
            yield Destination(open_store(final, storage_options=storage_options), final, final)
        except BaseException as exc:
            _remote_remove(fs, path)  # it did not exist: all of it is this run's
            if isinstance(exc, KeyboardInterrupt):
                raise ConversionInterruptedError(
                    "interrupted; the unfinished output was removed", path=final
                ) from exc
            error = _write_error(exc, final, path)
            if error is None:
                raise
            raise error from exc
        return
    if kind != "store":
        raise DestinationExistsError(
            f"output exists and is {kind}, not a Zarr store; --overwrite replaces only "
            "OME-Zarr stores: remove it or choose another OUTPUT",
            path=final,
        )
    if not overwrite:
        raise DestinationExistsError("output exists; pass --overwrite to replace it", path=final)
    if not _can_move(fs):
        raise UsageError(
            f"cannot replace a store on {fs.protocol} safely (it cannot move files): remove "
            "OUTPUT first, or write to another OUTPUT",
            path=final,
        )
    staging = path + PARTIAL_SUFFIX
    if _remote_kind(fs, staging) is not None:
        if not fs.exists(f"{staging}/{JOURNAL_DIR}"):
            raise DestinationExistsError(
                f"{final.rstrip('/')}{PARTIAL_SUFFIX} exists and was not written by omeconv: "
                "remove it or choose another OUTPUT",
                path=final,
            )
        _remote_remove(fs, staging)
    fs.pipe_file(f"{staging}/{JOURNAL_DIR}/staging", b"")  # marks it as ours
    staging_url = final.rstrip("/") + PARTIAL_SUFFIX
    try:
        yield Destination(
            open_store(staging_url, storage_options=storage_options), final, staging_url
        )
    except BaseException as exc:
        _remote_remove(fs, staging)
        if isinstance(exc, KeyboardInterrupt):
            raise ConversionInterruptedError(
                "interrupted; OUTPUT was not changed", path=final
            ) from exc
        error = _write_error(exc, final, staging)
        if error is None:
            raise
        raise error from exc
    _remote_remove(fs, f"{staging}/{JOURNAL_DIR}")
    try:
        _remote_replace(fs, staging, path)
    except OSError as exc:
        raise StoreWriteError(
            f"cannot move the output into place ({staging_url} holds the new store): "
            f"{describe_os_error(exc)}",
            path=final,
        ) from exc


def _remote_kind(fs: Any, path: str) -> str | None:
    if not fs.exists(path):
        return None
    if fs.isfile(path):
        return "a file"
    if any(fs.exists(f"{path}/{marker}") for marker in NODE_KEYS):
        return "store"
    return "a folder of other files" if fs.ls(path, detail=False) else None


def _can_move(fs: Any) -> bool:
    """Whether ``fs`` can copy files (fsspec's ``mv`` is a copy, then a removal)."""
    from fsspec.asyn import AsyncFileSystem
    from fsspec.spec import AbstractFileSystem

    if isinstance(fs, AsyncFileSystem):
        return type(fs)._cp_file is not AsyncFileSystem._cp_file
    return type(fs).cp_file is not AbstractFileSystem.cp_file


def _remote_remove(fs: Any, path: str) -> None:
    try:
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except FileNotFoundError:
        pass


def _remote_replace(fs: Any, staging: str, path: str) -> None:
    """Replace the store at ``path`` by the one at ``staging``.

    The old root metadata goes first, so the old store stops looking like one; the new
    root metadata comes last, so what is at ``path`` looks like a store only when whole.
    """
    old_roots = [p for p in fs.find(path) if p in {f"{path}/{m}" for m in NODE_KEYS}]
    if old_roots:
        fs.rm(old_roots)
    _remote_remove(fs, path)
    new = fs.find(staging)
    roots = {f"{staging}/{m}" for m in NODE_KEYS}
    for batch in ([p for p in new if p not in roots], [p for p in new if p in roots]):
        if batch:
            fs.mv(batch, [path + p[len(staging) :] for p in batch])
    _remote_remove(fs, staging)


# -- per-series outputs -----------------------------------------------------------------------


def join_location(folder: str | os.PathLike[str], name: str) -> str:
    """``name`` inside the local folder or URL ``folder``."""
    text = str(folder)
    if is_url(text):
        return f"{text.rstrip('/')}/{name}"
    return os.path.join(text, name)


@contextmanager
def series_folder(
    location: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> Iterator[None]:
    """The folder a per-series output writes its stores into, created if missing.

    Refused, touching nothing: a file, or a Zarr store (a folder of stores must not hide
    inside another store, nor replace one). A folder this block created and left empty
    (the first store failed) is removed again.
    """
    final = str(location)
    target = _local_target(final)
    if target is None:
        import fsspec

        try:
            fs, path = fsspec.core.url_to_fs(final, **(storage_options or {}))
            kind = _remote_kind(fs, str(path).rstrip("/"))
        except Exception as exc:
            error = remote_access_error(exc, [final])
            if error is None:
                raise
            raise error from exc
        if kind not in (None, "a folder of other files"):
            raise DestinationExistsError(_not_a_folder(kind), path=final)
        yield
        return
    kind = _kind(target, final)
    if kind not in (None, "empty", "a folder of other files"):
        raise DestinationExistsError(_not_a_folder(kind), path=final)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreWriteError(
            f"cannot create output: {describe_os_error(exc)}", path=final
        ) from exc
    try:
        yield
    except BaseException:
        if kind is None and target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        raise


def folder_stores(location: str | os.PathLike[str]) -> list[str]:
    """The stores a local folder holds (a per-series output), in series order; empty when
    ``location`` is a store itself, a URL, or holds none."""
    import re

    target = _local_target(location)
    if target is None or not target.is_dir() or _kind(target, str(location)) == "store":
        return []
    found = [
        entry
        for entry in target.iterdir()
        if not entry.name.startswith(".")
        and not entry.name.endswith(PARTIAL_SUFFIX)
        and (entry.is_dir() or entry.name.endswith(".ozx"))
        and _kind(entry, str(location)) == "store"
    ]

    def order(entry: Path) -> tuple[int, str]:
        index = re.match(r"\d+", entry.name)
        return (int(index[0]) if index else -1, entry.name)

    return [os.path.join(str(location), entry.name) for entry in sorted(found, key=order)]


def _not_a_folder(kind: str) -> str:
    what = "a Zarr store" if kind == "store" else kind
    return (
        f"output exists and is {what}; --layout per-series writes a folder of stores: "
        "choose another OUTPUT"
    )
