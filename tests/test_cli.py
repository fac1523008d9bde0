"""The command line as a user runs it: a subprocess, its exit code, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import tifffile

if TYPE_CHECKING:
    from pathlib import Path


def omeconv(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omeconv.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def make_tiff(path: Path) -> np.ndarray:
    data = np.arange(2 * 3 * 40 * 50, dtype=np.uint16).reshape(2, 3, 40, 50)
    tifffile.imwrite(
        path,
        data,
        photometric="minisblack",
        metadata={"axes": "CZYX", "PhysicalSizeX": 0.5, "Channel": {"Name": ["a", "b"]}},
    )
    return data


def test_tiff2zarr_info_validate(tmp_path: Path) -> None:
    src = tmp_path / "in.ome.tif"
    make_tiff(src)
    out = tmp_path / "out.ome.zarr"
    result = omeconv("tiff2zarr", src, out, "--chunks", "z=2,y=16,x=16")
    assert result.returncode == 0, result.stderr
    assert (out / "zarr.json").exists()
    assert not (tmp_path / "out.ome.zarr.partial").exists()

    info = omeconv("info", out)
    assert info.returncode == 0, info.stderr
    assert "OME-Zarr 0.5" in info.stdout
    assert "axes czyx" in info.stdout
    assert "level 2" in info.stdout
    assert "channel 1: b" in info.stdout

    valid = omeconv("validate", out)
    assert valid.returncode == 0
    assert "valid OME-Zarr 0.5" in valid.stdout


def test_existing_output_is_refused_and_untouched(tmp_path: Path) -> None:
    src = tmp_path / "in.tif"
    make_tiff(src)
    out = tmp_path / "out.ome.zarr"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    result = omeconv("tiff2zarr", src, out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(out) in lines[0]
    assert "--overwrite" in lines[0]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    # --overwrite replaces OME-Zarr stores only, never a folder of the user's files
    refused = omeconv("tiff2zarr", src, out, "--overwrite")
    assert refused.returncode == 2
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (out / "keep.txt").unlink()
    assert omeconv("tiff2zarr", src, out, "--overwrite").returncode == 0  # an empty folder
    replaced = omeconv("tiff2zarr", src, out, "--overwrite", "--ome-version", "0.4")
    assert replaced.returncode == 0, replaced.stderr
    assert not (out / "zarr.json").exists()
    assert json.loads((out / ".zattrs").read_text())["multiscales"][0]["version"] == "0.4"


def test_missing_input_is_one_line_exit_2(tmp_path: Path) -> None:
    result = omeconv("tiff2zarr", tmp_path / "nope.tif", tmp_path / "out.ome.zarr")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nope.tif" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.ome.zarr").exists()


def test_not_a_tiff_is_data_error(tmp_path: Path) -> None:
    src = tmp_path / "fake.tif"
    src.write_text("this is not an image")
    result = omeconv("tiff2zarr", src, tmp_path / "out.ome.zarr")
    assert result.returncode == 1
    assert "fake.tif" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [src]


def test_validate_reports_reasons(tmp_path: Path) -> None:
    doc = tmp_path / "zarr.json"
    doc.write_text(
        json.dumps(
            {
                "zarr_format": 3,
                "node_type": "group",
                "attributes": {"ome": {"version": "0.5", "multiscales": [{"axes": []}]}},
            }
        )
    )
    result = omeconv("validate", doc)
    assert result.returncode == 1
    assert "zarr.json" in result.stderr
    assert "  - " in result.stderr  # one line per reason


def test_convert_npy_and_help(tmp_path: Path) -> None:
    data = np.ones((3, 8, 8), dtype=np.int16)
    np.save(tmp_path / "a.npy", data)
    result = omeconv("convert", tmp_path / "a.npy", tmp_path / "a.ome.zarr", "-h")
    assert result.returncode == 0
    assert "Examples" in result.stdout
    result = omeconv("convert", tmp_path / "a.npy", tmp_path / "a.ome.zarr")
    assert result.returncode == 0, result.stderr
    top = omeconv("--help")
    for command in ("tiff2zarr", "convert", "info", "validate"):
        assert command in top.stdout
