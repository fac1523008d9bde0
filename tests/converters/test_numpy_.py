"""numpy sources: .npy, .npz (each array a series) and folders of .npy planes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from omeconv.api import convert, open_source
from omeconv.cli import main
from omeconv.validate import validate_store
from tests.factories import group_attrs, random_array, read_level

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_npy_file_by_content(tmp_path: Path, version: str) -> None:
    data = random_array((4, 30, 20), "int32")
    np.save(tmp_path / "stack.npy", data)
    out = tmp_path / "stack.ome.zarr"
    main(["-q", "convert", str(tmp_path / "stack.npy"), str(out), "--ome-version", version])
    np.testing.assert_array_equal(read_level(out / "0"), data)
    assert group_attrs(out)["multiscales"][0]["name"] == "stack"
    assert validate_store(str(out)) == version


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_npz_arrays_are_series(tmp_path: Path, version: str) -> None:
    first = random_array((2, 20, 24), "float32")
    second = random_array((20, 24), "uint8", seed=1)
    np.savez_compressed(tmp_path / "arrays.npz", first=first, second=second)
    out = tmp_path / "npz.ome.zarr"
    convert(tmp_path / "arrays.npz", out, ome_version=version)
    assert group_attrs(out)["bioformats2raw.layout"] == 3
    for i, (name, data) in enumerate([("first", first), ("second", second)]):
        assert group_attrs(out / str(i))["multiscales"][0]["name"] == name
        np.testing.assert_array_equal(read_level(out / str(i) / "0"), data)
    assert validate_store(str(out)) == version


def test_npz_single_array_and_series(tmp_path: Path) -> None:
    a, b = random_array((8, 9), "uint16"), random_array((5, 8, 9), "uint16", seed=2)
    np.savez(tmp_path / "one.npz", a)
    np.savez(tmp_path / "two.npz", a=a, b=b)
    one = open_source(tmp_path / "one.npz")
    assert one.layout == "image"
    np.testing.assert_array_equal(one.images[0].data.compute(), a)
    picked = open_source(tmp_path / "two.npz", series=1)
    assert [i.name for i in picked.images] == ["b"]
    np.testing.assert_array_equal(picked.images[0].data.compute(), b)


def test_folder_of_npy_planes(tmp_path: Path) -> None:
    folder = tmp_path / "planes"
    folder.mkdir()
    planes = [random_array((10, 11), "uint16", seed=i) for i in range(11)]
    for i, plane in enumerate(planes):
        np.save(folder / f"z{i}.npy", plane)  # z10 after z9: natural order
    out = tmp_path / "planes.ome.zarr"
    convert(folder, out, ome_version="0.4")
    np.testing.assert_array_equal(read_level(out / "0"), np.stack(planes))
    assert [a["name"] for a in group_attrs(out)["multiscales"][0]["axes"]] == ["z", "y", "x"]
    assert validate_store(str(out)) == "0.4"
