"""Leica LIF through the liffile adapter, checked against liffile's own arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tests.converters.adapter_suite import AdapterSuite, Reference

if TYPE_CHECKING:
    from pathlib import Path

FILES = (
    "Arcadia-Science__readlif__LeicaLASX_xz-plane_example.lif",
    "nimne__readlif__LeicaLASX_wavelength-sweep_example.lif",
    "nimne__readlif__testdata_2channel_xz.lif",
)


class TestLif(AdapterSuite):
    adapter = "lif"
    folder = "lif"
    files = FILES
    library = "liffile"

    def reference(self, path: Path) -> list[Reference]:
        """``LifImage.asarray()`` of each image; coordinates' spacing as sizes (m -> um)."""
        import liffile

        refs = []
        with liffile.LifFile(path) as lif:
            for image in lif.images:
                dims = "".join(image.dims)
                axes = ["c" if d in "λΛ" and "C" not in dims else d.lower() for d in dims]
                sizes = {}
                for d, values in image.coords.items():
                    if d in "XYZT" and len(values) > 1:
                        step = abs(values[-1] - values[0]) / (len(values) - 1)
                        sizes[d.lower()] = step * (1 if d == "T" else 1e6)
                refs.append(Reference(np.asarray(image.asarray()), axes, sizes, None))
        return refs

    def test_wavelength_sweeps_are_channels(self, path: Path) -> None:
        images = self.open(path).images
        if "wavelength-sweep" not in path.name:
            assert all(ch.emission_wavelength is None for im in images for ch in im.channels)
            return
        emission = [ch.emission_wavelength for ch in images[0].channels]
        excitation = [ch.excitation_wavelength for ch in images[1].channels]
        assert emission == [550.0 + 10 * k for k in range(20)]
        assert excitation == [490.0 + 5 * k for k in range(15)]
