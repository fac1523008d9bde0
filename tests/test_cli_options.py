"""Metadata and pyramid options of the command line: each one lands in the written metadata
(read back as JSON), ``omeconv info`` shows it, and a value that contradicts the file warns."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile

from omeconv.cli import main
from omeconv.pyramid import downsample
from tests.factories import group_attrs, read_level

if TYPE_CHECKING:
    from pathlib import Path


def _npy(tmp_path: Path) -> Path:
    path = tmp_path / "stack.npy"
    data = np.arange(2 * 3 * 32 * 40, dtype="uint16").reshape(2, 3, 32, 40)
    np.save(path, data)
    return path


def _ngff(path: Path) -> dict[str, Any]:
    attrs = group_attrs(path)
    return dict(attrs.get("ome", attrs))


def _info(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    main(["info", str(path), "--json"])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_metadata_options_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    out = tmp_path / "out.ome.zarr"
    main(["-q", "convert", str(_npy(tmp_path)), str(out), "--ome-version", version,
          "--axes", "czyx", "--scale", "z=2,y=0.5,x=0.5", "--units", "micrometer",
          "--translation", "y=100,x=-20.5", "--name", "cells", "--levels", "2",
          "--channel-names", "DAPI,GFP", "--channel-colors", "0000ff,#00FF00",
          "--channel-windows", "10:900,0:5000"])  # fmt: skip
    ngff = _ngff(out)
    ms = ngff["multiscales"][0]
    assert ms["name"] == "cells"
    assert ms["axes"] == [
        {"name": "c", "type": "channel"},
        {"name": "z", "type": "space", "unit": "micrometer"},
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"},
    ]
    assert ms["datasets"][0]["coordinateTransformations"] == [
        {"type": "scale", "scale": [1.0, 2.0, 0.5, 0.5]},
        {"type": "translation", "translation": [0.0, 0.0, 100.0, -20.5]},
    ]
    assert ms["datasets"][1]["coordinateTransformations"] == [
        {"type": "scale", "scale": [1.0, 2.0, 1.0, 1.0]},
        {"type": "translation", "translation": [0.0, 0.0, 100.25, -20.25]},
    ]
    channels = ngff["omero"]["channels"]
    assert [c["label"] for c in channels] == ["DAPI", "GFP"]
    assert [c["color"] for c in channels] == ["0000FF", "00FF00"]
    assert [c["window"] for c in channels] == [
        {"min": 0.0, "max": 65535.0, "start": 10.0, "end": 900.0},
        {"min": 0.0, "max": 65535.0, "start": 0.0, "end": 5000.0},
    ]
    main(["validate", str(out)])
    info = capsys.readouterr().out
    assert "valid OME-Zarr" in info
    main(["info", str(out)])
    text = capsys.readouterr().out
    assert "image 'cells'" in text
    assert "units: z=micrometer, y=micrometer, x=micrometer" in text
    assert "scale (1, 2, 0.5, 0.5)" in text
    assert "channel 0: DAPI color 0000FF window 10.0..900.0" in text
    assert "channel 1: GFP color 00FF00 window 0.0..5000.0" in text


def test_given_values_override_the_files_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.ome.tif"
    data = np.zeros((2, 16, 16), "uint8")
    tifffile.imwrite(src, data, metadata={"axes": "CYX", "PhysicalSizeX": 0.65,
                     "PhysicalSizeY": 0.65, "Channel": {"Name": ["a", "b"]}})  # fmt: skip
    out = tmp_path / "out.ome.zarr"
    main(["tiff2zarr", str(src), str(out), "--scale", "x=0.5", "--channel-names", "a,B"])
    err = capsys.readouterr().err
    assert "warning: Image0: scale of x 0.5 given replaces the file's 0.65" in err
    assert "channel 1 name 'B' given replaces the file's 'b'" in err
    assert "channel 0" not in err  # the same value: no warning
    ms = _ngff(out)["multiscales"][0]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [1.0, 0.65, 0.5]
    assert [c["label"] for c in _ngff(out)["omero"]["channels"]] == ["a", "B"]


def test_percentile_windows(tmp_path: Path) -> None:
    src = tmp_path / "in.npy"
    data = np.stack(
        [np.arange(100 * 100, dtype="uint16").reshape(100, 100), np.full((100, 100), 9)]
    )
    np.save(src, data.astype("uint16"))
    out = tmp_path / "out.ome.zarr"
    main(["-q", "convert", str(src), str(out), "--axes", "cyx", "--channel-windows", "p1:p99"])
    windows = [c["window"] for c in _ngff(out)["omero"]["channels"]]
    low, high = np.percentile(data[0].astype(float), [1, 99])
    assert (windows[0]["start"], windows[0]["end"]) == (low, high)
    assert (windows[1]["start"], windows[1]["end"]) == (9.0, 10.0)  # constant: still viewable
    assert windows[0]["min"] == 0.0
    assert windows[0]["max"] == 65535.0


@pytest.mark.parametrize("method", ["mean", "mode", "nearest", "gaussian"])
def test_downsample_method(tmp_path: Path, method: str) -> None:
    src = tmp_path / "in.npy"
    data = np.random.default_rng(1).integers(0, 200, (32, 40), dtype="uint8")
    np.save(src, data)
    out = tmp_path / "out.ome.zarr"
    main(["-q", "convert", str(src), str(out), "--levels", "2", "--downsample", method])
    level1 = read_level(out / "1")
    np.testing.assert_array_equal(level1, downsample(data, (2, 2), method))  # type: ignore[arg-type]
    ms = _ngff(out)["multiscales"][0]
    assert ms["type"] == method
    assert ms["metadata"]["kwargs"] == {"method": method}


def test_downsample_kernels() -> None:
    data = np.array([[0, 10, 20], [30, 40, 50]], "uint8")
    np.testing.assert_array_equal(downsample(data, (2, 2), "nearest"), [[0, 20]])
    flat = np.full((8, 8), 7, "uint16")
    np.testing.assert_array_equal(downsample(flat, (2, 2), "gaussian"), np.full((4, 4), 7))
    step = np.zeros((8, 8), "float32")
    step[:, 4:] = 100
    smooth = downsample(step, (2, 2), "gaussian")
    assert 0 < smooth[0, 1] < 50 < smooth[0, 2] < 100  # the edge is blurred, unlike mean's
    np.testing.assert_array_equal(downsample(step, (2, 2), "mean")[0], [0, 0, 100, 100])


def test_series_lists_and_all(tmp_path: Path) -> None:
    src = tmp_path / "multi.ome.tif"
    images = [np.full((16, 16), 10 * (i + 1), "uint8") for i in range(3)]
    with tifffile.TiffWriter(src, ome=True) as tif:
        for image in images:
            tif.write(image, metadata={"axes": "YX"})
    out = tmp_path / "some.ome.zarr"
    main(["-q", "convert", str(src), str(out), "--series", "0,2"])
    assert group_attrs(out / "OME").get("ome", group_attrs(out / "OME"))["series"] == ["0", "2"]
    np.testing.assert_array_equal(read_level(out / "2" / "0"), images[2])
    assert not (out / "1").exists()
    every = tmp_path / "all.ome.zarr"
    main(["-q", "convert", str(src), str(every), "--series", "all"])
    assert all((every / str(i) / "0").exists() for i in range(3))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "q=2"], "--scale names axes ['q'] not in zyx"),
        (["--scale", "x"], "--scale 'x': give values like z=2,y=0.5,x=0.5"),
        (["--units", "pixel"], "'pixel' is no length unit NGFF knows"),
        (["--channel-colors", "red"], "give six hex digits"),
        (["--channel-windows", "5:1"], "start must be below end"),
        (["--channel-windows", "p50:p10"], "give percentiles 0 <= low < high <= 100"),
        (["--channel-names", "a,b"], "--channel-names gives 2 values but stack has 1 channels"),
        (["--series", "x"], "'x': give an index (2), indices (0,2) or all"),
        (["--downsample", "cubic"], "'cubic' is not one of"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    src = tmp_path / "stack.npy"
    np.save(src, np.zeros((4, 16, 16), "uint8"))
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(src), str(tmp_path / "o.ome.zarr"), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("omeconv: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o.ome.zarr").exists()


def test_validate_says_what_it_takes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.tif"
    tifffile.imwrite(src, np.zeros((8, 8), "uint8"))
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(src)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "validate takes an OME-Zarr store or an NGFF JSON document" in err


def test_global_options_after_the_subcommand(tmp_path: Path) -> None:
    import logging

    from omeconv.errors import SourceNotFoundError

    with pytest.raises(SourceNotFoundError):  # --debug: the exception itself, not one line
        main(["convert", str(tmp_path / "missing.npy"), str(tmp_path / "o.zarr"), "--debug"])
    src = _npy(tmp_path)
    main(["convert", str(src), str(tmp_path / "o.zarr"), "--log-level", "info", "-q"])
    assert logging.getLogger().level == logging.INFO
    main(["--log-level", "error", "info", str(tmp_path / "o.zarr")])
    assert logging.getLogger().level == logging.ERROR


def test_gaussian_without_scipy_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """scipy is the ``gaussian`` extra: without it, one line before anything is written."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "scipy" else find_spec(name, *a),
    )
    src = _npy(tmp_path)
    out = tmp_path / "out.ome.zarr"
    with pytest.raises(SystemExit) as exc:
        main(["-q", "convert", str(src), str(out), "--downsample", "gaussian"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "omeconv: error: --downsample gaussian needs scipy: "
        "pip install 'omeconv[gaussian]' (or scipy)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.npy"]
