"""``upgrade --in-place`` killed (SIGKILL) before each of its file operations.

Each run leaves a store that opens as OME-Zarr 0.4 or 0.5 with every pixel intact, and the
same command run again finishes the upgrade.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import pytest
import zarr

from omeconv.emit import sinks
from omeconv.upgrade import upgrade
from omeconv.validate import validate_store
from tests.test_upgrade import assert_all_v3, assert_same_pixels, make_labelled_image, v2_arrays

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path


upgrade_module = sys.modules["omeconv.upgrade"]
#: Killed runs at a time (each starts a Python process).
PARALLEL = 3
#: ``upgrade STORE --in-place`` killed (SIGKILL) before its N-th file operation (0-based):
#: the test's hook, put into the counter of in-place file operations of that process.
SCRIPT = """
import os, signal, sys
from omeconv.emit import sinks
from omeconv.upgrade import upgrade

kill_at = int(sys.argv[2])
count = sinks.Ops.step

def step(self):
    if self.count == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    count(self)

sinks.Ops.step = step
upgrade(sys.argv[1], in_place=True)
"""


def _count_operations(store: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    counts = []
    real = sinks.Ops.step

    def step(self: sinks.Ops) -> None:
        real(self)
        counts.append(self.count)

    monkeypatch.setattr(sinks.Ops, "step", step)
    upgrade(store, in_place=True)
    monkeypatch.undo()
    return len(counts)


def kill_points(total: int, stride: int) -> list[int]:
    """Operations 0, stride, 2*stride … and the last one, of ``total``."""
    return sorted({*range(0, total, stride), total - 1})


def killed_stores(reference: Path, tmp_path: Path, points: Sequence[int]) -> Iterator[Path]:
    """Copies of ``reference``, each upgraded in place by a process killed before one of
    the file operations ``points`` (a few processes at a time)."""
    for batch in range(0, len(points), PARALLEL):
        runs = {}
        for n in points[batch : batch + PARALLEL]:
            store = tmp_path / f"kill-{n}.zarr"
            shutil.copytree(reference, store)
            runs[n] = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, str(store), str(n)], stderr=subprocess.PIPE
            )
        for n, process in runs.items():
            _, stderr = process.communicate(timeout=300)
            assert process.returncode == -signal.SIGKILL, stderr.decode()
            yield tmp_path / f"kill-{n}.zarr"


@pytest.mark.parametrize("stride", [pytest.param(1, marks=pytest.mark.slow), 4])
def test_kill_at_every_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stride: int
) -> None:
    """Kill points 0, stride, 2*stride … (every one when ``stride`` is 1)."""
    reference = make_labelled_image(tmp_path / "reference.zarr", label_levels=2, levels=2)
    arrays = v2_arrays(reference)
    probe = tmp_path / "probe.zarr"
    shutil.copytree(reference, probe)
    total = _count_operations(probe, monkeypatch)
    assert total > 20
    versions: set[str] = set()
    for store in killed_stores(reference, tmp_path, kill_points(total, stride)):
        _check_and_finish(store, reference, arrays, versions)
    assert versions == {"0.4", "0.5"}


def _check_and_finish(
    store: Path, reference: Path, arrays: dict[str, Path], versions: set[str]
) -> None:
    """The killed store opens as 0.4 or 0.5 with its pixels; running again finishes it."""
    version = validate_store(str(store))
    versions.add(version)
    if version == "0.5":
        assert_same_pixels(reference, store, arrays)
    else:
        for path in arrays:
            before = zarr.open_array(reference / path, mode="r", zarr_format=2)[...]
            after = zarr.open_array(store / path, mode="r", zarr_format=2)[...]
            np.testing.assert_array_equal(after, before)
    upgrade(store, in_place=True)  # the same command again finishes the job
    assert validate_store(str(store)) == "0.5"
    assert_same_pixels(reference, store, arrays)
    assert_all_v3(store)
    shutil.rmtree(store)


def test_a_second_in_place_run_is_refused_while_one_holds_the_store(tmp_path: Path) -> None:
    import fcntl

    from omeconv.errors import UsageError

    reference = make_labelled_image(tmp_path / "reference.zarr", label_levels=2, levels=2)
    store = tmp_path / "img.zarr"
    shutil.copytree(reference, store)
    arrays = v2_arrays(reference)
    lock = store / upgrade_module.LOCK
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        before = sorted(p.relative_to(store) for p in store.rglob("*"))
        with pytest.raises(UsageError, match="another omeconv upgrade is running"):
            upgrade(store, in_place=True)
        assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    # The lock file a killed run leaves behind does not block the next run.
    upgrade(store, in_place=True)
    assert not lock.exists()
    assert validate_store(str(store)) == "0.5"
    assert_all_v3(store)
    assert_same_pixels(reference, store, arrays)
