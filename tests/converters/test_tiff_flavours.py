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

    @pytest.mark.parametrize("version", ["0.4", "0.5"])
    def test_converts_and_validates(self, path: Path, tmp_path: Path, version: str) -> None:
        if path.suffix == ".ndpi":
            # Its 3968 x 4864 JPEG is one strip that the TIFF adapter decodes once per
            # output chunk: about 3 minutes here, far over a test's budget.
            pytest.skip("NDPI conversion is too slow for the test suite (TIFF adapter)")
        super().test_converts_and_validates(path, tmp_path, version)

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
