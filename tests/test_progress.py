"""Progress where it matters: log lines off a terminal, 100% after --resume, one summary line."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr

import omeconv.progress
from omeconv.api import convert
from omeconv.cli import main
from omeconv.journal import Journal
from omeconv.progress import Progress, disk_usage
from omeconv.stores import staging_path

if TYPE_CHECKING:
    from pathlib import Path

LINE = re.compile(r"^omeconv: converting: (\d+)% \S+ \w?B/\S+ \w?B, [\d.]+ MB/s, ETA \S+$")
SUMMARY = re.compile(
    r"^wrote (\S+): (\d+) levels?, ([\d.]+ \w?B) in, ([\d.]+ \w?B) on disk \(([\d.]+)x\),"
    r" [\d.]+ s, [\d.]+ MB/s$"
)


def _image(tmp_path: Path) -> Path:
    path = tmp_path / "in.npy"
    np.save(path, np.random.default_rng(0).integers(0, 9, (4, 64, 64), dtype="uint16"))
    return path


def test_non_tty_run_prints_log_lines_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(omeconv.progress, "LOG_INTERVAL", 0.0)  # a line per region written
    out = tmp_path / "out.ome.zarr"
    main(["convert", str(_image(tmp_path)), str(out), "--chunks", "1,16,16", "--levels", "2"])
    lines = capsys.readouterr().err.splitlines()
    progress = [LINE.match(line) for line in lines[:-1]]
    assert all(progress), lines
    percents = [int(m[1]) for m in progress if m]
    assert len(percents) > 2
    assert percents == sorted(percents)
    assert percents[-1] == 100
    summary = SUMMARY.match(lines[-1])
    assert summary, lines[-1]
    assert summary[1] == str(out)
    assert summary[2] == "2"
    assert summary[3] == "32.8 kB"  # 4 * 64 * 64 * 2 bytes of level 0
    assert summary[4] == omeconv.progress.human_bytes(disk_usage(out) or 0)


def test_quiet_after_the_subcommand_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["convert", str(_image(tmp_path)), str(tmp_path / "o.ome.zarr"), "-q"])
    assert capsys.readouterr().err == ""


def test_resumed_run_reaches_100_percent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _image(tmp_path)
    out = tmp_path / "out.ome.zarr"
    options: dict[str, Any] = {"chunks": (1, 16, 16), "levels": 1, "workers": 1}
    record, done = Journal.record, [0]

    def record_then_stop(self: Journal, key: str, stats: Any) -> None:
        record(self, key, stats)
        done[0] += 1
        if done[0] == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(Journal, "record", record_then_stop)
    with pytest.raises(Exception, match="--resume"):
        convert(source, out, **options)
    monkeypatch.setattr(Journal, "record", record)
    assert staging_path(out) is not None
    assert staging_path(out).exists()

    stream = io.StringIO()
    progress = Progress(mode="log", stream=stream, interval=0)
    convert(source, out, resume=True, progress=progress, **options)
    assert progress.done == progress.total == 4 * 64 * 64 * 2
    assert stream.getvalue().splitlines()[-1].startswith("omeconv: converting: 100% ")


def test_resume_on_a_finished_output_says_so_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = _image(tmp_path), tmp_path / "out.ome.zarr"
    main(["-q", "convert", str(source), str(out)])
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    main(["convert", str(source), str(out), "--resume"])
    assert capsys.readouterr().err == f"{out}: complete already; nothing to resume\n"
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_upgrade_copy_reports_its_real_total(tmp_path: Path) -> None:
    from omeconv.upgrade import upgrade

    old = tmp_path / "old.zarr"
    convert(_image(tmp_path), old, ome_version="0.4", levels=3, chunks=(1, 16, 16))
    for reencode in ({}, {"shards": True}):
        progress = Progress()
        new = tmp_path / f"new{len(reencode)}.zarr"
        upgrade(str(old), str(new), progress=progress, **reencode)
        levels = sum(zarr.open_array(old / str(i), mode="r").nbytes for i in range(3))
        assert progress.done == progress.total == levels
        assert progress.levels == 3


def test_log_line_rate_and_eta() -> None:
    stream = io.StringIO()
    progress = Progress(mode="log", stream=stream, interval=3600)
    progress.start(2_000_000, "copying")
    progress.skip(1_000_000)  # done earlier: no speed to claim
    assert progress.line().startswith("copying: 50% 1.0 MB/2.0 MB, 0.0 MB/s, ETA ?")
    progress.close()
    assert stream.getvalue() == ""  # no line within the interval: none at the end either
    progress = Progress(mode="log", stream=stream, interval=0)
    progress.start(100, "converting")
    progress.update(40)
    progress.close(failed=True)
    assert (
        stream.getvalue()
        == "omeconv: converting: 40% 40 B/100 B, " + (stream.getvalue().split(", ", 1)[1])
    )
    assert stream.getvalue().count("\n") == 1  # a failed run ends with its error, not 40%


def test_every_level_written_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from omeconv.emit import write

    # Small regions: levels 1 and 2 are made by reading level 1 back, counted as work too.
    monkeypatch.setitem(write.fill_levels.__kwdefaults__, "budget", 4_000)
    progress = Progress()
    convert(_image(tmp_path), tmp_path / "o.zarr", levels=3, chunks=(1, 16, 16), progress=progress)
    assert progress.bytes_in == 4 * 64 * 64 * 2
    assert progress.done == progress.total > progress.bytes_in
