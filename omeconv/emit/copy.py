"""Copy a Zarr v2 array's encoded chunks into a Zarr v3 array, without decoding them.

:func:`v3_array_document` maps the v2 metadata (``.zarray``) to a v3 ``zarr.json`` whose
codec chain reads the very same chunk bytes: ``order: "F"`` becomes a ``transpose`` codec,
filters and the compressor become their v3 codecs (zarr's ``numcodecs.*`` wrappers where
Zarr v3 has no core codec), the dtype's byte order goes into the ``bytes`` codec, and a
``null`` fill value becomes the dtype's zero. Object arrays of ``vlen-utf8`` strings (as in
AnnData tables) become the ``string`` data type with the ``vlen-utf8`` codec, which reads the
same bytes. What cannot be mapped raises
:class:`~omeconv.errors.UpgradeError` before anything is written.

:func:`copy_array` writes that document and copies every chunk: local to local with
``shutil.copyfile`` in threads, any other pair of stores through the zarr store API.
Chunk keys move from the v2 encoding (``1.0.3`` or ``1/0/3``) to the v3 default (``c/1/0/3``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from omeconv.errors import StoreWriteError, UpgradeError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["array_v2_document", "copy_array", "v3_array_document"]

#: Threads copying chunk files (I/O bound).
COPY_THREADS = 16
_V2_METADATA = frozenset({".zarray", ".zattrs", ".zgroup", ".zmetadata"})
_CORE_COMPRESSORS = ("blosc", "zstd", "gzip")
_SHUFFLE = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle", -1: "shuffle"}
#: v2 object codecs (the first filter of an object array) → Zarr v3 data type of that name.
_OBJECT_TYPES = {"vlen-utf8": "string", "vlen-bytes": "variable_length_bytes"}


def array_v2_document(array: Any) -> dict[str, Any]:
    """The raw ``.zarray`` document of a zarr v2 array, plus its ``.zattrs`` as ``attributes``."""
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    store, path = array.store_path.store, array.store_path.path
    docs = {}
    for name in (".zarray", ".zattrs"):
        key = f"{path}/{name}" if path else name
        raw = sync(store.get(key, prototype=default_buffer_prototype()))
        docs[name] = {} if raw is None else json.loads(raw.to_bytes())
    if not docs[".zarray"]:
        raise UpgradeError(f"array {path!r} has no .zarray")
    return {**docs[".zarray"], "attributes": docs[".zattrs"]}


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
    _check_codecs(doc, where)
    return doc


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


def _check_codecs(doc: dict[str, Any], where: str) -> None:
    """Let zarr parse ``doc`` so a chain it cannot read fails before anything is written."""
    import warnings

    from zarr.core.metadata.v3 import ArrayV3Metadata

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ArrayV3Metadata.from_dict(json.loads(json.dumps(doc)))
    except (TypeError, ValueError, KeyError) as exc:
        raise UpgradeError(f"{where}: the v2 encoding does not map to Zarr v3: {exc}") from exc


def copy_array(
    source: Any,
    dest_store: Any,
    path: str,
    *,
    dimension_names: Sequence[str] | None,
    threads: int = COPY_THREADS,
) -> int:
    """Copy the v2 array ``source`` to ``path`` in ``dest_store`` as a v3 array; return bytes copied.

    Chunks are written first, ``zarr.json`` last.
    """
    where = str(source.store_path)
    doc = v3_array_document(
        array_v2_document(source), dimension_names=dimension_names, keep_v2_keys=False, where=where
    )
    separator = _separator(source)
    ndim = len(doc["shape"])
    src_root = _local_root(source.store_path.store)
    dst_root = _local_root(dest_store)
    if src_root is not None and dst_root is not None:
        nbytes = _copy_local(
            src_root / source.store_path.path, dst_root / path, separator, ndim, threads
        )
    else:
        nbytes = _copy_store(source.store_path, dest_store, path, separator, ndim)
    _put(dest_store, f"{path}/zarr.json" if path else "zarr.json", doc)
    return nbytes


def _separator(source: Any) -> str:
    """The dimension separator of a zarr v2 array's chunk keys."""
    return str(getattr(source.metadata, "dimension_separator", None) or ".")


def _local_root(store: Any) -> Path | None:
    from zarr.storage import LocalStore

    return Path(store.root) if isinstance(store, LocalStore) else None


def _new_key(key: str, separator: str, ndim: int) -> str | None:
    """``1.0.3`` (or ``1/0/3``) → ``c/1/0/3``; ``None`` for keys that are not chunks."""
    parts = key.split(separator) if separator != "/" else key.split("/")
    if ndim == 0:
        return "c" if key == "0" else None
    if len(parts) != ndim or not all(p.isdigit() for p in parts):
        return None
    return "c/" + "/".join(parts)


def _local_chunk_keys(root: Path, separator: str, ndim: int) -> list[str]:
    if separator != "/" or ndim <= 1:
        with os.scandir(root) as entries:
            return [e.name for e in entries if e.is_file() and e.name not in _V2_METADATA]
    keys: list[str] = []
    for dirpath, _dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        depth = 0 if rel == "." else rel.count(os.sep) + 1
        if depth != ndim - 1:
            continue
        prefix = rel.replace(os.sep, "/")
        keys.extend(f"{prefix}/{f}" for f in files)
    return keys


def _copy_local(src: Path, dst: Path, separator: str, ndim: int, threads: int) -> int:
    keys = [(k, _new_key(k, separator, ndim)) for k in _local_chunk_keys(src, separator, ndim)]
    pairs = [(src / k, dst / n) for k, n in keys if n is not None]
    for parent in sorted({d.parent for _, d in pairs}):
        parent.mkdir(parents=True, exist_ok=True)
    dst.mkdir(parents=True, exist_ok=True)

    def one(pair: tuple[Path, Path]) -> int:
        shutil.copyfile(pair[0], pair[1])
        return pair[1].stat().st_size

    try:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            return sum(pool.map(one, pairs, chunksize=max(1, len(pairs) // (threads * 8) or 1)))
    except OSError as exc:
        raise StoreWriteError(f"copying chunks to {dst} failed: {exc}", path=dst) from exc


def _copy_store(source_path: Any, dest_store: Any, path: str, separator: str, ndim: int) -> int:
    import asyncio

    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    store, prefix = source_path.store, source_path.path
    prototype = default_buffer_prototype()

    async def run() -> int:
        keys: list[str] = [k async for k in store.list_prefix(f"{prefix}/" if prefix else "")]
        start = len(prefix) + 1 if prefix else 0
        limit = asyncio.Semaphore(COPY_THREADS * 4)

        async def one(key: str) -> int:
            new = _new_key(key[start:], separator, ndim)
            if new is None:
                return 0
            async with limit:
                buffer = await store.get(key, prototype=prototype)
                if buffer is None:
                    return 0
                await dest_store.set(f"{path}/{new}" if path else new, buffer)
                return len(buffer)

        return sum(await asyncio.gather(*(one(k) for k in keys)))

    return int(sync(run()))


def _put(store: Any, key: str, doc: dict[str, Any]) -> None:
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    data = json.dumps(doc, indent=2, allow_nan=False).encode()
    sync(store.set(key, default_buffer_prototype().buffer.from_bytes(data)))
