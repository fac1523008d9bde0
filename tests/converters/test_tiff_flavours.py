"""Vendor TIFF flavours of the corpus (Zeiss LSM, MetaMorph STK, Hamamatsu NDPI, Aperio
SVS) through the TIFF adapter, checked against tifffile, the reader made for them."""

from __future__ import annotations

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
    return {}  # SVS: tifffile reports no pixel size (the MPP is in the description text)


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
