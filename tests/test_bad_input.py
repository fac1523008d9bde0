"""Bad input: one clear line naming the path and the problem, the right exit code, and
nothing outside the intended output created or changed.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pytest

import omeconv
from omeconv.cli import main
from omeconv.errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

OK = np.arange(2 * 32 * 32, dtype="uint8").reshape(2, 32, 32)
OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def _tiff(path: Path, data: np.ndarray = OK, **kw: object) -> Path:
    import tifffile

    tifffile.imwrite(path, data, **kw)
    return path


def _store(path: Path, version: str) -> Path:
    omeconv.write(omeconv.read(OK, axes="zyx"), path, ome_version=version, chunks=(1, 16, 16))
    return path


@dataclass(frozen=True)
class Case:
    """One bad input: ``setup(tmp) -> (argv, the path the message must name)``."""

    setup: Callable[[Path], tuple[list[str], Path]]
    code: int
    problem: str


def _missing(t: Path) -> tuple[list[str], Path]:
    return ["tiff2zarr", str(t / "nothere.tif"), str(t / "o.zarr")], t / "nothere.tif"


def _directory(t: Path) -> tuple[list[str], Path]:
    (t / "adir").mkdir()
    return ["tiff2zarr", str(t / "adir"), str(t / "o.zarr")], t / "adir"


def _zero_bytes(t: Path) -> tuple[list[str], Path]:
    (t / "empty.tif").write_bytes(b"")
    return ["tiff2zarr", str(t / "empty.tif"), str(t / "o.zarr")], t / "empty.tif"


def _truncated(t: Path) -> tuple[list[str], Path]:
    whole = _tiff(t / "whole.tif").read_bytes()
    (t / "cut.tif").write_bytes(whole[: len(whole) // 2])
    (t / "whole.tif").unlink()
    return ["tiff2zarr", str(t / "cut.tif"), str(t / "o.zarr")], t / "cut.tif"


def _not_tiff(t: Path) -> tuple[list[str], Path]:
    (t / "text.tif").write_text("hello, I am not a TIFF\n" * 20)
    return ["tiff2zarr", str(t / "text.tif"), str(t / "o.zarr")], t / "text.tif"


def _complex(t: Path) -> tuple[list[str], Path]:
    _tiff(t / "c.tif", (np.ones((16, 16)) * (1 + 2j)).astype("complex64"))
    return ["tiff2zarr", str(t / "c.tif"), str(t / "o.zarr")], t / "c.tif"


def _companion_not_xml(t: Path) -> tuple[list[str], Path]:
    path = t / "set.companion.ome"
    path.write_text(
        f'<?xml version="1.0"?><OME xmlns="{OME_NS}"><Image ID="Image:0"><Pixels></OME>'
    )
    return ["tiff2zarr", str(path), str(t / "o.zarr")], path


def _output_under_a_file(t: Path) -> tuple[list[str], Path]:
    _tiff(t / "a.tif")
    (t / "file").write_text("a file, not a folder")
    return ["tiff2zarr", str(t / "a.tif"), str(t / "file" / "o.zarr")], t / "file/o.zarr"


def _output_exists(t: Path) -> tuple[list[str], Path]:
    _tiff(t / "a.tif")
    (t / "o.zarr").mkdir()
    (t / "o.zarr" / "keep.txt").write_text("precious")
    return ["tiff2zarr", str(t / "a.tif"), str(t / "o.zarr")], t / "o.zarr"


def _output_is_input(t: Path) -> tuple[list[str], Path]:
    _tiff(t / "a.tif")
    return ["tiff2zarr", str(t / "a.tif"), str(t / "a.tif"), "--overwrite"], t / "a.tif"


def _output_inside_input(t: Path) -> tuple[list[str], Path]:
    _store(t / "v4.zarr", "0.4")
    return ["convert", str(t / "v4.zarr"), str(t / "v4.zarr" / "sub.zarr")], t / "v4.zarr/sub.zarr"


def _upgrade_v05(t: Path) -> tuple[list[str], Path]:
    _store(t / "v5.zarr", "0.5")
    return ["upgrade", "0.4", "0.5", str(t / "v5.zarr"), str(t / "up.zarr")], t / "v5.zarr"


def _corrupt_json(t: Path) -> tuple[list[str], Path]:
    _store(t / "s.zarr", "0.5")
    (t / "s.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "gr')
    return ["validate", str(t / "s.zarr")], t / "s.zarr"


def _corrupt_v04(t: Path) -> Path:
    _store(t / "s4.zarr", "0.4")
    (t / "s4.zarr" / ".zattrs").write_text('{"multiscales": [')
    return t / "s4.zarr"


def _convert_corrupt_json(t: Path) -> tuple[list[str], Path]:
    store = _corrupt_v04(t)
    return ["convert", str(store), str(t / "o.zarr")], store


def _upgrade_corrupt_json(t: Path) -> tuple[list[str], Path]:
    store = _corrupt_v04(t)
    return ["upgrade", "0.4", "0.5", str(store), str(t / "o.zarr")], store


CASES = {
    "missing-path": Case(_missing, 2, "no such file"),
    "directory-not-file": Case(_directory, 2, "is a directory"),
    "zero-byte-file": Case(_zero_bytes, 1, r"empty file \(0 bytes\)"),
    "truncated-tiff": Case(_truncated, 1, "damaged TIFF: the IFD chain points past the end"),
    "not-a-tiff": Case(_not_tiff, 1, "not a readable TIFF"),
    "complex-dtype": Case(_complex, 1, "unsupported pixel type complex64"),
    "companion-ome-xml-not-xml": Case(_companion_not_xml, 1, "malformed OME-XML"),
    "output-under-a-file": Case(
        _output_under_a_file, 1, "cannot create output: .*file is not a folder"
    ),
    "output-exists": Case(_output_exists, 2, "output exists and is a folder of other files"),
    "output-is-input": Case(_output_is_input, 2, "must not be the input or lie inside it"),
    "output-inside-input": Case(_output_inside_input, 2, "must not be the input or lie inside"),
    "upgrade-v05-store": Case(_upgrade_v05, 1, "already Zarr v3"),
    "store-corrupt-json": Case(_corrupt_json, 1, r"zarr\.json is not JSON"),
    "convert-store-corrupt-json": Case(_convert_corrupt_json, 1, r"\.zattrs is not JSON"),
    "upgrade-store-corrupt-json": Case(_upgrade_corrupt_json, 1, r"\.zattrs is not JSON"),
}


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder below ``root``: size, mtime and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


def _assert_one_line_error(err: list[str], named: Path, problem: str) -> None:
    assert len(err) == 1, err
    assert err[0].startswith(f"omeconv: error: {named}: "), err[0]
    assert re.search(problem, err[0]), err[0]
    assert "Traceback" not in err[0]
    assert "--debug" not in err[0], "a known bad input is not a bug"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[name]
    argv, named = case.setup(tmp_path)
    before = _snapshot(tmp_path)
    code, err = _run(argv, capsys)
    assert code == case.code, err
    _assert_one_line_error(err, named, case.problem)
    assert _snapshot(tmp_path) == before


def test_malformed_corpus_tiffs(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted((corpus / "tiff" / "malformed").rglob("*.tif*"))
    assert files
    out = tmp_path / "o.zarr"
    before = _snapshot(tmp_path)
    for path in files:
        code, err = _run(["tiff2zarr", str(path), str(out)], capsys)
        assert code == 1, (path.name, err)
        _assert_one_line_error(err, path, ".")
        assert _snapshot(tmp_path) == before, path.name
        with pytest.raises(SourceError) as exc:
            omeconv.convert(path, out, converter="tiff")
        assert exc.value.path == str(path)
        assert _snapshot(tmp_path) == before, path.name


@pytest.mark.parametrize(
    ("target", "err", "problem"),
    [
        ("all", errno.EROFS, "read-only file system"),
        ("chunks", errno.ENOSPC, "no space left on device"),
    ],
)
def test_unwritable_destination(
    target: str,
    err: int,
    problem: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A read-only or full destination (simulated: the store's writes fail with that errno)."""
    from zarr.storage import LocalStore

    original = LocalStore.set

    async def failing_set(self: LocalStore, key: str, value: object) -> None:
        if target == "all" or "/c/" in f"/{key}":
            raise OSError(err, os.strerror(err), key)
        await original(self, key, value)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStore, "set", failing_set)
    src = _tiff(tmp_path / "a.tif")
    out = tmp_path / "o.zarr"
    before = _snapshot(tmp_path)
    code, lines = _run(["tiff2zarr", str(src), str(out), "--chunks", "1,16,16"], capsys)
    assert code == 1, lines
    _assert_one_line_error(lines, out, problem)
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _tiff(tmp_path / "a.tif")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, lines = _run(["tiff2zarr", str(src), str(folder / "o.zarr")], capsys)
    finally:
        folder.chmod(0o755)
    assert code == 1
    _assert_one_line_error(lines, folder / "o.zarr", "Permission denied")
    assert list(folder.iterdir()) == []


def _warned(argv: list[str], capsys: pytest.CaptureFixture[str], named: Path, problem: str) -> None:
    code, err = _run(argv, capsys)
    assert code == 0, err
    warnings = [line for line in err if line.startswith("omeconv: warning:")]
    assert any(
        line.startswith(f"omeconv: warning: {named}: ") and re.search(problem, line)
        for line in warnings
    ), err


def test_ome_xml_not_xml_is_ignored_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _tiff(
        tmp_path / "a.ome.tif",
        description=f'<?xml version="1.0"?><OME xmlns="{OME_NS}"><Image ID="Image:0"><Pixels></OME>',
        metadata=None,
    )
    out = tmp_path / "o.zarr"
    _warned(["tiff2zarr", str(src), str(out)], capsys, src, "ignoring its OME-XML: malformed XML")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ome.tif", "o.zarr"]


def test_ome_xml_disagreeing_with_pixels_pixels_win(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zarr

    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{OME_NS}"><Image ID="Image:0">'
        '<Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="64" SizeY="64" '
        'SizeZ="5" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        '<TiffData IFD="0" PlaneCount="2"/></Pixels></Image></OME>'
    )
    src = _tiff(tmp_path / "m.ome.tif", description=xml, metadata=None)
    out = tmp_path / "o.zarr"
    _warned(["tiff2zarr", str(src), str(out)], capsys, src, "the pixel data wins")
    np.testing.assert_array_equal(zarr.open_array(out / "0", mode="r")[...], OK)


def test_store_missing_chunks_reads_fill_value_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zarr

    store = _store(tmp_path / "s.zarr", "0.4")
    (store / "0" / "1" / "0" / "1").unlink()  # chunk (z=1, y=0, x=1) of level 0
    missing = "1 of 8 chunks are missing; they read as the fill value"
    _warned(["validate", str(store)], capsys, store / "0", missing)
    out = tmp_path / "o.zarr"
    _warned(["convert", str(store), str(out)], capsys, store / "0", missing)
    expected = OK.copy()
    expected[1, 0:16, 16:32] = 0
    np.testing.assert_array_equal(zarr.open_array(out / "0", mode="r")[...], expected)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(SourceError):
        main(["--debug", "tiff2zarr", str(tmp_path / "empty.tif"), str(tmp_path / "o.zarr")])
