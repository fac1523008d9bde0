"""Helpers shared by the vendor-format adapters (CZI, ND2, LIF, OIB, NDTiff, MRC/DV).

Each adapter wraps the reader made for its format; these helpers keep what they have in
common in one place: importing an optional reader (a one-line error naming the extra to
install), cheap magic-byte checks, one-line reasons, and building an :class:`Image` from
axis letters, per-axis sizes and channels.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from omeconv.errors import CorruptSourceError, SourceNotFoundError, UnsupportedSourceError
from omeconv.model import Axis, Channel, Image, Level

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from types import ModuleType

    import dask.array as da

__all__ = [
    "GuardedReader",
    "check_file",
    "guarded",
    "head",
    "make_image",
    "reason",
    "require",
    "series_indices",
]


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module``; when it is not installed, a one-line error naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UnsupportedSourceError(
            f"reading {what} files needs the {module} package: pip install 'omeconv[{extra}]'"
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
    translation: Mapping[str, float] | None = None,
) -> Image:
    """An image over ``data`` whose axes are tifffile-style ``letters`` (``TCZYXS`` …).

    Letters outside ``TCZYX`` of length 1 are dropped, longer ones take a free role and
    samples (``S``) become channels (:func:`omeconv.converters.tiff.normalise_axes`).
    ``sizes`` maps NGFF axis names to ``(size, unit)``; axes without one get scale 1 and no
    unit. ``channels`` are kept only when there is one per index of the channel axis.
    """
    from omeconv.converters.tiff import ngff_axis_name, normalise_axes

    (data,), letters = normalise_axes([data], letters, path)
    names = [ngff_axis_name(c) for c in letters]
    known = dict(sizes or {})
    axes = tuple(Axis.named(n, known[n][1] if n in known else None) for n in names)
    scale = tuple(float(known[n][0]) if n in known else 1.0 for n in names)
    offsets = None
    if translation:
        offsets = tuple(float(translation.get(n, 0.0)) for n in names)
    count = int(data.shape[names.index("c")]) if "c" in names else 0
    kept = tuple(channels) if len(channels) == count else ()
    level = Level(data=data, scale=scale, translation=offsets)
    return Image(name=name, axes=axes, levels=(level,), channels=kept)


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

        try:
            block = self.inner[region]
            if hasattr(block, "compute"):
                block = block.compute(scheduler="synchronous")
            return np.asarray(block)
        except Exception as exc:  # readers raise many kinds on damaged files
            raise CorruptSourceError(
                f"cannot read the {self.what} pixels: {reason(exc)}", path=self.path
            ) from exc


def guarded(inner: Any, path: Path, what: str, chunks: Any) -> da.Array:
    """A dask array over ``inner`` (see :class:`GuardedReader`) with ``chunks``."""
    import dask.array as da
    import numpy as np

    reader = GuardedReader(inner, path, what)
    meta = np.empty((0,) * reader.ndim, dtype=reader.dtype)
    return da.from_array(reader, chunks=chunks, meta=meta, name=False)
