"""What the OME-XML says about one image: name, axes with units, scales, channels, colours."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ome_types import model as ome_model

from omeconv.errors import MetadataError, OmeconvWarning
from omeconv.model import Axis, Channel
from omeconv.units import length_to_nanometers, length_unit, time_unit

if TYPE_CHECKING:
    from collections.abc import Sequence

    import ome_types

__all__ = ["ImageMetadata", "image_metadata", "ome_color_to_hex"]


def ome_color_to_hex(value: int | str | ome_model.Color) -> str:
    """``"RRGGBB"`` (upper case) of an OME colour.

    Parameters
    ----------
    value
        A signed (or unsigned) 32-bit RGBA integer as stored in OME-XML (``-1`` is opaque
        white, ``65535`` blue), its decimal string, or an ``ome_types.model.Color``.
        Alpha is ignored.
    """
    if isinstance(value, ome_model.Color):
        r, g, b = value.as_rgb_tuple(alpha=False)[:3]
        return f"{r:02X}{g:02X}{b:02X}"
    try:
        rgba = int(value) & 0xFFFFFFFF
    except (TypeError, ValueError):
        raise ValueError(f"not an OME colour: {value!r}") from None
    return f"{rgba >> 8:06X}"


@dataclass(frozen=True)
class ImageMetadata:
    """What the OME-XML says about one image, arranged for a given pixel array layout.

    ``axes`` and ``scale`` have one entry per letter of the axes string given to
    :func:`image_metadata`; ``channels`` has one entry per channel of the array (the
    samples of RGB channels expanded), or is empty when the OME-XML describes none.
    """

    name: str | None
    axes: tuple[Axis, ...]
    scale: tuple[float, ...]
    channels: tuple[Channel, ...]


_RGBA_LABELS = ("R", "G", "B", "A")
_RGBA_COLORS = ("FF0000", "00FF00", "0000FF", None)


def _usable(value: float | None) -> bool:
    """A size or increment that can be a scale: positive and finite (0 means unknown)."""
    return value is not None and math.isfinite(value) and value > 0


def _space(size: float | None, unit: Any) -> tuple[float, str | None]:
    if size is None or not _usable(size):
        return 1.0, None
    return float(size), length_unit(unit if unit is not None else "µm")


def _time_increment(pixels: ome_model.Pixels) -> tuple[float | None, Any]:
    """TimeIncrement, else the mean step of the planes' DeltaT over T (at C=0, Z=0)."""
    if _usable(pixels.time_increment):
        return float(pixels.time_increment or 0), pixels.time_increment_unit
    stamps = {
        p.the_t: (p.delta_t, p.delta_t_unit)
        for p in pixels.planes
        if p.the_c == 0 and p.the_z == 0 and p.delta_t is not None
    }
    if len(stamps) < 2:
        return None, None
    t0, t1 = min(stamps), max(stamps)
    (d0, u0), (d1, u1) = stamps[t0], stamps[t1]
    if u0 != u1 or d0 is None or d1 is None:
        return None, None
    step = (d1 - d0) / (t1 - t0)
    if not _usable(step):
        return None, None
    return step, u0


def _channel(ch: ome_model.Channel) -> Channel:
    color = ome_color_to_hex(ch.color) if "color" in ch.model_fields_set else None
    return Channel(
        label=ch.name or None,
        color=color,
        emission_wavelength=length_to_nanometers(
            ch.emission_wavelength, ch.emission_wavelength_unit
        ),
        excitation_wavelength=length_to_nanometers(
            ch.excitation_wavelength, ch.excitation_wavelength_unit
        ),
    )


def _expand_samples(base: Channel, n: int, prefix: str | None) -> list[Channel]:
    out = []
    for j in range(n):
        if n in (3, 4):
            suffix, color = _RGBA_LABELS[j], _RGBA_COLORS[j]
        else:
            suffix, color = f"S{j}", None
        label = f"{prefix} {suffix}" if prefix else suffix
        out.append(Channel(
            label=label,
            color=color,
            emission_wavelength=base.emission_wavelength,
            excitation_wavelength=base.excitation_wavelength,
        ))  # fmt: skip
    return out


def _channels(
    pixels: ome_model.Pixels, letters: str, shape: Sequence[int] | None
) -> tuple[Channel, ...]:
    ome_channels = list(pixels.channels)
    has_s = "S" in letters
    want: int | None = None
    if shape is not None:
        want = math.prod(int(shape[i]) for i, a in enumerate(letters) if a in "CS")

    plain = [_channel(ch) for ch in ome_channels]
    expanded: list[Channel] = []
    for i, (ch, base) in enumerate(zip(ome_channels, plain, strict=True)):
        spp = ch.samples_per_pixel or 1
        if spp == 1 and has_s and len(ome_channels) == 1 and want is not None and want > 1:
            spp = want  # SamplesPerPixel missing on an RGB image
        if spp > 1:
            prefix = None if len(ome_channels) == 1 else (ch.name or f"C{i}")
            expanded.extend(_expand_samples(base, spp, prefix))
        else:
            expanded.append(base)
    if not ome_channels and has_s:
        expanded = _expand_samples(Channel(), want or 3, None)

    if want is None:
        if "C" not in letters and not has_s:
            return tuple(plain[:1])
        return tuple(expanded if has_s or len(expanded) == pixels.size_c else plain)
    if not expanded:
        return ()
    for candidate in (expanded, plain):
        if len(candidate) == want:
            return tuple(candidate)
    warnings.warn(
        f"OME-XML describes {len(plain)} channels but the pixels have {want};"
        " channel metadata padded or cut to fit",
        OmeconvWarning,
        stacklevel=3,
    )
    return tuple((expanded + [Channel()] * want)[:want])


def image_metadata(
    ome: ome_types.OME, index: int, axes: str, *, shape: Sequence[int] | None = None
) -> ImageMetadata:
    """Names, axes, scales and channels of OME image ``index`` for a pixel array.

    Parameters
    ----------
    ome
        The parsed OME-XML.
    index
        Position of the image among ``ome.images``.
    axes
        tifffile axis letters of the pixel array, e.g. ``"TCZYX"``, ``"CYX"``, ``"YXS"``.
        ``S`` (samples) becomes the channel axis ``c``, or a custom axis ``s`` when ``C``
        is present too (then ``channels`` lists C x S entries, C outermost). Other letters
        (``Q``, ``I`` ...) become custom axes.
    shape
        Shape of the array, when known; it lets ``channels`` match the channel count.

    Returns
    -------
    ImageMetadata
        Units: x/y/z from PhysicalSize*Unit (micrometer when a size has no unit), t from
        TimeIncrementUnit (second by default); TimeIncrement falls back to the planes'
        DeltaT. Scales are 1.0 where nothing is known.
    """
    try:
        image = ome.images[index]
    except IndexError:
        raise MetadataError(
            f"OME-XML has {len(ome.images)} images, no image number {index}"
        ) from None
    pixels = image.pixels
    letters = axes.upper()
    if shape is not None and len(shape) != len(letters):
        raise ValueError(f"axes {axes!r} do not match a shape of {len(shape)} dimensions")

    spatial = {
        "X": _space(pixels.physical_size_x, pixels.physical_size_x_unit),
        "Y": _space(pixels.physical_size_y, pixels.physical_size_y_unit),
        "Z": _space(pixels.physical_size_z, pixels.physical_size_z_unit),
    }
    out_axes: list[Axis] = []
    scale: list[float] = []
    seen: set[str] = set()
    for letter in letters:
        if letter in spatial:
            value, unit = spatial[letter]
            axis = Axis(name=letter.lower(), type="space", unit=unit)
        elif letter == "T":
            increment, t_unit = _time_increment(pixels)
            value = 1.0 if increment is None else increment
            unit = None if increment is None else time_unit(t_unit or "s")
            axis = Axis(name="t", type="time", unit=unit)
        elif letter == "C" or (letter == "S" and "C" not in letters):
            value, axis = 1.0, Axis(name="c", type="channel")
        else:
            value, axis = 1.0, Axis.named(letter.lower())
        name = axis.name
        k = 1
        while name in seen:
            name = f"{axis.name}{k}"
            k += 1
        seen.add(name)
        out_axes.append(axis if name == axis.name else Axis(name, axis.type, axis.unit))
        scale.append(value)

    return ImageMetadata(
        name=image.name or None,
        axes=tuple(out_axes),
        scale=tuple(scale),
        channels=_channels(pixels, letters, shape),
    )
