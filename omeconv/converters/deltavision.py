"""DeltaVision (``.dv``) files as a source, read with `mrc <https://github.com/tlambert03/mrc>`_.

DeltaVision is an MRC variant (the ``0xC0A0`` id at byte 96) whose sections interleave Z,
wavelengths and time points; ``mrc.DVFile`` sorts them into C, T, Z, Y, X from the header.
Pixels are memory-mapped and read plane by plane. Pixel sizes and Z step (micrometres) and
each channel's emission wavelength come from the header.
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
    require,
    series_indices,
)
from omeconv.model import Channel, Collection

__all__ = ["DeltaVisionConverter"]

#: The DeltaVision id, little- or big-endian, at byte 96.
_DVID = (b"\xa0\xc0", b"\xc0\xa0")


class DeltaVisionConverter:
    """DeltaVision files (mrc)."""

    name: ClassVar[str] = "dv"
    description: ClassVar[str] = "DeltaVision .dv (mrc)"
    suffixes: ClassVar[tuple[str, ...]] = (".dv", ".r3d")

    def guess_can_open(self, source: Any) -> bool:
        return head(source, 98)[96:98] in _DVID

    def open(self, source: Any, *, series: int | None = None) -> Collection:
        """Read ``source`` lazily as one image, C, T, Z, Y, X (``series`` may only be 0)."""
        mrc = require("mrc", "mrc", "DeltaVision", source)
        path = Path(source)
        check_file(path, "DeltaVision")
        series_indices(1, series, path, noun="image")
        with damaged(path, "not a readable DeltaVision file"), mrc.DVFile(str(path)) as dv:
            letters, shape, dtype = dv.axes, dv.shape, dv.dtype
            size = dv.voxel_size
            header = dv.hdr
            waves = [getattr(header, f"wave{k}") for k in range(1, 6)]
            count = int(dv.sizes.get("C", 1))
        chunks = tuple(1 if c not in "YX" else n for c, n in zip(letters, shape, strict=True))
        data = guarded(Reopened(path, _open_data, shape, dtype), path, "DeltaVision", chunks)
        sizes: dict[str, tuple[float, str | None]] = {}
        for axis, value in (("x", size.x), ("y", size.y), ("z", size.z)):
            if axis.upper() in letters and value and value > 0:
                sizes[axis] = (float(value), "micrometer")
        channels = [Channel(emission_wavelength=float(w) if w else None) for w in waves[:count]]
        image = make_image(path.stem, data, letters, path, sizes=sizes, channels=channels)
        return Collection(images=(image,))


def _open_data(path: Path) -> tuple[Any, Any]:
    import mrc

    dv = mrc.DVFile(str(path))
    return dv, dv.data
