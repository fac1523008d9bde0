"""Remote output through fsspec URLs: an S3 API served on loopback by moto, and memory://."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
import zarr

from omeconv.api import convert

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A moto S3 server on 127.0.0.1 with an empty bucket ``omeconv``; yields storage options."""
    import s3fs

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch_module.setenv(name, "testing")
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = moto_server.ThreadedMotoServer(
        ip_address="127.0.0.1", port=_free_port(), verbose=False
    )
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    # moto keeps its buckets per process: another module may have made it already
    s3fs.S3FileSystem(**options).makedirs("omeconv", exist_ok=True)
    yield options
    server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(5).integers(0, 1000, size=(2, 6, 40, 50), dtype=np.uint16)
    src = tmp_path / "in.ome.tif"
    tifffile.imwrite(src, data, ome=True, metadata={"axes": "CZYX"})
    return src, data


def _read_back(url: str, options: dict[str, Any] | None) -> tuple[dict[str, Any], np.ndarray]:
    store = zarr.storage.FsspecStore.from_url(url, storage_options=options, read_only=True)
    group = zarr.open_group(store, mode="r")
    return dict(group.attrs), group["0"][:]


@pytest.mark.parametrize(("version", "shards"), [("0.5", False), ("0.5", True), ("0.4", False)])
def test_s3_round_trip(tmp_path: Path, s3: dict[str, Any], version: str, shards: bool) -> None:
    src, data = _source(tmp_path)
    url = f"s3://omeconv/{version}-{shards}.ome.zarr"
    options = {"chunks": {"z": 3, "y": 32, "x": 32}, "ome_version": version, "shards": shards}
    convert(src, url, storage_options=s3, **options)
    attrs, level0 = _read_back(url, s3)
    np.testing.assert_array_equal(level0, data)
    local = zarr.open_group(convert(src, tmp_path / "local.ome.zarr", **options), mode="r")
    assert attrs == dict(local.attrs)
    remote = zarr.open_group(
        zarr.storage.FsspecStore.from_url(url, storage_options=s3, read_only=True), mode="r"
    )
    for name, array in local.arrays():
        np.testing.assert_array_equal(remote[name][:], array[:])


def test_s3_refuses_existing_then_overwrites(tmp_path: Path, s3: dict[str, Any]) -> None:
    from omeconv.errors import DestinationExistsError

    src, data = _source(tmp_path)
    url = "s3://omeconv/again.ome.zarr"
    convert(src, url, storage_options=s3)
    with pytest.raises(DestinationExistsError):
        convert(src, url, storage_options=s3)
    convert(src, url, storage_options=s3, overwrite=True, levels=1)
    _, level0 = _read_back(url, s3)
    np.testing.assert_array_equal(level0, data)


def test_memory_url(tmp_path: Path) -> None:
    src, data = _source(tmp_path)
    convert(src, "memory://omeconv-test/img.ome.zarr")
    attrs, level0 = _read_back("memory://omeconv-test/img.ome.zarr", None)
    assert attrs["ome"]["version"] == "0.5"
    np.testing.assert_array_equal(level0, data)
