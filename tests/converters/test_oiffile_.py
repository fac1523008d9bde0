"""Olympus OIB through the oiffile adapter, checked against oiffile."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tests.converters.adapter_suite import AdapterSuite, Reference

if TYPE_CHECKING:
    from pathlib import Path

FILES = ("cgohlke__oiffile__test.oib",)


class TestOib(AdapterSuite):
    adapter = "oib"
    folder = "oib"
    files = FILES
    library = "oiffile"

    def reference(self, path: Path) -> list[Reference]:
        import oiffile

        with oiffile.OifFile(str(path)) as oib:
            data = np.asarray(oib.asarray())
            axes = oib.axes.lower()
            ref = oib.mainfile["Reference Image Parameter"]
            names = []
            k = 1
            while f"Channel {k} Parameters" in oib.mainfile:
                names.append(oib.mainfile[f"Channel {k} Parameters"]["CH Name"])
                k += 1
        sizes = {"x": ref["WidthConvertValue"], "y": ref["HeightConvertValue"]}
        return [Reference(data, axes, sizes, names)]

    def test_readme_values(self, path: Path) -> None:
        """oiffile's README: shape (3, 256, 256), image[:, 95, 216] == [820, 50, 436]."""
        image = self.open(path).images[0]
        assert image.axis_names == "cyx"
        assert image.data[:, 95, 216].compute().tolist() == [820, 50, 436]
        assert [ch.label for ch in image.channels] == ["CH1", "CH2", "TD1"]
        assert [ch.excitation_wavelength for ch in image.channels] == [488.0, 543.0, 543.0]
