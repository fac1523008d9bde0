"""Copy a zarr array's encoded chunks into a Zarr v3 array, without decoding them.

A Zarr v2 source is mapped: :func:`v3_array_document` turns its metadata (``.zarray``) into a
v3 ``zarr.json`` whose codec chain reads the very same chunk bytes: ``order: "F"`` becomes a
``transpose`` codec, filters and the compressor become their v3 codecs (zarr's
``numcodecs.*`` wrappers where Zarr v3 has no core codec), the dtype's byte order goes into
the ``bytes`` codec, and a ``null`` fill value becomes the dtype's zero. Object arrays of
``vlen-utf8`` strings (as in AnnData tables) become the ``string`` data type with the
``vlen-utf8`` codec, which reads the same bytes. What cannot be mapped raises
:class:`~omeconv.errors.UpgradeError` before anything is written. A Zarr v3 source keeps its
``zarr.json`` (codecs, chunk grid, shards and chunk keys), only its dimension names may change.

:func:`copy_array` writes that document and copies every chunk (or shard): local to local
in the kernel, in threads (a reflink where the filesystem makes them, else
``copy_file_range``), any other pair of stores through the zarr store API.
With a :class:`ChunkLedger` (``--resume``), each chunk file copied in full is recorded with
its source's size and ``mtime_ns``; a resumed copy keeps only the chunk files whose record
matches their source as it is now, and copies the rest (changed sources included) again.
v2 chunk keys move to the v3 default (``1.0.3`` or ``1/0/3`` to ``c/1/0/3``); v3 keys stay.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from omeconv.errors import StoreWriteError, UpgradeError, describe_os_error
from omeconv.zarr_io import read_json, write_bytes
from omeconv.zarr_io import run as run_sync

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "ChunkLedger",
    "array_v2_document",
    "array_v3_document",
    "copy_array",
    "v3_array_document",
]

#: Threads copying local chunk files. The kernel does the copying; on 2 shared cores more
#: than 2 threads only cost more system time (ext4: 5.1 s against 3.3-3.8 s with 2 for 1.4 GB).
COPY_THREADS = max(1, min(4, os.cpu_count() or 1))
_CORE_COMPRESSORS = ("blosc", "zstd", "gzip")
_SHUFFLE = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle", -1: "shuffle"}
#: v2 object codecs (the first filter of an object array) → Zarr v3 data type of that name.
_OBJECT_TYPES = {"vlen-utf8": "string", "vlen-bytes": "variable_length_bytes"}


def array_v2_document(array: Any) -> dict[str, Any]:
    """The raw ``.zarray`` document of a zarr v2 array, plus its ``.zattrs`` as ``attributes``."""
    docs = {name: _document(array, name) for name in (".zarray", ".zattrs")}
    if not docs[".zarray"]:
        raise UpgradeError(f"array {array.store_path.path!r} has no .zarray")
    return {**docs[".zarray"], "attributes": docs[".zattrs"]}


def array_v3_document(array: Any, *, dimension_names: Sequence[str] | None) -> dict[str, Any]:
    """The raw ``zarr.json`` of a zarr v3 array, with ``dimension_names`` when given."""
    doc = _document(array, "zarr.json")
    if not doc:
        raise UpgradeError(f"array {array.store_path.path!r} has no zarr.json")
    encoding = doc.get("chunk_key_encoding")
    if not isinstance(encoding, dict) or encoding.get("name") not in ("default", "v2"):
        raise UpgradeError(f"array {array.store_path.path!r}: unknown chunk key encoding")
    if dimension_names is not None:
        doc["dimension_names"] = list(dimension_names)
    return doc


def _document(array: Any, name: str) -> dict[str, Any]:
    """The JSON document ``name`` beside the chunks of ``array`` (empty when absent)."""
    store, path = array.store_path.store, array.store_path.path
    return read_json(store, f"{path}/{name}" if path else name) or {}


def v3_array_document(
    v2: dict[str, Any],
    *,
    dimension_names: Sequence[str] | None,
    keep_v2_keys: bool,
    where: str = "",
) -> dict[str, Any]:
    """The v3 ``zarr.json`` of an array whose v2 metadata is ``v2`` (see :func:`array_v2_document`).

    ``keep_v2_keys`` keeps the chunk files where they are (``v2`` chunk key encoding with the
    array's separator); otherwise chunks use the default ``c/…`` keys.
    """
    try:
        dtype = np.dtype(
            v2["dtype"] if isinstance(v2["dtype"], str) else [tuple(f) for f in v2["dtype"]]
        )
    except (TypeError, ValueError) as exc:
        raise UpgradeError(f"{where}: cannot read dtype {v2.get('dtype')!r}: {exc}") from exc
    filters = list(v2.get("filters") or ())
    if dtype.kind == "O":
        data_type, serializer = _object_type(filters, where)
        filters, fill_value = [], v2.get("fill_value")
        fill_value = fill_value if data_type == "string" and isinstance(fill_value, str) else ""
    else:
        data_type, serializer = _data_type(dtype, where), _bytes_codec(dtype)
        fill_value = _fill_value(v2.get("fill_value"), dtype)
    shape = [int(n) for n in v2["shape"]]
    codecs: list[dict[str, Any]] = []
    if v2.get("order", "C") == "F" and len(shape) > 1:
        codecs.append(
            {"name": "transpose", "configuration": {"order": list(range(len(shape)))[::-1]}}
        )
    codecs.extend(_numcodecs(f, "array -> array", where) for f in filters)
    codecs.append(serializer)
    if v2.get("compressor") is not None:
        codecs.append(_compressor(v2["compressor"], dtype, where))
    separator = v2.get("dimension_separator") or "."
    encoding = (
        {"name": "v2", "configuration": {"separator": separator}}
        if keep_v2_keys
        else {"name": "default", "configuration": {"separator": "/"}}
    )
    doc: dict[str, Any] = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": data_type,
        "chunk_grid": {
            "name": "regular",
            "configuration": {"chunk_shape": [int(c) for c in v2["chunks"]]},
        },
        "chunk_key_encoding": encoding,
        "fill_value": fill_value,
        "codecs": codecs,
        "attributes": v2.get("attributes") or {},
    }
    if dimension_names is not None:
        doc["dimension_names"] = list(dimension_names)
    return _as_zarr_writes_it(doc, where)


def _data_type(dtype: np.dtype, where: str) -> str:
    native = dtype.newbyteorder("=")
    if native.kind == "b":
        return "bool"
    if native.kind in "iuf" or native.kind == "c":
        return str(native.name)
    raise UpgradeError(f"{where}: dtype {dtype} has no Zarr v3 equivalent that omeconv copies")


def _object_type(filters: list[dict[str, Any]], where: str) -> tuple[str, dict[str, Any]]:
    """Data type and array -> bytes codec of an object array, from its v2 object codec."""
    codec_id = filters[0].get("id") if filters else None
    if codec_id not in _OBJECT_TYPES or len(filters) > 1:
        names = [f.get("id") for f in filters]
        raise UpgradeError(
            f"{where}: object dtype with filters {names} has no Zarr v3 equivalent"
            " (only vlen-utf8 strings and vlen-bytes map)"
        )
    return _OBJECT_TYPES[codec_id], {"name": codec_id}


def _bytes_codec(dtype: np.dtype) -> dict[str, Any]:
    if dtype.itemsize == 1:
        return {"name": "bytes"}
    endian = "big" if dtype.byteorder == ">" else "little"
    return {"name": "bytes", "configuration": {"endian": endian}}


def _fill_value(value: Any, dtype: np.dtype) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None:
        return False if dtype.kind == "b" else 0
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind == "c" and not isinstance(value, list):
        return [value, 0]
    return value


def _compressor(config: dict[str, Any], dtype: np.dtype, where: str) -> dict[str, Any]:
    codec_id = config.get("id")
    if codec_id == "blosc":
        return {
            "name": "blosc",
            "configuration": {
                "cname": config.get("cname", "lz4"),
                "clevel": int(config.get("clevel", 5)),
                "shuffle": _SHUFFLE.get(int(config.get("shuffle", 1)), "shuffle"),
                "typesize": 1 if dtype.kind == "O" else dtype.itemsize,
                "blocksize": int(config.get("blocksize", 0)),
            },
        }
    if codec_id == "zstd":
        return {
            "name": "zstd",
            "configuration": {
                "level": int(config.get("level", 0)),
                "checksum": bool(config.get("checksum", False)),
            },
        }
    if codec_id == "gzip":
        return {"name": "gzip", "configuration": {"level": int(config.get("level", 1))}}
    return _numcodecs(config, "bytes -> bytes", where)


def _numcodecs(config: dict[str, Any], role: str, where: str) -> dict[str, Any]:
    """A numcodecs codec through zarr's ``numcodecs.<id>`` v3 wrapper, if zarr has one."""
    from zarr.registry import get_codec_class

    codec_id = config.get("id")
    name = f"numcodecs.{codec_id}"
    try:
        get_codec_class(name)
    except KeyError:
        raise UpgradeError(
            f"{where}: codec {codec_id!r} ({role}) has no Zarr v3 equivalent; "
            "re-encode with --compression instead"
        ) from None
    return {"name": name, "configuration": {k: v for k, v in config.items() if k != "id"}}


def _as_zarr_writes_it(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """``doc`` parsed by zarr's own array metadata class and serialised as zarr writes it, so
    a chain zarr cannot read fails before anything is written and the document is zarr's.

    zarr's public API creates arrays but does not turn a v2 encoding into a v3 one without
    re-encoding the chunks, so this uses ``zarr.core.metadata.v3`` (only here).
    """
    import warnings

    from zarr.buffer import default_buffer_prototype
    from zarr.core.metadata.v3 import ArrayV3Metadata

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metadata = ArrayV3Metadata.from_dict(json.loads(json.dumps(doc)))
            written = metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"]
    except (TypeError, ValueError, KeyError) as exc:
        raise UpgradeError(f"{where}: the v2 encoding does not map to Zarr v3: {exc}") from exc
    result: dict[str, Any] = json.loads(written.to_bytes())
    return result


class ChunkLedger:
    """The chunk files of one array copied in full, each with its source's identity
    (size, ``mtime_ns``), one JSON line each in ``path`` (a journal file of the output).

    A line is written only once its copy is complete, so a kill loses at most the record
    of finished copies (copied again), never trusts a partial one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._done: dict[str, tuple[int, int]] = {}
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                key, size, mtime = json.loads(line)
            except (ValueError, TypeError):
                continue  # the last line a kill cut short
            self._done[str(key)] = (int(size), int(mtime))
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a")

    @classmethod
    def for_array(cls, folder: Path, path: str) -> ChunkLedger:
        """The ledger of the array at ``path`` of the output, in the journal ``folder``."""
        return cls(folder / f"{hashlib.sha256(path.encode()).hexdigest()[:32]}.jsonl")

    def __contains__(self, key: str) -> bool:
        """Whether a copy of the chunk file ``key`` was recorded."""
        return key in self._done

    def copied(self, key: str, source: os.stat_result, dst: Path) -> bool:
        """Whether ``dst`` holds a complete copy of the chunk file ``key`` as it is now."""
        if self._done.get(key) != (source.st_size, source.st_mtime_ns):
            return False
        try:
            return dst.stat().st_size == source.st_size
        except FileNotFoundError:
            return False

    def record(self, key: str, source: os.stat_result) -> None:
        with self._lock:
            self._file.write(json.dumps([key, source.st_size, source.st_mtime_ns]) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def copy_array(
    source: Any,
    dest_store: Any,
    path: str,
    *,
    dimension_names: Sequence[str] | None,
    threads: int = COPY_THREADS,
    ledgers: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copy the v2 or v3 array ``source`` to ``path`` in ``dest_store`` as a v3 array, encoded
    chunks as they are; return bytes copied. Chunks are written first, ``zarr.json`` last.
    ``ledgers`` (a journal folder) records local chunk copies for ``--resume``; ``progress``
    is told the array's decoded bytes, a share per chunk file as it is copied.
    """
    share = _Share(int(source.nbytes), progress)
    where = str(source.store_path)
    ndim = len(source.shape)
    rename: Callable[[str], str | None]
    if source.metadata.zarr_format == 2:
        doc = v3_array_document(
            array_v2_document(source),
            dimension_names=dimension_names,
            keep_v2_keys=False,
            where=where,
        )
        rename = partial(_new_key, separator=_separator(source), ndim=ndim)
    else:
        doc = array_v3_document(source, dimension_names=dimension_names)
        rename = partial(_same_key, encoding=doc["chunk_key_encoding"], ndim=ndim)
    src_root = _local_root(source.store_path.store)
    dst_root = _local_root(dest_store)
    if src_root is not None and dst_root is not None:
        ledger = None if ledgers is None else ChunkLedger.for_array(ledgers, path)
        try:
            nbytes = _copy_local(
                src_root / source.store_path.path, dst_root / path, rename, threads, ledger, share
            )
        finally:
            if ledger is not None:
                ledger.close()
    else:
        nbytes = _copy_store(source.store_path, dest_store, path, rename, share)
    _put(dest_store, f"{path}/zarr.json" if path else "zarr.json", doc)
    share.finish()
    return nbytes


class _Share:
    """Reports ``total`` bytes to ``progress`` in equal shares, one per chunk file copied
    (absent chunks are made up for by :meth:`finish`)."""

    def __init__(self, total: int, progress: Callable[[int], None] | None) -> None:
        self.total = total
        self.progress = progress
        self.each = 0
        self.reported = 0
        self._lock = threading.Lock()

    def begin(self, files: int) -> None:
        self.each = self.total // files if files else 0

    def one(self) -> None:
        if self.progress is None or not self.each:
            return
        with self._lock:
            self.reported += self.each
        self.progress(self.each)

    def finish(self) -> None:
        if self.progress is not None and self.total > self.reported:
            self.progress(self.total - self.reported)
            self.reported = self.total


def _separator(source: Any) -> str:
    """The dimension separator of a zarr v2 array's chunk keys."""
    return str(getattr(source.metadata, "dimension_separator", None) or ".")


def _local_root(store: Any) -> Path | None:
    from zarr.storage import LocalStore

    return Path(store.root) if isinstance(store, LocalStore) else None


def _new_key(key: str, separator: str, ndim: int) -> str | None:
    """``1.0.3`` (or ``1/0/3``) → ``c/1/0/3``; ``None`` for keys that are not chunks."""
    parts = key.split(separator)
    if ndim == 0:
        return "c" if key == "0" else None
    if len(parts) != ndim or not all(p.isdigit() for p in parts):
        return None
    return "c/" + "/".join(parts)


def _same_key(key: str, encoding: dict[str, Any], ndim: int) -> str | None:
    """``key`` when it names a chunk under the v3 ``chunk_key_encoding``; else ``None``."""
    name = encoding.get("name")
    separator = (encoding.get("configuration") or {}).get("separator")
    separator = separator or ("/" if name == "default" else ".")
    if name == "default":
        if key == "c":
            return key if ndim == 0 else None
        if not key.startswith("c" + separator):
            return None
        key_parts = key[2:].split(separator)
    else:
        if ndim == 0:
            return key if key == "0" else None
        key_parts = key.split(separator)
    if len(key_parts) != ndim or not all(p.isdigit() for p in key_parts):
        return None
    return key


def _local_files(root: str) -> list[str]:
    """Paths of every file below ``root``, relative, ``/``-separated (as ``os.walk`` finds
    them: links to folders are not followed)."""
    keys: list[str] = []
    folders = [""]
    while folders:
        prefix = folders.pop()
        with os.scandir(f"{root}/{prefix}" if prefix else root) as entries:
            for entry in entries:
                if not entry.is_dir():
                    keys.append(prefix + entry.name)
                elif not entry.is_symlink():
                    folders.append(f"{prefix}{entry.name}/")
    return keys


def _make_folders(root: str, keys: Sequence[str]) -> None:
    """The folders of ``keys`` below ``root`` (which exists), parents first."""
    folders: set[str] = set()
    for key in keys:
        folder = key.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    for folder in sorted(folders):
        with contextlib.suppress(FileExistsError):
            os.mkdir(f"{root}/{folder}")


def _copy_local(
    src: Path,
    dst: Path,
    rename: Callable[[str], str | None],
    threads: int,
    ledger: ChunkLedger | None,
    share: _Share,
) -> int:
    """Copy the chunk files of ``src`` to their new keys below ``dst``: ``threads`` workers,
    each taking every ``threads``-th file, all stopping at the first error."""
    root, out = os.fspath(src), os.fspath(dst)
    jobs = [(f"{root}/{k}", f"{out}/{n}", n) for k in _local_files(root) if (n := rename(k))]
    share.begin(len(jobs))
    os.makedirs(out, exist_ok=True)
    _make_folders(out, [key for _, _, key in jobs])
    stop = threading.Event()
    refused: set[str] = set()

    def batch(part: Sequence[tuple[str, str, str]]) -> int:
        nbytes = 0
        for source, target, key in part:
            if stop.is_set():
                break
            nbytes += _copy_chunk(source, target, key, ledger, refused)
            share.one()
        return nbytes

    workers = max(1, min(threads, len(jobs)))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(batch, jobs[i::workers]) for i in range(workers)]
            try:
                return sum(f.result() for f in futures)
            finally:
                stop.set()
    except OSError as exc:
        raise StoreWriteError(
            f"copying chunks failed: {describe_os_error(exc)}", path=exc.filename or dst
        ) from exc


def _copy_chunk(
    source: str, target: str, key: str, ledger: ChunkLedger | None, refused: set[str]
) -> int:
    """Copy one chunk file unless the ledger has a complete copy of it; return its size."""
    if ledger is not None and key in ledger:
        st = os.stat(source)
        if ledger.copied(key, st, Path(target)):
            return st.st_size
    st = _copy_file(source, target, refused)
    if ledger is not None:
        ledger.record(key, st)
    return st.st_size


def _copy_file(source: str, target: str, refused: set[str]) -> os.stat_result:
    """Copy the file ``source`` to ``target`` in the kernel: a reflink where the filesystem
    makes them, else ``copy_file_range`` (``sendfile`` where that is refused); return the
    source's status as it was copied (``fstat`` of the file read)."""
    fd_in = os.open(source, os.O_RDONLY)
    try:
        st = os.fstat(fd_in)
        fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _copy_fd(fd_in, fd_out, st.st_size, refused)
        except OSError as exc:
            exc.filename = exc.filename or target
            raise
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)
    return st


#: What a filesystem or kernel says when it cannot make that kind of copy.
_CANNOT = frozenset(
    {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTTY, errno.ENOTSOCK}
)


def _copy_fd(fd_in: int, fd_out: int, size: int, refused: set[str]) -> None:
    """``size`` bytes of ``fd_in`` into the empty ``fd_out``, by the fastest way that works;
    a way the filesystem refuses goes into ``refused`` and is not tried again."""
    if "clone" not in refused:
        try:
            import fcntl  # POSIX only: not at import, so the package imports on Windows

            fcntl.ioctl(fd_out, _FICLONE, fd_in)
            return
        except ImportError:  # no fcntl (Windows)
            refused.add("clone")
        except OSError as exc:
            if exc.errno not in _CANNOT:
                raise
            refused.add("clone")
    for name, step in _KERNEL_COPIES:
        if name in refused:
            continue
        done = 0
        try:
            while done < size:
                n = step(fd_in, fd_out, size - done)
                if n == 0:
                    return  # the file shrank while being copied
                done += n
            return
        except OSError as exc:
            if exc.errno not in _CANNOT or done:
                raise
            refused.add(name)
    while block := os.read(fd_in, 1 << 20):
        os.write(fd_out, block)


def _sendfile(fd_in: int, fd_out: int, count: int) -> int:
    return os.sendfile(fd_out, fd_in, None, count)


#: The kernel's file-to-file copies this platform has, fastest first (Linux has both; macOS
#: and Windows have neither for files, and copy through Python).
_KERNEL_COPIES: tuple[tuple[str, Callable[[int, int, int], int]], ...] = tuple(
    (name, step)
    for name, step, needs in (
        ("range", lambda i, o, n: os.copy_file_range(i, o, n), "copy_file_range"),
        ("sendfile", _sendfile, "sendfile"),
    )
    if hasattr(os, needs) and sys.platform.startswith("linux")
)


#: ``FICLONE`` (``_IOW(0x94, 9, int)``): the Linux ioctl that makes ``fd_out`` share the
#: extents of ``fd_in`` (btrfs, XFS, bcachefs, ZFS); other filesystems refuse it.
_FICLONE = 0x40049409


def _copy_store(
    source_path: Any,
    dest_store: Any,
    path: str,
    rename: Callable[[str], str | None],
    share: _Share,
) -> int:
    import asyncio

    from zarr.buffer import default_buffer_prototype

    store, prefix = source_path.store, source_path.path
    prototype = default_buffer_prototype()

    async def run() -> int:
        keys: list[str] = [k async for k in store.list_prefix(f"{prefix}/" if prefix else "")]
        start = len(prefix) + 1 if prefix else 0
        share.begin(sum(rename(k[start:]) is not None for k in keys))
        limit = asyncio.Semaphore(COPY_THREADS * 4)

        async def one(key: str) -> int:
            new = rename(key[start:])
            if new is None:
                return 0
            async with limit:
                buffer = await store.get(key, prototype=prototype)
                if buffer is None:
                    return 0
                await dest_store.set(f"{path}/{new}" if path else new, buffer)
                share.one()
                return len(buffer)

        return sum(await asyncio.gather(*(one(k) for k in keys)))

    return int(run_sync(run()))


def _put(store: Any, key: str, doc: dict[str, Any]) -> None:
    write_bytes(store, key, json.dumps(doc, indent=2, allow_nan=False).encode())
