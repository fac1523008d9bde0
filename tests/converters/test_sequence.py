"""File sequences: pattern fields, globs with --axes, folders; natural order; lazy."""

from __future__ import annotations

import itertools
import json
import shutil
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from omeconv.api import convert, open_source
from omeconv.cli import main
from omeconv.converters.sequence import parse_pattern
from omeconv.errors import UsageError
from omeconv.validate import validate_store
from tests.converters.adapter_suite import AdapterSuite, Reference
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


def _write_z(folder: Path, zs: list[int], name: str = "img_z{}.tif") -> dict[int, np.ndarray]:
    folder.mkdir(exist_ok=True)
    planes = {z: np.full((6, 8), z + 1, dtype="uint8") for z in zs}
    for z, plane in planes.items():
        tifffile.imwrite(folder / name.format(z), plane)
    return planes


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


def test_a_gap_in_the_sequence_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_z(tmp_path / "s", [0, 10, 20])
    pattern = str(tmp_path / "s" / "img_z{z}.tif")
    code, err = _cli(["tiff2zarr", pattern, str(tmp_path / "o.zarr")], capsys)
    assert code == 1
    assert err == [
        (
            f"omeconv: error: {pattern}: no file holds 18 of the sequence's 21 planes "
            "(z=1, z=2, z=3 and 15 more, counted from the first file); pass --allow-missing "
            "to fill them with zeros"
        )
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_allow_missing_fills_zeros_and_says_so_in_the_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planes = _write_z(tmp_path / "s", [2, 3, 5])
    pattern = str(tmp_path / "s" / "img_z{z}.tif")
    out = tmp_path / "o.zarr"
    code, err = _cli(["tiff2zarr", pattern, str(out), "--allow-missing", "--verify"], capsys)
    assert code == 0, err
    assert any("1 planes no file holds are filled with zeros" in line for line in err), err
    attributes = json.loads((out / "zarr.json").read_text())["attributes"]
    assert attributes["omeconv"] == {"filled_planes": [{"z": 2}]}
    expected = np.stack([planes[2], planes[3], np.zeros((6, 8), "uint8"), planes[5]])
    np.testing.assert_array_equal(read_level(out / "0"), expected)


def test_two_files_at_one_position_are_an_error(tmp_path: Path) -> None:
    from omeconv.errors import CorruptSourceError

    _write_z(tmp_path / "s", [0, 1])
    _write_z(tmp_path / "s", [1], name="img_z0{}.tif")
    with pytest.raises(
        CorruptSourceError, match=r"img_z0?1\.tif and img_z0?1\.tif are at the same position"
    ):
        open_source(str(tmp_path / "s" / "img_z{z}.tif"))


def test_a_truncated_file_of_the_sequence_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_z(tmp_path / "s", [0, 1, 2])
    cut = tmp_path / "s" / "img_z1.tif"
    cut.write_bytes(cut.read_bytes()[:-20])
    code, err = _cli(
        ["tiff2zarr", str(tmp_path / "s" / "img_z{z}.tif"), str(tmp_path / "o.zarr")], capsys
    )
    assert code == 1
    size = cut.stat().st_size
    assert err == [f"omeconv: error: {cut}: IFD 0: strip 0 runs past the end of the file ({size} bytes; truncated?)"]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


class TestSequenceAdapter(AdapterSuite):
    """The shared adapter suite over a ``{z}``/``{c}`` pattern and a folder of TIFFs."""

    adapter = "sequence"
    files = ("img_z{z}_c{c}.tif", "folder")
    other = None

    def make(self, file: str, folder: Path) -> Path:
        if file == "folder":
            (folder / "planes").mkdir()
            for i in (1, 2, 10):  # natural order: 10 last
                tifffile.imwrite(
                    folder / "planes" / f"p{i}.tif", random_array((10, 8), "uint16", i)
                )
            return folder / "planes"
        for z, c in itertools.product(range(3), range(2)):
            data = random_array((12, 10), "uint8", seed=10 * z + c)
            tifffile.imwrite(folder / f"img_z{z}_c{c}.tif", data)
        return folder / file

    def foreign(self, folder: Path) -> list[Path]:
        tifffile.imwrite(folder / "one.tif", random_array((8, 8), "uint8"))
        (folder / "npy").mkdir()
        np.save(folder / "npy" / "a.npy", random_array((8, 8), "uint8"))
        return [folder / "one.tif", folder / "npy", folder / "none_z{z}.tif"]

    def reference(self, path: Path) -> list[Reference]:
        if path.is_dir():
            planes = [tifffile.imread(path / f"p{i}.tif") for i in (1, 2, 10)]
            return [Reference(np.stack(planes), "zyx")]
        read = path.parent / "img_z{}_c{}.tif"
        data = [[tifffile.imread(str(read).format(z, c)) for c in range(2)] for z in range(3)]
        return [Reference(np.array(data), "zcyx")]

    def damaged_copy(self, path: Path, tmp_path: Path) -> Path:
        folder = path if path.is_dir() else path.parent
        damaged = tmp_path / "damaged"
        shutil.copytree(folder, damaged)
        victim = sorted(damaged.glob("*.tif"))[1]
        victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
        return damaged if path.is_dir() else damaged / path.name
