"""Vendor TIFF flavours of the corpus (Zeiss LSM, MetaMorph STK, Hamamatsu NDPI, Aperio
SVS) through the TIFF adapter, checked against tifffile, the reader made for them."""

from __future__ import annotations

import json
import re
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from omeconv.api import convert, open_source
from omeconv.errors import SourceError
from tests.converters.adapter_suite import AdapterSuite, Reference

if TYPE_CHECKING:
    from pathlib import Path

FILES = (
    "lsm/jefferislab__jimpipeline__test.lsm",
    "stk/scifio__scifio__test.stk",
    "ndpi/Booritas__slideio-tutorial__test3-TRITC_2_560.ndpi",
    "svs/Booritas__slideio-tutorial__CMU-1-Small-Region.svs",
    "svs/openslide__openslide-python__small.svs",
)
UNREADABLE = "svs/openslide__openslide-python__unreadable.svs"
_NAMES = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}


class TestTiffFlavours(AdapterSuite):
    adapter = "tiff"
    folder = "."
    files = FILES
    library = "tifffile"
    other = "czi/sebi06__czitools__100x100.czi"

    def reference(self, path: Path) -> list[Reference]:
        """Each tifffile series (LSM thumbnails aside) and the sizes its flavour states."""
        import tifffile

        refs = []
        with tifffile.TiffFile(path) as tf:
            for series in tf.series:
                if series.kind == "lsm" and series.keyframe.is_reduced:
                    continue
                axes = [_NAMES[c] for c in series.axes]
                refs.append(Reference(series.asarray(), axes, _sizes(tf, series), None))
        return refs

    def convert_options(self, path: Path) -> dict[str, Any]:
        # The NDPI's JPEG strips span its 3968-pixel width: chunks of 1024 keep the
        # conversion to a few seconds (each strip is still decoded about once).
        return {"chunks": {"y": 1024, "x": 1024}} if path.suffix == ".ndpi" else {}

    def test_file_pyramids_are_reused(self, path: Path) -> None:
        """The file's own levels (NDPI) become the image's levels, pixel for pixel."""
        import tifffile

        images = open_source(path).images
        with tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            assert len(images[0].levels) == len(series.levels)
            if len(series.levels) > 1:
                low = images[0].levels[-1].data.compute()
                expected = series.levels[-1].asarray()
                np.testing.assert_array_equal(np.moveaxis(low, 0, -1), expected)


def _sizes(tf: Any, series: Any) -> dict[str, float]:
    if tf.is_lsm:
        size = tf.lsm_metadata["VoxelSizeX"] * 1e6
        return {"x": size, "y": size}
    if tf.is_stk:
        meta = tf.stk_metadata
        return {"x": meta["XCalibration"], "y": meta["YCalibration"], "z": meta["ZDistance"][0]}
    if tf.is_ndpi:
        xres, yres = series.keyframe.get_resolution()
        assert series.keyframe.resolutionunit == tifffile_centimeter()
        return {"x": 1e4 / xres, "y": 1e4 / yres}
    if tf.is_svs and series is tf.series[0]:
        mpp = _mpp(series.keyframe.description)
        return {"x": mpp, "y": mpp}
    return {}  # the SVS thumbnail, label and macro: no pixel size of their own


def _mpp(description: str) -> float:
    """The ``MPP = <value>`` field of an Aperio description."""
    match = re.search(r"\|\s*MPP\s*=\s*([0-9.]+)", description)
    assert match is not None, description
    return float(match.group(1))


def tifffile_centimeter() -> Any:
    import tifffile

    return tifffile.RESUNIT.CENTIMETER


def test_unreadable_svs_fails_in_one_line(corpus: Path, tmp_path: Path) -> None:
    """openslide's unreadable.svs: its header opens, its JPEG tiles do not decode."""
    source = corpus / "vendor" / UNREADABLE
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    out = tmp_path / "out.ome.zarr"
    with pytest.raises(SourceError) as info:
        convert(copy, out)
    assert "\n" not in str(info.value)
    assert str(copy) in str(info.value)
    assert not out.exists()
    assert not (tmp_path / "out.ome.zarr.partial").exists() or not any(out.parent.glob("*.zarr"))


def test_ndpi_regions_read_from_blocks_match_tifffile(corpus: Path) -> None:
    """Regions inside one decoded block, across blocks and repeated are tifffile's pixels."""
    import tifffile

    path = corpus / "vendor" / FILES[2]
    if not path.exists():
        pytest.skip(f"{path.name} is not in the corpus")
    data = open_source(path).images[0].levels[0].data
    with tifffile.TiffFile(path) as tf:
        expected = np.moveaxis(tf.series[0].levels[0].asarray(), -1, 0)
    for region in (
        np.s_[:, 5:300, 17:900],
        np.s_[1:2, 300:1900, 3000:],
        np.s_[:, 5:300, 17:900],
        np.s_[:, 4000:, :],
    ):
        np.testing.assert_array_equal(data[region].compute(), expected[region])


@pytest.mark.parametrize("file", [f for f in FILES if f.endswith(".svs")])
def test_svs_mpp_is_the_written_scale(corpus: Path, tmp_path: Path, file: str) -> None:
    """The main image's ``MPP`` is its x/y scale in micrometer in the output; the thumbnail,
    label and macro images state none of their own and get none."""
    import tifffile

    path = corpus / "vendor" / file
    if not path.exists():
        pytest.skip(f"{path.name} is not in the corpus")
    with tifffile.TiffFile(path) as tf:
        mpp = _mpp(tf.series[0].keyframe.description)
        count = len(tf.series)
    out = tmp_path / "out.ome.zarr"
    convert(path, out)
    for k in range(count):
        attrs = json.loads((out / str(k) / "zarr.json").read_text())["attributes"]["ome"]
        multiscale = attrs["multiscales"][0]
        units = {a["name"]: a.get("unit") for a in multiscale["axes"]}
        scale = multiscale["datasets"][0]["coordinateTransformations"][0]["scale"]
        if k == 0:
            assert scale == [1.0, mpp, mpp]
            assert units == {"c": None, "y": "micrometer", "x": "micrometer"}
        else:
            assert scale == [1.0, 1.0, 1.0]
            assert units == {"c": None, "y": None, "x": None}


def test_svs_mpp_applies_to_the_reduced_levels(tmp_path: Path) -> None:
    """An SVS pyramid's reduced levels get the MPP times their reduction; the thumbnail none."""
    import tifffile

    rng = np.random.default_rng(0)
    data = rng.integers(0, 255, (512, 512, 3), dtype=np.uint8)
    head = "Aperio Image Library v12.0.0\r\n"
    path = tmp_path / "pyramid.svs"
    with tifffile.TiffWriter(path) as w:
        for part, tiled, text in (
            (data, True, "512x512 (256x256) RAW|AppMag = 20|MPP = 0.2520"),
            (data[::8, ::8], False, "512x512 -> 64x64"),
            (data[::2, ::2], True, "512x512 -> 256x256 (256x256) RAW|MPP = 0.2520"),
        ):
            tile = (256, 256) if tiled else None
            w.write(part, tile=tile, photometric="rgb", metadata=None, description=head + text)
    main, thumbnail = open_source(path).images
    assert [lv.scale for lv in main.levels] == [(1.0, 0.252, 0.252), (1.0, 0.504, 0.504)]
    assert [a.unit for a in main.axes] == [None, "micrometer", "micrometer"]
    assert [lv.scale for lv in thumbnail.levels] == [(1.0, 1.0, 1.0)]
    assert [a.unit for a in thumbnail.axes] == [None, None, None]


def test_ndpi_strips_are_decoded_once_for_many_small_regions(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regions of 64 x 64 of each channel of the NDPI's 608 x 496 level: its 76 JPEG strips
    are read as one block, decoded once, not once per region."""
    from omeconv.converters.tiff import levels

    path = corpus / "vendor" / FILES[2]
    if not path.exists():
        pytest.skip(f"{path.name} is not in the corpus")
    data = open_source(path).images[0].levels[-1].data
    assert data.shape == (3, 608, 496)
    stored: list[tuple[int, ...]] = []
    put = levels._BlockCache.put

    def counted(self: Any, index: tuple[int, ...], block: Any) -> None:
        stored.append(index)
        put(self, index, block)

    monkeypatch.setattr(levels._BlockCache, "put", counted)
    whole = data.compute()
    monkeypatch.setattr(levels, "_BLOCKS", levels._BlockCache(levels._CACHE_BYTES))  # none kept yet
    stored.clear()
    for c in range(3):
        for y in range(0, 608, 64):
            for x in range(0, 496, 64):
                part = data[c, y : y + 64, x : x + 64].compute(scheduler="synchronous")
                np.testing.assert_array_equal(part, whole[c, y : y + 64, x : x + 64])
    assert [key[1:] for key in stored] == [(0, 0, 0)]  # (reader, block index)


def test_block_cache_keeps_the_last_blocks_within_its_bytes() -> None:
    from omeconv.converters.tiff.levels import _BlockCache

    cache = _BlockCache(limit=3 * 1000)
    for k in range(5):
        cache.put((k,), np.zeros(1000, np.uint8))
    assert [cache.get((k,)) is not None for k in range(5)] == [False, False, True, True, True]
    cache.put((9,), np.zeros(5000, np.uint8))  # larger than the limit: kept alone
    assert cache.get((9,)) is not None
    assert cache.get((4,)) is None
