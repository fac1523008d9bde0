"""Every kind of output opens in napari: ome-zarr-py's reader (what napari-ome-zarr uses) reads
it, and every channel window is a range napari accepts (start < end), constant channels too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from omeconv.api import convert, write
from omeconv.model import Axis, Collection, Image, Level
from tests.factories import make_plate_ome_tiff

if TYPE_CHECKING:
    from pathlib import Path


def _read_all(path: Path) -> list[Any]:
    """Every node ome-zarr-py's reader finds under ``path``, with its pixels loaded."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    location = parse_url(str(path))
    assert location is not None, f"ome-zarr-py does not see an OME-Zarr at {path}"
    nodes = list(Reader(location)())
    assert nodes
    for node in nodes:
        for level in node.data:
            np.asarray(level[(0,) * (level.ndim - 2)])
    return nodes


def _check_napari_windows(nodes: list[Any]) -> int:
    """napari's rule: contrast limits increase strictly. Returns how many were checked."""
    checked = 0
    for node in nodes:
        for limits in node.metadata.get("contrast_limits") or []:
            assert limits is not None
            start, end = limits
            assert start < end, f"{node}: window {limits} is not increasing"
            checked += 1
    return checked


def _constant_image(value: float, dtype: str, channels: int = 2) -> np.ndarray:
    data = np.full((channels, 16, 20), value, dtype=dtype)
    data[1:, :4, :4] = 0  # other channels vary, the first is constant
    return data


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize(
    ("value", "dtype", "window"),
    [
        (0, "uint8", [0.0, 1.0]),
        (255, "uint8", [254.0, 255.0]),
        (7, "int16", [7.0, 8.0]),
        (0.5, "float32", [0.5, 1.5]),
        (1e30, "float64", [1e30, float(np.nextafter(1e30, np.inf))]),
    ],
)
def test_constant_channel_gets_increasing_window(
    tmp_path: Path, version: str, value: float, dtype: str, window: list[float]
) -> None:
    out = tmp_path / "const.ome.zarr"
    convert(_constant_image(value, dtype), out, axes="cyx", ome_version=version)
    nodes = _read_all(out)
    assert _check_napari_windows(nodes) == 2
    assert nodes[0].metadata["contrast_limits"][0] == window


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_image_with_labels_opens(tmp_path: Path, version: str) -> None:
    out = tmp_path / "labels.ome.zarr"
    mask = np.zeros((16, 20), "uint8")
    convert(np.zeros((16, 20), "uint16"), out, axes="yx", labels={"m": mask}, ome_version=version)
    assert _check_napari_windows(_read_all(out)) == 1
    assert _read_all(out / "labels" / "m")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_plate_opens(tmp_path: Path, version: str) -> None:
    tif = tmp_path / "plate.ome.tif"
    make_plate_ome_tiff(tif, {(0, 0): 1, (1, 2): 2})
    out = tmp_path / "plate.ome.zarr"
    convert(tif, out, ome_version=version)
    assert _read_all(out)
    assert _check_napari_windows(_read_all(out / "B" / "3" / "1")) == 2


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_collection_opens(tmp_path: Path, version: str) -> None:
    axes = tuple(Axis.named(n) for n in "yx")
    images = tuple(
        Image(name=f"s{i}", axes=axes, levels=(Level(_dask(np.full((16, 20), i)), (1.0, 1.0)),))
        for i in range(2)
    )
    out = tmp_path / "coll.ome.zarr"
    write(Collection(images=images, layout="bioformats2raw"), out, ome_version=version)
    for i in range(2):
        assert _check_napari_windows(_read_all(out / str(i))) == 1


def _dask(array: np.ndarray) -> Any:
    import dask.array as da

    return da.from_array(array.astype("uint16"))
