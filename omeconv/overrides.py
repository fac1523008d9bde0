"""Metadata given by the user, applied to any opened :class:`~omeconv.model.Collection`.

What the command line (or the API) says replaces what the file says, for every input format
alike: pixel sizes, units, translation, image name, channel names, colours and windows. A
given value that disagrees with one the file states is used, with a warning naming both. An
image read from an OME-Zarr store keeps its stored attributes (``source_attrs``): only the
values given are patched into them (its labels' scales, translations and units follow the
image's), so unknown keys, key order and JSON types arrive as stored.
"""

from __future__ import annotations

import re
import warnings
from copy import deepcopy
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from omeconv.errors import OmeconvWarning, UsageError
from omeconv.hierarchy import scale_translation
from omeconv.model import SourceAttrs
from omeconv.ngff06 import is_v06

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from omeconv.model import Axis, Channel, Collection, Image, Label, Level

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
    new = replace(image, name=name, axes=axes, levels=levels, channels=channels)
    return new if image.source_attrs is None else _patch_stored(image, new, o, where)


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

    dtype = np.dtype(image.levels[0].dtype)
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


# -- images read from a store: patch the stored attributes -------------------------------------

#: Per axis name, the change of world coordinates ``w -> r * w + c`` the overrides make.
_Affine = dict[str, tuple[float, float]]


def _patch_stored(old: Image, new: Image, o: Overrides, where: str) -> Image:
    """``new`` (``old`` overridden) carrying ``old``'s stored attributes with the given
    values patched in; its stored labels follow the image's scales and units."""
    if old.source_attrs is None:
        raise AssertionError("only for images read from a store")
    version, attrs = _editable(old.source_attrs)
    doc = attrs if version == "0.4" else attrs["ome"]
    ms = doc["multiscales"][0]
    if o.name is not None:
        _disagree(where, "name", ms.get("name"), o.name)
        ms["name"] = o.name
    affine = _affine(old.levels[0], new.levels[0], [a.name for a in old.axes])
    _refit(ms, old.levels, [a.name for a in old.axes], affine)
    if o.units is not None:
        _set_units(ms, new.axes)
    if o.channel_names is not None or o.channel_colors is not None or o.channel_windows:
        _set_omero(doc, old, new, o)
    units = new.axes if o.units is not None else ()
    labels = tuple(_patch_label(label, affine, units) for label in new.labels)
    return replace(new, labels=labels, source_attrs=SourceAttrs(version, attrs))


def _editable(source: SourceAttrs) -> tuple[str, dict[str, Any]]:
    """A copy of stored attributes to patch, and their version (0.6 read as 0.5: the
    emitter moves 0.5 attributes to any output version)."""
    attrs = deepcopy(source.attrs)
    if is_v06(source.version):
        from omeconv.ngff06.moves import to_v05

        return "0.5", to_v05(attrs)
    return source.version, attrs


def _affine(old: Level, new: Level, names: Sequence[str]) -> _Affine:
    """Per axis name ``(r, c)`` with ``new = r * old + c`` for level 0's pixel centres."""
    zeros = (0.0,) * len(names)
    out = {}
    for n, s0, s1, t0, t1 in zip(
        names, old.scale, new.scale, old.translation or zeros, new.translation or zeros, strict=True
    ):
        r = s1 / s0 if s0 else 1.0
        out[n] = (r, t1 - r * t0)
    return out


def _refit(
    ms: dict[str, Any], levels: Sequence[Level], names: Sequence[str], affine: _Affine
) -> None:
    """Patch each dataset's transforms (in the frame of the multiscale-wide transform) so
    its level lands where ``affine`` moves it; axes it does not move keep their values."""
    changed = [i for i, n in enumerate(names) if affine.get(n, (1.0, 0.0)) != (1.0, 0.0)]
    if not changed:
        return
    ndim = len(names)
    outer_s, shift_of_all = scale_translation(ms.get("coordinateTransformations"), ndim)
    outer_t = shift_of_all or (0.0,) * ndim
    for ds, level in zip(ms["datasets"], levels, strict=True):
        transforms = ds.setdefault("coordinateTransformations", [])
        scale = _transform(transforms, "scale", ndim, 0)
        shift = next((t for t in transforms if t.get("type") == "translation"), None)
        old_t = level.translation or (0.0,) * ndim
        for i in changed:
            r, c = affine[names[i]]
            scale[i] = level.scale[i] * r / outer_s[i]
            t = (r * old_t[i] + c - outer_t[i]) / outer_s[i]
            if shift is None and t != 0.0:
                shift = {"type": "translation", "translation": [0.0] * ndim}
                transforms.append(shift)
            if shift is not None:
                shift["translation"][i] = t


def _transform(transforms: list[dict[str, Any]], kind: str, ndim: int, at: int) -> list[Any]:
    """The values of the ``kind`` transform in ``transforms`` (inserted at ``at`` if none)."""
    found = next((t for t in transforms if t.get("type") == kind and kind in t), None)
    if found is None:
        found = {"type": kind, kind: [1.0] * ndim}
        transforms.insert(at, found)
    values: list[Any] = found[kind]
    return values


def _set_units(ms: dict[str, Any], axes: Sequence[Axis]) -> None:
    """The stored axes' units where ``axes`` (matched by name) say another."""
    wanted = {a.name: a.unit for a in axes}
    for j, entry in enumerate(ms.get("axes") or ()):
        name = str(entry.get("name") if isinstance(entry, dict) else entry)
        unit = wanted.get(name)
        if unit is None:
            continue
        if not isinstance(entry, dict):  # 0.3's names only
            axis = next(a for a in axes if a.name == name)
            ms["axes"][j] = entry = {"name": name, "type": axis.type}
        if entry.get("unit") != unit:
            entry["unit"] = unit


def _set_omero(doc: dict[str, Any], old: Image, new: Image, o: Overrides) -> None:
    """The given channel names, colours and windows in the stored ``omero`` (channels the
    store describes not are added with the emitter's defaults and the data's range)."""
    from omeconv.emit.ngff import DEFAULT_COLORS

    count = new.nchannels
    omero = doc.setdefault("omero", {})
    entries = omero.setdefault("channels", [])
    if len(entries) < count:
        ranges = _percentile_windows(old, Percentiles(0.0, 100.0))
        for i in range(len(entries), count):
            lo, hi = ranges[i]
            color = "FFFFFF" if count == 1 else DEFAULT_COLORS[i % len(DEFAULT_COLORS)]
            entries.append(
                {
                    "color": color,
                    "window": {"min": lo, "max": hi, "start": lo, "end": hi},
                    "active": True,
                    "coefficient": 1.0,
                    "family": "linear",
                    "inverted": False,
                }
            )
    for entry, ch in zip(entries, new.channels[:count], strict=False):
        if o.channel_names is not None:
            entry["label"] = ch.label
        if o.channel_colors is not None:
            entry["color"] = ch.color
        if o.channel_windows is not None and ch.window is not None:
            window = entry.setdefault("window", {})
            for key, value in zip(("min", "max", "start", "end"), ch.window, strict=True):
                if window.get(key) != value and abs(value) != float("inf"):
                    window[key] = value


def _patch_label(label: Label, affine: _Affine, axes: Sequence[Axis]) -> Label:
    """A label moved with its image: levels, transforms and the units of ``axes`` (the
    image's, when units were given) by axis name."""
    names = [a.name for a in label.axes]
    units = {a.name: a.unit for a in axes}
    new_axes = tuple(replace(a, unit=units.get(a.name, a.unit)) for a in label.axes)
    levels = tuple(_moved_level(lv, names, affine) for lv in label.levels)
    if label.source_attrs is None:
        return replace(label, axes=new_axes, levels=levels)
    version, attrs = _editable(label.source_attrs)
    ms = (attrs if version == "0.4" else attrs["ome"])["multiscales"][0]
    _refit(ms, label.levels, names, affine)
    if axes:
        _set_units(ms, new_axes)
    source = SourceAttrs(version, attrs)
    return replace(label, axes=new_axes, levels=levels, source_attrs=source)


def _moved_level(level: Level, names: Sequence[str], affine: _Affine) -> Level:
    moves = [affine.get(n, (1.0, 0.0)) for n in names]
    scale = tuple(s * r for s, (r, _) in zip(level.scale, moves, strict=True))
    if level.translation is None and all(c == 0.0 for _, c in moves):
        return replace(level, scale=scale)
    old = level.translation or (0.0,) * len(names)
    shift = tuple(r * t + c for t, (r, c) in zip(old, moves, strict=True))
    return replace(level, scale=scale, translation=shift)
