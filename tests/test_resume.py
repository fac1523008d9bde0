"""Interrupted conversions: SIGKILL at several points, then ``--resume``; interrupted overwrite."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import pytest

from omeconv.cli import main
from omeconv.journal import JOURNAL_DIR
from omeconv.validate import validate_store

if TYPE_CHECKING:
    from pathlib import Path

# Small regions so that the image makes many region tasks (the default budget is 64 MiB);
# ``run.py N args…`` SIGKILLs itself once N region tasks are journaled (0: never).
RUNNER = """
import os, signal, sys, threading
import omeconv.emit.write as w
from omeconv.journal import Journal
w.fill_levels.__kwdefaults__["budget"] = 8_000
kill_after, done, lock, record = int(sys.argv[1]), [0], threading.Lock(), Journal.record
def record_then_kill(self, key, stats):
    record(self, key, stats)
    with lock:
        done[0] += 1
        if done[0] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
Journal.record = record_then_kill
from omeconv.cli import main
main(sys.argv[2:])
"""
OPTIONS = ["--chunks", "z=1,y=32,x=32", "--levels", "3", "--workers", "2"]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import tifffile

    root = tmp_path_factory.mktemp("resume")
    data = np.random.default_rng(0).integers(0, 60000, (4, 2, 100, 128), dtype="uint16")
    tifffile.imwrite(root / "in.tif", data, imagej=True, metadata={"axes": "ZCYX"})
    (root / "run.py").write_text(RUNNER)
    assert _run(root, root / "reference.zarr").returncode == 0
    return root


def _run(
    root: Path, out: Path, *extra: str, kill_after: int | None = None
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(root / "run.py"), str(kill_after or 0), "-q", "tiff2zarr"]
    return subprocess.run(
        [*args, str(root / "in.tif"), str(out), *OPTIONS, *extra],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _tree(path: Path) -> dict[str, bytes]:
    """Every file below ``path`` (relative name -> bytes): metadata and encoded chunks."""
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def _killed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode in (-signal.SIGKILL, 137)


# The image makes 146 region tasks: 128 read the source, then 16 and 2 read a written level
# back for the lower levels; 146 kills after the last task, before any group metadata.
@pytest.mark.parametrize("kill_after", [1, 135, 146])
def test_kill_then_resume_equals_uninterrupted(work: Path, tmp_path: Path, kill_after: int) -> None:
    out = tmp_path / "out.zarr"
    partial = tmp_path / "out.zarr.partial"
    assert _killed(_run(work, out, kill_after=kill_after))
    assert not out.exists(), "an unfinished output must never appear at OUTPUT"
    journaled = list((partial / JOURNAL_DIR / "tasks").glob("*.json"))
    assert len(journaled) >= kill_after
    result = _run(work, out, "--resume")
    assert result.returncode == 0, result.stderr
    assert not partial.exists()
    assert _tree(out) == _tree(work / "reference.zarr")


def test_resume_removes_files_half_written_by_the_kill(work: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    partial = tmp_path / "out.zarr.partial"
    assert _killed(_run(work, out, kill_after=2))
    # What a kill inside zarr's atomic chunk write or the journal's own write leaves behind.
    chunk = next(p for p in (partial / "0").rglob("*") if p.is_file())
    (chunk.parent / f"{chunk.name}.{'ab' * 16}.partial").write_bytes(b"half a chunk")
    (partial / JOURNAL_DIR / "tasks" / "x.json.123.456.tmp").write_text("{")
    assert _run(work, out, "--resume").returncode == 0
    assert _tree(out) == _tree(work / "reference.zarr")


def test_killed_twice_then_resumed(work: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    assert _killed(_run(work, out, kill_after=3))
    assert _killed(_run(work, out, "--resume", kill_after=5))
    assert _run(work, out, "--resume").returncode == 0
    assert _tree(out) == _tree(work / "reference.zarr")


def test_resume_with_other_options_is_refused_and_keeps_the_partial(
    work: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.zarr"
    assert _killed(_run(work, out, kill_after=2))
    before = _tree(tmp_path / "out.zarr.partial")
    result = _run(work, out, "--resume", "--compression", "gzip")
    assert result.returncode == 2
    assert "cannot resume" in result.stderr
    assert "encoding" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _tree(tmp_path / "out.zarr.partial") == before


def test_interrupted_overwrite_keeps_the_old_output(work: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.zarr"
    shutil.copytree(work / "reference.zarr", out)
    (out / "marker.txt").write_text("old output")
    old = _tree(out)
    assert _killed(_run(work, out, "--overwrite", "--compression", "lz4", kill_after=3))
    assert _tree(out) == old
    result = _run(work, out, "--overwrite", "--compression", "lz4", "--resume")
    assert result.returncode == 0, result.stderr
    assert not (out / "marker.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out.zarr"]


def test_ctrl_c_keeps_the_partial_and_says_resume(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from omeconv.journal import Journal

    def interrupt(self: Journal, key: str, stats: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Journal, "record", interrupt)
    out = tmp_path / "out.zarr"
    with pytest.raises(SystemExit) as exc:
        main(["-q", "tiff2zarr", str(work / "in.tif"), str(out)])
    assert exc.value.code == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"omeconv: error: {out}: interrupted")
    assert "--resume" in err
    assert (tmp_path / "out.zarr.partial" / JOURNAL_DIR / "options.json").is_file()
    assert not out.exists()


def test_resume_without_a_journal_starts_over(work: Path, tmp_path: Path) -> None:
    """A staging folder with no journal (killed before its options were written) is not
    trusted: it is emptied, then written."""
    out = tmp_path / "out.zarr"
    stale = tmp_path / "out.zarr.partial"
    (stale / JOURNAL_DIR).mkdir(parents=True)
    (stale / "0").mkdir(parents=True)
    (stale / "0" / "junk").write_text("not from this conversion")
    main(["-q", "tiff2zarr", str(work / "in.tif"), str(out), *OPTIONS, "--resume"])
    assert not stale.exists()
    assert not (out / "0" / "junk").exists()
    assert validate_store(str(out)) == "0.5"


def test_overwrite_swaps_old_and_new_in_one_step(tmp_path: Path) -> None:
    """The replaced output is never missing: old and new are exchanged, then old removed."""
    from omeconv.stores import _exchange, _swap_into_place

    new, old = tmp_path / "o.zarr.partial", tmp_path / "o.zarr"
    new.mkdir()
    (new / "zarr.json").write_text("new")
    old.mkdir()
    (old / "zarr.json").write_text("old")
    exchanged = _exchange(new, old)
    if sys.platform.startswith("linux"):
        assert exchanged
    assert (old / "zarr.json").read_text() == ("new" if exchanged else "old")
    if exchanged:
        _exchange(new, old)  # back, to test the whole swap
    _swap_into_place(new, old)
    assert (old / "zarr.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["o.zarr"]
