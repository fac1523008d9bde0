"""Physical metadata of vendor TIFF flavours, as tifffile parses them.

One function per flavour takes the dict tifffile returns (``TiffFile.lsm_metadata``,
``stk_metadata``, ``micromanager_metadata``, ``fluoview_metadata``, ``nih_metadata``,
``scanimage_metadata``, ``andor_metadata``) or, for Aperio SVS, the image description, and
returns a :class:`VendorMetadata`: pixel sizes keyed by NGFF axis name, NGFF unit names,
and channels. :func:`read_vendor` picks the
flavour of an open file. Facts a file does not state are left out, never guessed.

MetaMorph STK planes form one Z or T axis in tifffile (never C), so STK wavelengths cannot
name channels and are not mapped.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from omeconv.model import Channel
from omeconv.units import ngff_unit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import tifffile

__all__ = [
    "VendorMetadata",
    "andor",
    "fluoview",
    "lsm",
    "micromanager",
    "nih",
    "read_vendor",
    "scanimage",
    "stk",
    "svs",
]

logger = logging.getLogger(__name__)

#: NIH Image ``UnitsID`` values (tifffile's ``TIFF.NIH_UNITS_TYPE``) as NGFF units.
_NIH_UNITS = (
    "nanometer",
    "micrometer",
    "millimeter",
    "centimeter",
    "meter",
    "kilometer",
    "inch",
    "foot",
    "mile",
)
#: FluoView dimension names (tifffile's ``TIFF.MM_DIMENSIONS``) with an NGFF axis.
_FLUOVIEW_AXES = {"X": "x", "Y": "y", "Z": "z", "T": "t", "TIME": "t"}
#: Units that mean "not calibrated".
_UNCALIBRATED = ("pixel", "pixels", "")


@dataclass(frozen=True)
class VendorMetadata:
    """What one vendor flavour says: ``sizes`` maps an NGFF axis name to the size of one
    pixel (or time step) and its NGFF unit; ``channels`` name and colour the channels."""

    kind: str
    sizes: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    channels: tuple[Channel, ...] = ()


def _put(
    sizes: dict[str, tuple[float, str]], axis: str, size: Any, unit: str | None, factor: float = 1.0
) -> None:
    """Record ``size * factor`` in ``unit`` for ``axis`` when it is a positive number."""
    value = _positive(size)
    if value is not None and unit is not None:
        sizes[axis] = (float(f"{value * factor:.12g}"), unit)


def read_vendor(
    tf: tifffile.TiffFile, series: tifffile.TiffPageSeries | None = None
) -> VendorMetadata | None:
    """The metadata of the first vendor flavour ``tf`` has, for its ``series`` where the
    flavour's metadata differ by series (SVS); None for none or unreadable."""
    readers: Sequence[tuple[str, Callable[[tifffile.TiffFile], VendorMetadata | None]]] = (
        ("svs", lambda f: _read_svs(f, series)),
        ("lsm", lambda f: _call(lsm, f.lsm_metadata)),
        ("stk", lambda f: _call(stk, f.stk_metadata)),
        ("micromanager", _read_micromanager),
        ("fluoview", lambda f: _call(fluoview, f.fluoview_metadata)),
        ("nih", lambda f: _call(nih, f.nih_metadata)),
        ("scanimage", lambda f: _call(scanimage, (f.scanimage_metadata or {}).get("FrameData"))),
        ("andor", lambda f: _call(andor, f.andor_metadata)),
    )
    for kind, read in readers:
        if not getattr(tf, f"is_{kind}", False):
            continue
        try:
            return read(tf)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            logger.warning("%s: ignoring its %s metadata: %s", tf.filename, kind, exc)
            return None
    return None


def _call(
    mapping: Callable[[Mapping[str, Any]], VendorMetadata], meta: Mapping[str, Any] | None
) -> VendorMetadata | None:
    return mapping(meta) if meta else None


def _read_micromanager(tf: tifffile.TiffFile) -> VendorMetadata:
    summary = (tf.micromanager_metadata or {}).get("Summary") or {}
    image = tf.pages.first.tags.valueof(51123)  # MicroManagerMetadata, JSON
    return micromanager(summary, image if isinstance(image, dict) else {})


def _read_svs(
    tf: tifffile.TiffFile, series: tifffile.TiffPageSeries | None
) -> VendorMetadata | None:
    """The main image's (first series') metadata; the thumbnail repeats the main image's
    description, label and macro have none of their own, so they get none."""
    if series is None or series is not tf.series[0]:
        return None
    return svs(_text(series.keyframe.description))


def svs(description: str) -> VendorMetadata:
    """Aperio SVS ``ImageDescription`` (``header|Key = value|...``): ``MPP``, the size of
    one pixel of the scanned image in micrometers (X and Y)."""
    fields = {}
    for item in description.split("|")[1:]:
        key, sep, value = item.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    sizes: dict[str, tuple[float, str]] = {}
    _put(sizes, "x", fields.get("MPP"), "micrometer")
    _put(sizes, "y", fields.get("MPP"), "micrometer")
    return VendorMetadata("svs", sizes)


def lsm(info: Mapping[str, Any]) -> VendorMetadata:
    """Zeiss LSM ``CZ_LSMINFO``: voxel sizes in meters, time interval in seconds, channel colours.

    The interval is ``TimeIntervall`` or, when that is 0, the mean step of ``TimeStamps``.
    """
    sizes: dict[str, tuple[float, str]] = {}
    for axis in "xyz":
        _put(sizes, axis, info.get(f"VoxelSize{axis.upper()}"), "micrometer", 1e6)
    interval = _positive(info.get("TimeIntervall"))
    stamps = info.get("TimeStamps")
    if interval is None and stamps is not None and len(stamps) > 1:
        interval = (float(stamps[-1]) - float(stamps[0])) / (len(stamps) - 1)
    _put(sizes, "t", interval, "second")
    colors = info.get("ChannelColors") or {}
    names, rgba = list(colors.get("ColorNames") or []), list(colors.get("Colors") or [])
    if names and len(names) == len(rgba):
        channels = (
            Channel(label=n or None, color=_hex(c[:3])) for n, c in zip(names, rgba, strict=True)
        )
        return VendorMetadata("lsm", sizes, tuple(channels))
    return VendorMetadata("lsm", sizes)


def stk(info: Mapping[str, Any]) -> VendorMetadata:
    """MetaMorph STK UIC tags: ``XCalibration``/``YCalibration`` in ``CalibrationUnits`` per
    pixel, ``ZDistance`` per plane (the median of its non-zero values; micrometer unless the
    calibration gives a unit)."""
    sizes: dict[str, tuple[float, str]] = {}
    text = str(info.get("CalibrationUnits") or "").strip()
    unit = None if text.lower() in _UNCALIBRATED else ngff_unit(text)
    _put(sizes, "x", info.get("XCalibration"), unit)
    _put(sizes, "y", info.get("YCalibration"), unit)
    steps = sorted(abs(float(z)) for z in info.get("ZDistance", ()) if z and math.isfinite(z))
    if steps:
        _put(sizes, "z", steps[len(steps) // 2], unit or "micrometer")
    return VendorMetadata("stk", sizes)


def micromanager(summary: Mapping[str, Any], image: Mapping[str, Any]) -> VendorMetadata:
    """Micro-Manager summary (``PixelSize_um``, ``z-step_um``, ``Interval_ms``, ``ChNames``,
    ``ChColors``), with the first image's ``PixelSizeUm`` when the summary has no pixel size."""
    sizes: dict[str, tuple[float, str]] = {}
    pixel = _positive(summary.get("PixelSize_um")) or image.get("PixelSizeUm")
    _put(sizes, "x", pixel, "micrometer")
    _put(sizes, "y", pixel, "micrometer")
    _put(sizes, "z", summary.get("z-step_um"), "micrometer")
    _put(sizes, "t", summary.get("Interval_ms"), "millisecond")
    names = list(summary.get("ChNames") or [])
    colors = list(summary.get("ChColors") or [])
    if not names:
        return VendorMetadata("micromanager", sizes)
    hexes = [f"{int(c) & 0xFFFFFF:06X}" for c in colors] if len(colors) == len(names) else []
    channels = tuple(
        Channel(label=str(n), color=hexes[i] if hexes else None) for i, n in enumerate(names)
    )
    return VendorMetadata("micromanager", sizes, channels)


def fluoview(info: Mapping[str, Any]) -> VendorMetadata:
    """Olympus FluoView ``MM_Header``: each dimension's ``(name, size, origin, resolution,
    unit)``; the resolution is the size of one step (micrometer or second without a unit)."""
    sizes: dict[str, tuple[float, str]] = {}
    for name, _size, _origin, resolution, unit in info.get("Dimensions", ()):
        axis = _FLUOVIEW_AXES.get(str(name).strip().upper())
        if axis is None:
            continue
        default = "second" if axis == "t" else "micrometer"
        _put(sizes, axis, resolution, ngff_unit(unit) or default)
    return VendorMetadata("fluoview", sizes)


def nih(header: Mapping[str, Any]) -> VendorMetadata:
    """NIH Image header: ``XScale`` pixels per unit of ``UnitsID`` (``UM`` for other units),
    ``PixelAspectRatio`` (height / width), ``SliceSpacing`` and ``FrameInterval`` (seconds)."""
    sizes: dict[str, tuple[float, str]] = {}
    units_id = int(header.get("UnitsID", -1))
    unit: str | None = None
    if 0 <= units_id < len(_NIH_UNITS):
        unit = _NIH_UNITS[units_id]
    elif units_id == 10:  # OtherUnits
        unit = ngff_unit(_text(header.get("UM")))
    scale = _positive(header.get("XScale"))
    if scale is not None:
        aspect = _positive(header.get("PixelAspectRatio")) or 1.0
        _put(sizes, "x", 1.0 / scale, unit)
        _put(sizes, "y", aspect / scale, unit)
    _put(sizes, "z", header.get("SliceSpacing"), unit)
    _put(sizes, "t", header.get("FrameInterval"), "second")
    return VendorMetadata("nih", sizes)


def scanimage(frame: Mapping[str, Any]) -> VendorMetadata:
    """ScanImage non-varying frame data: field of view (``SI.hRoiManager.imagingFovUm``
    corners) over pixels per line and lines per frame, Z step, frame period, saved channels'
    names."""
    sizes: dict[str, tuple[float, str]] = {}
    fov = frame.get("SI.hRoiManager.imagingFovUm")
    if fov:
        xs, ys = [float(p[0]) for p in fov], [float(p[1]) for p in fov]
        pixels = _positive(frame.get("SI.hRoiManager.pixelsPerLine"))
        lines = _positive(frame.get("SI.hRoiManager.linesPerFrame"))
        if pixels and lines:
            _put(sizes, "x", (max(xs) - min(xs)) / pixels, "micrometer")
            _put(sizes, "y", (max(ys) - min(ys)) / lines, "micrometer")
    step = frame.get("SI.hStackManager.actualStackZStepSize")
    _put(sizes, "z", step or frame.get("SI.hStackManager.stackZStepSize"), "micrometer")
    _put(sizes, "t", frame.get("SI.hRoiManager.scanFramePeriod"), "second")
    saved = frame.get("SI.hChannels.channelSave")
    names = frame.get("SI.hChannels.channelName")
    if saved is None or not names:
        return VendorMetadata("scanimage", sizes)
    saved = [saved] if isinstance(saved, int | float) else [int(c[0]) for c in saved]
    channels = tuple(Channel(label=str(names[int(c) - 1])) for c in saved)
    return VendorMetadata("scanimage", sizes, channels)


def andor(tags: Mapping[str, Any]) -> VendorMetadata:
    """Andor camera tags: ``KineticCycleTime`` (seconds) is the time between frames."""
    sizes: dict[str, tuple[float, str]] = {}
    _put(sizes, "t", tags.get("KineticCycleTime"), "second")
    return VendorMetadata("andor", sizes)


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _hex(rgb: Sequence[int]) -> str:
    return "".join(f"{int(v) & 0xFF:02X}" for v in rgb)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value or "")
