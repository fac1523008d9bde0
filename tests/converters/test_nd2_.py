"""Nikon ND2 through the nd2 adapter, checked against nd2's own reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tests.converters.adapter_suite import AdapterSuite, Reference

if TYPE_CHECKING:
    from pathlib import Path

FILES = ("soft-matter__pims_nd2__cluster.nd2",)


class TestNd2(AdapterSuite):
    adapter = "nd2"
    folder = "nd2"
    files = FILES
    library = "nd2"

    def reference(self, path: Path) -> list[Reference]:
        import nd2

        with nd2.ND2File(path) as f:
            data = np.asarray(f.asarray())
            axes = "".join(f.sizes).lower()
            size = f.voxel_size()
            names = [c.channel.name for c in f.metadata.channels]
        sizes = {"x": size.x, "y": size.y}
        if "z" in axes:
            sizes["z"] = size.z
        return [Reference(data, axes, sizes, names)]

    def test_ome_xml_kept(self, path: Path) -> None:
        import nd2

        collection = self.open(path)
        with nd2.ND2File(path) as f:
            assert collection.ome_xml == f.ome_metadata().to_xml()
