"""A tifffile series as an image: which OME Image it is, whether its pixels can be decoded,
its levels and metadata."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from omeconv.converters.tiff.axes import ngff_axis_name, normalise_axes, squeeze_axes
from omeconv.converters.tiff.damage import reason
from omeconv.converters.tiff.levels import LevelReader, Squeezed, level_reader
from omeconv.converters.tiff.metadata import series_metadata
from omeconv.errors import OmeconvWarning, UnsupportedSourceError
from omeconv.model import Image, Level, ReaderLevel, reader_array

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import tifffile

__all__ = ["check_decodable", "image", "is_lsm_thumbnails", "ome_indices", "warn_ome_disagrees"]


def is_lsm_thumbnails(series: tifffile.TiffPageSeries) -> bool:
    """Whether ``series`` is the previews an LSM file keeps after each image (reduced pages)."""
    return series.kind == "lsm" and bool(series.keyframe.is_reduced)


def warn_ome_disagrees(
    all_series: Sequence[tifffile.TiffPageSeries], indices: list[int | None], ome: Any, path: Path
) -> None:
    """Warn (once) when the OME-XML's dimensions disagree with the pixel data: the pixels win."""
    if ome is None or not ome.images:
        return
    unmatched = [s for s, i in zip(all_series, indices, strict=True) if i is None]
    if not unmatched:
        return
    used = {i for i in indices if i is not None}
    image = next((im for k, im in enumerate(ome.images) if k not in used), ome.images[0])
    p = image.pixels
    sizes = f"X={p.size_x} Y={p.size_y} Z={p.size_z} C={p.size_c} T={p.size_t}"
    shape = "x".join(str(n) for n in unmatched[0].shape)
    warnings.warn(
        f"{path}: the OME-XML's dimensions ({sizes}) disagree with the pixel data "
        f"({shape}, axes {unmatched[0].axes}); the pixel data wins and the OME-XML's "
        "sizes are ignored",
        OmeconvWarning,
        stacklevel=3,
    )


def ome_indices(all_series: Sequence[tifffile.TiffPageSeries], ome: Any) -> list[int | None]:
    """The OME Image index of each series (None when the series is not an OME image).

    tifffile skips OME Images without pixel data, so series and images are aligned in
    document order by name and X/Y size, not by position.
    """
    out: list[int | None] = []
    if ome is None:
        return [None] * len(all_series)
    cursor = 0
    for s in all_series:
        found = None
        if s.kind == "ome":
            for i in range(cursor, len(ome.images)):
                if _matches(s, ome.images[i]):
                    found = i
                    cursor = i + 1
                    break
        out.append(found)
    return out


def _matches(series: tifffile.TiffPageSeries, image: Any) -> bool:
    axes = series.axes.upper()
    shape = series.shape
    pixels = image.pixels
    same_name = (series.name or "") == (image.name or "") or not series.name
    return (
        same_name
        and shape[axes.index("X")] == pixels.size_x
        and shape[axes.index("Y")] == pixels.size_y
    )


def check_decodable(series: tifffile.TiffPageSeries, path: Path) -> None:
    """Raise a one-line error now when tifffile cannot decode the series' pixels."""
    for level in series.levels:
        decode = level.keyframe.decode
        if getattr(decode, "__name__", "").startswith("decode_raise"):
            try:
                decode(None, 0)
            except Exception as exc:
                raise UnsupportedSourceError(
                    f"cannot decode its pixels: {reason(exc)}", path=path
                ) from exc


def image(
    tf: tifffile.TiffFile,
    series: tifffile.TiffPageSeries,
    index: int | None,
    ome: Any,
    path: Path,
    storage_options: dict[str, Any],
) -> Image:
    """``series`` as an image: its levels with NGFF axes, name, scales and channels."""
    readers = [level_reader(series, i, storage_options) for i in range(len(series.levels))]
    letters, keep = squeeze_axes(readers[0].shape, series.axes.upper(), path)
    folded = "S" in letters  # samples folded into channels: transposed, read through dask
    if folded:
        data, letters = normalise_axes(
            [reader_array(r) for r in readers], series.axes.upper(), path
        )
        shapes = [tuple(d.shape) for d in data]
    else:
        shapes = [tuple(r.shape[i] for i in keep) for r in readers]
    names = tuple(ngff_axis_name(c) for c in letters)
    meta = series_metadata(tf, series, index, ome, letters, names, shapes[0])
    scales = [
        tuple(
            s * (b / n if name in ("x", "y", "z") else 1.0)
            for s, b, n, name in zip(meta.scale, shapes[0], shape, names, strict=True)
        )
        for shape in shapes
    ]
    levels = tuple(
        Level(data=data[i], scale=scale)
        if folded
        else ReaderLevel(scale=scale, reader=_squeezed(readers[i], shapes[i]))
        for i, scale in enumerate(scales)
    )
    return Image(
        name=meta.name or (series.name or None) or path.name.split(".")[0],
        axes=meta.axes,
        levels=levels,
        channels=meta.channels,
    )


def _squeezed(reader: LevelReader, shape: tuple[int, ...]) -> LevelReader | Squeezed:
    """``reader`` without the length-1 axes :func:`squeeze_axes` leaves out."""
    return reader if tuple(reader.shape) == shape else Squeezed(reader, shape)
