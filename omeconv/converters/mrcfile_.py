"""MRC / CCP4 maps as a source, read with `mrcfile <https://github.com/ccpem/mrcfile>`_.

One image per file, memory-mapped and read plane by plane. A volume or an image stack is
``z``, ``y``, ``x`` (as Bio-Formats reads MRC), a volume stack adds a custom ``v`` axis, a
single image is ``y``, ``x``. Voxel sizes are in ångström, as the header gives them.
DeltaVision files, an MRC variant, have their own adapter (:mod:`.deltavision`).
"""

from __future__ import annotations

import struct
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
from omeconv.errors import UnsupportedSourceError
from omeconv.model import Collection

__all__ = ["MrcConverter"]

_MODES = (0, 1, 2, 6, 12)
"""MRC modes of real pixels: int8, int16, float32, uint16, float16."""
_SUFFIXES = (".mrc", ".map", ".mrcs", ".ccp4", ".st", ".ali", ".rec")


class MrcConverter:
    """MRC2014 / CCP4 files (mrcfile)."""

    name: ClassVar[str] = "mrc"
    description: ClassVar[str] = "MRC / CCP4 maps (mrcfile)"
    suffixes: ClassVar[tuple[str, ...]] = _SUFFIXES

    def guess_can_open(self, source: Any) -> bool:
        header = head(source, 212)
        if len(header) < 212:
            return False
        if header[208:212] == b"MAP ":
            return True
        # Older MRC files have no "MAP " stamp: a known suffix and a sane header.
        nx, ny, nz, mode = struct.unpack("<4i", header[:16])
        return str(source).lower().endswith(_SUFFIXES) and min(nx, ny, nz) > 0 and mode in _MODES

    def open(self, source: Any, *, series: int | None = None) -> Collection:
        """Read ``source`` lazily as one image (``series`` may only be 0)."""
        mrcfile = require("mrcfile", "mrc", "MRC", source)
        path = Path(source)
        check_file(path, "MRC")
        series_indices(1, series, path, noun="image")
        with damaged(path, "not a readable MRC file"), mrcfile.mmap(str(path), mode="r") as mrc:
            shape, dtype = mrc.data.shape, mrc.data.dtype
            size = mrc.voxel_size
        if dtype.kind not in "biuf":
            raise UnsupportedSourceError(f"MRC pixels of type {dtype} are not supported", path=path)
        letters = {2: "YX", 3: "ZYX", 4: "VZYX"}[len(shape)]
        chunks = tuple(1 if c in "VZ" else n for c, n in zip(letters, shape, strict=True))
        data = guarded(Reopened(path, _open_data, shape, dtype), path, "MRC", chunks)
        sizes: dict[str, tuple[float, str | None]] = {}
        for axis in "xyz":
            value = float(getattr(size, axis))
            if axis.upper() in letters and value > 0:
                sizes[axis] = (value, "angstrom")
        image = make_image(path.stem, data, letters, path, sizes=sizes)
        return Collection(images=(image,))


def _open_data(path: Path) -> tuple[Any, Any]:
    import mrcfile

    mrc = mrcfile.mmap(str(path), mode="r")
    return mrc, mrc.data
