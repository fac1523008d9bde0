"""Compare omeconv's array-write paths on the benchmark input, in one run.

Variants, each a fresh ``omeconv -q tiff2zarr`` process (defaults: OME-Zarr 0.5):

- ``old``: omeconv as of ``--old`` (default: where this branch left ``main``), exported with
  ``git archive`` into the data directory;
- ``new``: this tree, zarr's default codec pipeline;
- ``new+zarrs``: this tree with zarr configured to use the ``zarrs`` codec pipeline (needs
  ``pip install zarrs``).

``--config key=value`` sets a zarr configuration key (through zarr's ``ZARR_*`` environment
variables) for the new variants, e.g. ``--config threading.max_workers=2``. Reports wall time,
MB/s of uncompressed input, peak RSS and the ratios to ``old``; runs alternate between variants.
Usage: ``python -m bench.write_path [--size 2048 --z 16 --repeat 2 --shards --ome-version 0.4]``.
The ``new+zarrs`` row is for comparison only: zarrs 0.2.3 skips chunks equal to the fill
value even with ``write_empty_chunks``, which omeconv's writer guarantees to write.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from bench.make_data import make_tiff

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("old", "new", "new+zarrs")
CLI = "import sys; from omeconv.cli import main; main(sys.argv[1:])"
#: zarr configuration (as ``ZARR_*`` environment variables) of the ``new+zarrs`` variant.
ZARRS = {"ZARR_CODEC_PIPELINE__PATH": "zarrs.ZarrsCodecPipeline"}


def export_old(ref: str, into: Path) -> Path:
    """The ``omeconv`` package as of git ``ref``, extracted under ``into`` (reused if there)."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", ref], capture_output=True, text=True, check=True
    ).stdout.strip()
    root = into / f"old-{sha[:12]}"
    if not (root / "omeconv").is_dir():
        tar = subprocess.run(
            ["git", "-C", str(REPO), "archive", sha, "omeconv"], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(root, filter="data")
    return root


def run_variant(
    variant: str, old_root: Path, src: Path, out: Path, extra: list[str], env_extra: dict[str, str]
) -> dict[str, Any]:
    """Convert once in a child process; its wall time and peak RSS (from ``wait4``)."""
    if out.exists():
        shutil.rmtree(out)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(old_root if variant == "old" else REPO)
    if variant != "old":
        env.update(env_extra)
    if variant == "new+zarrs":
        env.update(ZARRS)
    cmd = [sys.executable, "-c", CLI, "-q", "tiff2zarr", str(src), str(out), *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    row: dict[str, Any] = {
        "variant": variant,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
    }
    if os.waitstatus_to_exitcode(status) != 0:
        row["error"] = (err.strip().splitlines() or ["failed"])[-1]
    if out.exists():
        shutil.rmtree(out)
    return row


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2048, help="Y = X size (default 2048)")
    parser.add_argument("--z", type=int, default=16, help="Z planes (default 16)")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--data-dir", default="bench/data")
    parser.add_argument("--old", default="", help="git ref of the old path (default: merge-base)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--shards", action="store_true", help="convert with --shards")
    parser.add_argument("--ome-version", default="", help="convert with --ome-version")
    parser.add_argument("--config", action="append", default=[], help="zarr key=value")
    args = parser.parse_args(argv)

    data = Path(args.data_dir)
    old = (
        args.old
        or subprocess.run(
            ["git", "-C", str(REPO), "merge-base", "HEAD", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    old_root = export_old(old, data)
    env_extra = {}
    for item in args.config:
        key, _, value = item.partition("=")
        env_extra["ZARR_" + key.upper().replace(".", "__")] = value
    shape = (1, args.channels, args.z, args.size, args.size)
    src = make_tiff(
        data / f"input_c{args.channels}_z{args.z}_{args.size}.ome.tif",
        c=args.channels,
        z=args.z,
        y=args.size,
        x=args.size,
    )
    with src.open("rb") as f:  # page cache warm for every variant
        while f.read(64 * 2**20):
            pass
    nbytes = 2 * math.prod(shape)
    extra = ["--overwrite", *(["--shards"] if args.shards else [])]
    if args.ome_version:
        extra += ["--ome-version", args.ome_version]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    load = os.getloadavg()[0]
    runs: list[dict[str, Any]] = []
    for rep in range(args.repeat):
        for variant in variants:
            os.sync()
            out = data / f"out-write-path-{os.getpid()}.ome.zarr"
            row = run_variant(variant, old_root, src, out, extra, env_extra)
            runs.append(row)
            status = row.get("error") or (
                f"{row['wall_s']:.2f} s, CPU {row['cpu_s']:.2f} s, {row['peak_mib']:.0f} MiB"
            )
            print(f"  [{rep + 1}/{args.repeat}] {variant}: {status}", flush=True)

    print(
        f"\ninput {shape} uint16, {nbytes / 1e6:.0f} MB; old = {old[:12]}; "
        f"{' '.join(extra)}; zarr config {args.config or 'defaults'}; "
        f"1-min load {load:.1f} before / {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs\n"
    )
    print(
        "| variant | wall s (median) | MB/s | CPU s (median) | peak RSS MiB "
        "| x old MB/s | x old CPU s | x old RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    summary: dict[str, tuple[float, float, float]] = {}
    for variant in variants:
        ok = [r for r in runs if r["variant"] == variant and "error" not in r]
        if not ok:
            print(f"| {variant} | failed: {runs[-1].get('error', '')} | | | | |")
            continue
        wall = statistics.median(r["wall_s"] for r in ok)
        cpu = statistics.median(r["cpu_s"] for r in ok)
        summary[variant] = (nbytes / 1e6 / wall, cpu, max(r["peak_mib"] for r in ok))
    base = summary.get("old")
    for variant, (mb_s, cpu, peak) in summary.items():
        ratios = (
            [f"{v / b:.2f}" for v, b in zip((mb_s, cpu, peak), base, strict=True)]
            if base
            else ["-"] * 3
        )
        print(
            f"| {variant} | {nbytes / 1e6 / mb_s:.2f} | {mb_s:.1f} | {cpu:.1f} | {peak:.0f} | "
            + " | ".join(ratios)
            + " |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
