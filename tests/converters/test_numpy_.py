"""numpy sources: .npy, .npz (each array a series) and folders of .npy planes."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from omeconv.api import convert, open_source
from omeconv.cli import main
from omeconv.validate import validate_store
from tests.converters.adapter_suite import AdapterSuite, Reference
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


class TestNumpyAdapter(AdapterSuite):
    """The shared adapter suite over a .npy file, a .npz archive and a folder of planes."""

    adapter = "numpy"
    files = ("stack.npy", "arrays.npz", "planes")
    other = None
    arrays = True

    def make(self, file: str, folder: Path) -> Path:
        path = folder / file
        if file == "stack.npy":
            np.save(path, random_array((3, 20, 16), "uint16"))
        elif file == "arrays.npz":
            first, second = random_array((2, 12, 10), "float32"), random_array((12, 10), "uint8")
            np.savez(path, first=first, second=second)
        else:
            path.mkdir()
            for i in (1, 2, 10):  # natural order: 10 last
                np.save(path / f"p{i}.npy", random_array((10, 8), "int16", seed=i))
        return path

    def by_content(self, path: Path) -> bool:
        return path.suffix != ".npz"  # a zip archive: .npz by its name

    def foreign(self, folder: Path) -> list[Path]:
        tifffile.imwrite(folder / "a.tif", random_array((8, 8), "uint8"))
        (folder / "notes.txt").write_text("not an array")
        return [folder / "a.tif", folder / "notes.txt", folder]

    def reference(self, path: Path) -> list[Reference]:
        if path.suffix == ".npy":
            return [Reference(np.load(path), "zyx")]
        if path.suffix == ".npz":
            with np.load(path) as npz:
                return [Reference(npz[k], "tczyx"[-npz[k].ndim :]) for k in npz.files]
        planes = [np.load(path / f"p{i}.npy") for i in (1, 2, 10)]
        return [Reference(np.stack(planes), "zyx")]

    def damaged_copy(self, path: Path, tmp_path: Path) -> Path:
        if not path.is_dir():
            return super().damaged_copy(path, tmp_path)
        damaged = tmp_path / "damaged"
        shutil.copytree(path, damaged)
        plane = damaged / "p2.npy"
        plane.write_bytes(plane.read_bytes()[:100])
        return damaged
