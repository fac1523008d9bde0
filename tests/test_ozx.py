"""``omeconv.ozx``: a finished store packed into one RFC-9 zip file."""

from __future__ import annotations

import json
import struct
import zipfile
from typing import TYPE_CHECKING

import numpy as np
import pytest
import zarr

import omeconv
from omeconv.errors import UsageError
from omeconv.ozx import is_ozx, ome_version, pack

if TYPE_CHECKING:
    from pathlib import Path

_ZIP64_EXTRA = 0x0001


def _store(tmp_path: Path, version: str = "0.5") -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(3).integers(0, 4000, (2, 40, 50), dtype=np.uint16)
    out = tmp_path / "img.ome.zarr"
    omeconv.convert(data, out, axes="cyx", levels=2, chunks=(1, 16, 16), ome_version=version)
    return out, data


def _local_header_extra(path: Path, info: zipfile.ZipInfo) -> bytes:
    with path.open("rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        f.seek(info.header_offset + 30 + name_len)
        return f.read(extra_len)


def test_pack_follows_rfc9(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    dest = pack(store, tmp_path / "img.ozx")
    with zipfile.ZipFile(dest) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        comment = json.loads(zf.comment)
    assert comment == {
        "ome": {"version": "0.5", "zipFile": {"centralDirectory": {"jsonFirst": True}}}
    }
    assert ome_version(dest) == "0.5"
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    metadata = [n for n in names if n.endswith("zarr.json")]
    assert names[0] == "zarr.json"
    assert names[: len(metadata)] == metadata
    depths = [n.count("/") for n in metadata]
    assert depths == sorted(depths)
    files = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file())
    assert sorted(names) == files
    for info in infos:
        extra = _local_header_extra(dest, info)
        assert struct.unpack("<H", extra[:2])[0] == _ZIP64_EXTRA, info.filename


def test_zarr_zipstore_reads_the_same_pixels(tmp_path: Path) -> None:
    store, data = _store(tmp_path)
    dest = pack(store, tmp_path / "img.ozx")
    zstore = zarr.storage.ZipStore(dest, mode="r")
    group = zarr.open_group(zstore, mode="r")
    assert group.attrs["ome"] == zarr.open_group(store, mode="r").attrs["ome"]
    np.testing.assert_array_equal(group["0"][:], data)
    zstore.close()


def test_zarr_v2_store_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    store, _ = _store(tmp_path, version="0.4")
    with pytest.raises(UsageError, match=r"0\.5 or later"):
        pack(store, tmp_path / "img.ozx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.ome.zarr"]


def test_interrupted_pack_leaves_no_ozx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = _store(tmp_path)

    def boom(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("omeconv.ozx._add", boom)
    with pytest.raises(KeyboardInterrupt):
        pack(store, tmp_path / "img.ozx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.ome.zarr"]


def test_is_ozx() -> None:
    assert is_ozx("a/b.ozx")
    assert is_ozx("B.OZX")
    assert not is_ozx("b.ome.zarr")
