"""An image's name, axes (with units), scale and channels from what a TIFF file says: its
OME-XML, else the vendor flavour, the ImageJ description and the resolution tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omeconv.converters.tiff.vendor import read_vendor
from omeconv.model import Axis, Channel
from omeconv.units import ngff_unit

if TYPE_CHECKING:
    from collections.abc import Sequence

    import tifffile

    from omeconv.ome_xml.image import ImageMetadata

__all__ = ["file_metadata", "series_metadata"]

#: Resolutions that TIFF writers put in by default; they say nothing about pixel size.
_DEFAULT_DPI = (1.0, 72.0, 96.0, 150.0, 300.0)


def series_metadata(
    tf: tifffile.TiffFile,
    series: tifffile.TiffPageSeries,
    index: int | None,
    ome: Any,
    letters: str,
    names: tuple[str, ...],
    shape: tuple[int, ...],
) -> ImageMetadata:
    """Name, axes, scale and channels from the OME-XML, else from :func:`file_metadata`."""
    if ome is not None and index is not None:
        from omeconv.ome_xml.image import image_metadata as ome_image_metadata

        m = ome_image_metadata(ome, index, letters, shape=shape)
        if len(m.axes) == len(names):
            return m
    return file_metadata(tf, series, letters, names, shape)


def file_metadata(
    tf: tifffile.TiffFile,
    series: tifffile.TiffPageSeries,
    letters: str,
    names: Sequence[str],
    shape: Sequence[int],
) -> ImageMetadata:
    """Axes (with units), scale and channels of an image with axes ``names`` and ``shape``
    from what ``tf`` says besides OME-XML.

    Each source overrides the one before it, axis by axis: the TIFF resolution tags (X, Y),
    the ImageJ description (X, Y units, Z spacing, frame interval, LUT colours, labels), then
    the vendor flavour's own metadata (Aperio SVS, LSM, STK, Micro-Manager, FluoView, NIH
    Image, ScanImage, Andor; see :mod:`omeconv.converters.tiff.vendor`), which records what the
    instrument measured. Only the OME-XML (in :func:`series_metadata`) ranks higher. Channels are
    kept only when there is one per index of the ``c`` axis.
    """
    from omeconv.ome_xml.image import ImageMetadata

    units: dict[str, str | None] = {}
    scale = dict.fromkeys(names, 1.0)
    channels: tuple[Channel, ...] = ()
    ij = tf.imagej_metadata if tf.is_imagej else None
    xy = _resolution(series.keyframe, ij)
    if xy is not None:
        (scale["x"], scale["y"]), unit = xy
        units["x"] = units["y"] = unit
    if ij:
        unit = ngff_unit(ij.get("unit"))
        if "spacing" in ij and "z" in scale:
            scale["z"] = float(ij["spacing"])
            units["z"] = unit
        if ij.get("finterval") and "t" in scale:
            scale["t"] = float(ij["finterval"])
            units["t"] = ngff_unit(ij.get("tunit")) or "second"
        channels = _imagej_channels(ij, series, letters)
    vendor = read_vendor(tf, series)
    if vendor is not None:
        for name, (size, unit) in vendor.sizes.items():
            if name in scale:
                scale[name], units[name] = size, unit
        channels = vendor.channels or channels
    count = shape[names.index("c")] if "c" in names else 0
    if len(channels) != count:
        channels = ()
    axes = tuple(Axis.named(n, units.get(n)) for n in names)
    return ImageMetadata(None, axes, tuple(scale[n] for n in names), channels)


def _resolution(
    page: Any, ij: dict[str, Any] | None
) -> tuple[tuple[float, float], str | None] | None:
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
        return (1.0 / xres, 1.0 / yres), ngff_unit(ij["unit"])
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
