"""Units: the one table of length and time units, and their NGFF names.

Files spell units many ways (``"um"``, ``"\\u00b5m"``, ``"micron"``, ``"sec"``); every reader
(OME-XML, ImageJ, vendor TIFF tags) maps them through here, so one spelling always gives one
NGFF unit, and a unit NGFF has no name for is dropped with a warning rather than passed on.
"""

from __future__ import annotations

import re
import warnings
from enum import Enum
from typing import Any

from omeconv.errors import OmeconvWarning

__all__ = [
    "length_symbol",
    "length_to_nanometers",
    "length_unit",
    "ngff_unit",
    "time_symbol",
    "time_unit",
    "unit_text",
]

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


def unit_text(unit: Any) -> str:
    text = str(unit.value if isinstance(unit, Enum) else unit).strip()
    return _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _long_name(text: str, names: dict[str, str]) -> str | None:
    low = text.lower().replace("metre", "meter")
    for cand in (low, low.removesuffix("s"), low.removesuffix("es")):
        if cand in names:
            return names[cand]
    return None


def length_symbol(unit: Any) -> str | None:
    text = unit_text(unit)
    if text in _LENGTH:
        return text
    if text in _LENGTH_ALIASES:
        return _LENGTH_ALIASES[text]
    return _long_name(text, _LENGTH_NAMES)


def time_symbol(unit: Any) -> str | None:
    text = unit_text(unit)
    if text in _TIME:
        return text
    if text in _TIME_ALIASES:
        return _TIME_ALIASES[text]
    return _long_name(text, _TIME_NAMES)


def length_unit(unit: Any) -> str | None:
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
    symbol = length_symbol(unit)
    name = None if symbol is None else _LENGTH[symbol][0]
    if name is None:
        warnings.warn(
            f"length unit {unit_text(unit)!r} has no NGFF equivalent; unit dropped",
            OmeconvWarning,
            stacklevel=2,
        )
    return name


def time_unit(unit: Any) -> str | None:
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
    symbol = time_symbol(unit)
    name = None if symbol is None else _TIME[symbol]
    if name is None:
        warnings.warn(
            f"time unit {unit_text(unit)!r} has no NGFF equivalent; unit dropped",
            OmeconvWarning,
            stacklevel=2,
        )
    return name


def length_to_nanometers(value: float | None, unit: Any) -> float | None:
    """``value`` expressed in ``unit`` (default nanometers) converted to nanometers.

    Returns None when ``value`` is None or the unit is not a physical length (pixel,
    reference frame, unknown); the latter with an ``OmeconvWarning``.
    """
    if value is None:
        return None
    symbol = "nm" if unit is None else length_symbol(unit)
    factor = None if symbol is None else _LENGTH[symbol][1]
    if factor is None:
        warnings.warn(
            f"cannot convert {value} {unit_text(unit)} to nanometers; value dropped",
            OmeconvWarning,
            stacklevel=2,
        )
        return None
    return float(value) * factor


_UNCALIBRATED = frozenset({"", "pixel", "pixels", "px"})


def ngff_unit(unit: Any) -> str | None:
    """NGFF name of a length or time unit as files spell it (``"um"``, ``"\\u00b5m"``,
    ``"micron"``, ``"sec"`` ...), tried as a length first and in any case.

    None when there is none or it says uncalibrated (``"pixel"``), and (with an
    ``OmeconvWarning``) for a unit NGFF has no name for, which is dropped.
    """
    if unit is None or unit_text(unit).lower() in _UNCALIBRATED:
        return None
    text = unit_text(unit)
    for spelling in dict.fromkeys((text, text.lower())):
        if length_symbol(spelling) is not None:
            return length_unit(spelling)
        if time_symbol(spelling) is not None:
            return time_unit(spelling)
    warnings.warn(
        f"unit {text!r} has no NGFF equivalent; unit dropped", OmeconvWarning, stacklevel=2
    )
    return None
