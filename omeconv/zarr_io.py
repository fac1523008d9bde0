"""Keys and bytes of zarr stores, synchronously: the one place omeconv calls zarr's async store API.

zarr-python 3's :class:`zarr.abc.store.Store` is asynchronous, and its stores (``FsspecStore``
above all) are bound to zarr's own event loop, so their coroutines must run there.
``zarr.core.sync.sync`` is how zarr itself does that; it is not public API, so it is imported
here only, and ``pyproject.toml`` bounds zarr to the versions the tests run on. Everything else
in omeconv reads and writes stores through these functions or zarr's public array API (the one
other ``zarr.core`` import, zarr's v3 array metadata class, is in :mod:`omeconv.emit.chunk_copy`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from omeconv.errors import CorruptSourceError

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from zarr.abc.store import Store

_T = TypeVar("_T")

#: Keys whose presence makes a folder a Zarr node: v3 metadata, a v2 group, its attributes,
#: a v2 array.
NODE_KEYS = ("zarr.json", ".zgroup", ".zattrs", ".zarray")
#: Every metadata key of a node (consolidated v2 metadata too): the rest are chunks or files.
METADATA_KEYS = frozenset({*NODE_KEYS, ".zmetadata"})
#: Size requests in flight at once when a prefix is measured.
_BATCH = 1000

__all__ = [
    "METADATA_KEYS",
    "NODE_KEYS",
    "exists",
    "join",
    "list_dir",
    "read_bytes",
    "read_json",
    "read_jsons",
    "run",
    "stored_sizes",
    "write_bytes",
]


def join(*parts: str) -> str:
    """The store path of ``parts`` joined by ``/`` (empty parts and outer slashes dropped)."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine of a zarr store on zarr's event loop and return its result."""
    from zarr.core.sync import sync

    return sync(coroutine)


def read_bytes(store: Store, key: str) -> bytes | None:
    """The value at ``key``, None when absent."""
    from zarr.buffer import default_buffer_prototype

    buffer = run(store.get(key, prototype=default_buffer_prototype()))
    return None if buffer is None else bytes(buffer.to_bytes())


def read_json(store: Store, key: str) -> dict[str, Any] | None:
    """The JSON object at ``key``, None when absent; :class:`CorruptSourceError` if not one."""
    return _json_object(key, read_bytes(store, key))


def read_jsons(store: Store, keys: list[str]) -> list[dict[str, Any] | None]:
    """:func:`read_json` of each of ``keys``, asked concurrently."""
    from zarr.buffer import default_buffer_prototype

    async def values() -> list[Any]:
        import asyncio

        prototype = default_buffer_prototype()
        return list(await asyncio.gather(*(store.get(k, prototype=prototype) for k in keys)))

    return [
        _json_object(key, None if buffer is None else bytes(buffer.to_bytes()))
        for key, buffer in zip(keys, run(values()), strict=True)
    ]


def _json_object(key: str, raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise CorruptSourceError(f"{key} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise CorruptSourceError(f"{key} is not a JSON object")
    return doc


def write_bytes(store: Store, key: str, data: bytes) -> None:
    """Store ``data`` at ``key``."""
    from zarr.buffer import default_buffer_prototype

    run(store.set(key, default_buffer_prototype().buffer.from_bytes(data)))


def exists(store: Store, key: str) -> bool:
    """Whether ``key`` holds a value."""
    return bool(run(store.exists(key)))


def list_dir(store: Store, path: str) -> list[str]:
    """Names directly below ``path`` (keys and prefixes), sorted."""

    async def names() -> list[str]:
        return [name async for name in store.list_dir(path)]

    return sorted(run(names()))


def stored_sizes(store: Store, prefix: str) -> list[tuple[str, int]]:
    """``(key, size in bytes)`` of every key starting with ``prefix``."""

    async def sizes() -> list[tuple[str, int]]:
        import asyncio

        keys = [key async for key in store.list_prefix(prefix)]
        sizes: list[int] = []
        for start in range(0, len(keys), _BATCH):  # concurrent, in bounded batches
            sizes += await asyncio.gather(*map(store.getsize, keys[start : start + _BATCH]))
        return list(zip(keys, sizes, strict=True))

    return run(sizes())
