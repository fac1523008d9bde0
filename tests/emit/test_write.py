"""The array-write path: region planning, chunk and shard encoding, no chunk written twice."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore

from omeconv.api import convert
from omeconv.emit import write
from omeconv.emit.write import (
    Encoding,
    Runner,
    create_level_array,
    default_shards,
    fill_levels,
    plan_shards,
)
from omeconv.pyramid import downsample
from omeconv.validate import validate_store

if TYPE_CHECKING:
    from pathlib import Path

SHAPE = (2, 9, 70, 90)
CHUNKS = (1, 4, 16, 16)
FACTORS = [(1, 1, 1, 1), (1, 1, 2, 2), (1, 1, 2, 2), (1, 2, 2, 2)]


class CountingStore(LocalStore):
    """A local store that counts writes per key."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def set(self, key: str, value: Any) -> None:
        with self._lock:
            self.writes[key] += 1
        await super().set(key, value)


def _levels(data: np.ndarray) -> list[np.ndarray]:
    """Serial reference: each level downsampled from the one above."""
    out = [data]
    for f in FACTORS[1:]:
        out.append(downsample(out[-1], f))
    return out


def _create(store: Any, encoding: Encoding, dtype: np.dtype) -> list[zarr.Array[Any]]:
    shapes = [SHAPE]
    for f in FACTORS[1:]:
        shapes.append(tuple(-(-n // k) for n, k in zip(shapes[-1], f, strict=True)))
    shards = plan_shards(shapes, FACTORS, CHUNKS, dtype.itemsize)
    return [
        create_level_array(
            store,
            str(i),
            shape=shape,
            dtype=dtype,
            chunks=CHUNKS,
            encoding=encoding,
            dimension_names="czyx",
            shards=shards[i],
        )
        for i, shape in enumerate(shapes)
    ]


@pytest.mark.parametrize("budget", [2**14, 2**30], ids=["groups", "one-pass"])
@pytest.mark.parametrize(
    ("zarr_format", "shards"), [(3, False), (3, True), (2, False)], ids=["v3", "v3-shards", "v2"]
)
def test_every_chunk_written_once_and_equal_to_serial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zarr_format: int, shards: bool, budget: int
) -> None:
    monkeypatch.setattr(write, "SHARD_TARGET", 2**15)
    data = np.random.default_rng(0).integers(1, 60000, size=SHAPE, dtype=np.uint16)
    store = CountingStore(tmp_path / "out.zarr")
    encoding = Encoding(shards=shards, zarr_format=zarr_format)  # type: ignore[arg-type]
    targets = _create(store, encoding, data.dtype)
    store.writes.clear()
    stats = fill_levels(
        data,
        targets,
        FACTORS,
        method="mean",
        channel_axis=0,
        runner=Runner(workers=2),
        budget=budget,
    )
    assert set(store.writes.values()) == {1}
    if shards:
        assert all(t.shards is not None for t in targets)
        assert len([k for k in store.writes if k.startswith("0/")]) > 1
    for target, expected in zip(targets, _levels(data), strict=True):
        np.testing.assert_array_equal(target[:], expected)
    assert stats.minimum == {c: float(data[c].min()) for c in range(2)}
    assert stats.maximum == {c: float(data[c].max()) for c in range(2)}


def test_batches_of_one_chunk_write_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks handed to zarr in batches of any size: each written once, pixels equal."""
    monkeypatch.setattr(write, "PUT_BYTES", 1)
    data = np.random.default_rng(5).integers(1, 60000, size=SHAPE, dtype=np.uint16)
    store = CountingStore(tmp_path / "out.zarr")
    targets = _create(store, Encoding(), data.dtype)
    store.writes.clear()
    fill_levels(data, targets, FACTORS, method="mean", channel_axis=0, runner=Runner(workers=2))
    assert set(store.writes.values()) == {1}
    for target, expected in zip(targets, _levels(data), strict=True):
        np.testing.assert_array_equal(target[:], expected)


def test_fill_value_chunks_are_written_too(tmp_path: Path) -> None:
    data = np.zeros(SHAPE, np.uint8)
    data[1, :4, :16, :16] = 7  # one chunk differs from the fill value
    store = CountingStore(tmp_path / "out.zarr")
    targets = _create(store, Encoding(), data.dtype)
    store.writes.clear()
    fill_levels(data, targets, FACTORS, method="mean", channel_axis=0, runner=Runner())
    for target in targets:
        grid = [-(-n // c) for n, c in zip(target.shape, target.chunks, strict=True)]
        written = [k for k in store.writes if k.startswith(f"{target.path}/")]
        assert len(written) == np.prod(grid)  # a missing chunk can only mean lost data
    np.testing.assert_array_equal(targets[0][:], data)


def test_default_shards_whole_chunks_near_target() -> None:
    shards = default_shards((1, 3, 64, 2048, 2048), (1, 1, 16, 256, 256), 2)
    assert shards == (1, 1, 16, 1024, 2048)
    assert np.prod(shards) * 2 == write.SHARD_TARGET
    assert default_shards((300, 300), (256, 256), 1) == (512, 512)  # whole chunks, >= array
    assert default_shards((10,), (4,), 1) == (12,)


def test_plan_shards_reduce_level_zero_shard() -> None:
    shapes = [(64, 2048, 2048), (64, 1024, 1024), (64, 512, 512), (32, 256, 256)]
    factors = [(1, 1, 1), (1, 2, 2), (1, 2, 2), (2, 2, 2)]
    shards = plan_shards(shapes, factors, (16, 256, 256), 2)
    assert shards == [(16, 1024, 2048), (16, 512, 1024), (16, 256, 512), (16, 256, 256)]
    for shard, shape in zip(shards, shapes, strict=True):
        assert all(s % c == 0 for s, c in zip(shard, (16, 256, 256), strict=True))
        assert any(s < n for s, n in zip(shard, shape, strict=True))  # never one shard for all


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_sharded_output_valid_and_equal_to_unsharded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setattr(write, "SHARD_TARGET", 2**15)
    data = np.random.default_rng(2).integers(0, 255, size=(3, 11, 67, 81), dtype=np.uint8)
    chunks = {"z": 4, "y": 16, "x": 16}
    plain = convert(data, tmp_path / "plain.ome.zarr", axes="czyx", chunks=chunks)
    options: dict[str, Any] = {"axes": "czyx", "chunks": chunks, "ome_version": version}
    if version == "0.4":
        from omeconv.errors import UsageError

        with pytest.raises(UsageError, match="sharding"):
            convert(data, tmp_path / "s.ome.zarr", shards=True, **options)
        return
    sharded = convert(data, tmp_path / "sharded.ome.zarr", shards=True, **options)
    assert validate_store(sharded) == "0.5"
    a, b = zarr.open_group(plain, mode="r"), zarr.open_group(sharded, mode="r")
    assert sorted(a.array_keys()) == sorted(b.array_keys())
    assert b["0"].shards is not None
    for name in a.array_keys():
        np.testing.assert_array_equal(b[name][:], a[name][:])
    np.testing.assert_array_equal(b["0"][:], data)


def test_v04_and_v05_same_pixels(tmp_path: Path) -> None:
    data = np.random.default_rng(3).integers(0, 2**31, size=(5, 33, 47), dtype=np.int32)
    v4 = zarr.open_group(convert(data, tmp_path / "a.zarr", ome_version="0.4"), mode="r")
    v5 = zarr.open_group(convert(data, tmp_path / "b.zarr", ome_version="0.5"), mode="r")
    assert v4.metadata.zarr_format == 2
    assert v5.metadata.zarr_format == 3
    for name in v5.array_keys():
        np.testing.assert_array_equal(v4[name][:], v5[name][:])


class FailingStore(CountingStore):
    """Fails one chunk write with ENOSPC; every other write is slow, then counted."""

    async def set(self, key: str, value: Any) -> None:
        import asyncio
        import errno

        if key == "0/c/0/0/0/1":
            raise OSError(errno.ENOSPC, "No space left on device", key)
        await asyncio.sleep(0.2)
        await super().set(key, value)


def test_failed_write_is_one_line_and_nothing_lands_after(tmp_path: Path) -> None:
    """An OS error while writing chunks: StoreWriteError, once the writes in flight ended."""
    import time

    from omeconv.errors import StoreWriteError

    data = np.random.default_rng(4).integers(0, 255, size=SHAPE, dtype=np.uint8)
    store = FailingStore(tmp_path / "out.zarr")
    targets = _create(store, Encoding(), data.dtype)
    store.writes.clear()
    with pytest.raises(StoreWriteError) as info:
        fill_levels(data, targets, FACTORS, method="mean", channel_axis=0, runner=Runner())
    assert str(info.value) == "writing 0 failed: no space left on device"
    written = sum(store.writes.values())
    assert written > 0
    time.sleep(1)
    assert sum(store.writes.values()) == written


class ReadCountingStore(LocalStore):
    """A local store that records the chunk keys read back with a value."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    async def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        value = await super().get(key, *args, **kwargs)
        if value is not None and not key.endswith((".json", ".zarray", ".zattrs")):
            self.reads.append(key)
        return value


@pytest.mark.parametrize(
    ("zarr_format", "shards"), [(3, False), (3, True), (2, False)], ids=["v3", "v3-shards", "v2"]
)
def test_levels_are_written_without_reading_chunks_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zarr_format: int, shards: bool
) -> None:
    """Whole chunks or shards are assigned, so zarr reads nothing back to merge into, even
    over stored chunks (a rewrite, as ``--resume`` does). zarr's sharding codec looks for a
    stored shard to merge into whatever the selection, so shards are checked fresh only."""
    monkeypatch.setattr(write, "SHARD_TARGET", 2**15)
    data = np.random.default_rng(5).integers(0, 255, size=SHAPE, dtype=np.uint8)
    store = ReadCountingStore(tmp_path / "out.zarr")
    encoding = Encoding(shards=shards, zarr_format=zarr_format)  # type: ignore[arg-type]
    targets = _create(store, encoding, data.dtype)
    fill_levels(data, targets, FACTORS, method="mean", channel_axis=0, runner=Runner())
    assert store.reads == []
    if not shards:
        fill_levels(data, targets, FACTORS, method="mean", channel_axis=0, runner=Runner())
        assert store.reads == []
    for target, expected in zip(targets, _levels(data), strict=True):
        np.testing.assert_array_equal(target[:], expected)
