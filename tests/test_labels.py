"""Labels: --labels NAME=PATH and labels={...} attach integer masks as NGFF labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from omeconv.api import convert
from omeconv.cli import main
from omeconv.errors import UsageError
from omeconv.validate import validate_store
from tests.factories import group_attrs, random_array, read_level

if TYPE_CHECKING:
    from pathlib import Path


def _mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype="uint16")
    mask[2:10, 3:12] = 1
    mask[20:30, 25:40] = 5
    return mask


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_labels_option_writes_label_pyramid(tmp_path: Path, version: str) -> None:
    image = random_array((2, 48, 60), "uint8")
    tifffile.imwrite(tmp_path / "img.tif", image, metadata={"axes": "CYX"})
    mask = _mask((48, 60))
    tifffile.imwrite(tmp_path / "mask.tif", mask)
    out = tmp_path / "l.ome.zarr"
    main(["-q", "tiff2zarr", str(tmp_path / "img.tif"), str(out), "--ome-version", version,
          "--chunks", "1,16,16", "--labels", f"cells={tmp_path / 'mask.tif'}"])  # fmt: skip
    assert validate_store(str(out)) == version
    assert group_attrs(out / "labels")["labels"] == ["cells"]
    attrs = group_attrs(out / "labels" / "cells")
    image_levels = group_attrs(out)["multiscales"][0]["datasets"]
    label_levels = attrs["multiscales"][0]["datasets"]
    assert len(label_levels) == len(image_levels) > 1
    assert [a["name"] for a in attrs["multiscales"][0]["axes"]] == ["c", "y", "x"]
    colors = {c["label-value"]: c["rgba"] for c in attrs["image-label"]["colors"]}
    assert set(colors) == {0, 1, 5}
    assert colors[0][3] == 0
    level0 = read_level(out / "labels" / "cells" / "0")
    assert level0.shape == (1, 48, 60)
    np.testing.assert_array_equal(level0[0], mask)
    # mode downsampling keeps label values (no means like 2 or 3 between 1 and 5)
    assert set(np.unique(read_level(out / "labels" / "cells" / "1"))) <= {0, 1, 5}


def test_labels_api_with_array_and_bool_mask(tmp_path: Path) -> None:
    image = random_array((3, 20, 24), "uint16")
    mask = np.zeros((3, 20, 24), dtype=bool)
    mask[1, 5:9, 5:9] = True
    out = tmp_path / "b.ome.zarr"
    convert(image, out, axes="zyx", labels={"mask": mask})
    np.testing.assert_array_equal(read_level(out / "labels" / "mask" / "0"), mask.astype("uint8"))
    assert validate_store(str(out)) == "0.5"


def test_labels_reject_float_and_wrong_shape(tmp_path: Path) -> None:
    image = random_array((20, 24), "uint8")
    with pytest.raises(UsageError, match="must be integers"):
        convert(image, tmp_path / "f.ome.zarr", labels={"m": np.zeros((20, 24), "float32")})
    with pytest.raises(UsageError, match="need \\(20, 24\\)"):
        convert(image, tmp_path / "s.ome.zarr", labels={"m": np.zeros((10, 24), "uint8")})
    with pytest.raises(UsageError, match="NAME=PATH"):
        main(["--debug", "tiff2zarr", "a.tif", str(tmp_path / "x.zarr"), "--labels", "nopath"])
    assert not (tmp_path / "f.ome.zarr").exists()
