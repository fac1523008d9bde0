"""The TIFF adapter: multi-series, multi-file, pyramids, OME metadata, plates, odd encodings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from omeconv.api import convert, open_source
from omeconv.cli import main
from omeconv.errors import UnsupportedSourceError
from omeconv.validate import validate_store
from tests.converters.adapter_suite import AdapterSuite, Reference
from tests.factories import (
    group_attrs,
    make_plate_ome_tiff,
    make_pyramid_tiff,
    random_array,
    read_level,
)

if TYPE_CHECKING:
    from pathlib import Path

VERSIONS = ["0.4", "0.5"]
MULTISERIES = "tiff/ome-tiff/galaxy__split_image__multiseries.ome.tiff"
MULTIFILE = "tiff/ome-tiff-multifile/viv-multifile"
SUBIFDS = "tiff/ome-tiff/galaxy__bfconvert__res.pyramid-subifds.ome.tiff"


def _need(corpus: Path, name: str) -> Path:
    path = corpus / name
    if not path.exists():
        pytest.skip(f"{name} not in corpus")
    return path


@pytest.mark.parametrize("version", VERSIONS)
def test_multiseries_ome_tiff_is_bioformats2raw(corpus: Path, tmp_path: Path, version: str) -> None:
    src = _need(corpus, MULTISERIES)
    out = tmp_path / "out.ome.zarr"
    convert(src, out, ome_version=version)
    assert validate_store(str(out)) == version
    assert group_attrs(out)["bioformats2raw.layout"] == 3
    assert group_attrs(out / "OME")["series"] == [str(i) for i in range(6)]
    xml = (out / "OME" / "METADATA.ome.xml").read_text()
    with tifffile.TiffFile(src) as tf:
        assert xml == tf.ome_metadata
        for i, series in enumerate(tf.series):
            attrs = group_attrs(out / str(i))
            multiscale = attrs["multiscales"][0]
            assert multiscale["name"] == series.name
            assert [a["name"] for a in multiscale["axes"]] == ["c", "y", "x"]
            assert [a.get("unit") for a in multiscale["axes"]] == [None, "micrometer", "micrometer"]
            np.testing.assert_array_equal(read_level(out / str(i) / "0"), series.asarray())


def test_series_option_converts_one_series_as_plain_image(corpus: Path, tmp_path: Path) -> None:
    src = _need(corpus, MULTISERIES)
    out = tmp_path / "s2.ome.zarr"
    main(["-q", "tiff2zarr", str(src), str(out), "--series", "2"])
    attrs = group_attrs(out)
    assert "bioformats2raw.layout" not in attrs
    assert attrs["multiscales"][0]["name"] == tifffile.TiffFile(src).series[2].name
    np.testing.assert_array_equal(read_level(out / "0"), tifffile.imread(src, series=2))
    assert validate_store(str(out)) == "0.5"


@pytest.mark.parametrize("entry", ["multifile.companion.ome", "multifile-Z3.ome.tiff"])
def test_multifile_ome_tiff_with_companion(corpus: Path, tmp_path: Path, entry: str) -> None:
    folder = _need(corpus, MULTIFILE)
    out = tmp_path / "mf.ome.zarr"
    convert(folder / entry, out, ome_version="0.4")
    expected = np.stack([tifffile.imread(folder / f"multifile-Z{z}.ome.tiff") for z in range(1, 6)])
    np.testing.assert_array_equal(read_level(out / "0"), expected)
    multiscale = group_attrs(out)["multiscales"][0]
    assert multiscale["name"] == "multifile"
    assert [a["name"] for a in multiscale["axes"]] == ["z", "y", "x"]
    companion = (folder / "multifile.companion.ome").read_text()
    assert (out / "OME" / "METADATA.ome.xml").read_text() == companion
    assert validate_store(str(out)) == "0.4"


@pytest.mark.parametrize("version", VERSIONS)
def test_corpus_subifd_pyramid_levels_are_reused(
    corpus: Path, tmp_path: Path, version: str
) -> None:
    src = _need(corpus, SUBIFDS)
    out = tmp_path / "pyr.ome.zarr"
    convert(src, out, ome_version=version)
    with tifffile.TiffFile(src) as tf:
        levels = tf.series[0].levels
        datasets = group_attrs(out)["multiscales"][0]["datasets"]
        assert len(datasets) == len(levels) == 4
        for i, level in enumerate(levels):
            # YXS in the file, CYX in the store
            expected = np.moveaxis(level.asarray(), -1, 0)
            np.testing.assert_array_equal(read_level(out / str(i)), expected)
    assert validate_store(str(out)) == version


def test_generated_subifd_pyramid_is_not_recomputed(tmp_path: Path) -> None:
    # Reduced levels unrelated to the full one: only a copy can reproduce them.
    levels = [random_array((64, 80), "uint16", seed=s) for s in range(3)]
    levels[1] = levels[1][:32, :40]
    levels[2] = levels[2][:16, :20]
    src = make_pyramid_tiff(tmp_path / "pyr.ome.tif", levels)
    out = tmp_path / "pyr.ome.zarr"
    convert(src, out, ome_version="0.5")
    datasets = group_attrs(out)["multiscales"][0]["datasets"]
    assert [d["coordinateTransformations"][0]["scale"] for d in datasets] == [
        [1.0, 1.0],
        [2.0, 2.0],
        [4.0, 4.0],
    ]
    for i, level in enumerate(levels):
        np.testing.assert_array_equal(read_level(out / str(i)), level)
    assert validate_store(str(out)) == "0.5"


@pytest.mark.parametrize("version", VERSIONS)
def test_ome_metadata_mapped(tmp_path: Path, version: str) -> None:
    data = random_array((3, 2, 16, 20), "uint16")
    src = tmp_path / "meta.ome.tif"
    tifffile.imwrite(
        src,
        data,
        metadata={
            "axes": "TCYX",
            "PhysicalSizeX": 250.0,
            "PhysicalSizeXUnit": "nm",
            "PhysicalSizeY": 250.0,
            "PhysicalSizeYUnit": "nm",
            "TimeIncrement": 2.5,
            "TimeIncrementUnit": "ms",
            "Channel": {
                "Name": ["DAPI", "GFP"],
                "Color": [65535, 16711935],
                "EmissionWavelength": [461, 509],
            },
        },
    )
    out = tmp_path / "meta.ome.zarr"
    convert(src, out, ome_version=version)
    attrs = group_attrs(out)
    ms = attrs["multiscales"][0]
    assert [(a["name"], a.get("unit")) for a in ms["axes"]] == [
        ("t", "millisecond"),
        ("c", None),
        ("y", "nanometer"),
        ("x", "nanometer"),
    ]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [2.5, 1.0, 250.0, 250.0]
    channels = attrs["omero"]["channels"]
    assert [c["label"] for c in channels] == ["DAPI", "GFP"]
    assert [c["color"] for c in channels] == ["0000FF", "00FF00"]
    # NGFF has no wavelength field: it stays in the preserved OME-XML
    assert 'EmissionWavelength="509"' in (out / "OME" / "METADATA.ome.xml").read_text()
    np.testing.assert_array_equal(read_level(out / "0"), data)
    assert validate_store(str(out)) == version


@pytest.mark.parametrize("version", VERSIONS)
def test_ome_plate_becomes_ngff_plate(tmp_path: Path, version: str) -> None:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Plate, Reader

    src = tmp_path / "plate.ome.tif"
    images = make_plate_ome_tiff(src, {(0, 0): 2, (0, 2): 1, (1, 1): 2})
    out = tmp_path / "plate.ome.zarr"
    convert(src, out, ome_version=version)
    assert validate_store(str(out)) == version
    plate = group_attrs(out)["plate"]
    assert plate["name"] == "test plate"
    assert [r["name"] for r in plate["rows"]] == ["A", "B"]
    assert [c["name"] for c in plate["columns"]] == ["1", "2", "3"]
    assert [w["path"] for w in plate["wells"]] == ["A/1", "A/3", "B/2"]
    assert plate["field_count"] == 2
    assert plate["acquisitions"][0]["name"] == "run 1"
    assert [im["path"] for im in group_attrs(out / "A" / "1")["well"]["images"]] == ["0", "1"]
    fields = ["A/1/0", "A/1/1", "A/3/0", "B/2/0", "B/2/1"]
    for path, expected in zip(fields, images, strict=True):
        np.testing.assert_array_equal(read_level(out / path / "0"), expected)
    assert (out / "OME" / "METADATA.ome.xml").exists()
    nodes = list(Reader(parse_url(str(out)))())
    assert any(isinstance(spec, Plate) for node in nodes for spec in node.specs)


def test_ome_plate_series_option_gives_one_image(tmp_path: Path) -> None:
    src = tmp_path / "plate.ome.tif"
    images = make_plate_ome_tiff(src, {(0, 0): 2})
    collection = open_source(src, series=1)
    assert collection.plate is None
    np.testing.assert_array_equal(collection.images[0].data.compute(), images[1])


@pytest.mark.parametrize("name", ["logluv-3c-16b.tiff", "dscf0013.tif"])
def test_undecodable_pixels_fail_in_one_line(corpus: Path, tmp_path: Path, name: str) -> None:
    sub = "generic/image-tiff" if name.startswith("logluv") else "generic/libtiffpic"
    src = _need(corpus, f"tiff/{sub}/{name}")
    with pytest.raises(UnsupportedSourceError, match="cannot decode its pixels"):
        open_source(src)
    assert not (tmp_path / "x.ome.zarr").exists()


DTYPES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
DTYPES += ["float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtypes_round_trip(tmp_path: Path, dtype: str) -> None:
    data = random_array((3, 20, 24), dtype)
    src = tmp_path / "d.tif"
    tifffile.imwrite(src, data, photometric="minisblack", metadata={"axes": "ZYX"})
    out = tmp_path / "d.ome.zarr"
    convert(src, out, ome_version="0.5", chunks=(2, 8, 8))
    level0 = read_level(out / "0")
    assert level0.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(level0, data)
    assert len(group_attrs(out)["multiscales"][0]["datasets"]) > 1
    assert validate_store(str(out)) == "0.5"


ENCODINGS = [
    {"compression": "zlib"},
    {"compression": "lzw"},
    {"compression": "zstd", "predictor": True},
    {"compression": "packbits"},
    {"compression": "lzma"},
    {"compression": "jpeg"},
    {"compression": "webp"},
    {"bigtiff": True},
    {"byteorder": ">"},
    {"planarconfig": "separate"},
    {"tile": (16, 16), "compression": "zlib"},
]


@pytest.mark.parametrize(
    "options", ENCODINGS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())
)
@pytest.mark.parametrize("version", VERSIONS)
def test_rgb_encodings(tmp_path: Path, options: dict, version: str) -> None:
    planar = options.get("planarconfig") == "separate"
    data = random_array((3, 40, 48) if planar else (40, 48, 3), "uint8")
    src = tmp_path / "rgb.tif"
    write = {k: v for k, v in options.items() if k in ("bigtiff", "byteorder")}
    tifffile.imwrite(
        src,
        data,
        photometric="rgb",
        **{k: v for k, v in options.items() if k not in write},
        **write,
    )
    out = tmp_path / "rgb.ome.zarr"
    convert(src, out, ome_version=version)
    ms = group_attrs(out)["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["c", "y", "x"]
    ref = tifffile.imread(src)
    expected = ref if planar else np.moveaxis(ref, -1, 0)  # YXS in the file unless planar
    np.testing.assert_array_equal(read_level(out / "0"), expected)
    assert validate_store(str(out)) == version


def test_rgba_samples_become_channels(tmp_path: Path) -> None:
    data = random_array((2, 20, 24, 4), "uint16")
    src = tmp_path / "rgba.tif"
    tifffile.imwrite(src, data, photometric="rgb", extrasamples=["unassalpha"])
    collection = open_source(src)
    image = collection.images[0]
    assert image.axis_names == "czyx"
    assert image.nchannels == 4
    np.testing.assert_array_equal(image.data.compute(), np.moveaxis(data, -1, 0))


def test_imagej_hyperstack(corpus: Path, tmp_path: Path) -> None:
    src = _need(corpus, "tiff/imagej/galaxy__projective_transformation__multi_m.tiff")
    out = tmp_path / "ij.ome.zarr"
    convert(src, out, ome_version="0.4")
    ms = group_attrs(out)["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["t", "c", "z", "y", "x"]
    # TZCYX in the file
    np.testing.assert_array_equal(read_level(out / "0"), np.swapaxes(tifffile.imread(src), 1, 2))
    assert validate_store(str(out)) == "0.4"


#: What the generated files of the shared suite say: physical sizes and channel names.
SUITE_SIZES = {
    "cells.ome.tif": ({"x": 0.5, "y": 0.5, "z": 2.0}, ["dapi", "gfp"]),
    "imagej.tif": ({"x": 0.25, "y": 0.25, "z": 1.5}, None),
}


class TestTiffAdapter(AdapterSuite):
    """The shared adapter suite over plain, OME, ImageJ and multi-series TIFFs."""

    adapter = "tiff"
    files = ("plain.tif", "cells.ome.tif", "imagej.tif", "multiseries.ome.tif")
    other = None

    def make(self, file: str, folder: Path) -> Path:
        path = folder / file
        if file == "plain.tif":
            tifffile.imwrite(path, random_array((20, 16), "uint16"))
        elif file == "cells.ome.tif":
            metadata = {"axes": "CZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5}
            metadata |= {"PhysicalSizeZ": 2.0, "Channel": {"Name": ["dapi", "gfp"]}}
            data = random_array((2, 3, 20, 16), "uint8")
            tifffile.imwrite(path, data, photometric="minisblack", metadata=metadata)
        elif file == "imagej.tif":
            data = random_array((3, 2, 20, 16), "uint16")
            metadata = {"axes": "ZCYX", "spacing": 1.5, "unit": "um"}
            tifffile.imwrite(path, data, imagej=True, resolution=(4.0, 4.0), metadata=metadata)
        else:
            with tifffile.TiffWriter(path, ome=True) as tif:
                tif.write(random_array((20, 16), "uint16"), metadata={"axes": "YX"})
                tif.write(random_array((2, 12, 10), "float32", 1), metadata={"axes": "CYX"})
        return path

    def foreign(self, folder: Path) -> list[Path]:
        np.save(folder / "a.npy", random_array((8, 8), "uint8"))
        (folder / "notes.txt").write_text("II* is how a TIFF starts, but this is text")
        return [folder / "a.npy", folder / "notes.txt", folder]

    def reference(self, path: Path) -> list[Reference]:
        sizes, names = SUITE_SIZES.get(path.name, ({}, None))
        with tifffile.TiffFile(path) as tif:
            return [Reference(s.asarray(), s.axes.lower(), dict(sizes), names) for s in tif.series]


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("micron", "micrometer"), ("\\u00B5m", "micrometer"), ("NM", "nanometer"), ("pixel", None)],
)
def test_imagej_units_map_through_the_one_unit_table(
    tmp_path: Path, unit: str, expected: str | None
) -> None:
    path = tmp_path / "ij.tif"
    metadata = {"axes": "ZYX", "spacing": 2.0, "unit": unit}
    tifffile.imwrite(path, random_array((2, 8, 8), "uint8"), imagej=True, metadata=metadata)
    image = open_source(path).images[0]
    assert {a.name: a.unit for a in image.axes} == dict.fromkeys("zyx", expected)


def test_unknown_imagej_unit_is_dropped_with_a_warning(tmp_path: Path) -> None:
    from omeconv.errors import OmeconvWarning

    path = tmp_path / "ij.tif"
    metadata = {"axes": "ZYX", "spacing": 2.0, "unit": "furlong"}
    tifffile.imwrite(path, random_array((2, 8, 8), "uint8"), imagej=True, metadata=metadata)
    with pytest.warns(OmeconvWarning, match="unit 'furlong' has no NGFF equivalent"):
        image = open_source(path).images[0]
    assert [a.unit for a in image.axes] == [None, None, None]
