"""Micro-Manager NDTiff datasets through the ndtiff adapter, checked against ndtiff."""

from __future__ import annotations

import contextlib
import io
import shutil
from typing import TYPE_CHECKING

import numpy as np

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
