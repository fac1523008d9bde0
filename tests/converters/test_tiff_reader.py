"""The TIFF level reader: regions read directly (whole file chunks), assembled from blocks
(chunks wider than the region), or squeezed, always equal to the file's pixels."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
import zarr

from omeconv.api import convert, read
from omeconv.converters.tiff import levels
from omeconv.converters.tiff.levels import LevelReader, Squeezed

if TYPE_CHECKING:
    from pathlib import Path

SHAPE = (2, 5, 70, 90)


def _pixels() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 60000, size=SHAPE, dtype=np.uint16)


def _write(path: Path, data: np.ndarray, **options: Any) -> Path:
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "CZYX"}, **options)
    return path


def _regions(shape: tuple[int, ...], seed: int = 0) -> list[tuple[slice, ...]]:
    """Whole-array, aligned and unaligned regions, and every single-element edge."""
    rng = np.random.default_rng(seed)
    out = [tuple(slice(0, n) for n in shape)]
    for _ in range(40):
        starts = [int(rng.integers(0, n)) for n in shape]
        out.append(tuple(slice(a, int(rng.integers(a + 1, n + 1))) for a, n in zip(starts, shape)))
    out.append(tuple(slice(n - 1, n) for n in shape))
    return out


@pytest.mark.parametrize(
    "options",
    [{"tile": (32, 32)}, {"tile": (16, 48)}, {"rowsperstrip": 7}, {"compression": "zlib"}],
    ids=["tiles", "odd-tiles", "strips", "zlib-strips"],
)
def test_reader_regions_equal_pixels(tmp_path: Path, options: dict[str, Any]) -> None:
    data = _pixels()
    image = read(_write(tmp_path / "a.ome.tif", data, **options))
    level = image.levels[0]
    reader = level.reader
    assert isinstance(reader, LevelReader)
    assert level.regions is reader
    for region in _regions(SHAPE):
        np.testing.assert_array_equal(reader[region], data[region], err_msg=str(region))
        np.testing.assert_array_equal(level.data[region].compute(), data[region])


def test_regions_wider_than_a_block_are_assembled_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strips span the whole width: a narrow region is cut from cached blocks, and
    neighbouring regions reuse them instead of decoding the strips again."""
    data = _pixels()
    image = read(_write(tmp_path / "a.ome.tif", data, rowsperstrip=7, compression="zlib"))
    reader = image.levels[0].reader
    reads: list[tuple[slice, ...]] = []
    array = reader._array
    original = type(array).__getitem__

    class Counting:
        chunks = array.chunks

        def __getitem__(self, region: Any) -> Any:
            reads.append(region)
            return original(array, region)

    monkeypatch.setattr(reader, "_array", Counting())
    monkeypatch.setattr(levels, "_BLOCKS", levels._BlockCache(2**30))
    got = np.empty_like(data)
    for region in itertools.product(
        [slice(0, 1), slice(1, 2)],
        [slice(0, 5)],
        [slice(0, 35), slice(35, 70)],
        [slice(0, 30), slice(30, 60), slice(60, 90)],
    ):
        got[region] = reader[region]
    np.testing.assert_array_equal(got, data)
    blocks = {tuple((s.start, s.stop) for s in r) for r in reads}
    assert len(blocks) == len(reads)  # no block decoded twice


def test_squeezed_reader_leaves_out_length_one_axes() -> None:
    data = np.arange(2 * 1 * 3 * 1 * 4, dtype=np.int32).reshape(2, 1, 3, 1, 4)

    class Source:
        shape, dtype, ndim, block = data.shape, data.dtype, data.ndim, (1, 1, 2, 1, 2)

        def __getitem__(self, region: tuple[slice, ...]) -> np.ndarray:
            return data[region]

    squeezed = Squeezed(Source(), (2, 3, 4))  # type: ignore[arg-type]
    assert squeezed.block == (1, 2, 2)
    flat = data.reshape(2, 3, 4)
    for region in _regions((2, 3, 4), seed=3):
        np.testing.assert_array_equal(squeezed[region], flat[region])
    with pytest.raises(ValueError, match="does not squeeze"):
        Squeezed(Source(), (2, 4))  # type: ignore[arg-type]


def test_samples_folded_into_channels_read_through_dask(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 255, size=(40, 50, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    level = read(tmp_path / "rgb.tif").levels[0]
    assert level.reader is None
    np.testing.assert_array_equal(np.asarray(level.regions), np.moveaxis(rgb, -1, 0))


def test_conversion_reads_whole_regions_through_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emitter reads each region in one call, larger than a dask block of the level."""
    data = _pixels()
    src = _write(tmp_path / "a.ome.tif", data, tile=(16, 16))
    sizes: list[int] = []
    original = LevelReader.__getitem__

    def counting(self: LevelReader, region: Any) -> Any:
        out = original(self, region)
        sizes.append(out.size)
        return out

    monkeypatch.setattr(LevelReader, "__getitem__", counting)
    convert(src, tmp_path / "out.ome.zarr", chunks=(1, 5, 32, 32))
    block = read(src).levels[0].reader.block
    assert max(sizes) > int(np.prod(block))
    out = zarr.open_group(tmp_path / "out.ome.zarr", mode="r")
    np.testing.assert_array_equal(out["0"][:], data)


def test_tiff_conversion_needs_no_dask(tmp_path: Path) -> None:
    """A fresh ``omeconv tiff2zarr`` reads through the level readers and runs its tasks on a
    thread pool: it imports neither dask nor dask.array, and the levels' dask arrays are
    still there for whoever reads ``data``."""
    import subprocess
    import sys

    data = _pixels()
    src = _write(tmp_path / "a.ome.tif", data, tile=(32, 32))
    out = tmp_path / "out.ome.zarr"
    code = (
        "import sys; from omeconv.cli import main; main(sys.argv[1:]);"
        " print('dask' in sys.modules, 'dask.array' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "-q", "tiff2zarr", str(src), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "False"]
    np.testing.assert_array_equal(zarr.open_array(out / "0", mode="r")[:], data)
    level = read(src).levels[0]
    assert "data" not in vars(level)
    np.testing.assert_array_equal(level.data.compute(), data)
