"""Helpers shared by the vendor-format adapters (CZI, ND2, LIF, OIB, NDTiff, MRC/DV).

Each adapter wraps the reader made for its format; these helpers keep what they have in
common in one place: importing an optional reader (a one-line error naming the extra to
install), cheap magic-byte checks, one-line reasons, and building an :class:`Image` from
axis letters, per-axis sizes and channels.
"""

from __future__ import annotations

import importlib
import os
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from omeconv.errors import (
    CorruptSourceError,
    OmeconvError,
    SourceNotFoundError,
    UnsupportedSourceError,
)
from omeconv.model import Axis, Channel, Image, Level

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path
    from types import ModuleType

    import dask.array as da

__all__ = [
    "damaged",
    "GuardedReader",
    "Reopened",
    "check_file",
    "guarded",
    "head",
    "make_image",
    "reason",
    "require",
    "series_indices",
]


def require(module: str, extra: str, what: str, path: Any) -> ModuleType:
    """Import ``module``; when it is not installed, a one-line error naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UnsupportedSourceError(
            f"reading {what} files needs the {module} package: pip install 'omeconv[{extra}]'",
            path=path,
        ) from None


def head(source: Any, size: int = 512) -> bytes:
    """The first ``size`` bytes of the file ``source``; empty when it is no readable file."""
    if not isinstance(source, str | os.PathLike):
        return b""
    try:
        with open(source, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def reason(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when empty)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def damaged(
    path: Path, problem: str, errors: tuple[type[Exception], ...] = (Exception,)
) -> Iterator[None]:
    """Turn what a reader raises on a damaged file into one line, ``<problem>: <reason>``.

    Readers raise many kinds of exceptions on damaged files; omeconv's own errors pass as
    they are.
    """
    try:
        yield
    except OmeconvError:
        raise
    except errors as exc:
        raise CorruptSourceError(f"{problem}: {reason(exc)}", path=path) from exc


def check_file(path: Path, what: str) -> None:
    """Refuse a missing, unreadable or empty file in one line."""
    if not path.exists():
        raise SourceNotFoundError("no such file", path=path)
    if path.is_dir():
        raise SourceNotFoundError(f"is a directory, not a {what} file", path=path)
    if not os.access(path, os.R_OK):
        raise SourceNotFoundError("permission denied", path=path)
    if path.stat().st_size == 0:
        raise CorruptSourceError("empty file (0 bytes)", path=path)


def series_indices(count: int, series: int | None, path: Path, noun: str = "series") -> list[int]:
    """All indices below ``count``, or only ``series`` (a usage error when out of range)."""
    from omeconv.errors import UsageError

    if series is None:
        return list(range(count))
    if not 0 <= series < count:
        raise UsageError(
            f"--series {series} does not exist; the file has {count} {noun} (0 to {count - 1})",
            path=path,
        )
    return [series]


def make_image(
    name: str | None,
    data: da.Array,
    letters: str,
    path: Path,
    *,
    sizes: Mapping[str, tuple[float, str | None]] | None = None,
    channels: Sequence[Channel] = (),
    lower: Sequence[tuple[da.Array, int]] = (),
    downscale: tuple[str, dict[str, Any]] | None = None,
    translation: Mapping[str, float] | None = None,
) -> Image:
    """An image over ``data`` whose axes are the reader's ``letters`` (``TCZYXS`` …).

    Other letters of length 1 are dropped, longer ones become custom axes named by the
    letter in lower case (a CZI ``H`` gives ``h``); samples (``S``) become the channel axis,
    merged with ``C`` (C outermost) when both are present. Length-1 ``Z``, ``T``, ``C`` are
    kept unless that leaves more than the five axes NGFF allows. ``sizes`` maps NGFF axis
    names to ``(size, unit)``; axes without one get scale 1 and no unit. ``channels`` are
    kept only when there is one per index of the channel axis. ``lower`` are the file's own
    coarser levels (same letters), each with how many level-0 pixels one of its pixels spans
    in X and Y; ``downscale`` is how the file made them (NGFF ``type`` and ``metadata``).
    ``translation`` maps NGFF axis names to where the image lies (a stage position, in the
    axis' unit): level 0's translation, each coarser level's moved by half its growth of the
    pixel, as the emitter moves the levels it computes (none at all when it is all 0).
    """
    data, names = _ngff_axes(data, letters, path)
    known = dict(sizes or {})
    axes = tuple(Axis.named(n, known[n][1] if n in known else None) for n in names)
    scale = tuple(float(known[n][0]) if n in known else 1.0 for n in names)
    shift = None
    if translation and any(translation.values()):
        shift = tuple(float(translation.get(n, 0.0)) for n in names)
    levels = [Level(data=data, scale=scale, translation=shift)]
    for array, factor in lower:
        array, _ = _ngff_axes(array, letters, path)
        pairs = zip(scale, names, strict=True)
        level_scale = tuple(s * factor if n in ("x", "y") else s for s, n in pairs)
        moved = None
        if shift is not None:
            moved = tuple(
                t + (new - old) / 2 for t, old, new in zip(shift, scale, level_scale, strict=True)
            )
        levels.append(Level(data=array, scale=level_scale, translation=moved))
    count = int(data.shape[names.index("c")]) if "c" in names else 0
    kept = tuple(channels) if len(channels) == count else ()
    kind, how = downscale if downscale is not None else (None, None)
    return Image(
        name=name,
        axes=axes,
        levels=tuple(levels),
        channels=kept,
        downscale_type=kind,
        downscale_metadata=how,
    )


def _ngff_axes(data: da.Array, letters: str, path: Path) -> tuple[da.Array, list[str]]:
    """``data`` with unknown length-1 axes dropped and samples folded into channels."""
    from omeconv.errors import MetadataError

    letters = letters.upper()
    drop = [i for i, c in enumerate(letters) if c not in "TCZYXS" and data.shape[i] == 1]
    if drop:
        data = data.squeeze(axis=tuple(drop))
        letters = "".join(c for i, c in enumerate(letters) if i not in drop)
    if "S" in letters and "C" in letters:
        c, s = letters.index("C"), letters.index("S")
        order = [i for i in range(len(letters)) if i != s]
        order.insert(order.index(c) + 1, s)
        data = data.transpose(order)
        shape = list(data.shape)
        k = order.index(c)
        data = data.reshape((*shape[:k], shape[k] * shape[k + 1], *shape[k + 2 :]))
        letters = "".join(letters[i] for i in order if i != s)
    letters = letters.replace("S", "C")
    for letter in "ZTC":  # too many axes: drop the conventional ones of length 1
        if len(letters) > 5 and letter in letters and data.shape[letters.index(letter)] == 1:
            data = data.squeeze(axis=letters.index(letter))
            letters = letters.replace(letter, "")
    if len(letters) > 5:
        raise MetadataError(f"{len(letters)} dimensions ({letters}); NGFF allows 5", path=path)
    return data, [c.lower() for c in letters]


class GuardedReader:
    """Regions of an array-like whose read errors become one-line :class:`CorruptSourceError`.

    ``inner`` is anything with ``shape``, ``dtype`` and ``__getitem__`` (a memory map, a
    reader's lazy array, a dask array, computed here without a nested scheduler).
    """

    def __init__(self, inner: Any, path: Path, what: str) -> None:
        self.inner, self.path, self.what = inner, path, what
        self.shape = tuple(int(n) for n in inner.shape)
        self.dtype = inner.dtype
        self.ndim = len(self.shape)

    def __getitem__(self, region: Any) -> Any:
        import numpy as np

        base, post = _bounding(region, self.shape)
        try:
            block = self.inner[base]
            if hasattr(block, "compute"):
                block = block.compute(scheduler="synchronous")
            return np.asarray(block)[post]
        except Exception as exc:  # readers raise many kinds on damaged files
            raise CorruptSourceError(
                f"cannot read the {self.what} pixels: {reason(exc)}", path=self.path
            ) from exc


class Reopened:
    """Regions of an array a reader keeps open: opened at the first read with ``opener``
    (a module-level function ``path -> (handle, array)``), closed with this object;
    picklable (reopens where unpickled)."""

    def __init__(
        self, path: Path, opener: Callable[[Path], tuple[Any, Any]], shape: Any, dtype: Any
    ) -> None:
        self.path, self.opener = path, opener
        self.shape, self.dtype = tuple(int(n) for n in shape), dtype
        self._handle: Any = None
        self._array: Any = None
        self._lock = threading.Lock()

    def __getitem__(self, region: Any) -> Any:
        import numpy as np

        with self._lock:
            if self._handle is None:
                self._handle, self._array = self.opener(self.path)
            block = self._array[region]
            if hasattr(block, "compute"):  # a reader's dask array, read here and now
                return block.compute(scheduler="synchronous")
            return np.array(block)  # a copy: maps die with the handle

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "opener": self.opener, "shape": self.shape, "dtype": self.dtype}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self._array = None
            self._handle.close()


def _bounding(region: Any, shape: tuple[int, ...]) -> tuple[tuple[slice, ...], tuple[Any, ...]]:
    """``region`` as unit-step slices for the inner reader, and the index taking the
    requested part (integers, steps, lists) out of what they return."""
    import numpy as np

    items = list(region) if isinstance(region, tuple) else [region]
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items[k : k + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    items += [slice(None)] * (len(shape) - len(items))
    base: list[slice] = []
    post: list[Any] = []
    for item, n in zip(items, shape, strict=True):
        if isinstance(item, int | np.integer):
            i = int(item) + (n if item < 0 else 0)
            base.append(slice(i, i + 1))
            post.append(0)
        elif isinstance(item, slice) and item.step in (None, 1):
            start, stop, _ = item.indices(n)
            base.append(slice(start, max(start, stop)))
            post.append(slice(None))
        else:
            base.append(slice(0, n))
            post.append(item)
    return tuple(base), tuple(post)


def guarded(inner: Any, path: Path, what: str, chunks: Any) -> da.Array:
    """A dask array over ``inner`` (see :class:`GuardedReader`) with ``chunks``."""
    import dask.array as da
    import numpy as np

    reader = GuardedReader(inner, path, what)
    meta = np.empty((0,) * reader.ndim, dtype=reader.dtype)
    return da.from_array(reader, chunks=chunks, meta=meta, name=False)
