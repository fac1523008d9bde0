"""Upgrade benchmark: a ~1 GB OME-Zarr 0.4 store upgraded by copy and in place.

The copy is timed against a plain ``cp -r`` of the same store in the same run, both as fresh
processes (``omeconv upgrade`` pays for its start-up and imports, as a user does). Runs
alternate, each started with no dirty pages (``sync``), and the median and best of each are
compared, and so are their CPU seconds (user + system), which a busy machine changes less
than wall times. A third row times the copy alone (``omeconv.upgrade`` in this process, imports
already paid), to tell the copy from the start-up. omeconv's bytecode is compiled first, as
an install does (a checkout run with ``PYTHONDONTWRITEBYTECODE`` would otherwise recompile
every module in every process). The store is written with zarr-python directly (not omeconv). Run ``python -m bench.upgrade``; results go to
``bench/results/upgrade.md``.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["main", "make_store"]

RESULTS = Path(__file__).parent / "results" / "upgrade.md"


def make_store(path: Path, *, gib: float = 1.0) -> int:
    """A czyx uint16 image of about ``gib`` GiB with 3 levels; return its size in bytes."""
    import numcodecs
    import zarr

    side = 2048
    planes = max(1, round(gib * 2**30 / (side * side * 2)))
    c, z = 2, max(1, planes // 2)
    group = zarr.open_group(path, mode="w", zarr_format=2)
    rng = np.random.default_rng(0)
    datasets = []
    for level in range(3):
        s = side >> level
        array = group.create_array(
            str(level),
            shape=(c, z, s, s),
            dtype="uint16",
            chunks=(1, 1, 512, 512),
            compressors=numcodecs.Blosc("lz4", 1, numcodecs.Blosc.SHUFFLE),
            chunk_key_encoding={"name": "v2", "separator": "/"},
        )
        noise = rng.integers(0, 4096, (1, 1, s, s), dtype=np.uint16)
        for ci in range(c):
            for zi in range(z):
                array[ci : ci + 1, zi : zi + 1] = noise
        f = float(2**level)
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, f, f]}],
            }
        )
    axes = [{"name": "c", "type": "channel"}] + [
        {"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"
    ]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": datasets}]
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(fn: Callable[[Path], object], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, this process and its children) of ``fn(out)``,
    started with no dirty pages (an earlier run's writeback must not be charged to it);
    ``out``, if made, is deleted afterwards."""
    os.sync()
    cpu = _cpu()
    start = time.perf_counter()
    fn(out)
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu
    if out.exists():
        shutil.rmtree(out)
    return seconds, cpu


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write ``bench/results/upgrade.md``."""
    from omeconv.upgrade import upgrade

    parser = argparse.ArgumentParser(prog="python -m bench.upgrade", description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0, help="store size (default 1 GiB)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each")
    parser.add_argument("--workdir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args(argv)
    import omeconv

    compileall.compile_dir(Path(omeconv.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        source = root / "v04.zarr"
        nbytes = make_store(source, gib=args.gib)
        files = sum(1 for p in source.rglob("*") if p.is_file())
        cli = [sys.executable, "-m", "omeconv", "-q", "upgrade", "0.4", "0.5", str(source)]
        runs: dict[str, Callable[[Path], object]] = {
            "cp": lambda out: subprocess.run(["cp", "-r", str(source), str(out)], check=True),
            "cli": lambda out: subprocess.run([*cli, str(out)], check=True),
            "copy": lambda out: upgrade(source, out),
        }
        upgrade(source, root / "warm.zarr")  # this process's imports, for the copy-alone row
        shutil.rmtree(root / "warm.zarr")
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpus: dict[str, list[float]] = {name: [] for name in runs}
        load = os.getloadavg()[0]
        for _ in range(args.rounds):
            for name, fn in runs.items():
                wall, cpu = _timed(fn, root / f"{name}.zarr")
                times[name].append(wall)
                cpus[name].append(cpu)
                print(f"{name}: {wall:.2f} s, {cpu:.2f} s CPU", flush=True)
        t_inplace, _ = _timed(lambda out: upgrade(source, in_place=True), root / "none")
        load = max(load, os.getloadavg()[0])
    text = _report(times, cpus, t_inplace, nbytes, files, args.rounds, load)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


def _report(
    times: dict[str, list[float]],
    cpus: dict[str, list[float]],
    t_inplace: float,
    nbytes: int,
    files: int,
    rounds: int,
    load: float,
) -> str:
    mb = nbytes / 1e6
    names = {
        "cp": "plain copy (`cp -r`, a process)",
        "cli": "`omeconv upgrade` (copy, a process: start-up and imports included)",
        "copy": "`omeconv.upgrade()` in a warm process (the copy alone)",
    }
    median = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    table = [
        "| run | median s | best s | MB/s (median) | x cp -r (median) | x cp -r (best)"  # noqa: ISC004
        " | CPU s (median) |"
    ]
    table.append("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in names.items():
        table.append(
            f"| {label} | {median[key]:.2f} | {best[key]:.2f} | {mb / median[key]:.0f} |"
            f" {median['cp'] / median[key]:.2f} | {best['cp'] / best[key]:.2f} |"
            f" {cpu[key]:.2f} |"
        )
    table.append(f"| `omeconv upgrade --in-place` | {t_inplace:.2f} | | | | | |")
    return (
        f"# Upgrade benchmark\n\nStore: {mb:.0f} MB OME-Zarr 0.4 (czyx uint16, 3 levels, "
        f"512x512 Blosc-lz4 chunks, {files} files). {rounds} alternating rounds, each run "
        f"after `sync`; load average up to {load:.1f} on {os.cpu_count()} cores.\n\n"
        + "\n".join(table)
        + "\n\nTarget: `omeconv upgrade` >= 0.95x `cp -r`; in place < 2 s.\n"
    )


if __name__ == "__main__":
    main()
