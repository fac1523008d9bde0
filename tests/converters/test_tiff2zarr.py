"""tiff2zarr end to end: pixels, pyramid, metadata and validity for OME-Zarr 0.4 and 0.5."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile
import zarr

from omeconv.api import convert, read
from omeconv.validate import validate_store

if TYPE_CHECKING:
    from pathlib import Path

VERSIONS = ["0.4", "0.5"]


def mean_downsample(a: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """Reference: NaN-padded windows, mean of the pixels present, rounded half to even."""
    out_shape = [-(-n // f) for n, f in zip(a.shape, factors, strict=True)]
    padded = np.full([o * f for o, f in zip(out_shape, factors, strict=True)], np.nan)
    padded[tuple(slice(0, n) for n in a.shape)] = a.astype(np.float64)
    split = [d for o, f in zip(out_shape, factors, strict=True) for d in (o, f)]
    means = np.nanmean(padded.reshape(split), axis=tuple(range(1, 2 * a.ndim, 2)))
    if a.dtype.kind in "iu":
        return np.rint(means).astype(a.dtype)
    return means.astype(a.dtype)


def group_attrs(path: Path) -> dict:
    """NGFF attributes of a group, whatever the zarr format."""
    if (path / "zarr.json").exists():
        return json.loads((path / "zarr.json").read_text())["attributes"]["ome"]
    return json.loads((path / ".zattrs").read_text())


def random_image(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 1000).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("axes", ["yx", "zyx", "czyx", "tczyx"])
def test_pixels_and_pyramid(tmp_path: Path, version: str, dtype: str, axes: str) -> None:
    sizes = {"t": 2, "c": 3, "z": 5, "y": 37, "x": 45}
    shape = tuple(sizes[a] for a in axes)
    data = random_image(shape, dtype)
    src = tmp_path / "in.ome.tif"
    tifffile.imwrite(src, data, metadata={"axes": axes.upper()}, tile=(16, 16))
    chunks = {"y": 8, "x": 8}
    out = tmp_path / "out.ome.zarr"
    convert(src, out, ome_version=version, chunks=chunks)

    assert validate_store(str(out)) == version
    attrs = group_attrs(out)
    datasets = attrs["multiscales"][0]["datasets"]
    assert len(datasets) >= 3  # 45 px halves until it fits an 8 px chunk
    group = zarr.open_group(out, mode="r")
    expected = tifffile.imread(src)
    assert group[datasets[0]["path"]].dtype == expected.dtype
    np.testing.assert_array_equal(group[datasets[0]["path"]][:], expected)
    previous = expected
    for ds_up, ds in itertools.pairwise(datasets):
        level = group[ds["path"]][:]
        scale_up = ds_up["coordinateTransformations"][0]["scale"]
        scale = ds["coordinateTransformations"][0]["scale"]
        factors = tuple(round(s / u) for s, u in zip(scale, scale_up, strict=True))
        assert factors[axes.index("y")] == factors[axes.index("x")] == 2
        np.testing.assert_array_equal(level, mean_downsample(previous, factors))
        previous = level
    if version == "0.5":
        assert group[datasets[0]["path"]].metadata.dimension_names == tuple(axes)
    else:
        zarray = json.loads((out / datasets[0]["path"] / ".zarray").read_text())
        assert zarray["dimension_separator"] == "/"
        assert attrs["multiscales"][0]["version"] == "0.4"


@pytest.mark.parametrize("version", VERSIONS)
def test_metadata_read_back(tmp_path: Path, version: str) -> None:
    data = random_image((2, 3, 4, 32, 32), "uint16")
    src = tmp_path / "meta.ome.tif"
    tifffile.imwrite(
        src,
        data,
        metadata={
            "axes": "TCZYX",
            "Name": "embryo",
            "PhysicalSizeX": 0.25,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": 0.25,
            "PhysicalSizeYUnit": "µm",
            "PhysicalSizeZ": 150.0,
            "PhysicalSizeZUnit": "nm",
            "TimeIncrement": 2.5,
            "TimeIncrementUnit": "min",
            "Channel": {"Name": ["DAPI", "GFP", "RFP"], "Color": [65535, 16711935, -16776961]},
        },
    )
    out = tmp_path / "meta.ome.zarr"
    convert(src, out, ome_version=version)
    validate_store(str(out))
    attrs = group_attrs(out)
    ms = attrs["multiscales"][0]
    assert ms["name"] == "embryo"
    assert [a["name"] for a in ms["axes"]] == list("tczyx")
    units = {a["name"]: a.get("unit") for a in ms["axes"]}
    assert units == {
        "t": "minute",
        "c": None,
        "z": "nanometer",
        "y": "micrometer",
        "x": "micrometer",
    }
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [2.5, 1, 150, 0.25, 0.25]
    channels = attrs["omero"]["channels"]
    assert [c["label"] for c in channels] == ["DAPI", "GFP", "RFP"]
    # OME colours are signed RGBA: 65535 = 0x0000FFFF (blue), 16711935 = 0x00FF00FF (green),
    # -16776961 = 0xFF0000FF (red).
    assert [c["color"] for c in channels] == ["0000FF", "00FF00", "FF0000"]
    for i, c in enumerate(channels):
        window = c["window"]
        assert window["min"] == window["start"] == data[:, i].min()
        assert window["max"] == window["end"] == data[:, i].max()
    xml = (out / "OME" / "METADATA.ome.xml").read_text()
    assert xml == tifffile.TiffFile(src).ome_metadata


def test_imagej_hyperstack_metadata(tmp_path: Path) -> None:
    data = random_image((3, 4, 2, 24, 30), "uint8")  # TZCYX, ImageJ order
    src = tmp_path / "hyper.tif"
    tifffile.imwrite(
        src,
        data,
        imagej=True,
        resolution=(1 / 0.4, 1 / 0.4),
        metadata={"axes": "TZCYX", "spacing": 1.5, "unit": "micron", "finterval": 3.0},
    )
    out = tmp_path / "hyper.ome.zarr"
    convert(src, out)
    validate_store(str(out))
    ms = group_attrs(out)["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == list("tczyx")
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == pytest.approx(
        [3.0, 1.0, 1.5, 0.4, 0.4]
    )
    assert {a["name"]: a.get("unit") for a in ms["axes"]}["x"] == "micrometer"
    level0 = zarr.open_group(out, mode="r")["0"][:]
    np.testing.assert_array_equal(level0, data.transpose(0, 2, 1, 3, 4))


def test_levels_option_and_chunks(tmp_path: Path) -> None:
    data = random_image((64, 80), "uint16")
    src = tmp_path / "plane.tif"
    tifffile.imwrite(src, data)
    out = tmp_path / "plane.ome.zarr"
    convert(src, out, levels=2, chunks=(16, 16), compression="lz4")
    group = zarr.open_group(out, mode="r")
    assert sorted(group.array_keys()) == ["0", "1"]
    assert group["0"].chunks == (16, 16)
    assert group["1"].shape == (32, 40)
    np.testing.assert_array_equal(group["1"][:], mean_downsample(data, (2, 2)))


@pytest.mark.parametrize("version", VERSIONS)
def test_numpy_and_dask_sources(tmp_path: Path, version: str) -> None:
    import dask.array as da

    data = random_image((3, 20, 30), "uint16")
    for i, source in enumerate((data, da.from_array(data, chunks=(1, 7, 9)))):
        out = tmp_path / f"arr{i}.ome.zarr"
        convert(
            source,
            out,
            ome_version=version,
            axes="cyx",
            scale={"y": 0.5, "x": 0.5},
            units={"y": "micrometer", "x": "micrometer"},
            channel_names=["a", "b", "c"],
        )
        validate_store(str(out))
        image = read(data, axes="cyx")
        assert image.axis_names == "cyx"
        np.testing.assert_array_equal(zarr.open_group(out, mode="r")["0"][:], data)
        attrs = group_attrs(out)
        assert [c["label"] for c in attrs["omero"]["channels"]] == ["a", "b", "c"]
        scale = attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]
        assert scale == [1.0, 0.5, 0.5]


def test_npy_file(tmp_path: Path) -> None:
    data = random_image((4, 16, 16), "float32")
    np.save(tmp_path / "stack.npy", data)
    out = tmp_path / "stack.ome.zarr"
    convert(tmp_path / "stack.npy", out)
    validate_store(str(out))
    assert [a["name"] for a in group_attrs(out)["multiscales"][0]["axes"]] == list("zyx")
    np.testing.assert_array_equal(zarr.open_group(out, mode="r")["0"][:], data)


CORPUS_FILES = [
    "tiff/ome-tiff/viv__multi-channel.ome.tif",
    "tiff/ome-tiff/ometypes__ome.tiff",
    "tiff/imagej/galaxy__projective_transformation__multi_m.tiff",
    "tiff/imagej/galaxy__split_image__zcyx.tiff",
    "tiff/imagej/galaxy__bioformats2raw__xyz_8bit__mitotic_plate_calibrated.tiff",
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_files(corpus: Path, tmp_path: Path, name: str, version: str) -> None:
    src = corpus / name
    if not src.exists():
        pytest.skip(f"{name} not in corpus")
    out = tmp_path / "c.ome.zarr"
    convert(src, out, ome_version=version)
    assert validate_store(str(out)) == version
    ms = group_attrs(out)["multiscales"][0]
    axes = "".join(a["name"] for a in ms["axes"])
    with tifffile.TiffFile(src) as tf:
        series = tf.series[0]
        expected = series.asarray()
        letters = series.axes.lower().replace("s", "c")
    # The written level 0 is the file's pixels with axes put in NGFF order.
    kept = [c for c in letters if c in axes]
    squeezed = expected.reshape(
        [n for n, c in zip(expected.shape, letters, strict=True) if c in axes]
    )
    got = zarr.open_group(out, mode="r")["0"][:]
    np.testing.assert_array_equal(got, np.transpose(squeezed, [kept.index(c) for c in axes]))


def test_corpus_physical_sizes(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "tiff/imagej/galaxy__bioformats2raw__xyz_8bit__mitotic_plate_calibrated.tiff"
    if not src.exists():
        pytest.skip("calibrated ImageJ file not in corpus")
    with tifffile.TiffFile(src) as tf:
        ij = tf.imagej_metadata
        xres = tf.pages[0].get_resolution()[0]
    out = tmp_path / "cal.ome.zarr"
    convert(src, out)
    ms = group_attrs(out)["multiscales"][0]
    scale = ms["datasets"][0]["coordinateTransformations"][0]["scale"]
    assert scale[-1] == pytest.approx(1 / xres)
    assert scale[0] == pytest.approx(ij["spacing"])
