"""Micro-Manager NDTiff datasets through the ndtiff adapter, checked against ndtiff."""

from __future__ import annotations

import contextlib
import io
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from omeconv.api import open_source
from omeconv.converters import guess_converter
from tests.converters.adapter_suite import AdapterSuite, Reference

if TYPE_CHECKING:
    from pathlib import Path

FILES = (
    "micro-manager__NDStorage__12_bit_pycromanager_mda",
    "micro-manager__NDStorage__labeled_positions_1",
    "micro-manager__NDStorage__ndtiff3.2_11bit_1",
    "micro-manager__NDStorage__ndtiff3.2_monochrome",
    "micro-manager__NDStorage__ndtiffv3.0_test",
)
_NAMES = {"time": "t", "channel": "c", "z": "z"}


class TestNdtiff(AdapterSuite):
    adapter = "ndtiff"
    folder = "ndtiff"
    files = FILES
    library = "ndtiff"

    def reference(self, path: Path) -> list[Reference]:
        """``Dataset.as_array`` per position; channel names from the channel axis' labels."""
        import ndtiff

        with contextlib.redirect_stdout(io.StringIO()):
            dataset = ndtiff.Dataset(str(path))
        try:
            axes = [a for a in dataset.axes if a != "position"]
            channels = list(dataset.axes.get("channel", []))
            names = channels if all(isinstance(c, str) for c in channels) else None
            names = names or dataset.get_channel_names() or None
            size = float(dataset.summary_metadata["PixelSize_um"])
            refs = []
            for position in dataset.axes.get("position", [None]):
                select = {} if position is None else {"position": position}
                data = np.asarray(dataset.as_array(axes=axes, **select))
                letters = [_NAMES[a] for a in axes] + ["y", "x"]
                refs.append(Reference(data, letters, {"x": size, "y": size}, names))
        finally:
            dataset.close()
        return refs

    def damaged_copy(self, path: Path, tmp_path: Path) -> Path:
        """The dataset folder with its image stack cut in half."""
        copy = tmp_path / path.name
        shutil.copytree(path, copy)
        for stack in copy.glob("*_NDTiffStack.tif"):
            data = stack.read_bytes()
            stack.write_bytes(data[: len(data) // 2])
        return copy

    def test_opens_from_index_and_stack(self, path: Path) -> None:
        for member in [path / "NDTiff.index", *path.glob("*_NDTiffStack.tif")]:
            assert guess_converter(member).name == "ndtiff"


def test_labeled_positions(corpus: Path) -> None:
    """NDStorage's test_labeled_positions: acquired as Pos2, Pos0, Pos1, whose pixel (0, 0)
    is 0, 1, 2; the collection lists the positions sorted by label, as ndtiff does."""
    folder = corpus / "vendor" / "ndtiff" / "micro-manager__NDStorage__labeled_positions_1"
    collection = open_source(folder)
    assert collection.layout == "bioformats2raw"
    assert [im.name for im in collection.images] == ["Pos0", "Pos1", "Pos2"]
    assert [int(im.data[0, 0].compute()) for im in collection.images] == [1, 2, 0]


def test_plain_folder_is_not_a_dataset(tmp_path: Path) -> None:
    from omeconv.converters import get_converter

    (tmp_path / "a_NDTiffStack.tif").write_bytes(b"II*\x00")
    assert not get_converter("ndtiff").guess_can_open(tmp_path)
    assert not get_converter("ndtiff").guess_can_open(tmp_path / "a_NDTiffStack.tif")


def test_positions_are_placed_at_their_stage_positions(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each position's translation is the X/Y stage position (micrometers) its first image's
    metadata state: the intended one (the corpus: Pos0 at y 1, Pos1 at y 2, Pos2 at 0, 0,
    which needs none), else the measured one when it is there."""
    import ndtiff

    from omeconv.api import convert
    from tests.factories import group_attrs

    folder = corpus / "vendor" / "ndtiff" / "micro-manager__NDStorage__labeled_positions_1"
    if not folder.exists():
        pytest.skip(f"{folder.name} is not in the corpus")
    names = ["Pos0", "Pos1", "Pos2"]
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = ndtiff.Dataset(str(folder))
    try:
        meta = {n: dataset.read_metadata(position=n) for n in names}
    finally:
        dataset.close()
    intended = {
        n: (float(m["YPosition_um_Intended"]), float(m["XPosition_um_Intended"]))
        for n, m in meta.items()
    }
    assert intended == {"Pos0": (1.0, 0.0), "Pos1": (2.0, 0.0), "Pos2": (0.0, 0.0)}
    measured = {"Pos0": (20.5, -1500.25), "Pos1": (310.0, 0.0), "Pos2": (-4.0, 12.75)}
    kind = type(dataset)
    read = kind.read_metadata

    def with_measured(self: Any, **where: Any) -> dict[str, Any]:
        y, x = measured[where["position"]]
        return {**read(self, **where), "XPositionUm": x, "YPositionUm": y}

    for stage in (intended, measured):
        if stage is measured:
            monkeypatch.setattr(kind, "read_metadata", with_measured)
        out = tmp_path / f"out{len(str(stage))}.ome.zarr"
        convert(folder, out, workers=1)
        for k, name in enumerate(names):
            multiscale = group_attrs(out / str(k))["multiscales"][0]
            assert [a["name"] for a in multiscale["axes"]] == ["y", "x"]
            transforms = multiscale["datasets"][0]["coordinateTransformations"]
            if not any(stage[name]):
                assert len(transforms) == 1
                continue
            assert transforms[1] == {"type": "translation", "translation": list(stage[name])}
