"""Olympus FluoView OIB/OIF files as a source, read with cgohlke's
`oiffile <https://github.com/cgohlke/oiffile>`_.

An OIB is a compound file holding one TIFF per plane; oiffile orders them into its series
(axes such as ``CYX``, ``TZCYX``) and exposes them as a zarr store, read plane by plane.
Pixel sizes come from the reference image's convert values, the Z step and time interval
from the axis intervals, and channel names and wavelengths from the channel parameters of
the FluoView settings (``mainfile``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from omeconv.converters._vendor import (
    Reopened,
    check_file,
    damaged,
    guarded,
    head,
    make_image,
    reason,
    require,
    series_indices,
)
from omeconv.errors import CorruptSourceError
from omeconv.model import Channel, Collection

__all__ = ["OifConverter"]

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Units FluoView writes, as NGFF names.
_UNITS = {"nm": "nanometer", "um": "micrometer", "mm": "millimeter", "ms": "millisecond",
          "s": "second"}  # fmt: skip


class OifConverter:
    """Olympus FluoView OIB (compound file) and OIF (settings file + folder) files (oiffile)."""

    name: ClassVar[str] = "oib"
    description: ClassVar[str] = "Olympus FluoView OIB/OIF (oiffile)"
    suffixes: ClassVar[tuple[str, ...]] = (".oib", ".oif")

    def guess_can_open(self, source: Any) -> bool:
        magic = head(source, 512)
        name = str(source).lower()
        if magic.startswith(_OLE2):
            return _is_oib(source, name)
        # An OIF settings file is UTF-16 text starting with its [FileInformation] section.
        return name.endswith(".oif") and "[FileInformation]".encode("utf-16-le") in magic

    def open(self, source: Any, *, series: int | None = None) -> Collection:
        """Read ``source`` lazily as one image (``series`` may only be 0)."""
        oiffile = require("oiffile", "oib", "Olympus OIB/OIF", source)
        path = Path(source)
        check_file(path, "OIB/OIF")
        series_indices(1, series, path, noun="image")
        with damaged(path, "not a readable OIB/OIF file"), oiffile.OifFile(str(path)) as oib:
            letters, shape, dtype = oib.axes, oib.shape, oib.dtype
            settings = oib.mainfile
        chunks = tuple(n if c in "YXS" else 1 for c, n in zip(letters, shape, strict=True))
        data = guarded(Reopened(path, _open_data, shape, dtype), path, "OIB/OIF", chunks)
        try:
            sizes = _sizes(settings, letters)
            channels = _channels(settings)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptSourceError(f"unreadable settings: {reason(exc)}", path=path) from exc
        image = make_image(path.stem, data, letters, path, sizes=sizes, channels=channels)
        return Collection(images=(image,))


def _is_oib(source: Any, name: str) -> bool:
    """Whether an OLE2 compound file (MS Office, ZVI … use them too) holds ``OibInfo.txt``;
    by the name when oiffile is not installed to list its streams."""
    try:
        import oiffile
    except ImportError:
        return name.endswith(".oib")
    try:
        compound = oiffile.CompoundFile(str(source))
    except Exception:  # noqa: BLE001 -- any failure: not an OIB (guessing never raises)
        return False
    try:
        return "OibInfo.txt" in compound.files()
    finally:
        compound.close()


def _open_data(path: Path) -> tuple[Any, Any]:
    import oiffile
    import zarr

    oib = oiffile.OifFile(str(path))
    return oib, zarr.open_array(oib.series[0].aszarr(), mode="r")


def _sizes(settings: dict[str, Any], letters: str) -> dict[str, tuple[float, str | None]]:
    sizes: dict[str, tuple[float, str | None]] = {}
    reference = settings.get("Reference Image Parameter") or {}
    for axis, key in (("x", "Width"), ("y", "Height")):
        value = reference.get(f"{key}ConvertValue")
        if value and float(value) > 0:
            sizes[axis] = (float(value), _UNITS.get(str(reference.get(f"{key}Unit"))))
    for section in settings.values():
        if not isinstance(section, dict) or "AxisCode" not in section:
            continue
        code = str(section["AxisCode"])
        interval = section.get("Interval")
        if code in ("Z", "T") and code in letters and interval and float(interval) > 0:
            unit = str(section.get("UnitName", ""))
            sizes[code.lower()] = (float(interval), _UNITS.get(unit))
    return sizes


def _channels(settings: dict[str, Any]) -> list[Channel]:
    channels = []
    k = 1
    while f"Channel {k} Parameters" in settings:
        section = settings[f"Channel {k} Parameters"]
        emission = section.get("EmissionWavelength")
        excitation = section.get("ExcitationWavelength")
        channels.append(
            Channel(
                label=str(section["CH Name"]) if section.get("CH Name") else None,
                emission_wavelength=float(emission) if emission else None,
                excitation_wavelength=float(excitation) if excitation else None,
            )
        )
        k += 1
    return channels
