"""File sequences: pattern fields, globs with --axes, folders; natural order; lazy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from omeconv.api import convert, open_source
from omeconv.cli import main
from omeconv.converters.sequence import parse_pattern
from omeconv.errors import UsageError
from omeconv.validate import validate_store
from tests.factories import group_attrs, random_array, read_level

if TYPE_CHECKING:
    from pathlib import Path


def _write_zc(folder: Path) -> np.ndarray:
    data = random_array((3, 2, 10, 12), "uint16")  # z, c
    folder.mkdir()
    for z in range(3):
        for c in range(2):
            tifffile.imwrite(folder / f"img_z{z}_c{c}.tif", data[z, c])
    return data


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_pattern_fields_name_the_axes(tmp_path: Path, version: str) -> None:
    data = _write_zc(tmp_path / "stack")
    out = tmp_path / "seq.ome.zarr"
    main(["-q", "tiff2zarr", str(tmp_path / "stack" / "img_z{z}_c{c}.tif"), str(out),
          "--ome-version", version])  # fmt: skip
    ms = group_attrs(out)["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["c", "z", "y", "x"]
    np.testing.assert_array_equal(read_level(out / "0"), np.swapaxes(data, 0, 1))
    assert validate_store(str(out)) == version


def test_glob_with_axes_in_natural_order(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    frames = [random_array((8, 9), "uint8", seed=i) for i in range(12)]
    for i, frame in enumerate(frames):  # frame_2 sorts before frame_10
        tifffile.imwrite(folder / f"frame_{i}.tif", frame)
    image = open_source(str(folder / "*.tif"), axes="tyx").images[0]
    assert image.axis_names == "tyx"
    assert image.data.chunksize[0] == 1  # one chunk per file: read lazily
    np.testing.assert_array_equal(image.data.compute(), np.stack(frames))
    out = tmp_path / "t.ome.zarr"
    convert(str(folder / "*.tif"), out, axes="tyx")
    np.testing.assert_array_equal(read_level(out / "0"), np.stack(frames))
    assert group_attrs(out)["multiscales"][0]["axes"][0] == {"name": "t", "type": "time"}
    assert validate_store(str(out)) == "0.5"


def test_folder_of_tiffs_stacks_along_z(tmp_path: Path) -> None:
    folder = tmp_path / "planes"
    folder.mkdir()
    planes = [random_array((6, 7, 3), "uint8", seed=i) for i in range(4)]
    for i, plane in enumerate(planes):
        tifffile.imwrite(folder / f"p{i}.tif", plane, photometric="rgb")
    image = open_source(folder).images[0]
    assert image.axis_names == "czyx"
    np.testing.assert_array_equal(image.data.compute(), np.moveaxis(np.stack(planes), -1, 0))


def test_parse_pattern_and_errors(tmp_path: Path) -> None:
    files, regex, axes = parse_pattern("d/a_t{t}_*.tif")
    assert files == "d/a_t*_*.tif"
    assert axes == ("t",)
    assert regex is not None
    with pytest.raises(UsageError, match="not axes"):
        parse_pattern("d/{well}.tif")
    _write_zc(tmp_path / "s")
    with pytest.raises(UsageError, match="--axes"):
        open_source(str(tmp_path / "s" / "*.tif"), axes="yx")
