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
from tests.cli_runs import info_json
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


def _stored(path: Path) -> dict[str, Any]:
    """A group's attributes exactly as stored (v2 ``.zattrs`` or v3 ``attributes``)."""
    if (path / "zarr.json").exists():
        return dict(json.loads((path / "zarr.json").read_text())["attributes"])
    return dict(json.loads((path / ".zattrs").read_text()))


def _write_stored(path: Path, attrs: dict[str, Any]) -> None:
    if (path / "zarr.json").exists():
        doc = json.loads((path / "zarr.json").read_text())
        doc["attributes"] = attrs
        (path / "zarr.json").write_text(json.dumps(doc))
    else:
        (path / ".zattrs").write_text(json.dumps(attrs))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_overrides_patch_a_store_keeping_what_they_do_not_name(
    tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Converting an OME-Zarr store with metadata options patches its attributes: unknown
    keys, order and JSON types arrive as stored; the label follows the image's scale."""
    npy = _npy(tmp_path)
    mask = tmp_path / "mask.npy"
    np.save(mask, (np.arange(3 * 32 * 40).reshape(3, 32, 40) % 5).astype("uint8"))
    src = tmp_path / "src.ome.zarr"
    main(["convert", str(npy), str(src), "--axes", "czyx", "--ome-version", version,
          "--scale", "z=2,y=0.5,x=0.5", "--units", "micrometer", "--levels", "2",
          "--labels", f"cells={mask}"])  # fmt: skip
    attrs = _stored(src)
    doc = attrs if version == "0.4" else attrs["ome"]
    doc["multiscales"][0]["lab:kept"] = {"n": 1}
    doc["multiscales"][0]["datasets"][0]["lab:note"] = "level zero"
    doc["omero"]["channels"][1]["lab:laser"] = 488
    doc["omero"]["lab:id"] = 7
    attrs = {"lab:first": [1, 2], **attrs, "lab:last": None}
    _write_stored(src, attrs)
    label_before = _stored(src / "labels" / "cells")
    capsys.readouterr()

    out = tmp_path / "out.ome.zarr"
    main(["convert", str(src), str(out), "--ome-version", version, "--scale", "z=4",
          "--translation", "y=10", "--units", "z=nm", "--name", "renamed",
          "--channel-names", "dapi,gfp", "--channel-colors", "0000FF,00FF00",
          "--channel-windows", "5:100,0:200"])  # fmt: skip
    expected = json.loads(json.dumps(attrs))
    ms = (expected if version == "0.4" else expected["ome"])["multiscales"][0]
    ms["name"] = "renamed"
    for ds in ms["datasets"]:
        scale = ds["coordinateTransformations"][0]["scale"]
        scale[1] *= 2  # z: 2 -> 4 at level 0, the pyramid's ratios kept
        ds["coordinateTransformations"].append(
            {"type": "translation", "translation": [0.0, 0.0, 10.0, 0.0]}
        )
    ms["axes"][1]["unit"] = "nanometer"
    channels = (expected if version == "0.4" else expected["ome"])["omero"]["channels"]
    for ch, label, color, (start, end) in zip(
        channels, ["dapi", "gfp"], ["0000FF", "00FF00"], [(5, 100), (0, 200)], strict=True
    ):
        ch["label"], ch["color"] = label, color
        ch["window"]["start"], ch["window"]["end"] = float(start), float(end)
        ch["window"]["min"] = min(ch["window"]["min"], float(start))
        ch["window"]["max"] = max(ch["window"]["max"], float(end))
    got = _stored(out)
    assert got == expected
    assert list(got) == list(expected)
    prefix = "omeconv: warning: stack: "
    err = capsys.readouterr().err.splitlines()
    assert [line.removeprefix(prefix) for line in err if "warning" in line] == [
        "unit of z 'nanometer' given replaces the file's 'micrometer'",
        "scale of z 4.0 given replaces the file's 2.0",
        "channel 0 colour '0000FF' given replaces the file's 'FF0000'",
        "channel 0 window (5.0, 100.0) given replaces the file's (0.0, 3839.0)",
        "channel 1 window (0.0, 200.0) given replaces the file's (3840.0, 7679.0)",
        "name 'renamed' given replaces the file's 'stack'",
    ]
    # the label moves with the image: the same scale and translation, its other keys kept
    label = _stored(out / "labels" / "cells")
    lms = (label if version == "0.4" else label["ome"])["multiscales"][0]
    bms = (label_before if version == "0.4" else label_before["ome"])["multiscales"][0]
    assert lms["datasets"][0]["coordinateTransformations"] == [
        {"type": "scale", "scale": [1.0, 4.0, 0.5, 0.5]},
        {"type": "translation", "translation": [0.0, 0.0, 10.0, 0.0]},
    ]
    assert {k: v for k, v in lms.items() if k not in ("datasets", "axes")} == {
        k: v for k, v in bms.items() if k not in ("datasets", "axes")
    }
    assert lms["axes"][1]["unit"] == "nanometer"
    from omeconv.validate import validate_path

    assert validate_path(str(out)) == version
    np.testing.assert_array_equal(read_level(out / "0"), read_level(src / "0"))


@pytest.mark.parametrize("version", ["0.5", "0.6"])
def test_overrides_on_a_store_with_outer_transform_and_no_omero(
    tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A multiscale-wide scale stays; each dataset's own scale absorbs the change. Channel
    names on a store without ``omero`` add one with viewable windows."""
    npy = _npy(tmp_path)
    src = tmp_path / "src.ome.zarr"
    main(["-q", "convert", str(npy), str(src), "--axes", "czyx", "--levels", "1"])
    attrs = _stored(src)
    ms = attrs["ome"]["multiscales"][0]
    ms["coordinateTransformations"] = [{"type": "scale", "scale": [1, 2, 1, 1]}]
    del attrs["ome"]["omero"]
    attrs["lab:kept"] = True
    _write_stored(src, attrs)
    if version == "0.6":
        moved = tmp_path / "v06.ome.zarr"
        main(["-q", "upgrade", "0.5", "0.6", str(src), str(moved)])
        src = moved
    out = tmp_path / "out.ome.zarr"
    main(["-q", "convert", str(src), str(out), "--ome-version", "0.5", "--scale", "z=8",
          "--channel-names", "a,b"])  # fmt: skip
    got = _stored(out)
    assert got["lab:kept"] is True
    gms = got["ome"]["multiscales"][0]
    assert gms["coordinateTransformations"] == [{"type": "scale", "scale": [1, 2, 1, 1]}]
    assert gms["datasets"][0]["coordinateTransformations"] == [
        {"type": "scale", "scale": [1.0, 4.0, 1.0, 1.0]}
    ]
    channels = got["ome"]["omero"]["channels"]
    assert [c["label"] for c in channels] == ["a", "b"]
    assert [c["color"] for c in channels] == ["FF0000", "00FF00"]
    data = np.load(npy)
    for c, channel in enumerate(channels):
        lo, hi = float(data[c].min()), float(data[c].max())
        assert channel["window"] == {"min": lo, "max": hi, "start": lo, "end": hi}
    from omeconv.validate import validate_path

    assert validate_path(str(out)) == "0.5"
    info = info_json(out, capsys)
    assert [c["label"] for c in info["root"]["channels"]] == ["a", "b"]
