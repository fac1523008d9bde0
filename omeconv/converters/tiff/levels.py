"""Pixels of a TIFF series' levels, read region by region.

A level is read through tifffile's zarr interface (``aszarr``) by a picklable
:class:`LevelReader`, which the emitter reads regions from directly and which also backs the
level's dask array (one task per block, :func:`omeconv.model.reader_array`). A region made of
whole chunks of the file (strips or tiles) is read in one call; otherwise the file's chunks
are read in blocks of about :data:`_BLOCK_BYTES`, and the last blocks read are kept for the
regions that follow.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from contextvars import ContextVar
from itertools import count, product
from typing import TYPE_CHECKING, Any

from omeconv.converters.tiff.damage import reason
from omeconv.converters.tiff.files import open_remote
from omeconv.errors import CorruptSourceError, OmeconvError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import tifffile

__all__ = ["BY_IFD", "LevelReader", "Squeezed", "level_reader"]

#: Whether the levels being opened read each plane from its IFD (see ``TiffConverter.open``).
BY_IFD: ContextVar[bool] = ContextVar("by_ifd", default=False)
#: Bytes of one block of a level: the file's chunks read (decoded) together.
_BLOCK_BYTES = 4 * 2**20
#: Bytes of decoded blocks kept for the regions that follow, all levels and files together.
_CACHE_BYTES = 32 * 2**20


def level_reader(
    series: tifffile.TiffPageSeries, level: int, storage_options: dict[str, Any]
) -> LevelReader:
    """The reader of level ``level`` of ``series``."""
    import zarr

    array = zarr.open_array(series.aszarr(level=level, read_only=True), mode="r")
    tf = series.parent
    location = str(tf.filehandle.path)
    reader = LevelReader(location, tf.series.index(series), level, array, storage_options)
    reader.series_obj = series
    reader.by_ifd = BY_IFD.get()
    return reader


def _block(shape: Sequence[int], chunks: Sequence[int], itemsize: int) -> tuple[int, ...]:
    """The file's chunks (strips or tiles) grouped along the innermost axis they do not span
    into blocks of about :data:`_BLOCK_BYTES`: each block is decoded in one read."""
    block = list(chunks)
    partial = [i for i, (c, n) in enumerate(zip(chunks, shape, strict=True)) if c < n]
    if partial:
        axis = partial[-1]
        nbytes = max(1, math.prod(chunks) * itemsize)
        block[axis] = min(shape[axis], chunks[axis] * max(1, _BLOCK_BYTES // nbytes))
    return tuple(block)


class LevelReader:
    """Regions of one level of one series as numpy arrays; picklable (the file, a path or an
    fsspec URL, reopens where unpickled)."""

    def __init__(
        self, path: str, series: int, level: int, array: Any, storage_options: dict[str, Any]
    ) -> None:
        self.path, self.series, self.level = path, series, level
        self.storage_options = storage_options
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim
        self.block = _block(array.shape, array.chunks, array.dtype.itemsize)
        self._array: Any = array
        self._token = next(_TOKENS)
        self.series_obj: Any = None
        self.by_ifd = False

    def __getitem__(self, region: Any) -> Any:
        if self._array is None:
            import tifffile
            import zarr

            if "://" in self.path:
                fh = open_remote(self.path, self.storage_options)
                tf = tifffile.TiffFile(fh, name=self.path)
            else:
                tf = tifffile.TiffFile(self.path)
            self.series_obj = tf.series[self.series]
            store = self.series_obj.aszarr(level=self.level, read_only=True)
            self._array = zarr.open_array(store, mode="r")
        try:
            if self.by_ifd:
                return self._read_by_ifd(region)
            return self._read(region)
        except Exception as exc:
            if isinstance(exc, MemoryError | OmeconvError):
                raise
            raise self._damage(region, exc) from exc

    def _read(self, region: Any) -> Any:
        """``region``: read as is when made of whole chunks of the file, else cut from the
        decoded blocks holding it.

        Output chunks are often smaller than a block (an NDPI's JPEG strips span the whole
        width), so the last blocks read are kept (:data:`_BLOCKS`, bounded in bytes for the
        whole process): neighbouring regions reuse them instead of decoding the strips again.
        """
        bounds = _in_one_block(region, self.shape, self.block)
        if bounds is None:
            if _whole_chunks(region, self.shape, self._array.chunks):
                return self._array[region]
            return self._assemble(region)
        index = tuple(start // b for (start, _), b in zip(bounds, self.block, strict=True))
        corner = tuple(i * b for i, b in zip(index, self.block, strict=True))
        block = _BLOCKS.get((self._token, *index))
        if block is None:
            whole = tuple(slice(c, c + b) for c, b in zip(corner, self.block, strict=True))
            try:
                block = self._array[whole]
            except Exception as exc:
                if isinstance(exc, MemoryError | OmeconvError):
                    raise
                raise self._damage(whole, exc) from exc  # the IFD may be outside ``region``
            _BLOCKS.put((self._token, *index), block)
        return block[
            tuple(slice(a - c, b - c) for (a, b), c in zip(bounds, corner, strict=True))
        ].copy()

    def _assemble(self, region: Any) -> Any:
        """``region`` (plain slices, or anything zarr reads) copied together from the
        blocks it spans, each read (or found) as one block."""
        import numpy as np

        spans = _spans(region, self.shape)
        if spans is None:
            return self._array[region]
        out = np.empty([b - a for a, b in spans], dtype=self.dtype)
        edges = [range(a // k * k, b, k) for (a, b), k in zip(spans, self.block, strict=True)]
        for corner in product(*edges):
            part = tuple(
                slice(max(a, c), min(b, c + k))
                for (a, b), c, k in zip(spans, corner, self.block, strict=True)
            )
            where = tuple(
                slice(p.start - a, p.stop - a) for p, (a, _) in zip(part, spans, strict=True)
            )
            out[where] = self._read(part)
        return out

    def _read_by_ifd(self, region: Any) -> Any:
        """``region`` read plane by plane, each from the IFD the series lists for it."""
        import numpy as np
        import zarr

        level = self.series_obj.levels[self.level]
        ranges = self._plane_ranges(region, level)
        if ranges is None:
            return self._array[region]  # one plane, or planes after one IFD: as stored
        pages = list(level.pages)
        outer = tuple(self.shape[: len(ranges)])
        inner = region[len(ranges) :]
        planes = [
            np.asarray(zarr.open_array(pages[int(i)].aszarr(), mode="r")[inner])
            for i in (np.ravel_multi_index(idx, outer) for idx in product(*ranges))
        ]
        return np.stack(planes).reshape(*(len(r) for r in ranges), *planes[0].shape)

    def _damage(self, region: Any, exc: Exception) -> CorruptSourceError:
        """The error naming the file and the first IFD of ``region`` that cannot be read."""
        candidates = self._pages_in(region, self.series_obj.levels[self.level])
        for page in candidates:
            try:
                page.asarray()
            except Exception as page_exc:  # noqa: BLE001 - any decoding failure names the IFD
                return CorruptSourceError(
                    f"IFD {page.index}: cannot decode its pixels: {reason(page_exc)}",
                    path=str(page.parent.filehandle.path),
                )
        return CorruptSourceError(f"cannot read the pixels: {reason(exc)}", path=self.path)

    def _pages_in(self, region: Any, level: Any) -> list[Any]:
        """The IFDs holding ``region`` (every IFD of the level when that is not known)."""
        import numpy as np

        pages = list(level.pages)
        ranges = self._plane_ranges(region, level)
        if ranges is None:
            return pages
        outer = tuple(self.shape[: len(ranges)])
        return [pages[int(np.ravel_multi_index(idx, outer))] for idx in product(*ranges)]

    def _plane_ranges(self, region: Any, level: Any) -> list[range] | None:
        """The plane indices ``region`` spans on each axis outside the IFDs' own shape;
        None unless every plane of the level is one IFD and ``region`` is plain slices."""
        n = self.ndim - len(level.keyframe.shape)
        outer = tuple(self.shape[:n])
        if (
            n <= 0
            or tuple(self.shape[n:]) != tuple(level.keyframe.shape)
            or len(level.pages) != math.prod(outer)
            or not isinstance(region, tuple)
            or len(region) != self.ndim
            or not all(isinstance(s, slice) for s in region)
        ):
            return None
        return [range(*s.indices(size)) for s, size in zip(region[:n], outer, strict=True)]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None, "series_obj": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _token=next(_TOKENS))  # blocks of this process only


class Squeezed:
    """A reader's regions with some of its length-1 axes left out (to ``shape``)."""

    def __init__(self, reader: LevelReader, shape: Sequence[int]) -> None:
        self.reader, self.shape = reader, tuple(shape)
        self.dtype, self.ndim = reader.dtype, len(self.shape)
        kept, i = [], 0
        for n in reader.shape:
            if i < len(self.shape) and n == self.shape[i]:
                kept.append(True)
                i += 1
            elif n == 1:
                kept.append(False)
            else:
                raise ValueError(f"shape {reader.shape} does not squeeze to {self.shape}")
        if i != len(self.shape):
            raise ValueError(f"shape {reader.shape} does not squeeze to {self.shape}")
        self._kept = tuple(kept)
        self.block = tuple(b for b, k in zip(reader.block, kept, strict=True) if k)

    def __getitem__(self, region: tuple[slice, ...]) -> Any:
        parts = iter(region)
        full = tuple(next(parts) if k else slice(0, 1) for k in self._kept)
        block = self.reader[full]
        return block.reshape([n for n, k in zip(block.shape, self._kept, strict=True) if k])


def _in_one_block(
    region: Any, shape: Sequence[int], block: Sequence[int]
) -> list[tuple[int, int]] | None:
    """The ``(start, stop)`` of ``region`` on each axis when it is plain slices within one
    block; None otherwise."""
    spans = _spans(region, shape)
    if spans is None or any(a // b != (z - 1) // b for (a, z), b in zip(spans, block, strict=True)):
        return None
    return spans


def _spans(region: Any, shape: Sequence[int]) -> list[tuple[int, int]] | None:
    """The ``(start, stop)`` of ``region`` on each axis when it is plain, non-empty slices
    of step 1; None otherwise."""
    if not isinstance(region, tuple) or len(region) != len(shape):
        return None
    spans = []
    for s, n in zip(region, shape, strict=True):
        if not isinstance(s, slice):
            return None
        start, stop, step = s.indices(n)
        if step != 1 or stop <= start:
            return None
        spans.append((start, stop))
    return spans


def _whole_chunks(region: Any, shape: Sequence[int], chunks: Sequence[int]) -> bool:
    """Whether ``region`` starts and ends on chunk boundaries (or the array's end)."""
    spans = _spans(region, shape)
    return spans is not None and all(
        a % c == 0 and (b % c == 0 or b == n)
        for (a, b), c, n in zip(spans, chunks, shape, strict=True)
    )


class _BlockCache:
    """The blocks read last, up to ``limit`` bytes (at least the last one), shared by the
    threads and readers of a process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._blocks: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, index: tuple[int, ...]) -> Any:
        with self._lock:
            block = self._blocks.get(index)
            if block is not None:
                self._blocks.move_to_end(index)
            return block

    def put(self, index: tuple[int, ...], block: Any) -> None:
        with self._lock:
            self._blocks[index] = block
            total = sum(b.nbytes for b in self._blocks.values())
            while total > self.limit and len(self._blocks) > 1:
                total -= self._blocks.popitem(last=False)[1].nbytes


#: Decoded blocks of every level reader, keyed by ``(reader token, *block index)``.
_BLOCKS = _BlockCache(_CACHE_BYTES)
_TOKENS = count()
