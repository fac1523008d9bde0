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
from tests.cli_runs import cli

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


# -- .ozx through the commands ----------------------------------------------------------------


def _tiff(tmp_path: Path) -> tuple[Path, np.ndarray]:
    import tifffile

    data = np.random.default_rng(5).integers(0, 60000, (2, 40, 50), dtype=np.uint16)
    src = tmp_path / "src.ome.tif"
    tifffile.imwrite(src, data, metadata={"axes": "CYX"}, ome=True)
    return src, data


def _open(path: Path) -> zarr.Group:
    return zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")


@pytest.mark.parametrize("version", ["0.5", "0.6"])
def test_tiff2zarr_writes_an_ozx_every_command_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    from omeconv.ngff06 import VERSION

    src, data = _tiff(tmp_path)
    out = tmp_path / "img.ozx"
    code, err = cli(
        ["-q", "tiff2zarr", str(src), str(out), "--ome-version", version, "--levels", "2"], capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.ozx", "src.ome.tif"]
    stated = VERSION if version == "0.6" else version
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert names[0] == "zarr.json"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        root = json.loads(zf.read("zarr.json"))
    assert root["attributes"]["ome"]["version"] == stated
    assert ome_version(out) == stated
    group = _open(out)
    np.testing.assert_array_equal(group["0"][:], data)
    assert group["1"].shape == (2, 20, 25)
    for command in (["info", str(out)], ["validate", str(out)], ["verify", str(src), str(out)]):
        code, err = cli(["-q", *command], capsys)
        assert code == 0, (command, err)
    back = tmp_path / "back.ome.zarr"
    assert cli(["-q", "convert", str(out), str(back), "--ome-version", "0.4"], capsys)[0] == 0
    np.testing.assert_array_equal(zarr.open_array(back / "0", mode="r")[:], data)
    assert cli(["-q", "verify", str(out), str(back)], capsys)[0] == 0


def test_upgrade_from_and_to_ozx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from omeconv.emit.v06 import from_v05

    store, data = _store(tmp_path)  # 0.5
    zipped = pack(store, tmp_path / "v05.ozx")
    out = tmp_path / "v06.ome.zarr"
    assert cli(["-q", "upgrade", "0.5", "0.6", str(zipped), str(out)], capsys)[0] == 0
    want = from_v05(dict(zarr.open_group(store, mode="r").attrs))
    assert json.dumps(dict(zarr.open_group(out, mode="r").attrs)) == json.dumps(want)
    np.testing.assert_array_equal(zarr.open_array(out / "0", mode="r")[:], data)
    v04, _ = _store(tmp_path / "v04", version="0.4")
    code, err = cli(["-q", "upgrade", "0.4", "0.6", str(v04), str(tmp_path / "v06.ozx")], capsys)
    assert code == 0, err
    np.testing.assert_array_equal(_open(tmp_path / "v06.ozx")["0"][:], data)
    assert cli(["-q", "validate", str(tmp_path / "v06.ozx")], capsys)[0] == 0
    code, err = cli(["-q", "upgrade", "0.5", "0.6", str(zipped), "--in-place"], capsys)
    assert code == 2
    assert err == [f"omeconv: error: {zipped}: a .ozx file is not upgraded in place; give OUTPUT"]


def test_ozx_with_0_4_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _ = _tiff(tmp_path)
    out = tmp_path / "img.ozx"
    code, err = cli(["-q", "tiff2zarr", str(src), str(out), "--ome-version", "0.4"], capsys)
    assert code == 2
    assert err == [
        f"omeconv: error: {out}: a .ozx file holds OME-Zarr 0.5 or 0.6 (Zarr v3), not 0.4"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.ome.tif"]


def test_overwrite_replaces_an_ozx_but_never_another_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _ = _tiff(tmp_path)
    out = tmp_path / "img.ozx"
    assert cli(["-q", "tiff2zarr", str(src), str(out)], capsys)[0] == 0
    code, err = cli(["-q", "tiff2zarr", str(src), str(out)], capsys)
    assert code == 2
    assert "output exists; pass --overwrite" in err[0]
    assert (
        cli(["-q", "tiff2zarr", str(src), str(out), "--overwrite", "--ome-version", "0.6"], capsys)[
            0
        ]
        == 0
    )
    assert ome_version(out) == "0.6rc0"
    other = tmp_path / "notes.ozx"
    other.write_text("mine")
    code, err = cli(["-q", "tiff2zarr", str(src), str(other), "--overwrite"], capsys)
    assert code == 2
    assert other.read_text() == "mine"


def test_interrupted_write_leaves_no_ozx_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the arrays are written keeps only the staging folder; --resume finishes
    it into the .ozx."""
    src, data = _tiff(tmp_path)
    out = tmp_path / "img.ozx"
    calls = []

    def interrupted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr("omeconv.emit.writer.fill_levels", interrupted)
    code, _ = cli(["-q", "tiff2zarr", str(src), str(out)], capsys)
    assert code == 130
    assert calls
    assert not out.exists()
    monkeypatch.undo()
    assert cli(["-q", "tiff2zarr", str(src), str(out), "--resume"], capsys)[0] == 0
    np.testing.assert_array_equal(_open(out)["0"][:], data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.ozx", "src.ome.tif"]


KILL_WHILE_ZIPPING = """
import os, signal, sys
import omeconv.ozx
from omeconv.cli import main

real = omeconv.ozx._add
def add(zf, path, name):
    if name != "zarr.json":
        os.kill(os.getpid(), signal.SIGKILL)
    real(zf, path, name)

omeconv.ozx._add = add
main(["tiff2zarr", sys.argv[1], sys.argv[2]])
"""


def test_kill_while_zipping_leaves_no_ozx(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    src, _ = _tiff(tmp_path)
    out = tmp_path / "img.ozx"
    process = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_ZIPPING, str(src), str(out)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    assert not out.exists()
    assert not any(p.suffix == ".ozx" for p in tmp_path.iterdir())


def test_ngff_zarr_reads_our_ozx(tmp_path: Path) -> None:
    ngff_zarr = pytest.importorskip("ngff_zarr")
    store, data = _store(tmp_path)
    dest = pack(store, tmp_path / "img.ozx")
    multiscales = ngff_zarr.from_ngff_zarr(str(dest))
    np.testing.assert_array_equal(np.asarray(multiscales.images[0].data), data)
