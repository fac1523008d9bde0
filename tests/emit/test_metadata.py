"""Group metadata the emitter writes: SHOULD fields, label properties, names."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import dask.array as da
import numpy as np
import pytest
import zarr

from omeconv.api import write
from omeconv.converters.numpy_ import image_from_array
from omeconv.model import Label, LabelColor, Level
from omeconv.validate import validate_store

if TYPE_CHECKING:
    from pathlib import Path


def _attrs(path: Path) -> dict:
    if (path / "zarr.json").exists():
        return json.loads((path / "zarr.json").read_text())["attributes"]["ome"]
    return json.loads((path / ".zattrs").read_text())


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_strictly_valid_with_label_properties(tmp_path: Path, version: str) -> None:
    image = image_from_array(np.arange(2 * 24 * 30, dtype=np.uint16).reshape(2, 24, 30), axes="cyx")
    mask = np.zeros((1, 24, 30), np.uint16)
    mask[0, 2:9, 3:12] = 5
    label = Label(
        name="nuclei",
        levels=(Level(data=da.from_array(mask), scale=(1.0, 1.0, 1.0)),),
        axes=image.axes,
        colors=(LabelColor(value=5, rgba=(255, 0, 0, 255)),),
        properties=({"label-value": 5, "class": "nucleus", "area": 63},),
    )
    image = replace(image, labels=(label,))
    out = tmp_path / "img.ome.zarr"
    write(image, out, ome_version=version, chunks={"y": 8, "x": 8})
    assert validate_store(str(out), strict=True) == version

    multiscale = _attrs(out)["multiscales"][0]
    assert multiscale["name"] == "image"
    assert multiscale["type"] == "mean"
    assert multiscale["metadata"]["kwargs"] == {"method": "mean"}

    label_attrs = _attrs(out / "labels" / "nuclei")
    assert label_attrs["multiscales"][0]["type"] == "mode"
    assert len(label_attrs["multiscales"][0]["datasets"]) == len(multiscale["datasets"])
    image_label = label_attrs["image-label"]
    assert image_label["properties"] == [{"label-value": 5, "class": "nucleus", "area": 63}]
    assert image_label["colors"] == [{"label-value": 5, "rgba": [255, 0, 0, 255]}]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_axes_reordered_for_image_and_label_alike(tmp_path: Path, version: str) -> None:
    """An image in z,c,y,x order is written c,z,y,x; its z,y,x label keeps its own axes."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 1000, size=(4, 2, 16, 20), dtype=np.uint16)
    image = image_from_array(pixels, axes="zcyx")
    mask = rng.integers(0, 3, size=(4, 16, 20), dtype=np.uint8)
    label_axes = tuple(a for a in image.axes if a.name != "c")
    label = Label(
        name="seg",
        levels=(Level(data=da.from_array(mask), scale=(1.0, 1.0, 1.0)),),
        axes=label_axes,
    )
    out = tmp_path / "ordered.ome.zarr"
    write(replace(image, labels=(label,)), out, ome_version=version, levels=1)
    assert validate_store(str(out)) == version
    assert [a["name"] for a in _attrs(out)["multiscales"][0]["axes"]] == list("czyx")
    group = zarr.open_group(out, mode="r")
    np.testing.assert_array_equal(group["0"][:], pixels.transpose(1, 0, 2, 3))
    np.testing.assert_array_equal(group["labels/seg/0"][:], mask)
    label_axes_written = _attrs(out / "labels" / "seg")["multiscales"][0]["axes"]
    assert [a["name"] for a in label_axes_written] == list("zyx")
