"""Metadata given by the user, applied to any opened :class:`~omeconv.model.Collection`.

What the command line (or the API) says replaces what the file says, for every input format
alike: pixel sizes, units, translation, image name, channel names, colours and windows. A
given value that disagrees with one the file states is used, with a warning naming both. An
image whose metadata was moved from a source store (``source_attrs``) gets its metadata
derived anew once anything is overridden.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from omeconv.errors import OmeconvWarning, UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from omeconv.model import Axis, Channel, Collection, Image, Level

__all__ = ["Overrides", "apply_overrides", "parse_axis_values", "parse_units", "parse_windows"]

_HEX = re.compile(r"^#?([0-9A-Fa-f]{6})$")


@dataclass(frozen=True)
class Overrides:
    """Metadata to set on every image (per axis by name; per channel by index)."""

    scale: Mapping[str, float] | None = None
    units: Mapping[str, str] | str | None = None
    """Per axis, or one unit for every space axis."""
    translation: Mapping[str, float] | None = None
    name: str | None = None
    channel_names: Sequence[str] | None = None
    channel_colors: Sequence[str] | None = None
    channel_windows: Sequence[tuple[float, float]] | Percentiles | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in vars(self).values())


def parse_axis_values(option: str, value: str | None) -> dict[str, float] | None:
    """``z=2,y=0.5,x=0.5`` → ``{"z": 2.0, "y": 0.5, "x": 0.5}``."""
    if not value:
        return None
    out: dict[str, float] = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        axis, sep, number = part.partition("=")
        try:
            if not sep or not axis.strip():
                raise ValueError(part)
            out[axis.strip()] = float(number)
        except ValueError:
            raise UsageError(f"{option} {value!r}: give values like z=2,y=0.5,x=0.5") from None
    return out


def parse_units(value: str | None) -> dict[str, str] | str | None:
    """``micrometer`` (every space axis) or ``z=micrometer,t=second`` (some axes)."""
    if not value:
        return None
    if "=" not in value:
        return value.strip()
    parts = [p.partition("=") for p in value.split(",") if p.strip()]
    if any(not sep or not axis.strip() or not unit.strip() for axis, sep, unit in parts):
        raise UsageError(f"--units {value!r}: give a unit (micrometer) or z=micrometer,t=second")
    return {axis.strip(): unit.strip() for axis, _, unit in parts}


@dataclass(frozen=True)
class Percentiles:
    """Windows from the data: every channel's ``low``-th to ``high``-th percentile."""

    low: float
    high: float


_PERCENTILES = re.compile(r"^p(\d+(?:\.\d*)?):p(\d+(?:\.\d*)?)$")


def parse_windows(value: str | None) -> list[tuple[float, float]] | Percentiles | None:
    """``0:1000,100:4000`` (``start:end`` of each channel) or ``p1:p99.5`` (percentiles of
    each channel's pixels)."""
    if not value:
        return None
    match = _PERCENTILES.match(value.strip())
    if match is not None:
        low, high = float(match[1]), float(match[2])
        if not 0 <= low < high <= 100:
            raise UsageError(
                f"--channel-windows {value!r}: give percentiles 0 <= low < high <= 100"
            )
        return Percentiles(low, high)
    out: list[tuple[float, float]] = []
    for part in (p.strip() for p in value.split(",")):
        start, sep, end = part.partition(":")
        try:
            if not sep:
                raise ValueError(part)
            window = (float(start), float(end))
        except ValueError:
            raise UsageError(
                f"--channel-windows {value!r}: give start:end per channel, e.g. 0:1000,50:900"
            ) from None
        if not window[0] < window[1]:
            raise UsageError(f"--channel-windows {part!r}: start must be below end")
        out.append(window)
    return out


def apply_overrides(collection: Collection, overrides: Overrides) -> Collection:
    """``collection`` with every image's metadata replaced where ``overrides`` gives some."""
    if not overrides:
        return collection
    images = tuple(_image(image, overrides) for image in collection.images)
    return replace(collection, images=images)


def _image(image: Image, o: Overrides) -> Image:
    where = image.name or "image"
    names = [a.name for a in image.axes]
    for option, given in (("--scale", o.scale), ("--translation", o.translation)):
        unknown = sorted(set(given or ()) - set(names))
        if unknown:
            raise UsageError(f"{option} names axes {unknown} not in {''.join(names)}")
    axes = _axes(image.axes, o.units, where)
    levels = _levels(image, o.scale, o.translation, where)
    name = image.name if o.name is None else o.name  # often just the file's name: no warning
    channels = _channels(image, o, where)
    return replace(image, name=name, axes=axes, levels=levels, channels=channels, source_attrs=None)


def _disagree(where: str, what: str, old: object, new: object) -> None:
    if old is not None and old != new:
        warnings.warn(
            f"{where}: {what} {new!r} given replaces the file's {old!r}",
            OmeconvWarning,
            stacklevel=4,
        )


def _axes(
    axes: Sequence[Axis], units: Mapping[str, str] | str | None, where: str
) -> tuple[Axis, ...]:
    if units is None:
        return tuple(axes)
    if isinstance(units, str):
        wanted = {a.name: units for a in axes if a.type == "space"}
    else:
        wanted = dict(units)
        unknown = sorted(set(wanted) - {a.name for a in axes})
        if unknown:
            raise UsageError(f"--units names axes {unknown} not in {''.join(a.name for a in axes)}")
    out = []
    for axis in axes:
        if axis.name in wanted:
            unit = _ngff_unit(axis, wanted[axis.name])
            _disagree(where, f"unit of {axis.name}", axis.unit, unit)
            axis = replace(axis, unit=unit)
        out.append(axis)
    return tuple(out)


def _ngff_unit(axis: Axis, text: str) -> str:
    from omeconv.units import length_unit, time_unit

    if axis.type not in ("space", "time"):
        raise UsageError(f"--units: axis {axis.name} is a {axis.type or 'custom'} axis; no unit")
    convert = length_unit if axis.type == "space" else time_unit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = convert(text)
    if unit is None:
        kind = "length" if axis.type == "space" else "time"
        raise UsageError(f"--units: {text!r} is no {kind} unit NGFF knows (e.g. micrometer)")
    return unit


def _levels(
    image: Image,
    scale: Mapping[str, float] | None,
    translation: Mapping[str, float] | None,
    where: str,
) -> tuple[Level, ...]:
    """Levels with level 0's scale and translation replaced; lower levels keep their
    ratios to level 0 (pixel centres shifted with the pixel size)."""
    if scale is None and translation is None:
        return image.levels
    names = [a.name for a in image.axes]
    base = image.levels[0]
    old_t0 = base.translation or (0.0,) * len(names)
    new_s0 = list(base.scale)
    new_t0 = list(old_t0)
    for i, n in enumerate(names):
        if scale and n in scale:
            if not scale[n] > 0:
                raise UsageError(f"--scale {n}={scale[n]}: scales must be positive")
            if base.scale[i] != 1.0:
                _disagree(where, f"scale of {n}", base.scale[i], scale[n])
            new_s0[i] = scale[n]
        if translation and n in translation:
            if old_t0[i] != 0.0:
                _disagree(where, f"translation of {n}", old_t0[i], translation[n])
            new_t0[i] = translation[n]
    ratio = [n / o if o else 1.0 for n, o in zip(new_s0, base.scale, strict=True)]
    out = []
    for lv in image.levels:
        s = tuple(v * r for v, r in zip(lv.scale, ratio, strict=True))
        old_t = lv.translation or (0.0,) * len(names)
        t = tuple(
            t0 + (ot - ot0) * r for t0, ot, ot0, r in zip(new_t0, old_t, old_t0, ratio, strict=True)
        )
        out.append(replace(lv, scale=s, translation=t if translation or lv.translation else None))
    return tuple(out)


def _channels(image: Image, o: Overrides, where: str) -> tuple[Channel, ...]:
    from omeconv.model import Channel

    count = image.nchannels
    windows = o.channel_windows
    if isinstance(windows, Percentiles):
        windows = _percentile_windows(image, windows)
    for option, given in (
        ("--channel-names", o.channel_names),
        ("--channel-colors", o.channel_colors),
        ("--channel-windows", windows),
    ):
        if given is not None and len(given) != count:
            raise UsageError(f"{option} gives {len(given)} values but {where} has {count} channels")
    if o.channel_names is None and o.channel_colors is None and windows is None:
        return image.channels
    channels = list(image.channels[:count]) + [Channel()] * (count - len(image.channels))
    for i, ch in enumerate(channels):
        if o.channel_names is not None:
            _disagree(where, f"channel {i} name", ch.label, o.channel_names[i])
            ch = replace(ch, label=o.channel_names[i])
        if o.channel_colors is not None:
            color = _color(o.channel_colors[i])
            _disagree(where, f"channel {i} colour", ch.color, color)
            ch = replace(ch, color=color)
        if windows is not None:
            start, end = windows[i]
            if ch.window is not None:
                _disagree(where, f"channel {i} window", ch.window[2:], (start, end))
            lo, hi = _range(image) if ch.window is None else ch.window[:2]
            ch = replace(ch, window=(min(lo, start), max(hi, end), start, end))
        channels[i] = ch
    return tuple(channels)


#: Pixels read (at most) for percentile windows: the smallest level, strided if larger.
_SAMPLE = 2**24


def _percentile_windows(image: Image, p: Percentiles) -> list[tuple[float, float]]:
    """Each channel's ``p.low`` to ``p.high`` percentile, from the smallest level (every
    ``k``-th pixel along y and x when it is larger than 16 Mi pixels); a constant channel
    gets ``v:v+1``."""
    import numpy as np
    from dask import threaded

    data = image.levels[-1].data
    step = max(1, int(np.ceil(np.sqrt(data.size / _SAMPLE))))
    sample = np.asarray(data[..., ::step, ::step].compute(scheduler=threaded.get), np.float64)
    channel = next((i for i, a in enumerate(image.axes) if a.type == "channel"), None)
    planes = [sample] if channel is None else list(np.moveaxis(sample, channel, 0))
    out = []
    for plane in planes:
        values = plane[np.isfinite(plane)]
        if values.size == 0:
            raise UsageError("--channel-windows: a channel has no finite pixels for percentiles")
        start, end = (float(v) for v in np.percentile(values, [p.low, p.high]))
        out.append((start, end) if end > start else (start, start + 1))
    return out


def _range(image: Image) -> tuple[float, float]:
    """``(min, max)`` of a window given without one: the dtype's range (floats: none)."""
    import numpy as np

    dtype = np.dtype(image.data.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    if dtype.kind == "b":
        return 0.0, 1.0
    return float("inf"), float("-inf")  # min/max of the given window alone


def _color(text: str) -> str:
    match = _HEX.match(text.strip())
    if match is None:
        raise UsageError(f"--channel-colors {text!r}: give six hex digits, e.g. FF0000")
    return match[1].upper()
