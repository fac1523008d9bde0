"""The same conversion on a dask.distributed cluster of two worker processes equals a local one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile
import zarr

from omeconv.api import convert
from omeconv.validate import validate_store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        yield c


def _arrays(path: Path) -> dict[str, np.ndarray]:
    group = zarr.open_group(path, mode="r")
    return {name: array[:] for name, array in group.arrays()}


@pytest.mark.parametrize(("version", "shards"), [("0.5", False), ("0.5", True), ("0.4", False)])
def test_cluster_equals_local(tmp_path: Path, client: object, version: str, shards: bool) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 4000, size=(2, 9, 70, 90), dtype=np.uint16)
    src = tmp_path / "in.ome.tif"
    tifffile.imwrite(src, data, ome=True, metadata={"axes": "CZYX"}, tile=(32, 32))
    options = {"ome_version": version, "shards": shards, "chunks": {"z": 4, "y": 16, "x": 16}}
    local = convert(src, tmp_path / "local.ome.zarr", **options)
    remote = convert(src, tmp_path / "cluster.ome.zarr", client=client, **options)
    assert validate_store(remote) == version
    expected, got = _arrays(local), _arrays(remote)
    assert len(got) >= 3
    assert got.keys() == expected.keys()
    for name, array in expected.items():
        np.testing.assert_array_equal(got[name], array)
    np.testing.assert_array_equal(got["0"], data)


def test_cli_scheduler_option(tmp_path: Path, client: object) -> None:
    from click.testing import CliRunner

    from omeconv.cli import cli

    data = np.random.default_rng(4).integers(0, 255, size=(5, 40, 30), dtype=np.uint8)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, data)
    out = tmp_path / "out.ome.zarr"
    address = client.scheduler.address  # type: ignore[attr-defined]
    result = CliRunner().invoke(
        cli, ["-q", "tiff2zarr", str(src), str(out), "--scheduler", address]
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(zarr.open_group(out, mode="r")["0"][:], data)


def test_cli_scheduler_bad_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from omeconv.cli import main

    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.zeros((8, 8), np.uint8))
    with pytest.raises(SystemExit) as exit_info:
        main(["tiff2zarr", str(src), str(tmp_path / "o.zarr"), "--scheduler", "nope://host:1"])
    assert exit_info.value.code == 2
    assert "--scheduler nope://host:1: cannot connect" in capsys.readouterr().err
    assert not (tmp_path / "o.zarr").exists()
    with pytest.raises(ValueError, match="No clients found"):  # no client leaked as default
        distributed.default_client()
