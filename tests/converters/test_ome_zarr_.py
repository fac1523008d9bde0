"""The OME-Zarr 0.4 source adapter: what it reads into the model, lazily and without writing."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import numpy as np
import pytest

from omeconv.converters import get_converter, guess_converter
from omeconv.errors import CorruptSourceError, MetadataError, UnsupportedSourceError
from tests.converters.adapter_suite import AdapterSuite, Reference
from tests.test_upgrade import make_encoded, make_labelled_image, make_plate, tree_hash

if TYPE_CHECKING:
    from pathlib import Path


def test_guess_and_lazy_open(tmp_path: Path) -> None:
    source = make_labelled_image(tmp_path / "in.zarr")
    before = tree_hash(source)
    converter = guess_converter(source)
    assert converter.name == "ome_zarr"
    assert not converter.guess_can_open(tmp_path / "missing.zarr")
    assert not converter.guess_can_open("s3://bucket/x.zarr")
    collection = converter.open(source)
    (image,) = collection.images
    assert image.axis_names == "czyx"
    assert [lv.path for lv in image.levels] == ["s0", "s1", "s2"]
    assert [lv.data.shape for lv in image.levels] == [
        (2, 4, 64, 64),
        (2, 4, 32, 32),
        (2, 4, 16, 16),
    ]
    assert all(lv.source is not None for lv in image.levels)
    assert [c.label for c in image.channels] == ["dapi", "gfp"]
    assert image.channels[0].window == (0.0, 1000.0, 10.0, 900.0)
    # Every node keeps its attributes as stored (the same dict, in the same order).
    assert image.source_attrs is not None
    assert image.source_attrs.version == "0.4"
    stored = json.loads((source / ".zattrs").read_text())
    assert list(image.source_attrs.attrs.items()) == list(stored.items())
    assert image.labels_source_attrs is not None
    assert image.labels_source_attrs.attrs == json.loads((source / "labels/.zattrs").read_text())
    (label,) = image.labels
    assert label.source_attrs is not None
    assert label.source_attrs.attrs == json.loads((source / "labels/cells/.zattrs").read_text())
    assert label.name == "cells"
    assert label.colors[0].rgba == (255, 0, 0, 255)
    assert label.properties[0]["class"] == "cell"
    assert tree_hash(source) == before


def test_global_transform_is_folded(tmp_path: Path) -> None:
    import numcodecs

    source = make_encoded(tmp_path / "in.zarr", compressor=numcodecs.Zstd())
    attrs = json.loads((source / ".zattrs").read_text())
    attrs["multiscales"][0]["coordinateTransformations"] = [
        {"type": "scale", "scale": [10.0, 2.0, 2.0]},
        {"type": "translation", "translation": [0.0, 100.0, 0.0]},
    ]
    (source / ".zattrs").write_text(json.dumps(attrs))
    (level,) = get_converter("ome_zarr").open(source).images[0].levels
    assert level.scale == (20.0, 1.0, 1.0)
    assert level.translation == (10.0, 106.0, 8.0)
    np.testing.assert_array_equal(np.asarray(level.data), level.source[...])


def test_plate(tmp_path: Path) -> None:
    collection = get_converter("ome_zarr").open(make_plate(tmp_path / "plate.zarr"))
    assert collection.layout == "plate"
    plate = collection.plate
    assert plate is not None
    assert (plate.rows, plate.columns) == (("A", "B"), ("1", "2"))
    assert [w.path for w in plate.wells] == ["A/1", "B/2"]
    assert [f.path for f in plate.wells[0].fields] == ["0", "1"]
    assert plate.acquisitions[0].name == "run"
    assert collection.image_paths == ("A/1/0", "A/1/1", "B/2/0", "B/2/1")
    assert collection.source_attrs is not None
    assert "plate" in collection.source_attrs.attrs
    assert plate.wells[0].source_attrs is not None
    assert "well" in plate.wells[0].source_attrs.attrs


def test_files_and_empty_labels_are_carried(tmp_path: Path) -> None:
    """Files that are no zarr node (dotfiles too) ride along; an empty labels group stays."""
    source = make_encoded(tmp_path / "in.zarr", compressor=None)
    (source / "README.txt").write_text("hello")
    (source / ".notes").write_text("hidden")
    (source / "labels").mkdir()
    (source / "labels" / ".zattrs").write_text('{"labels": []}')
    collection = get_converter("ome_zarr").open(source)
    files = {n.path: n.source() for n in collection.extra_nodes if n.kind == "file"}
    assert files == {"README.txt": b"hello", ".notes": b"hidden"}
    (image,) = collection.images
    assert image.labels == ()
    assert image.labels_source_attrs is not None
    assert image.labels_source_attrs.attrs == {"labels": []}


def test_bioformats2raw(corpus: Path) -> None:
    source = corpus / "zarr-v04/ome-zarr-py-bf2raw/fake-series-2.zarr"
    collection = get_converter("ome_zarr").open(source)
    assert collection.layout == "bioformats2raw"
    assert collection.image_paths == ("0", "1")
    assert collection.ome_xml is not None
    assert "<OME" in collection.ome_xml


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("image-01.zarr", UnsupportedSourceError),
        ("image-02.zarr", MetadataError),
        ("image-03.zarr", CorruptSourceError),
        ("image-04.zarr", MetadataError),
    ],
)
def test_invalid_corpus_stores(corpus: Path, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        get_converter("ome_zarr").open(corpus / "zarr-v04/ome-zarr-examples/invalid" / name)


class TestOmeZarrAdapter(AdapterSuite):
    """The shared adapter suite over stores ome-zarr-py wrote: a labelled image, a plate."""

    adapter = "ome_zarr"
    files = ("image.zarr", "plate.zarr")
    other = None

    def make(self, file: str, folder: Path) -> Path:
        return (make_labelled_image if file == "image.zarr" else make_plate)(folder / file)

    def foreign(self, folder: Path) -> list[Path]:
        np.save(folder / "a.npy", np.zeros((8, 8), "uint8"))
        (folder / "plain.zarr").mkdir()  # a folder named like a store, with no metadata
        return [folder / "a.npy", folder / "plain.zarr"]

    def reference(self, path: Path) -> list[Reference]:
        attrs = json.loads((path / ".zattrs").read_text())
        if "plate" not in attrs:
            return [_multiscale_reference(path)]
        refs = []
        for well in attrs["plate"]["wells"]:
            images = json.loads((path / well["path"] / ".zattrs").read_text())["well"]["images"]
            refs += [_multiscale_reference(path / well["path"] / i["path"]) for i in images]
        return refs

    def damaged_copy(self, path: Path, tmp_path: Path) -> Path:
        """The store with the metadata of its (first) image's level 0 cut in half."""
        damaged = tmp_path / path.name
        shutil.copytree(path, damaged)
        victim = next(iter(sorted(damaged.rglob(".zarray"))))
        victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
        return damaged


def _multiscale_reference(group: Path) -> Reference:
    """Level 0 of the multiscale image at ``group`` read with zarr, its axes and sizes."""
    import zarr

    multiscale = json.loads((group / ".zattrs").read_text())["multiscales"][0]
    dataset = multiscale["datasets"][0]
    names = [a["name"] for a in multiscale["axes"]]
    scale = next(t["scale"] for t in dataset["coordinateTransformations"] if t["type"] == "scale")
    units = {a["name"]: a.get("unit") for a in multiscale["axes"]}
    sizes = {n: float(s) for n, s in zip(names, scale, strict=True) if units[n]}
    omero = json.loads((group / ".zattrs").read_text()).get("omero", {})
    labels = [c.get("label") for c in omero.get("channels", [])] or None
    data = np.asarray(zarr.open_array(str(group / dataset["path"]), mode="r")[...])
    return Reference(data, names, sizes, labels)
