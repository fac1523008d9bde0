"""A folder of per-well files with --plate-pattern becomes an NGFF plate."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest
import tifffile

from omeconv.api import open_source
from omeconv.cli import main
from omeconv.errors import SourceNotFoundError, UsageError
from omeconv.validate import validate_store
from tests.converters.adapter_suite import AdapterSuite, Reference
from tests.factories import group_attrs, random_array, read_level

if TYPE_CHECKING:
    from pathlib import Path

WELLS = {"A01": 2, "A03": 1, "B02": 2}


def _plate_folder(folder: Path) -> dict[str, np.ndarray]:
    folder.mkdir()
    written = {}
    for well, nfields in WELLS.items():
        for f in range(1, nfields + 1):
            data = random_array((2, 16, 18), "uint16", seed=len(written))
            tifffile.imwrite(folder / f"{well}_f{f}.tif", data, metadata={"axes": "CYX"})
            written[f"{well[0]}/{int(well[1:])}/{f - 1}"] = data
    (folder / "notes.txt").write_text("not a well")
    return written


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_plate_folder(tmp_path: Path, version: str) -> None:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Plate, Reader

    written = _plate_folder(tmp_path / "plate")
    out = tmp_path / "plate.ome.zarr"
    main(["-q", "tiff2zarr", str(tmp_path / "plate"), str(out), "--ome-version", version,
          "--plate-pattern", "{row}{col}_f{field}.tif"])  # fmt: skip
    assert validate_store(str(out)) == version
    plate = group_attrs(out)["plate"]
    assert [r["name"] for r in plate["rows"]] == ["A", "B"]
    assert [c["name"] for c in plate["columns"]] == ["1", "2", "3"]
    assert [w["path"] for w in plate["wells"]] == ["A/1", "A/3", "B/2"]
    for path, data in written.items():
        np.testing.assert_array_equal(read_level(out / path / "0"), data)
        assert group_attrs(out / path)["multiscales"][0]["axes"][0]["name"] == "c"
    nodes = list(Reader(parse_url(str(out)))())
    assert any(isinstance(spec, Plate) for node in nodes for spec in node.specs)


def test_plate_pattern_errors(tmp_path: Path) -> None:
    _plate_folder(tmp_path / "plate")
    with pytest.raises(UsageError, match="row"):
        open_source(tmp_path / "plate", plate_pattern="{col}_f{field}.tif")
    with pytest.raises(SourceNotFoundError, match="no file matches"):
        open_source(tmp_path / "plate", plate_pattern="{row}{col}.png")


class TestPlateFolderAdapter(AdapterSuite):
    """The shared adapter suite over a folder of per-well TIFFs (chosen by --plate-pattern)."""

    adapter = "plate_folder"
    files = ("plate",)
    other = None
    options: ClassVar[dict[str, Any]] = {"plate_pattern": "{row}{col}_f{field}.tif"}
    guessed = False

    def make(self, file: str, folder: Path) -> Path:
        _plate_folder(folder / file)
        return folder / file

    def foreign(self, folder: Path) -> list[Path]:
        tifffile.imwrite(folder / "A01_f1.tif", random_array((8, 8), "uint8"))
        return [folder / "A01_f1.tif", folder]

    def reference(self, path: Path) -> list[Reference]:
        wells = [(w, f) for w, n in WELLS.items() for f in range(1, n + 1)]
        return [Reference(tifffile.imread(path / f"{w}_f{f}.tif"), "cyx") for w, f in wells]

    def damaged_copy(self, path: Path, tmp_path: Path) -> Path:
        damaged = tmp_path / "damaged"
        shutil.copytree(path, damaged)
        victim = damaged / "A03_f1.tif"
        victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
        return damaged
