"""What omeconv must never do to a user's files: ``--overwrite`` limits, one writer per
OUTPUT, SIGTERM, system errors and awkward names, each through the command line."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
import zarr

from omeconv.api import convert
from omeconv.cli import main
from omeconv.journal import JOURNAL_DIR
from omeconv.stores import lock_path, staged_output, staging_path

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

DATA = np.arange(2 * 3 * 40 * 50, dtype=np.uint16).reshape(2, 3, 40, 50)


def _tiff(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, DATA, photometric="minisblack", metadata={"axes": "CZYX"})


def _store(path: Path, version: str = "0.5") -> None:
    convert(DATA, str(path), axes="czyx", ome_version=version, levels=1)


def _snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """``root`` and everything below it: kind, size, mtime and a hash of the content."""
    out: dict[str, tuple[Any, ...]] = {".": ("dir", root.stat().st_mtime_ns)}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        name = str(path.relative_to(root))
        if path.is_symlink():
            out[name] = ("link", os.readlink(path))
        elif path.is_dir():
            out[name] = ("dir", st.st_mtime_ns)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[name] = ("file", st.st_size, st.st_mtime_ns, digest)
    return out


def _cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, list[str]]:
    """Run ``omeconv args…`` in this process: exit code and stderr lines."""
    code = 0
    try:
        main(["-q", *map(str, args)])
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


def _subprocess(script: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line(err: list[str], named: str | Path, problem: str) -> None:
    assert len(err) == 1, err
    assert err[0].startswith(f"omeconv: error: {named}: "), err[0]
    assert problem in err[0], err[0]


# -- refusals: exit 2, one line, nothing touched ---------------------------------------------


@dataclass(frozen=True)
class Refusal:
    setup: Callable[[Path], tuple[list[str], str]]
    """Builds the files; returns the command line and the path the error names."""
    problem: str


def _holds_input_folder(t: Path) -> tuple[list[str], str]:
    _tiff(t / "project" / "cells.tif")
    (t / "project" / "notes.txt").write_text("the user's notes")
    return ["tiff2zarr", f"{t}/project/cells.tif", f"{t}/project", "--overwrite"], f"{t}/project"


def _holds_input_store(t: Path) -> tuple[list[str], str]:
    _store(t / "project")
    _tiff(t / "project" / "cells.tif")
    return ["tiff2zarr", f"{t}/project/cells.tif", f"{t}/project", "--overwrite"], f"{t}/project"


def _upgrade_holds_input(t: Path) -> tuple[list[str], str]:
    (t / "lab").mkdir()
    _store(t / "lab" / "old.zarr", "0.4")
    return ["upgrade", "0.4", "0.5", f"{t}/lab/old.zarr", f"{t}/lab", "--overwrite"], f"{t}/lab"


def _upgrade_group_holds_input(t: Path) -> tuple[list[str], str]:
    (t / "lab").mkdir()
    (t / "lab" / ".zgroup").write_text('{"zarr_format": 2}')
    _store(t / "lab" / "old.zarr", "0.4")
    return ["upgrade", "0.4", "0.5", f"{t}/lab/old.zarr", f"{t}/lab", "--overwrite"], f"{t}/lab"


def _output_is_a_file(t: Path) -> tuple[list[str], str]:
    _tiff(t / "a.tif")
    (t / "out.zarr").write_text("a file of the user's")
    return ["tiff2zarr", f"{t}/a.tif", f"{t}/out.zarr", "--overwrite"], f"{t}/out.zarr"


def _output_is_a_folder(t: Path) -> tuple[list[str], str]:
    _tiff(t / "a.tif")
    (t / "out.zarr" / "sub").mkdir(parents=True)
    (t / "out.zarr" / "sub" / "thesis.tex").write_text("years of work")
    return ["tiff2zarr", f"{t}/a.tif", f"{t}/out.zarr", "--overwrite"], f"{t}/out.zarr"


def _output_is_a_broken_link(t: Path) -> tuple[list[str], str]:
    _tiff(t / "a.tif")
    (t / "out.zarr").symlink_to(t / "gone")
    return ["tiff2zarr", f"{t}/a.tif", f"{t}/out.zarr", "--overwrite"], f"{t}/out.zarr"


def _output_is_input(t: Path) -> tuple[list[str], str]:
    _store(t / "s.zarr")
    return ["convert", f"{t}/s.zarr", f"{t}/s.zarr", "--overwrite"], f"{t}/s.zarr"


def _output_inside_input(t: Path) -> tuple[list[str], str]:
    _store(t / "s.zarr")
    return ["convert", f"{t}/s.zarr", f"{t}/s.zarr/0", "--overwrite"], f"{t}/s.zarr/0"


def _output_links_to_input_folder(t: Path) -> tuple[list[str], str]:
    _store(t / "project")
    _tiff(t / "project" / "cells.tif")
    (t / "link").symlink_to(t / "project")
    return ["tiff2zarr", f"{t}/project/cells.tif", f"{t}/link", "--overwrite"], f"{t}/link"


def _input_through_a_link(t: Path) -> tuple[list[str], str]:
    _store(t / "project")
    _tiff(t / "project" / "cells.tif")
    (t / "link").symlink_to(t / "project")
    return ["tiff2zarr", f"{t}/link/cells.tif", f"{t}/project", "--overwrite"], f"{t}/project"


def _local_url_holds_input(t: Path) -> tuple[list[str], str]:
    _store(t / "project")
    _tiff(t / "project" / "cells.tif")
    url = f"local://{t}/project"
    return ["tiff2zarr", f"{t}/project/cells.tif", url, "--overwrite"], url


def _foreign_partial_folder(t: Path) -> tuple[list[str], str]:
    _tiff(t / "a.tif")
    (t / "out.zarr.partial").mkdir()
    (t / "out.zarr.partial" / "draft.txt").write_text("not omeconv's")
    return ["tiff2zarr", f"{t}/a.tif", f"{t}/out.zarr", "--overwrite"], f"{t}/out.zarr"


def _foreign_partial_file(t: Path) -> tuple[list[str], str]:
    _tiff(t / "a.tif")
    (t / "out.zarr.partial").write_text("not omeconv's")
    return ["tiff2zarr", f"{t}/a.tif", f"{t}/out.zarr"], f"{t}/out.zarr"


def _store_without_overwrite(t: Path) -> tuple[list[str], str]:
    _tiff(t / "a.tif")
    _store(t / "out.zarr")
    return ["tiff2zarr", f"{t}/a.tif", f"{t}/out.zarr"], f"{t}/out.zarr"


HOLDS = "output must not hold the input"
NOT_OURS = "was not written by omeconv"
REFUSALS = {
    "output-holds-input-folder": Refusal(_holds_input_folder, HOLDS),
    "output-store-holds-input": Refusal(_holds_input_store, HOLDS),
    "upgrade-output-holds-input": Refusal(_upgrade_holds_input, HOLDS),
    "upgrade-output-group-holds-input": Refusal(_upgrade_group_holds_input, HOLDS),
    "output-is-a-file": Refusal(_output_is_a_file, "output exists and is a file"),
    "output-is-a-folder": Refusal(_output_is_a_folder, "is a folder of other files"),
    "output-is-a-broken-link": Refusal(_output_is_a_broken_link, "is a broken symbolic link"),
    "output-is-input": Refusal(_output_is_input, "must not be the input or lie inside it"),
    "output-inside-input": Refusal(_output_inside_input, "must not be the input or lie inside"),
    "output-links-to-input-folder": Refusal(_output_links_to_input_folder, HOLDS),
    "input-through-a-link": Refusal(_input_through_a_link, HOLDS),
    "local-url-holds-input": Refusal(_local_url_holds_input, HOLDS),
    "foreign-partial-folder": Refusal(
        _foreign_partial_folder, f"out.zarr.partial exists and {NOT_OURS}"
    ),
    "foreign-partial-file": Refusal(
        _foreign_partial_file, f"out.zarr.partial exists and {NOT_OURS}"
    ),
    "store-without-overwrite": Refusal(_store_without_overwrite, "output exists; pass --overwrite"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_in_one_line_touching_nothing(
    case: Refusal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, named = case.setup(tmp_path)
    capsys.readouterr()
    before = _snapshot(tmp_path)
    code, err = _cli(capsys, *args)
    assert code == 2
    _one_line(err, named, case.problem)
    assert _snapshot(tmp_path) == before


# -- what --overwrite does replace -----------------------------------------------------------


@pytest.mark.parametrize("old", ["0.5", "0.4", "empty"])
def test_overwrite_replaces_a_store_or_an_empty_folder_and_nothing_else(
    old: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tiff(tmp_path / "in" / "a.tif")
    (tmp_path / "keep.txt").write_text("beside the output")
    out = tmp_path / "out.zarr"
    if old == "empty":
        out.mkdir()
    else:
        _store(out, old)
        (out / "old-only.txt").write_text("from the old store")
    before = {k: v for k, v in _snapshot(tmp_path).items() if k not in (".", "out.zarr")}
    before = {k: v for k, v in before.items() if not k.startswith("out.zarr/")}
    code, err = _cli(capsys, "tiff2zarr", tmp_path / "in" / "a.tif", out, "--overwrite")
    assert (code, err) == (0, [])
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "keep.txt", "out.zarr"]
    assert not (out / "old-only.txt").exists()
    assert json.loads((out / "zarr.json").read_text())["attributes"]["ome"]["version"] == "0.5"
    np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["0"][:], DATA)


def test_memory_url_overwrite_writes_then_moves() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    url = "memory://omeconv-safety/replace.ome.zarr"
    convert(DATA[:1], url, axes="czyx", levels=1)
    fs.pipe_file("/omeconv-safety/replace.ome.zarr/old-only.txt", b"from the old store")
    convert(DATA, url, axes="czyx", levels=1, overwrite=True)
    assert not fs.exists("/omeconv-safety/replace.ome.zarr.partial")
    assert not fs.exists("/omeconv-safety/replace.ome.zarr/old-only.txt")
    store = zarr.storage.FsspecStore.from_url(url, read_only=True)
    np.testing.assert_array_equal(zarr.open_group(store, mode="r")["0"][:], DATA)


def test_memory_url_old_output_survives_a_failed_overwrite() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    url = "memory://omeconv-safety/kept.ome.zarr"
    convert(DATA, url, axes="czyx", levels=1)
    before = {p: fs.cat_file(p) for p in fs.find("/omeconv-safety/kept.ome.zarr")}

    def fail_half_way() -> None:
        with staged_output(url, overwrite=True) as out:
            zarr.open_group(out.store, mode="w").attrs["half"] = "written"
            raise RuntimeError("the conversion failed")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert {p: fs.cat_file(p) for p in fs.find("/omeconv-safety/kept.ome.zarr")} == before
    assert not fs.exists("/omeconv-safety/kept.ome.zarr.partial")


def test_memory_url_folder_of_other_files_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe_file("/omeconv-safety/notes/todo.txt", b"the user's")
    _tiff(tmp_path / "a.tif")
    url = "memory://omeconv-safety/notes"
    code, err = _cli(capsys, "tiff2zarr", tmp_path / "a.tif", url, "--overwrite")
    assert code == 2
    _one_line(err, url, "is a folder of other files")
    assert fs.find("/omeconv-safety/notes") == ["/omeconv-safety/notes/todo.txt"]
    assert fs.cat_file("/omeconv-safety/notes/todo.txt") == b"the user's"


def test_url_output_with_pattern_characters_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    convert(DATA, "memory://omeconv-safety/weird", axes="czyx", levels=1, overwrite=True)
    before = {p: fs.cat_file(p) for p in fs.find("/omeconv-safety/weird")}
    _tiff(tmp_path / "a.tif")
    url = "memory://omeconv-safety/we[i]rd"  # as a pattern, it matches .../weird
    code, err = _cli(capsys, "tiff2zarr", tmp_path / "a.tif", url, "--overwrite")
    assert code == 2
    _one_line(err, url, "must not contain * ? [ or ]")
    assert {p: fs.cat_file(p) for p in fs.find("/omeconv-safety/weird")} == before


def test_memory_url_output_holding_the_input_is_refused() -> None:
    import fsspec

    from omeconv.errors import UsageError

    fs = fsspec.filesystem("memory")
    convert(DATA, "memory://omeconv-safety/lab", axes="czyx", levels=1, overwrite=True)
    source = "memory://omeconv-safety/lab/old.zarr"
    convert(DATA, source, axes="czyx", levels=1, overwrite=True)
    before = {p: fs.cat_file(p) for p in fs.find("/omeconv-safety/lab")}
    with pytest.raises(UsageError, match=HOLDS):
        convert(source, "memory://omeconv-safety/lab", converter="ome_zarr", overwrite=True)
    assert {p: fs.cat_file(p) for p in fs.find("/omeconv-safety/lab")} == before


# -- one writer per OUTPUT -------------------------------------------------------------------

# ``pause.py DIR args…`` journals its first region task, then waits for DIR/go.
PAUSE = """
import pathlib, sys, time
from omeconv.journal import Journal
where, record = pathlib.Path(sys.argv[1]), Journal.record
def record_then_wait(self, key, stats):
    record(self, key, stats)
    (where / "started").touch()
    deadline = time.monotonic() + 60
    while not (where / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
Journal.record = record_then_wait
from omeconv.cli import main
main(sys.argv[2:])
"""


def test_a_second_run_on_the_same_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work, control = tmp_path / "work", tmp_path / "control"
    control.mkdir()
    _tiff(work / "a.tif")
    (control / "pause.py").write_text(PAUSE)
    out = work / "out.zarr"
    args = ["tiff2zarr", work / "a.tif", out, "--chunks", "z=1,y=16,x=16", "--workers", "1"]
    first = subprocess.Popen(
        [sys.executable, str(control / "pause.py"), str(control), "-q", *map(str, args)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (control / "started").exists():
            assert first.poll() is None, first.stderr
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert lock_path(out) is not None
        assert lock_path(out).exists()
        before = _snapshot(work)
        for extra in ([], ["--overwrite"], ["--resume"]):
            code, err = _cli(capsys, *args, *extra)
            assert code == 2
            _one_line(err, out, "another omeconv run is writing this output")
            assert _snapshot(work) == before
    finally:
        (control / "go").touch()
        _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert sorted(p.name for p in work.iterdir()) == ["a.tif", "out.zarr"]
    np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["0"][:], DATA)


# -- SIGTERM, long names ---------------------------------------------------------------------

# ``stop.py SIGNAL N args…`` sends itself SIGNAL once N region tasks are journaled (0: never).
SIGNAL = """
import os, sys, threading
import omeconv.emit.write as w
from omeconv.journal import Journal
w.fill_levels.__kwdefaults__["budget"] = 8_000
sig, n, done, lock, record = int(sys.argv[1]), int(sys.argv[2]), [0], threading.Lock(), Journal.record
def record_then_signal(self, key, stats):
    record(self, key, stats)
    with lock:
        done[0] += 1
        if done[0] == n:
            os.kill(os.getpid(), sig)
Journal.record = record_then_signal
from omeconv.cli import main
main(sys.argv[3:])
"""
OPTIONS = ["--chunks", "z=1,y=20,x=25", "--levels", "2", "--workers", "2"]


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("name", ["out.zarr", "y" * 245 + ".zarr"], ids=["short", "250-bytes"])
def test_sigterm_keeps_the_partial_then_resume_finishes_it(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import omeconv.emit.write

    script = tmp_path / "stop.py"
    script.write_text(SIGNAL)
    _tiff(tmp_path / "in" / "a.tif")
    work = tmp_path / "work"
    work.mkdir()
    out, reference = work / name, tmp_path / "reference.zarr"
    src = tmp_path / "in" / "a.tif"
    monkeypatch.setitem(omeconv.emit.write.fill_levels.__kwdefaults__, "budget", 8_000)
    main(["-q", "tiff2zarr", str(src), str(reference), *OPTIONS])  # uninterrupted

    stopped = _subprocess(script, signal.SIGTERM, 3, "-q", "tiff2zarr", src, out, *OPTIONS)
    assert stopped.returncode == 143
    staging = staging_path(out)
    assert staging is not None
    _one_line(
        stopped.stderr.strip().splitlines(),
        out,
        f"interrupted; the unfinished output is kept in {staging.name}",
    )
    assert "--resume" in stopped.stderr
    assert [p.name for p in work.iterdir()] == [staging.name]  # no lock file left, no OUTPUT
    assert len(list((staging / JOURNAL_DIR / "tasks").iterdir())) >= 3

    resumed = _subprocess(script, 0, 0, "-q", "tiff2zarr", src, out, *OPTIONS, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert [p.name for p in work.iterdir()] == [name]
    assert _tree(out) == _tree(reference)


def test_long_output_name_gets_a_short_staging_name() -> None:
    from pathlib import Path

    long = Path("/data") / ("y" * 250)
    staging = staging_path(long)
    lock = lock_path(long)
    assert staging is not None
    assert lock is not None
    assert staging.parent == lock.parent == Path("/data")
    assert staging.name.startswith(".omeconv-")
    assert staging.name.endswith(".partial")
    assert lock.name.startswith(".omeconv-")
    assert lock.name.endswith(".omeconv.lock")
    assert len(staging.name) < 255
    assert len(lock.name) < 255
    assert staging_path(Path("/data") / "x.zarr") == Path("/data/x.zarr.partial")
    assert staging_path("s3://bucket/x.zarr") is None


# -- system errors and awkward paths ---------------------------------------------------------

# ``fault.py ERRNO read|write|metadata args…`` fails like the system would: reading the TIFF,
# writing a chunk file or writing a metadata file raises OSError(ERRNO) naming that file.
FAULT = """
import errno, os, sys
import tifffile, zarr.storage
code = getattr(errno, sys.argv[1])
if sys.argv[2] in ("write", "metadata"):
    original = zarr.storage.LocalStore.set
    async def fail_chunks(self, key, value):
        if ("/c/" in f"/{key}") == (sys.argv[2] == "write"):
            raise OSError(code, os.strerror(code), str(self.root / key))
        return await original(self, key, value)
    zarr.storage.LocalStore.set = fail_chunks
else:
    def fail_open(self, file, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(file))
    tifffile.TiffFile.__init__ = fail_open
from omeconv.cli import main
main(sys.argv[3:])
"""


@pytest.mark.parametrize(
    ("errno_name", "where", "exit_code", "problem"),
    [
        ("ENOSPC", "write", 1, "no space left on device"),
        ("EDQUOT", "write", 1, "disk quota exceeded"),
        ("EROFS", "write", 1, "read-only file system"),
        ("EACCES", "write", 1, "permission denied"),
        ("EIO", "write", 1, "input/output error"),
        ("ENOSPC", "metadata", 1, "no space left on device"),
        ("EACCES", "read", 2, "permission denied"),
        ("ENAMETOOLONG", "read", 2, "file name too long"),
        ("EIO", "read", 1, "cannot read: input/output error"),
    ],
)
def test_system_errors_are_one_line_naming_the_file(
    tmp_path: Path, errno_name: str, where: str, exit_code: int, problem: str
) -> None:
    script = tmp_path / "fault.py"
    script.write_text(FAULT)
    work = tmp_path / "work"
    _tiff(work / "a.tif")
    before = {k: v for k, v in _snapshot(work).items() if k != "."}
    result = _subprocess(script, errno_name, where, "tiff2zarr", work / "a.tif", work / "o.zarr")
    assert result.returncode == exit_code
    named = work / ("a.tif" if where == "read" else "o.zarr")
    _one_line(result.stderr.strip().splitlines(), named, problem)
    assert {k: v for k, v in _snapshot(work).items() if k != "."} == before


def test_too_long_names_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tiff(tmp_path / "a.tif")
    long = tmp_path / ("x" * 256)
    before = _snapshot(tmp_path)
    for args, exit_code, named in [
        (["tiff2zarr", tmp_path / "a.tif", long], 1, long),
        (["tiff2zarr", f"{long}.tif", tmp_path / "o.zarr"], 2, f"{long}.tif"),
        (["validate", long], 2, long),
        (["info", long], 2, long),
    ]:
        code, err = _cli(capsys, *args)
        assert code == exit_code
        _one_line(err, named, "file name too long")
    assert _snapshot(tmp_path) == before


def test_paths_with_glob_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "we[i]rd *?"
    _tiff(folder / "a [1].tif")
    for version in ("0.5", "0.4"):
        out = folder / f"o[{version}]*.zarr"
        code, err = _cli(capsys, "tiff2zarr", folder / "a [1].tif", out, "--ome-version", version)
        assert (code, err) == (0, [])
        code, err = _cli(capsys, "validate", out)
        assert code == 0, err
        np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["0"][:], DATA)


def test_exclusive_lock_refuses_a_second_holder_and_removes_its_file(tmp_path: Path) -> None:
    from omeconv.errors import UsageError
    from omeconv.locks import exclusive_lock

    lock = tmp_path / ".out.zarr.omeconv.lock"
    with exclusive_lock(lock, busy="busy", path=tmp_path / "out.zarr"):
        assert lock.exists()
        with (
            pytest.raises(UsageError, match="busy"),
            exclusive_lock(lock, busy="busy", path=tmp_path / "out.zarr"),
        ):
            pass
        assert lock.exists()
    assert not lock.exists()
    with exclusive_lock(lock, busy="busy", path=tmp_path / "out.zarr"):  # free again
        pass


def test_sigterm_outside_a_conversion_is_one_line(tmp_path: Path) -> None:
    script = tmp_path / "stop.py"
    script.write_text(
        "import os, signal, sys\n"
        "import omeconv.info\n"
        "def stop(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "omeconv.info.describe = stop\n"
        "from omeconv.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    result = _subprocess(script, "info", tmp_path)
    assert result.returncode == 143
    assert result.stderr == "omeconv: terminated\n"
