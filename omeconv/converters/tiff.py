"""TIFF, OME-TIFF, ImageJ hyperstacks and other tifffile-readable files as a source.

Pixels are read lazily through tifffile's zarr interface (``aszarr``) into dask; a file is
never loaded whole. Metadata come, in order of preference, from the OME-XML, the ImageJ
description, then the TIFF resolution tags. A file's own pyramid (SubIFDs or reduced
pages) becomes the image's levels.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.converters import CONVERTERS
from omeconv.errors import CorruptSourceError, MetadataError, OmeconvWarning, UsageError
from omeconv.model import Axis, Channel, Collection, Image, Level

if TYPE_CHECKING:
    from collections.abc import Sequence

    import dask.array as da
    import tifffile

__all__ = ["TiffConverter"]

logger = logging.getLogger(__name__)

_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: tifffile axis letters with a fixed NGFF name.
_LETTERS = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}
#: Resolutions that TIFF writers put in by default; they say nothing about pixel size.
_DEFAULT_DPI = (1.0, 72.0, 96.0, 150.0, 300.0)
_UNIT_ALIASES = {
    "micron": "micrometer",
    "microns": "micrometer",
    "um": "micrometer",
    "\u00b5m": "micrometer",
    "\u03bcm": "micrometer",
    "\\u00b5m": "micrometer",
    "nm": "nanometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "sec": "second",
    "s": "second",
    "ms": "millisecond",
    "min": "minute",
    "h": "hour",
}


class TiffConverter:
    """TIFF family files read with tifffile."""

    name: ClassVar[str] = "tiff"
    description: ClassVar[str] = "TIFF, BigTIFF, OME-TIFF, ImageJ, STK, LSM (tifffile)"
    suffixes: ClassVar[tuple[str, ...]] = (
        ".tif",
        ".tiff",
        ".btf",
        ".tf2",
        ".tf8",
        ".lsm",
        ".stk",
        ".qptiff",
        ".ndpi",
        ".svs",
        ".scn",
    )

    def guess_can_open(self, source: Any) -> bool:
        if not isinstance(source, str | os.PathLike):
            return False
        path = Path(source)
        try:
            with path.open("rb") as f:
                return f.read(4) in _MAGIC
        except OSError:
            return path.suffix.lower() in self.suffixes

    def open(self, source: Any, *, series: int | None = None, **_: Any) -> Collection:
        """Read ``source`` lazily; all series (a collection) or the one numbered ``series``."""
        import tifffile

        path = Path(source)
        _check_file(path)
        try:
            tf = tifffile.TiffFile(path)
        except (tifffile.TiffFileError, ValueError, IndexError, KeyError, struct_error()) as exc:
            raise CorruptSourceError(f"not a readable TIFF: {_reason(exc)}", path=path) from exc
        try:
            return _open(tf, path, series)
        except (tifffile.TiffFileError, ValueError, IndexError, KeyError) as exc:
            if isinstance(exc, MetadataError | UsageError | CorruptSourceError):
                raise
            raise CorruptSourceError(f"cannot read the TIFF: {_reason(exc)}", path=path) from exc


def struct_error() -> type[Exception]:
    import struct

    return struct.error


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _check_file(path: Path) -> None:
    from omeconv.errors import SourceNotFoundError

    if not path.exists():
        raise SourceNotFoundError("no such file", path=path)
    if path.is_dir():
        raise SourceNotFoundError("is a directory, not a TIFF file", path=path)
    if not os.access(path, os.R_OK):
        raise SourceNotFoundError("permission denied", path=path)
    if path.stat().st_size == 0:
        raise CorruptSourceError("empty file (0 bytes)", path=path)


def _open(tf: tifffile.TiffFile, path: Path, series: int | None) -> Collection:
    all_series = [s for s in tf.series if s.shape and _size(s.shape) > 0]
    if not all_series:
        raise CorruptSourceError("the TIFF holds no image data", path=path)
    ome = None
    ome_xml = tf.ome_metadata if tf.is_ome else None
    if ome_xml:
        from omeconv.ome_xml import parse_ome_xml

        try:
            ome = parse_ome_xml(ome_xml, path=str(path))
        except MetadataError as exc:
            warnings.warn(f"{path}: ignoring its OME-XML: {exc.message}", OmeconvWarning, stacklevel=2)
            ome_xml = None
    if series is not None:
        if not 0 <= series < len(all_series):
            raise UsageError(
                f"--series {series} does not exist; the file has {len(all_series)} series"
                f" (0 to {len(all_series) - 1})",
                path=path,
            )
        chosen = [series]
    else:
        chosen = list(range(len(all_series)))
    images = tuple(_image(tf, all_series[i], i, ome, path) for i in chosen)
    layout = "bioformats2raw" if len(images) > 1 else "image"
    return Collection(images=images, ome=ome, ome_xml=ome_xml, layout=layout)


def _size(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _image(
    tf: tifffile.TiffFile, series: tifffile.TiffPageSeries, index: int, ome: Any, path: Path
) -> Image:
    levels_data = [_dask_level(series, i) for i in range(len(series.levels))]
    letters = series.axes.upper()
    levels_data, letters = _normalise(levels_data, letters, path)
    names = tuple(_LETTERS[c] for c in letters)
    meta = _metadata(tf, series, index, ome, letters, names)
    base = levels_data[0].shape
    levels = tuple(
        Level(
            data=d,
            scale=tuple(
                s * (b / n if name in ("x", "y", "z") else 1.0)
                for s, b, n, name in zip(meta.scale, base, d.shape, names, strict=True)
            ),
        )
        for d in levels_data
    )
    return Image(
        name=meta.name or (series.name or None) or path.name.split(".")[0],
        axes=meta.axes,
        levels=levels,
        channels=meta.channels,
    )


def _dask_level(series: tifffile.TiffPageSeries, level: int) -> da.Array:
    import dask.array as da
    import zarr

    return da.from_zarr(zarr.open_array(series.aszarr(level=level), mode="r"))


def _normalise(
    levels: list[da.Array], letters: str, path: Path
) -> tuple[list[da.Array], str]:
    """Squeeze or rename axes until only ``TCZYX`` letters remain, S folded into C."""
    shape = levels[0].shape
    # Letters with no NGFF meaning: drop when of length 1, else give them a free role.
    for i, c in enumerate(letters):
        if c in _LETTERS:
            continue
        if shape[i] == 1:
            continue
        free = next((r for r in "ZTC" if r not in letters), None)
        if free is None:
            raise MetadataError(
                f"axes {letters!r}: cannot place axis {c!r} of length {shape[i]}", path=path
            )
        letters = letters[:i] + free + letters[i + 1 :]
    keep = [i for i, c in enumerate(letters) if c in _LETTERS or shape[i] != 1]
    if len(keep) != len(letters):
        drop = tuple(i for i in range(len(letters)) if i not in keep)
        levels = [d.squeeze(axis=drop) for d in levels]
        letters = "".join(letters[i] for i in keep)
    if "S" in letters:
        levels, letters = _fold_samples(levels, letters)
    # Length-1 channel/time/z axes carry no information but are kept: they are part
    # of the data's shape as the file declares it.
    if len(letters) > 5:
        raise MetadataError(f"{len(letters)} dimensions ({letters}); NGFF allows 5", path=path)
    return levels, letters


def _fold_samples(levels: list[da.Array], letters: str) -> tuple[list[da.Array], str]:
    """Samples (RGB) become the channel axis, merged with C when both are present."""
    s = letters.index("S")
    if "C" not in letters:
        order = [i for i in range(len(letters)) if i != s]
        # Put S where a channel axis belongs: after T, before Z/Y/X.
        pos = 1 if letters.startswith("T") else 0
        order.insert(pos, s)
        return [d.transpose(order) for d in levels], "".join(
            "C" if letters[i] == "S" else letters[i] for i in order
        )
    c = letters.index("C")
    order = [i for i in range(len(letters)) if i not in (c, s)]
    order.insert(order.index(min(i for i in order if letters[i] in "ZYX")), c)
    order.insert(order.index(c) + 1, s)
    out = []
    for d in levels:
        t = d.transpose(order)
        ci = order.index(c)
        shape = (*t.shape[:ci], t.shape[ci] * t.shape[ci + 1], *t.shape[ci + 2 :])
        out.append(t.reshape(shape))
    new = "".join(letters[i] for i in order if i != s)
    return out, new


@dataclass(frozen=True)
class _Meta:
    name: str | None
    axes: tuple[Axis, ...]
    scale: tuple[float, ...]
    channels: tuple[Channel, ...]


def _metadata(
    tf: tifffile.TiffFile,
    series: tifffile.TiffPageSeries,
    index: int,
    ome: Any,
    letters: str,
    names: tuple[str, ...],
) -> _Meta:
    if ome is not None and index < len(ome.images):
        from omeconv.ome_xml import image_metadata

        m = image_metadata(ome, index, letters)
        if len(m.axes) == len(names):
            return _Meta(m.name, tuple(m.axes), tuple(m.scale), tuple(m.channels))
    units: dict[str, str | None] = {}
    scale = dict.fromkeys(names, 1.0)
    channels: tuple[Channel, ...] = ()
    ij = tf.imagej_metadata if tf.is_imagej else None
    page = series.keyframe
    xy = _resolution(page, ij)
    if xy is not None:
        (scale["x"], scale["y"]), unit = xy
        units["x"] = units["y"] = unit
    if ij:
        unit = _unit(ij.get("unit"))
        if "spacing" in ij and "z" in scale:
            scale["z"] = float(ij["spacing"])
            units["z"] = unit
        if ij.get("finterval") and "t" in scale:
            scale["t"] = float(ij["finterval"])
            units["t"] = _unit(ij.get("tunit")) or "second"
        channels = _imagej_channels(ij, series, letters)
    axes = tuple(Axis.named(n, units.get(n)) for n in names)
    return _Meta(None, axes, tuple(scale[n] for n in names), channels)


def _unit(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip()
    return _UNIT_ALIASES.get(text, _UNIT_ALIASES.get(text.lower(), text.lower()))


def _resolution(page: Any, ij: dict[str, Any] | None) -> tuple[tuple[float, float], str | None] | None:
    """Pixel size in X and Y from the resolution tags, with its unit; None if meaningless."""
    import tifffile

    try:
        xres, yres = page.get_resolution()
        unit_tag = page.resolutionunit
    except (AttributeError, ZeroDivisionError, TypeError, ValueError):
        return None
    if not xres or not yres:
        return None
    if ij is not None and ij.get("unit"):
        return (1.0 / xres, 1.0 / yres), _unit(ij["unit"])
    if unit_tag == tifffile.RESUNIT.CENTIMETER:
        return (1e4 / xres, 1e4 / yres), "micrometer"
    if unit_tag == tifffile.RESUNIT.INCH and xres not in _DEFAULT_DPI:
        return (25400.0 / xres, 25400.0 / yres), "micrometer"
    if unit_tag == tifffile.RESUNIT.MILLIMETER:
        return (1e3 / xres, 1e3 / yres), "micrometer"
    if unit_tag == tifffile.RESUNIT.MICROMETER:
        return (1.0 / xres, 1.0 / yres), "micrometer"
    return None


def _imagej_channels(
    ij: dict[str, Any], series: tifffile.TiffPageSeries, letters: str
) -> tuple[Channel, ...]:
    """Channel colours from ImageJ LUTs and names from slice labels, where present."""
    if "C" not in letters:
        return ()
    count = series.shape[series.axes.upper().index("C")] if "C" in series.axes.upper() else 0
    if count == 0:
        return ()
    colors: list[str | None] = [None] * count
    for i, lut in enumerate(ij.get("LUTs") or []):
        if i < count and getattr(lut, "shape", None) and lut.shape[0] == 3:
            r, g, b = (int(lut[k][-1]) for k in range(3))
            colors[i] = f"{r:02X}{g:02X}{b:02X}"
    labels = ij.get("Labels") or []
    names: list[str | None] = [None] * count
    if labels and len(labels) >= count and len(set(labels[:count])) == count:
        names = list(labels[:count])
    if not any(colors) and not any(names):
        return ()
    return tuple(Channel(label=n, color=c) for n, c in zip(names, colors, strict=True))


CONVERTERS["tiff"] = TiffConverter
