"""OME-XML to the intermediate model: parsing, units, colours, image and plate metadata.

OME-XML is parsed with ``ome-types``. Parsing is tolerant: a document that fails schema
validation, uses an older schema, or carries a few invalid attribute values is still read,
with an :class:`~omeconv.errors.OmeconvWarning` for every value that had to be dropped.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import ome_types
import pydantic
from ome_types import model as ome_model

from omeconv.errors import MetadataError, OmeconvWarning
from omeconv.model import Axis, Channel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "AcquisitionMetadata",
    "ImageMetadata",
    "PlateMetadata",
    "WellMetadata",
    "image_metadata",
    "length_to_nanometers",
    "length_unit",
    "ome_color_to_hex",
    "parse_ome_xml",
    "plate_metadata",
    "time_unit",
]

logger = logging.getLogger(__name__)

_OME_NS_2016 = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
_OLD_NAMESPACE = re.compile(
    r"http://www\.openmicroscopy\.org/Schemas/"
    r"(?:OME|SA|SPW|BIN|ROI|CA|STD|AML|MLI|DataHistory)/\d{4}-\d{2}s?",
    re.IGNORECASE,
)
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_MAX_REPAIRS = 20

# --------------------------------------------------------------------------------------
# units

# OME symbol -> (NGFF name or None, nanometers per unit or None)
_LENGTH: dict[str, tuple[str | None, float | None]] = {
    "Ym": ("yottameter", 1e33),
    "Zm": ("zettameter", 1e30),
    "Em": ("exameter", 1e27),
    "Pm": ("petameter", 1e24),
    "Tm": ("terameter", 1e21),
    "Gm": ("gigameter", 1e18),
    "Mm": ("megameter", 1e15),
    "km": ("kilometer", 1e12),
    "hm": ("hectometer", 1e11),
    "dam": (None, 1e10),
    "m": ("meter", 1e9),
    "dm": ("decimeter", 1e8),
    "cm": ("centimeter", 1e7),
    "mm": ("millimeter", 1e6),
    "µm": ("micrometer", 1e3),
    "nm": ("nanometer", 1.0),
    "pm": ("picometer", 1e-3),
    "fm": ("femtometer", 1e-6),
    "am": ("attometer", 1e-9),
    "zm": ("zeptometer", 1e-12),
    "ym": ("yoctometer", 1e-15),
    "Å": ("angstrom", 0.1),
    "thou": (None, 25400.0),
    "li": (None, 2116666.6666666665),
    "in": ("inch", 25400000.0),
    "ft": ("foot", 304800000.0),
    "yd": ("yard", 914400000.0),
    "mi": ("mile", 1609344000000.0),
    "ua": (None, 1.495978707e20),
    "ly": (None, 9.4607304725808e24),
    "pc": ("parsec", 3.0856775814913673e25),
    "pt": (None, 352777.77777777775),
    "pixel": (None, None),
    "reference frame": (None, None),
}

_TIME: dict[str, str | None] = {
    "Ys": "yottasecond",
    "Zs": "zettasecond",
    "Es": "exasecond",
    "Ps": "petasecond",
    "Ts": "terasecond",
    "Gs": "gigasecond",
    "Ms": "megasecond",
    "ks": "kilosecond",
    "hs": "hectosecond",
    "das": None,
    "s": "second",
    "ds": "decisecond",
    "cs": "centisecond",
    "ms": "millisecond",
    "µs": "microsecond",
    "ns": "nanosecond",
    "ps": "picosecond",
    "fs": "femtosecond",
    "as": "attosecond",
    "zs": "zeptosecond",
    "ys": "yoctosecond",
    "min": "minute",
    "h": "hour",
    "d": "day",
}

# Case-sensitive spellings seen in the wild -> OME symbol.
_LENGTH_ALIASES = {
    "um": "µm",
    "\u03bcm": "µm",  # GREEK SMALL LETTER MU
    "u": "µm",
    "\u212b": "Å",  # ANGSTROM SIGN
    "A": "Å",
    "px": "pixel",
    "pixels": "pixel",
    "inch": "in",
    "inches": "in",
}
_TIME_ALIASES = {
    "us": "µs",
    "\u03bcs": "µs",  # GREEK SMALL LETTER MU
    "sec": "s",
    "secs": "s",
    "msec": "ms",
    "usec": "µs",
    "hr": "h",
    "hrs": "h",
    "m": "min",
}
# Case-insensitive long names (singular, plural, British spelling) -> OME symbol.
_LENGTH_NAMES = {name: sym for sym, (name, _) in _LENGTH.items() if name is not None}
_LENGTH_NAMES |= {"micron": "µm", "decameter": "dam", "line": "li", "point": "pt"}
_LENGTH_NAMES |= {"lightyear": "ly", "light year": "ly", "astronomical unit": "ua"}
_TIME_NAMES = {name: sym for sym, name in _TIME.items() if name is not None}
_TIME_NAMES |= {"decasecond": "das"}
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _unit_text(unit: Any) -> str:
    text = str(unit.value if isinstance(unit, Enum) else unit).strip()
    return _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _long_name(text: str, names: dict[str, str]) -> str | None:
    low = text.lower().replace("metre", "meter")
    for cand in (low, low.removesuffix("s"), low.removesuffix("es")):
        if cand in names:
            return names[cand]
    return None


def _length_symbol(unit: Any) -> str | None:
    text = _unit_text(unit)
    if text in _LENGTH:
        return text
    if text in _LENGTH_ALIASES:
        return _LENGTH_ALIASES[text]
    return _long_name(text, _LENGTH_NAMES)


def _time_symbol(unit: Any) -> str | None:
    text = _unit_text(unit)
    if text in _TIME:
        return text
    if text in _TIME_ALIASES:
        return _TIME_ALIASES[text]
    return _long_name(text, _TIME_NAMES)


def length_unit(unit: ome_model.UnitsLength | str | None) -> str | None:
    """NGFF name of an OME length unit.

    Parameters
    ----------
    unit
        A ``UnitsLength`` member, its symbol (``"µm"``, ``"nm"``, ``"Å"``) or a common
        spelling (``"um"``, ``"micron"``, ``"\\u00B5m"``, ``"micrometer"``).

    Returns
    -------
    str or None
        E.g. ``"micrometer"``; None for None, and (with an ``OmeconvWarning``) for a unit
        NGFF has no name for (pixel, reference frame, thou, line, point, light year ...).
    """
    if unit is None:
        return None
    symbol = _length_symbol(unit)
    name = None if symbol is None else _LENGTH[symbol][0]
    if name is None:
        warnings.warn(
            f"length unit {_unit_text(unit)!r} has no NGFF equivalent; unit dropped",
            OmeconvWarning,
            stacklevel=2,
        )
    return name


def time_unit(unit: ome_model.UnitsTime | str | None) -> str | None:
    """NGFF name of an OME time unit.

    Parameters
    ----------
    unit
        A ``UnitsTime`` member, its symbol (``"s"``, ``"ms"``, ``"µs"``) or a common
        spelling (``"sec"``, ``"msec"``, ``"seconds"``).

    Returns
    -------
    str or None
        E.g. ``"millisecond"``; None for None, and (with an ``OmeconvWarning``) for a unit
        NGFF has no name for.
    """
    if unit is None:
        return None
    symbol = _time_symbol(unit)
    name = None if symbol is None else _TIME[symbol]
    if name is None:
        warnings.warn(
            f"time unit {_unit_text(unit)!r} has no NGFF equivalent; unit dropped",
            OmeconvWarning,
            stacklevel=2,
        )
    return name


def length_to_nanometers(
    value: float | None, unit: ome_model.UnitsLength | str | None
) -> float | None:
    """``value`` expressed in ``unit`` (default nanometers) converted to nanometers.

    Returns None when ``value`` is None or the unit is not a physical length (pixel,
    reference frame, unknown); the latter with an ``OmeconvWarning``.
    """
    if value is None:
        return None
    symbol = "nm" if unit is None else _length_symbol(unit)
    factor = None if symbol is None else _LENGTH[symbol][1]
    if factor is None:
        warnings.warn(
            f"cannot convert {value} {_unit_text(unit)} to nanometers; value dropped",
            OmeconvWarning,
            stacklevel=2,
        )
        return None
    return float(value) * factor


# --------------------------------------------------------------------------------------
# colours


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


# --------------------------------------------------------------------------------------
# parsing


def _validator_available() -> bool:
    return find_spec("lxml") is not None or find_spec("xmlschema") is not None


def _as_bytes(xml: str | bytes) -> bytes:
    if isinstance(xml, bytes):
        return xml
    text = xml.lstrip("\ufeff")
    # the text is re-encoded as UTF-8, so its declaration must say so
    return _XML_DECL_ENCODING.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")


def _local(tag: Any) -> str | None:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else None


def _fix_units(tree: Any) -> Any:
    """Transformation: rewrite common unit spellings in ``*Unit`` attributes to OME symbols."""
    for elem in tree.getroot().iter():
        if not isinstance(elem.tag, str):
            continue
        for key, val in list(elem.attrib.items()):
            if not key.endswith("Unit"):
                continue
            symbol = _time_symbol(val) if "Time" in key or key == "DeltaTUnit" else None
            symbol = symbol or _length_symbol(val)
            if symbol is not None and symbol != val:
                elem.set(key, symbol)
    return tree


def _drop_attributes(drops: set[tuple[str, str, str]]) -> Callable[[Any], Any]:
    """Transformation removing attributes ``(element, attribute, value)`` found invalid."""

    def transform(tree: Any) -> Any:
        for elem in tree.getroot().iter():
            tag = _local(elem.tag)
            for t, attr, val in drops:
                if t == tag and attr in elem.attrib and _same_value(elem.attrib[attr], val):
                    del elem.attrib[attr]
        return tree

    return transform


def _same_value(text: str, value: str) -> bool:
    if text.strip() == value:
        return True
    try:
        return float(text) == float(value)
    except ValueError:
        return False


def _repairable(exc: pydantic.ValidationError) -> set[tuple[str, str, str]] | None:
    """Attributes to drop to get past ``exc``, or None when that cannot help."""
    cls = getattr(ome_model, exc.title, None)
    fields = getattr(cls, "model_fields", None)
    if fields is None:
        return None
    drops: set[tuple[str, str, str]] = set()
    for err in exc.errors():
        if err["type"] == "missing" or not err["loc"]:
            return None
        info = fields.get(str(err["loc"][0]))
        extra = getattr(info, "json_schema_extra", None)
        if not isinstance(extra, dict) or extra.get("type") != "Attribute":
            return None
        value = err.get("input")
        if isinstance(value, Enum):
            value = value.value
        drops.add((exc.title, str(extra["name"]), str(value)))
    return drops


def _from_xml(data: bytes, transformations: Sequence[Callable[[Any], Any]]) -> ome_types.OME:
    from xsdata.formats.dataclass.parsers.config import ParserConfig

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ome = ome_types.from_xml(
            data,
            validate=False,
            parser_kwargs={"config": ParserConfig(fail_on_unknown_properties=False)},
            transformations=transformations,
        )
    for w in caught:
        logger.debug("ome-types: %s", w.message)
    return ome


def _lenient_parse(data: bytes, path: str | None) -> ome_types.OME:
    transforms: list[Callable[[Any], Any]] = [_fix_units]
    dropped: set[tuple[str, str, str]] = set()
    rewritten = False
    for _ in range(_MAX_REPAIRS):
        try:
            ome = _from_xml(data, transforms)
        except ImportError as exc:
            # an older schema that ome-types can only upgrade with lxml's XSLT
            if rewritten or not _OLD_NAMESPACE.search(data.decode("utf-8", "replace")):
                raise MetadataError(f"cannot read OME-XML: {exc}", path=path) from None
            text = data.decode("utf-8", "replace")
            data = _OLD_NAMESPACE.sub(_OME_NS_2016, text).encode("utf-8")
            rewritten = True
            warnings.warn(
                "OME-XML uses an outdated schema and lxml is not installed; read it as"
                " 2016-06 by renaming its namespace, some metadata may be lost",
                OmeconvWarning,
                stacklevel=3,
            )
            continue
        except pydantic.ValidationError as exc:
            drops = _repairable(exc)
            if not drops or drops <= dropped:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                hint = " (outdated schema; install lxml to upgrade it)" if rewritten else ""
                raise MetadataError(
                    f"invalid OME-XML: {exc.title}.{where}: {first['msg']}{hint}", path=path
                ) from None
            dropped |= drops
            transforms.append(_drop_attributes(drops))
            continue
        except SyntaxError as exc:  # ElementTree's or lxml's ParseError
            raise MetadataError(f"malformed XML: {exc}", path=path) from None
        except ValueError as exc:
            reason = "not an XML document" if "Could not parse" in str(exc) else _one_line(exc)
            raise MetadataError(f"not OME-XML: {reason}", path=path) from None
        for tag, attr, val in sorted(dropped):
            warnings.warn(
                f"dropped invalid OME-XML attribute {tag}/@{attr}={val!r}",
                OmeconvWarning,
                stacklevel=3,
            )
        return ome
    raise MetadataError("invalid OME-XML: too many invalid attributes", path=path)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def parse_ome_xml(xml: str | bytes, *, path: str | None = None) -> ome_types.OME:
    """Parse an OME-XML document, tolerating what real microscopes write.

    Validation against the OME schema is tried first when ``lxml`` or ``xmlschema`` is
    installed; on failure the document is parsed without validation, unknown elements are
    skipped, unit spellings such as ``"um"`` or ``"micron"`` are fixed and attributes with
    invalid values are dropped (each with an ``OmeconvWarning``).

    Parameters
    ----------
    xml
        The document text (or its bytes).
    path
        The file it came from, for error messages.

    Raises
    ------
    MetadataError
        The text is not XML, not OME-XML, or lacks required OME elements or attributes.
    """
    data = _as_bytes(xml)
    if _validator_available():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ome_types.from_xml(data, validate=True)
        except Exception as exc:  # noqa: BLE001 - any failure: read leniently
            logger.info("OME-XML is not schema-valid, reading it leniently: %s", _one_line(exc))
    return _lenient_parse(data, path)


# --------------------------------------------------------------------------------------
# images


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


# --------------------------------------------------------------------------------------
# plates


@dataclass(frozen=True)
class AcquisitionMetadata:
    """One OME PlateAcquisition; times are milliseconds since the epoch (UTC if naive)."""

    id: int
    name: str | None = None
    description: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    maximum_field_count: int | None = None
    ome_id: str | None = None


@dataclass(frozen=True)
class WellMetadata:
    """One OME Well: 0-based row and column indices and its fields.

    ``samples`` has one ``(image index, acquisition id or None)`` pair per WellSample
    (in document order), the image index being the position in ``ome.images``.
    """

    row: int
    column: int
    samples: tuple[tuple[int, int | None], ...]
    ome_id: str | None = None


@dataclass(frozen=True)
class PlateMetadata:
    """One OME Plate: row and column names, wells present, acquisitions."""

    name: str | None
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[WellMetadata, ...]
    acquisitions: tuple[AcquisitionMetadata, ...] = ()
    field_count: int | None = None
    """Largest number of fields in a well."""
    description: str | None = None
    ome_id: str | None = None


def _letters(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


def _names(n: int, convention: ome_model.NamingConvention | None, default: str) -> tuple[str, ...]:
    kind = default if convention is None else _unit_text(convention).lower()
    if kind == "letter":
        return tuple(_letters(i) for i in range(n))
    return tuple(str(i + 1) for i in range(n))


def _epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def _acquisition_ids(acqs: Iterable[ome_model.PlateAcquisition]) -> list[int]:
    """Integer ids: the number ending each OME ID when those are unique, else positions."""
    acqs = list(acqs)
    ids: list[int] = []
    for acq in acqs:
        match = re.search(r"(\d+)$", acq.id)
        if match is None:
            break
        ids.append(int(match.group(1)))
    if len(ids) == len(acqs) and len(set(ids)) == len(ids):
        return ids
    return list(range(len(acqs)))


def plate_metadata(ome: ome_types.OME) -> list[PlateMetadata]:
    """One :class:`PlateMetadata` per OME Plate, in document order.

    Rows are named by the plate's RowNamingConvention (letters by default), columns by its
    ColumnNamingConvention (numbers by default); there are as many as the Rows/Columns
    attributes say, or as the wells need. WellSamples whose ImageRef is missing or points
    to no image are skipped with an ``OmeconvWarning``.
    """
    image_index = {img.id: i for i, img in enumerate(ome.images)}
    plates = []
    for plate in ome.plates:
        acq_ids = _acquisition_ids(plate.plate_acquisitions)
        acquisitions = tuple(
            AcquisitionMetadata(
                id=acq_id,
                name=acq.name,
                description=acq.description,
                start_time=_epoch_ms(acq.start_time),
                end_time=_epoch_ms(acq.end_time),
                maximum_field_count=acq.maximum_field_count,
                ome_id=acq.id,
            )
            for acq, acq_id in zip(plate.plate_acquisitions, acq_ids, strict=True)
        )
        sample_acq = {
            ref.id: acq_id
            for acq, acq_id in zip(plate.plate_acquisitions, acq_ids, strict=True)
            for ref in acq.well_sample_refs
        }
        wells = []
        for well in plate.wells:
            samples: list[tuple[int, int | None]] = []
            for ws in well.well_samples:
                ref = ws.image_ref.id if ws.image_ref is not None else None
                if ref not in image_index:
                    warnings.warn(
                        f"plate {plate.id}: well sample {ws.id} refers to no image ({ref});"
                        " skipped",
                        OmeconvWarning,
                        stacklevel=2,
                    )
                    continue
                samples.append((image_index[ref], sample_acq.get(ws.id)))
            wells.append(WellMetadata(well.row, well.column, tuple(samples), ome_id=well.id))
        n_rows = max([plate.rows or 0, *(w.row + 1 for w in wells)])
        n_cols = max([plate.columns or 0, *(w.column + 1 for w in wells)])
        plates.append(
            PlateMetadata(
                name=plate.name,
                rows=_names(n_rows, plate.row_naming_convention, "letter"),
                columns=_names(n_cols, plate.column_naming_convention, "number"),
                wells=tuple(wells),
                acquisitions=acquisitions,
                field_count=max((len(w.samples) for w in wells), default=None),
                description=plate.description,
                ome_id=plate.id,
            )
        )
    return plates
