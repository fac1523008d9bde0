"""DeltaVision through the mrc adapter, checked against mrc.DVFile."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tests.converters.adapter_suite import AdapterSuite, Reference

if TYPE_CHECKING:
    from pathlib import Path

FILES = ("tlambert03__mrc__toxo.dv",)


class TestDeltaVision(AdapterSuite):
    adapter = "dv"
    folder = "dv"
    files = FILES
    library = "mrc"
    other = "mrc/ccpem__mrcfile__EMD-3001.map"

    def reference(self, path: Path) -> list[Reference]:
        import mrc

        with mrc.DVFile(str(path)) as dv:
            data = np.asarray(dv.asarray(squeeze=False))
            size = dv.voxel_size
            axes = dv.axes.lower()
        return [Reference(data, axes, {"x": size.x, "y": size.y, "z": size.z}, None)]

    def test_emission_wavelengths(self, path: Path) -> None:
        """toxo.dv: 2 wavelengths, 525 and 632 nm (tests of tlambert03/mrc)."""
        image = self.open(path).images[0]
        assert [ch.emission_wavelength for ch in image.channels] == [525.0, 632.0]
        assert dict(zip(image.axis_names, image.data.shape, strict=True))["z"] == 17
