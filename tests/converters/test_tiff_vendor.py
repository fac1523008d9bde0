"""Physical metadata of vendor TIFF flavours, and of file sequences, reach the NGFF output.

The corpus has no LSM, STK, Micro-Manager, FluoView, NIH Image, ScanImage or Andor files,
so each test writes one with tifffile (``tests/vendor_tiff.py``: the vendor's private tags
and file header), checks that tifffile recognises the flavour, converts it and compares the
written scales, units and channels with what went in, and level 0 with ``tifffile.imread``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile

from omeconv.api import convert, read
from omeconv.cli import main
from omeconv.converters.tiff.vendor import micromanager, nih, stk
from omeconv.validate import validate_store
from tests import vendor_tiff
from tests.factories import group_attrs, random_array, read_level

if TYPE_CHECKING:
    from pathlib import Path

VERSIONS = ["0.4", "0.5"]


def _multiscale(out: Path) -> dict[str, Any]:
    ms: dict[str, Any] = group_attrs(out)["multiscales"][0]
    return ms


def _axes(out: Path) -> list[tuple[str, str | None]]:
    return [(a["name"], a.get("unit")) for a in _multiscale(out)["axes"]]


def _scale(out: Path) -> list[float]:
    scale: list[float] = _multiscale(out)["datasets"][0]["coordinateTransformations"][0]["scale"]
    return scale


def _channels(out: Path) -> list[tuple[str, str]]:
    return [(c["label"], c["color"]) for c in group_attrs(out)["omero"]["channels"]]


def _convert(src: Path, out: Path, version: str, expected: np.ndarray) -> None:
    convert(src, out, ome_version=version)
    np.testing.assert_array_equal(read_level(out / "0"), expected)
    assert validate_store(str(out)) == version


@pytest.mark.parametrize("version", VERSIONS)
def test_lsm_voxel_sizes_interval_and_channel_colours(tmp_path: Path, version: str) -> None:
    data = random_array((2, 3, 3, 24, 32), "uint16")
    src = tmp_path / "cells.lsm"
    channels = [("DAPI", (0, 0, 255)), ("GFP", (0, 255, 0)), ("mCherry", (255, 0, 0))]
    vendor_tiff.write_lsm(
        src, data, voxel_m=(0.2e-6, 0.25e-6, 1.5e-6), interval_s=2.5, channels=channels
    )
    with tifffile.TiffFile(src) as tf:
        assert tf.is_lsm
        assert tf.lsm_metadata["ChannelColors"]["ColorNames"] == ["DAPI", "GFP", "mCherry"]
    out = tmp_path / "out.ome.zarr"
    # the thumbnails after each page are previews, not a second image
    _convert(src, out, version, np.swapaxes(tifffile.imread(src), 1, 2))
    assert _axes(out) == [
        ("t", "second"), ("c", None), ("z", "micrometer"), ("y", "micrometer"),
        ("x", "micrometer"),
    ]  # fmt: skip
    assert _scale(out) == [2.5, 1.0, 1.5, 0.25, 0.2]
    assert _channels(out) == [("DAPI", "0000FF"), ("GFP", "00FF00"), ("mCherry", "FF0000")]


@pytest.mark.parametrize("version", VERSIONS)
def test_stk_calibration_and_z_distance(tmp_path: Path, version: str) -> None:
    planes = random_array((4, 20, 30), "uint16")
    src = tmp_path / "stack.stk"
    vendor_tiff.write_stk(
        src, planes, calibration=(0.325, 0.5), units="um", z_distance=0.75, name="cells"
    )
    with tifffile.TiffFile(src) as tf:
        assert tf.is_stk
        assert tf.stk_metadata["XCalibration"] == pytest.approx(0.325)
    out = tmp_path / "out.ome.zarr"
    _convert(src, out, version, tifffile.imread(src))
    np.testing.assert_array_equal(tifffile.imread(src), planes)
    assert _axes(out) == [("z", "micrometer"), ("y", "micrometer"), ("x", "micrometer")]
    assert _scale(out) == [0.75, 0.5, 0.325]
    assert _multiscale(out)["name"] == "cells"


@pytest.mark.parametrize("version", VERSIONS)
def test_micromanager_summary_wins_over_imagej(tmp_path: Path, version: str) -> None:
    data = random_array((3, 2, 20, 30), "uint16")
    src = tmp_path / "mm_MMStack.ome.tif"
    summary = {
        "PixelSize_um": 0.65,
        "z-step_um": 2.0,
        "Interval_ms": 500,
        "ChNames": ["DAPI", "Cy5"],
        "ChColors": [-16776961, -65536],  # Java ARGB: blue, red
    }
    vendor_tiff.write_micromanager(
        src, data, summary=summary, image={"PixelSizeUm": 0.65}, axes="ZCYX"
    )
    with tifffile.TiffFile(src) as tf:
        assert tf.is_micromanager
        assert tf.is_imagej
        assert tf.micromanager_metadata["Summary"] == summary
    out = tmp_path / "out.ome.zarr"
    main(["-q", "tiff2zarr", str(src), str(out), "--ome-version", version])
    np.testing.assert_array_equal(read_level(out / "0"), np.swapaxes(tifffile.imread(src), 0, 1))
    assert validate_store(str(out)) == version
    assert _axes(out) == [
        ("c", None),
        ("z", "micrometer"),
        ("y", "micrometer"),
        ("x", "micrometer"),
    ]
    assert _scale(out) == [1.0, 2.0, 0.65, 0.65]
    assert _channels(out) == [("DAPI", "0000FF"), ("Cy5", "FF0000")]


@pytest.mark.parametrize("version", VERSIONS)
def test_scanimage_field_of_view_step_and_channels(tmp_path: Path, version: str) -> None:
    data = random_array((2, 3, 2, 16, 20), "int16")
    frame_data = (
        "SI.hChannels.channelSave = [1;2]\n"
        "SI.hChannels.channelName = {'Green' 'Red' 'Ch3' 'Ch4'}\n"
        "SI.hRoiManager.imagingFovUm = [-40 -32;40 -32;40 32;-40 32]\n"
        "SI.hRoiManager.linesPerFrame = 16\n"
        "SI.hRoiManager.pixelsPerLine = 20\n"
        "SI.hRoiManager.scanFramePeriod = 0.033\n"
        "SI.hStackManager.actualStackZStepSize = 5\n"
        "SI.hStackManager.framesPerSlice = 3"
    )
    src = tmp_path / "si.tif"
    vendor_tiff.write_scanimage(src, data.reshape(-1, 16, 20), frame_data=frame_data)
    with tifffile.TiffFile(src) as tf:
        assert tf.is_scanimage
        assert tf.series[0].axes == "ZTCYX"
    out = tmp_path / "out.ome.zarr"
    _convert(src, out, version, np.transpose(data, (1, 2, 0, 3, 4)))  # ZTC -> TCZ
    assert _axes(out) == [
        ("t", "second"), ("c", None), ("z", "micrometer"), ("y", "micrometer"),
        ("x", "micrometer"),
    ]  # fmt: skip
    assert _scale(out) == [0.033, 1.0, 5.0, 4.0, 4.0]
    assert [c["label"] for c in group_attrs(out)["omero"]["channels"]] == ["Green", "Red"]


@pytest.mark.parametrize("version", VERSIONS)
def test_fluoview_dimension_resolutions(tmp_path: Path, version: str) -> None:
    data = random_array((5, 16, 20), "uint8")
    src = tmp_path / "fv.tif"
    dims = [("X", 20, 0.2, "um"), ("Y", 16, 0.3, "um"), ("Z", 5, 1.5, "um")]
    vendor_tiff.write_fluoview(src, data, name="fvimage", dims=dims)
    with tifffile.TiffFile(src) as tf:
        assert tf.is_fluoview
    out = tmp_path / "out.ome.zarr"
    _convert(src, out, version, tifffile.imread(src))
    assert _axes(out) == [("z", "micrometer"), ("y", "micrometer"), ("x", "micrometer")]
    assert _scale(out) == [1.5, 0.3, 0.2]
    assert _multiscale(out)["name"] == "fvimage"


@pytest.mark.parametrize("version", VERSIONS)
def test_nih_image_scale_and_slice_spacing(tmp_path: Path, version: str) -> None:
    data = random_array((5, 16, 20), "uint8")
    src = tmp_path / "nih.tif"
    fields = {"XScale": 4.0, "UnitsID": 1, "PixelAspectRatio": 2.0, "SliceSpacing": 3.0}
    vendor_tiff.write_nih(src, data, **fields)
    with tifffile.TiffFile(src) as tf:
        assert tf.is_nih
    out = tmp_path / "out.ome.zarr"
    _convert(src, out, version, data)
    assert _axes(out) == [("z", "micrometer"), ("y", "micrometer"), ("x", "micrometer")]
    assert _scale(out) == [3.0, 0.5, 0.25]


def test_andor_kinetic_cycle_time(tmp_path: Path) -> None:
    data = random_array((4, 16, 20), "uint16")
    src = tmp_path / "andor.tif"
    vendor_tiff.write_andor(src, data, cycle_time_s=0.25)
    with tifffile.TiffFile(src) as tf:
        assert tf.is_andor
    out = tmp_path / "out.ome.zarr"
    _convert(src, out, "0.5", data)
    assert _axes(out)[0] == ("t", "second")
    assert _scale(out)[0] == 0.25


def test_mapping_leaves_out_what_is_not_stated() -> None:
    assert stk({"XCalibration": 1.0, "YCalibration": 1.0, "CalibrationUnits": "pixel"}).sizes == {}
    assert micromanager({"PixelSize_um": 0}, {}).sizes == {}
    assert nih({"XScale": 2.0, "UnitsID": 10, "UM": b"nm"}).sizes == {
        "x": (0.5, "nanometer"),
        "y": (0.5, "nanometer"),
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_sequence_keeps_first_file_metadata(tmp_path: Path, version: str) -> None:
    """ImageJ spacing, units, frame interval (for the files' t axis), LUT colours and
    resolution of the first file."""
    folder = tmp_path / "seq"
    folder.mkdir()
    data = random_array((3, 2, 4, 12, 10), "uint16")  # t (files), c, z, y, x
    luts = [np.zeros((3, 256), "uint8") for _ in range(2)]
    luts[0][1] = np.arange(256)  # green
    luts[1][0] = np.arange(256)  # red
    for t in range(3):
        tifffile.imwrite(
            folder / f"img_t{t}.tif",
            data[t].swapaxes(0, 1),  # ImageJ order: z, c
            imagej=True,
            resolution=(1 / 0.4, 1 / 0.4),
            metadata={
                "axes": "ZCYX", "spacing": 1.25, "unit": "um", "finterval": 30,
                "LUTs": luts, "Labels": ["GFP", "RFP"] * 4,
            },
        )  # fmt: skip
    out = tmp_path / "seq.ome.zarr"
    main(["-q", "tiff2zarr", str(folder / "img_t{t}.tif"), str(out), "--ome-version", version])
    np.testing.assert_array_equal(read_level(out / "0"), data)
    assert validate_store(str(out)) == version
    assert _axes(out) == [
        ("t", "second"), ("c", None), ("z", "micrometer"), ("y", "micrometer"),
        ("x", "micrometer"),
    ]  # fmt: skip
    assert _scale(out) == [30.0, 1.0, 1.25, 0.4, 0.4]
    assert [c["color"] for c in group_attrs(out)["omero"]["channels"]] == ["00FF00", "FF0000"]


def test_sequence_along_channels_takes_sizes_not_channel_names(tmp_path: Path) -> None:
    folder = tmp_path / "seq"
    folder.mkdir()
    data = random_array((2, 8, 9), "uint8")
    for c in range(2):
        tifffile.imwrite(
            folder / f"img_c{c}.tif",
            data[c],
            resolution=(1e4 / 0.5, 1e4 / 0.5),
            resolutionunit="CENTIMETER",
        )
    out = tmp_path / "seq.ome.zarr"
    convert(str(folder / "img_c{c}.tif"), out)
    np.testing.assert_array_equal(read_level(out / "0"), data)
    assert _axes(out) == [("c", None), ("y", "micrometer"), ("x", "micrometer")]
    assert _scale(out) == [1.0, 0.5, 0.5]


def ome_tiff(path: Path) -> np.ndarray:
    """A small OME-TIFF with physical sizes and channel names; returns its pixels."""
    data = random_array((2, 3, 24, 20), "uint16")
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": "CZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0,
            "Channel": {"Name": ["DAPI", "GFP"]},
        },
    )  # fmt: skip
    return data


def check_ome_output(out: Path, data: np.ndarray) -> None:
    """``out`` holds :func:`ome_tiff`'s pixels, sizes and channel names, and validates."""
    np.testing.assert_array_equal(read_level(out / "0"), data)
    assert _scale(out) == [1.0, 2.0, 0.5, 0.5]
    assert [c["label"] for c in group_attrs(out)["omero"]["channels"]] == ["DAPI", "GFP"]
    assert validate_store(str(out)) == "0.5"


def test_tiff_from_memory_and_file_urls(tmp_path: Path) -> None:
    import fsspec

    local = tmp_path / "in.ome.tif"
    data = ome_tiff(local)
    fsspec.filesystem("memory").pipe("/omeconv-test/in.ome.tif", local.read_bytes())
    for url in ("memory://omeconv-test/in.ome.tif", local.as_uri()):
        out = tmp_path / f"{url.split(':')[0]}.ome.zarr"
        convert(url, out)
        check_ome_output(out, data)


def test_tiff_url_reader_reopens_by_url_when_unpickled(tmp_path: Path) -> None:
    import pickle

    import fsspec

    local = tmp_path / "in.ome.tif"
    data = ome_tiff(local)
    fsspec.filesystem("memory").pipe("/omeconv-test/pickled.ome.tif", local.read_bytes())
    image = read("memory://omeconv-test/pickled.ome.tif")
    copy = pickle.loads(pickle.dumps(image.data))
    np.testing.assert_array_equal(copy.compute(), data)


def test_missing_url_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tiff2zarr", "memory://omeconv-test/none.ome.tif", str(tmp_path / "o.zarr")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert err == ["omeconv: error: memory://omeconv-test/none.ome.tif: no such object"]
