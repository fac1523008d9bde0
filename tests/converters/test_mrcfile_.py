"""MRC / CCP4 maps through the mrcfile adapter, checked against mrcfile."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tests.converters.adapter_suite import AdapterSuite, Reference

if TYPE_CHECKING:
    from pathlib import Path

FILES = ("ccpem__mrcfile__EMD-3001.map", "ccpem__mrcfile__float16.mrc")


class TestMrc(AdapterSuite):
    adapter = "mrc"
    folder = "mrc"
    files = FILES
    library = "mrcfile"
    other = "dv/tlambert03__mrc__toxo.dv"

    def reference(self, path: Path) -> list[Reference]:
        import mrcfile

        with mrcfile.open(str(path)) as mrc:
            data = np.array(mrc.data)
            size = mrc.voxel_size
        axes = "zyx"[-data.ndim :]
        sizes = {a: float(getattr(size, a)) for a in axes if float(getattr(size, a)) > 0}
        return [Reference(data, axes, sizes, None)]

    def test_units_are_angstrom(self, path: Path) -> None:
        image = self.open(path).images[0]
        assert {a.unit for a in image.axes} == {"angstrom"}
