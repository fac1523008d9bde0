"""TIFF input from s3:// (a moto S3 server on loopback, the fixture of test_remote)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from omeconv.api import convert, read
from tests.converters.test_tiff_vendor import check_ome_output, ome_tiff
from tests.test_remote import monkeypatch_module, s3  # noqa: F401  (the moto S3 fixture)

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_tiff_from_s3(
    tmp_path: Path,
    s3: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fsspec
    import s3fs

    local = tmp_path / "in.ome.tif"
    data = ome_tiff(local)
    s3fs.S3FileSystem(**s3).put(str(local), "omeconv/in.ome.tif")
    # storage options of an input URL from fsspec's configuration (what the CLI uses)
    monkeypatch.setitem(fsspec.config.conf, "s3", s3)
    out = tmp_path / "s3.ome.zarr"
    convert("s3://omeconv/in.ome.tif", out)
    check_ome_output(out, data)
    image = read("s3://omeconv/in.ome.tif", storage_options=s3)
    np.testing.assert_array_equal(image.data.compute(), data)
