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


def test_positions_are_placed_at_their_stage_positions(corpus: Path) -> None:
    """A file with positions (``P``): each image's translation is its multipoint loop
    point's X and Y stage position in micrometers, as nd2 reads them."""
    import copy

    import dask.array as da
    import pytest

    nd2 = pytest.importorskip("nd2")
    from nd2.structures import Position, StagePosition, XYPosLoop, XYPosLoopParams

    from omeconv.converters import nd2_

    path = corpus / "vendor" / "nd2" / FILES[0]
    if not path.exists():
        pytest.skip(f"{path.name} is not in the corpus")
    points = [
        Position(stagePositionUm=StagePosition(x=-26056.95, y=-4155.5, z=3912.3)),
        Position(stagePositionUm=StagePosition(x=1250.0, y=-75.25, z=3912.3)),
    ]
    loop = XYPosLoop(count=2, nestingLevel=0, parameters=XYPosLoopParams(False, points))

    class TwoPositions:
        """The corpus file seen as two positions of a multipoint loop."""

        def __init__(self, f: object) -> None:
            self.f = f
            self.experiment = [loop]

        @property
        def sizes(self) -> dict[str, int]:
            return {"P": 2, **self.f.sizes}  # type: ignore[attr-defined]

        def to_dask(self) -> da.Array:
            return da.stack([self.f.to_dask()] * 2)  # type: ignore[attr-defined]

        def ome_metadata(self) -> object:
            ome = self.f.ome_metadata()  # type: ignore[attr-defined]
            ome.images.append(copy.deepcopy(ome.images[0]))
            return ome

    with nd2.ND2File(path) as f:
        collection = nd2_._open(TwoPositions(f), path, None)
        expected = nd2_.stage_positions([loop])
    assert expected == [{"x": -26056.95, "y": -4155.5}, {"x": 1250.0, "y": -75.25}]
    for image, where in zip(collection.images, expected, strict=True):
        names = [a.name for a in image.axes]
        shift = dict(zip(names, image.levels[0].translation or (), strict=True))
        assert shift == {**dict.fromkeys(names, 0.0), **where}
    with nd2.ND2File(path) as f:
        single = nd2_._open(f, path, None).images[0]  # no positions: not placed
    assert single.levels[0].translation is None
