"""The one array-write path: create level arrays, then stream pixels into them.

One streaming pass reads each source region once, writes it to level 0 and feeds the same
block down to as many lower levels as fit a memory budget; deeper levels continue from the
deepest level written (a small array) rather than from the source. Every region task owns
whole chunks (or shards) at every level it writes, so no chunk is written twice and no
task reads what another writes.

Tasks write through zarr's public array API: each chunk (or shard) is assigned to its
region, so zarr encodes and stores it without reading anything back, for Zarr v2, v3 and
v3 shards alike. Tasks are picklable, so a ``distributed.Client`` can run them in worker
processes. Memory is bounded by the region budget, never by the image size.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice, product
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from omeconv.errors import (
    CorruptSourceError,
    OmeconvError,
    StoreWriteError,
    UsageError,
    describe_os_error,
)
from omeconv.pyramid import Method, downsample
from omeconv.stats import Stats

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import zarr

    from omeconv.journal import Journal
    from omeconv.progress import Progress

__all__ = [
    "Compression",
    "Encoding",
    "Runner",
    "Stats",
    "copy_values",
    "create_level_array",
    "default_chunks",
    "fill_levels",
    "plan_shards",
]

Compression = Literal["balanced", "fast", "small", "zstd", "lz4", "gzip", "none"]
#: Accepted ``compression`` values: the presets (``balanced`` is the default), then codecs.
COMPRESSIONS: tuple[Compression, ...] = ("balanced", "fast", "small", "zstd", "lz4", "gzip", "none")
Shuffle = Literal["byte", "bit", "none"]
SHUFFLES: tuple[Shuffle, ...] = ("byte", "bit", "none")
BloscName = Literal["zstd", "lz4"]
#: Each preset's Blosc codec and level, chosen on the measured front (bench/results/codecs.md).
PRESETS: dict[str, tuple[BloscName, int]] = {
    "fast": ("lz4", 5),
    "balanced": ("zstd", 2),
    "small": ("zstd", 5),
}
#: Blosc block size of the presets: as small as or smaller than automatic blocks, and faster.
PRESET_BLOCKSIZE = 256 * 2**10

#: Bytes of level-0 pixels one region task reads at most (when chunking allows).
REGION_BUDGET = 64 * 2**20
#: Target size of one chunk.
CHUNK_TARGET = 2 * 2**20
#: Target size of one shard.
SHARD_TARGET = 64 * 2**20
#: Chunks stored in one batch of writes (at most, and at most about ``PUT_BYTES`` of pixels),
#: and region tasks planned at once: what they hold while pending stays within the budget.
PUT_BATCH = 4096
PUT_BYTES = 16 * 2**20
TASK_BATCH = 10_000
#: More level-0 chunks than this, each smaller than ``MIN_CHUNK_BYTES``, is refused: writing
#: millions of tiny chunk files takes hours and helps no reader.
MAX_SMALL_CHUNKS = 1_000_000
MIN_CHUNK_BYTES = 64 * 2**10


def preset_shuffle(dtype: np.dtype) -> Shuffle:
    """The presets' shuffle for ``dtype``: byte shuffle for 16-bit integers and floats
    (intensities, where it measured smallest), bitshuffle for 8-bit, bool and integers of
    4 bytes or more (8-bit images and labels, where it measured smaller or faster)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc" or (dtype.kind in "iu" and dtype.itemsize == 2):
        return "byte"
    return "bit"


@dataclass(frozen=True)
class Encoding:
    """How arrays are chunked and compressed.

    ``compression`` is a preset (``fast``, ``balanced``, ``small``: Blosc codec, level and
    shuffle chosen per dtype) or a codec (``zstd``, ``lz4``: Blosc with byte shuffle;
    ``gzip``; ``none``). ``clevel`` is the level of the codecs, not of the presets;
    ``shuffle`` overrides the Blosc shuffle of either.
    """

    compression: Compression = "balanced"
    clevel: int = 5
    shards: bool = False
    zarr_format: Literal[2, 3] = 3
    shuffle: Shuffle | None = None

    def __post_init__(self) -> None:
        if self.compression not in COMPRESSIONS:
            raise UsageError(
                f"unknown compression {self.compression!r}; choose one of {', '.join(COMPRESSIONS)}"
            )
        if not 0 <= self.clevel <= 9:
            raise UsageError(f"compression level must be 0 to 9, not {self.clevel}")
        if self.shuffle is not None and self.shuffle not in SHUFFLES:
            raise UsageError(
                f"unknown shuffle {self.shuffle!r}; choose one of {', '.join(SHUFFLES)}"
            )
        if self.shards and self.zarr_format == 2:
            raise UsageError("sharding needs Zarr v3 (OME-Zarr 0.5)")

    def blosc(self, dtype: np.dtype) -> tuple[BloscName, int, Shuffle, int] | None:
        """Blosc ``(cname, clevel, shuffle, blocksize)`` for ``dtype``; None for gzip and none."""
        if self.compression in PRESETS:
            cname, clevel = PRESETS[self.compression]
            return cname, clevel, self.shuffle or preset_shuffle(dtype), PRESET_BLOCKSIZE
        if self.compression == "zstd" or self.compression == "lz4":
            return self.compression, self.clevel, self.shuffle or "byte", 0
        return None


def default_chunks(
    shape: Sequence[int], axis_names: Sequence[str], itemsize: int
) -> tuple[int, ...]:
    """About 2 MiB chunks: 1 in t/c, up to 256 in y/x, up to 64 in z (powers of two).

    Axis names are matched in any case (``Y``, ``X`` as some writers spell them).
    """
    names = [name.lower() for name in axis_names]
    chunks = []
    for n, name in zip(shape, names, strict=True):
        chunks.append(min(n, 256) if name in ("y", "x") else 1)
    if "z" in names:
        zi = names.index("z")
        plane = math.prod(chunks) * itemsize
        z = 1
        while z * 2 <= 64 and z * 2 * plane <= CHUNK_TARGET:
            z *= 2
        chunks[zi] = min(shape[zi], z)
    return tuple(max(1, c) for c in chunks)


def default_shards(shape: Sequence[int], chunks: Sequence[int], itemsize: int) -> tuple[int, ...]:
    """Shards of whole chunks near ``SHARD_TARGET``, grown from the last axis inwards."""
    chunks = _clamped(chunks, shape)
    shards = list(chunks)
    for axis in reversed(range(len(shape))):
        while shards[axis] < shape[axis] and math.prod(shards) * 2 * itemsize <= SHARD_TARGET:
            shards[axis] *= 2
    return tuple(min(s, _round_up(n, c)) for s, n, c in zip(shards, shape, chunks, strict=True))


def plan_shards(
    shapes: Sequence[Sequence[int]],
    factors: Sequence[Sequence[int]],
    chunks: Sequence[int],
    itemsize: int,
) -> list[tuple[int, ...]]:
    """Shard shapes of a pyramid's levels (``factors[j]``: level ``j`` from ``j - 1``).

    Level 0's shards are :func:`default_shards`; each lower level's are level 0's shard
    reduced by the level's cumulative factors (in whole chunks, within the level), so that
    one streaming region of a level-0 shard writes whole shards at every level. A level
    gets one shard only when it is no larger than that reduced shard.
    """
    base = default_shards(shapes[0], chunks, itemsize)
    out = [base]
    scale = [1] * len(base)
    for shape, step in zip(shapes[1:], factors[1:], strict=True):
        scale = [s * f for s, f in zip(scale, step, strict=True)]
        level_chunks = _clamped(chunks, shape)
        out.append(
            tuple(
                min(_round_up(-(-b // s), c), _round_up(n, c))
                for b, s, c, n in zip(base, scale, level_chunks, shape, strict=True)
            )
        )
    return out


def _clamped(chunks: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(max(1, min(c, n)) for c, n in zip(chunks, shape, strict=True))


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _codecs(encoding: Encoding, dtype: np.dtype) -> dict[str, Any]:
    """``create_array`` keyword arguments for the compressor chain."""
    import numcodecs
    from zarr.codecs import BloscCodec, GzipCodec

    if encoding.compression == "none":
        return {"compressors": None}
    if encoding.compression == "gzip":
        if encoding.zarr_format == 2:
            return {"compressors": numcodecs.GZip(level=encoding.clevel)}
        return {"compressors": GzipCodec(level=encoding.clevel)}
    blosc = encoding.blosc(dtype)
    assert blosc is not None
    cname, clevel, shuffle, blocksize = blosc
    if encoding.zarr_format == 2:
        flags = {"byte": numcodecs.Blosc.SHUFFLE, "bit": numcodecs.Blosc.BITSHUFFLE}
        return {
            "compressors": numcodecs.Blosc(
                cname=cname,
                clevel=clevel,
                shuffle=flags.get(shuffle, numcodecs.Blosc.NOSHUFFLE),
                blocksize=blocksize,
            )
        }
    names: dict[Shuffle, Literal["shuffle", "bitshuffle", "noshuffle"]] = {
        "byte": "shuffle",
        "bit": "bitshuffle",
        "none": "noshuffle",
    }
    return {
        "compressors": BloscCodec(
            cname=cname,
            clevel=clevel,
            shuffle=names[shuffle],
            typesize=dtype.itemsize,
            blocksize=blocksize,
        )
    }


def create_level_array(
    store: Any,
    path: str,
    *,
    shape: Sequence[int],
    dtype: np.dtype,
    chunks: Sequence[int],
    encoding: Encoding,
    dimension_names: Sequence[str],
    shards: Sequence[int] | None = None,
    attributes: dict[str, Any] | None = None,
) -> zarr.Array[Any]:
    """Create one empty level array at ``path`` with the encoding's codecs.

    ``shards`` applies when the encoding shards (default: :func:`default_shards`);
    ``attributes`` are the array's own (a source level's, kept when it is re-encoded).
    """
    import zarr

    chunks = _clamped(chunks, shape)
    kwargs: dict[str, Any] = _codecs(encoding, dtype)
    if encoding.zarr_format == 2:
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    else:
        kwargs["dimension_names"] = list(dimension_names)
        if encoding.shards:
            kwargs["shards"] = tuple(shards or default_shards(shape, chunks, dtype.itemsize))
    try:
        return zarr.create_array(
            store,
            name=path,
            shape=tuple(shape),
            dtype=dtype,
            chunks=chunks,
            fill_value=0,
            attributes=attributes,
            zarr_format=encoding.zarr_format,
            overwrite=True,
            **kwargs,
        )
    except OSError as exc:
        raise StoreWriteError(f"cannot create array {path!r}: {describe_os_error(exc)}") from exc


def copy_values(source: zarr.Array[Any], store: Any, path: str, *, encoding: Encoding) -> None:
    """Copy the values of ``source`` (any zarr array, e.g. a table column) to ``path``.

    The new array keeps the shape, chunks, data type, fill value and attributes; numbers get
    the encoding's compressor, other types (strings) zarr's default codecs. Values move in
    blocks of whole chunks of at most ``SHARD_TARGET`` bytes.
    """
    import zarr

    dtype = np.dtype(source.dtype)
    kwargs: dict[str, Any] = _codecs(encoding, dtype) if dtype.kind in "biufc" else {}
    if encoding.zarr_format == 2:
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    try:
        target = zarr.create_array(
            store,
            name=path,
            shape=source.shape,
            dtype=source.metadata.dtype,
            chunks=source.chunks,
            fill_value=source.metadata.fill_value,
            attributes=dict(source.attrs),
            zarr_format=encoding.zarr_format,
            overwrite=True,
            **kwargs,
        )
        block = default_shards(source.shape, source.chunks, max(1, dtype.itemsize))
        for region in _regions(source.shape, block):
            target[region] = source[region]
    except OSError as exc:
        raise StoreWriteError(f"cannot write array {path!r}: {describe_os_error(exc)}") from exc


class Runner:
    """Runs region tasks on local threads, or on a ``distributed.Client`` when given."""

    def __init__(
        self, *, workers: int | None = None, client: Any = None, bar: Progress | None = None
    ) -> None:
        self.workers = workers
        self.client = client
        self.bar = bar

    def add_total(self, nbytes: int) -> None:
        """``nbytes`` more work than the progress was started with (levels read back)."""
        if self.bar is not None and nbytes:
            self.bar.add_total(nbytes)

    def skip(self, nbytes: int) -> None:
        """Count ``nbytes`` of pixels an earlier run wrote (``--resume``) as done."""
        if self.bar is not None:
            self.bar.skip(nbytes)

    def run(self, tasks: Sequence[Callable[[], tuple[Stats, int]]]) -> Stats:
        """Run every task; merge their statistics and report their byte counts to the bar.

        The first failing task's error is raised once the tasks still running have stopped
        writing (the caller then removes a partial output); tasks not started are dropped.
        """
        total = Stats()
        if not tasks:
            return total
        if self.client is not None:
            from distributed import as_completed as done

            futures = [self.client.submit(task, pure=False) for task in tasks]
            finished: Iterator[Any] = done(futures, loop=self.client.loop)
        else:
            from concurrent.futures import as_completed

            pool = ThreadPoolExecutor(self.workers or os.cpu_count() or 1)
            futures = [pool.submit(task) for task in tasks]
            finished = as_completed(futures)
        try:
            for future in finished:
                stats, nbytes = future.result()
                total.merge(stats)
                if self.bar is not None:
                    self.bar.update(nbytes)
        finally:
            if self.client is None:
                pool.shutdown(wait=True, cancel_futures=True)
        return total


def _unit(array: zarr.Array[Any]) -> tuple[int, ...]:
    """The write unit of an array: its shard shape when sharded, else its chunk shape."""
    shards = getattr(array, "shards", None)
    return tuple(shards) if shards else tuple(array.chunks)


def _plan_groups(
    shapes: Sequence[tuple[int, ...]],
    units: Sequence[tuple[int, ...]],
    factors: Sequence[tuple[int, ...]],
    itemsize: int,
    budget: int,
) -> list[tuple[int, int, tuple[int, ...]]]:
    """Split levels into streaming groups ``(first, last, region shape at level first)``.

    The first group reads the source and writes levels ``0 .. last``; each later group
    reads level ``first`` back and writes ``first + 1 .. last``. A group grows while its
    region (whole write units at each of its levels) stays within ``budget`` bytes.
    """
    groups: list[tuple[int, int, tuple[int, ...]]] = []
    first = 0
    while True:
        last = first if not groups else first + 1
        while (
            last + 1 < len(shapes)
            and math.prod(_region(units, factors, first, last + 1, shapes[first])) * itemsize
            <= budget
        ):
            last += 1
        groups.append((first, last, _region(units, factors, first, last, shapes[first])))
        if last == len(shapes) - 1:
            return groups
        first = last


def _region(
    units: Sequence[tuple[int, ...]],
    factors: Sequence[tuple[int, ...]],
    first: int,
    last: int,
    shape: tuple[int, ...],
) -> tuple[int, ...]:
    """Smallest region at level ``first`` made of whole write units of levels first..last."""
    region = [1] * len(shape)
    scale = [1] * len(shape)
    for level in range(first, last + 1):
        if level > first:
            scale = [s * f for s, f in zip(scale, factors[level], strict=True)]
        region = [math.lcm(r, u * s) for r, u, s in zip(region, units[level], scale, strict=True)]
    return tuple(min(r, n) for r, n in zip(region, shape, strict=True))


def _regions(shape: Sequence[int], region: Sequence[int]) -> Iterator[tuple[slice, ...]]:
    starts = [range(0, n, r) for n, r in zip(shape, region, strict=True)]
    for corner in product(*starts):
        yield tuple(slice(c, min(c + r, n)) for c, r, n in zip(corner, region, shape, strict=True))


def _read(source: Any, region: tuple[slice, ...]) -> np.ndarray:
    """``region`` of ``source`` (a level's reader, or a dask array) as a contiguous array."""
    block = source[region]
    if hasattr(block, "compute"):
        from dask.local import get_sync

        block = block.compute(scheduler=get_sync)
    return np.ascontiguousarray(block)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def fill_levels(
    source: Any,
    targets: Sequence[zarr.Array[Any]],
    factors: Sequence[tuple[int, ...]],
    *,
    method: Method,
    channel_axis: int | None,
    runner: Runner,
    budget: int = REGION_BUDGET,
    journal: Journal | None = None,
) -> Stats:
    """Write ``source`` into ``targets[0]`` and each ``targets[j]`` as ``targets[j-1]``
    downsampled by ``factors[j]``; return the per-channel statistics of ``source``.

    ``source`` is a level's :attr:`~omeconv.model.Level.regions`: anything with ``shape``
    and ``dtype`` whose slices are numpy arrays or dask arrays.

    With a ``journal``, region tasks it marks done are skipped (their statistics come from
    it) and every task run is journaled once written (see :mod:`omeconv.journal`).
    """
    if tuple(source.shape) != tuple(targets[0].shape):
        raise ValueError(f"source shape {source.shape} != level 0 shape {targets[0].shape}")
    shapes = [tuple(t.shape) for t in targets]
    units = [_unit(t) for t in targets]
    itemsize = np.dtype(source.dtype).itemsize
    check_chunk_count(shapes[0], tuple(targets[0].chunks), itemsize)
    writers = [ChunkWriter.for_array(t) for t in targets]
    stats = Stats()
    groups = _plan_groups(shapes, units, factors, itemsize, budget)
    # Levels read back to make lower ones count as work too: progress covers every level.
    runner.add_total(itemsize * sum(math.prod(shapes[first]) for first, _, _ in groups[1:]))
    for n, (first, last, region) in enumerate(groups):
        reader: Any = source if n == 0 else targets[first]
        regions = _regions(shapes[first], region)
        group_stats = Stats()
        while batch := list(islice(regions, TASK_BATCH)):
            tasks: Sequence[Callable[[], tuple[Stats, int]]] = [
                _RegionTask(reader, writers, factors, first, last, sl, method, channel_axis, n == 0)
                for sl in batch
            ]
            if journal is not None:
                planned = tasks
                tasks, done = journal.pending(f"{targets[0].path}:{n}", tasks)
                group_stats.merge(done)
                if len(tasks) < len(planned):
                    runner.skip(_skipped_bytes(planned, tasks, itemsize))
            group_stats.merge(runner.run(tasks))
        if n == 0:
            stats = group_stats
    return stats


def _skipped_bytes(planned: Sequence[Any], pending: Sequence[Any], itemsize: int) -> int:
    """Bytes of the regions of the ``planned`` tasks that are not ``pending`` (journaled
    tasks wrap the planned ones as ``.task``)."""
    left = {id(getattr(t, "task", t)) for t in pending}
    sizes = [math.prod(s.stop - s.start for s in t.region) for t in planned if id(t) not in left]
    return itemsize * int(sum(sizes))


def check_chunk_count(shape: Sequence[int], chunks: Sequence[int], itemsize: int) -> None:
    """Refuse chunks so small and many that writing them is absurd (:class:`UsageError`)."""
    count = math.prod(-(-n // c) for n, c in zip(shape, chunks, strict=True))
    nbytes = math.prod(chunks) * itemsize
    if count > MAX_SMALL_CHUNKS and nbytes < MIN_CHUNK_BYTES:
        raise UsageError(
            f"chunks {tuple(chunks)} of {nbytes} bytes make {count} chunks at level 0; "
            f"use --chunks of at least {MIN_CHUNK_BYTES // 1024} KiB for an image this large "
            f"(the default is about {CHUNK_TARGET // 2**20} MiB)"
        )


@dataclass
class _RegionTask:
    """Read one region of level ``first``; write it (from the source only) and its reductions."""

    reader: Any
    writers: Sequence[ChunkWriter]
    factors: Sequence[tuple[int, ...]]
    first: int
    last: int
    region: tuple[slice, ...]
    method: Method
    channel_axis: int | None
    from_source: bool

    def __call__(self) -> tuple[Stats, int]:
        stats = Stats()
        try:
            block = _read(self.reader, self.region)
        except Exception as exc:
            if not self.from_source or isinstance(exc, OmeconvError | MemoryError):
                raise
            raise CorruptSourceError(f"cannot read the pixels: {_first_line(exc)}") from exc
        nbytes = block.nbytes
        if self.from_source:
            self.writers[self.first].write(self.region, block)
            offset = 0 if self.channel_axis is None else self.region[self.channel_axis].start
            stats.update(block, self.channel_axis, offset or 0)
        region = self.region
        for level in range(self.first + 1, self.last + 1):
            f = self.factors[level]
            block = downsample(block, f, self.method)
            region = tuple(
                slice(s.start // k, s.start // k + n)
                for s, k, n in zip(region, f, block.shape, strict=True)
            )
            self.writers[level].write(region, block)
        return stats, nbytes


@dataclass(frozen=True)
class ChunkWriter:
    """Writes blocks of whole write units of one level array through zarr's array API.

    Each write unit (a chunk, or a shard when the array is sharded) of a block is assigned
    to its region of the array (``AsyncArray.setitem``), a batch of units concurrently; the
    regions are whole units, so zarr encodes and stores them without reading anything back.
    The array is reopened with ``write_empty_chunks``, so every chunk is written, even one
    that equals the fill value: a missing chunk in an omeconv store always means lost data.
    The codec pipeline is the one zarr is configured with (``zarr.config``).
    """

    array: zarr.Array[Any]

    @classmethod
    def for_array(cls, array: zarr.Array[Any]) -> ChunkWriter:
        """The writer of ``array`` (a level array :func:`create_level_array` makes)."""
        return cls(array.with_config({"write_empty_chunks": True}))

    @property
    def unit(self) -> tuple[int, ...]:
        return _unit(self.array)

    def write(self, region: tuple[slice, ...], block: np.ndarray) -> None:
        """Store ``block``, which starts on a write unit boundary at ``region``.

        Each unit is copied out of ``block`` to be contiguous here, in the caller's thread,
        and units go to zarr in batches of about :data:`PUT_BYTES`: the copies are made in
        parallel, not on zarr's event loop, and no more than a batch of them is held.
        """
        starts = [s.start or 0 for s in region]
        items: list[tuple[tuple[slice, ...], np.ndarray]] = []
        pending = 0
        for corner in product(
            *(range(0, n, u) for n, u in zip(block.shape, self.unit, strict=True))
        ):
            part = block[tuple(slice(c, c + u) for c, u in zip(corner, self.unit, strict=True))]
            where = tuple(
                slice(s + c, s + c + n) for s, c, n in zip(starts, corner, part.shape, strict=True)
            )
            items.append((where, np.ascontiguousarray(part)))
            pending += part.nbytes
            if len(items) == PUT_BATCH or pending >= PUT_BYTES:
                self._put(items)
                items, pending = [], 0
        self._put(items)

    def _put(self, items: list[tuple[tuple[slice, ...], np.ndarray]]) -> None:
        import asyncio

        from omeconv.zarr_io import run

        if not items:
            return
        array = self.array.async_array

        async def put_all() -> None:
            # Let every write finish before raising, so none lands after a cleanup.
            results = await asyncio.gather(
                *(array.setitem(where, part) for where, part in items), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result

        try:
            run(put_all())
        except OSError as exc:
            problem = describe_os_error(exc)
            raise StoreWriteError(
                f"writing {self.array.path or 'the array'} failed: {problem}"
            ) from exc
