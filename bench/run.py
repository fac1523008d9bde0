"""Benchmark TIFF -> OME-Zarr converters on the same large input.

Each conversion runs in a fresh subprocess (``python -m bench._one``) so that its wall time
and peak RSS are its own. Writes ``bench.md``, ``bench.json`` and ``bench.png`` to the results
directory and prints the table. Usage: ``python -m bench.run [--size 2048 --z 64 ...]``.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._one import BLOSC, CHUNKS, TOOLS
from bench.make_data import make_tiff

REPO = Path(__file__).resolve().parent.parent
NOTES = {
    "omeconv": "`omeconv -q tiff2zarr` CLI, defaults",
    "omeconv-zstd5": "`omeconv -q tiff2zarr --compression zstd --clevel 5` (the anchors' codec)",
    "omeconv-v04": "`omeconv -q tiff2zarr --ome-version 0.4`",
    "ngff-zarr": "to_multiscales (default itkwasm_gaussian) + to_ngff_zarr",
    "ome-zarr-py": "writer.write_image (default resize)",
    "baseline": "level 0 only: tifffile -> dask -> zarr v3",
}


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def describe_store(path: Path) -> tuple[str, int]:
    """OME-Zarr version and number of multiscale levels of a store ('-' and 1 for a bare array)."""
    v3 = path / "zarr.json"
    if v3.is_file():
        meta = json.loads(v3.read_text())
        if meta.get("node_type") == "array":
            return "-", 1
        ome = meta.get("attributes", {}).get("ome", {})
        return str(ome.get("version", "?")), len(
            ome.get("multiscales", [{}])[0].get("datasets", [])
        )
    v2 = path / ".zattrs"
    if v2.is_file():
        multiscales = json.loads(v2.read_text()).get("multiscales", [{}])
        return str(multiscales[0].get("version", "?")), len(multiscales[0].get("datasets", []))
    return "?", 0


def validate(path: Path) -> str:
    """'yes' if yaozarrs validates the store (metadata and structure), else 'no: <reason>'."""
    try:
        import yaozarrs

        yaozarrs.validate_zarr_store(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure means 'not valid'
        return f"no: {type(exc).__name__}: {_last_line(str(exc))[:80]}"
    return "yes"


def disk_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def arrays(path: Path) -> list[Path]:
    """Every zarr array below ``path`` (its folder), levels and labels alike."""
    found = [p.parent for name in ("zarr.json", ".zarray") for p in sorted(path.rglob(name))]
    return [p for p in found if _is_array(p)]


def _is_array(folder: Path) -> bool:
    if (folder / ".zarray").is_file():
        return True
    meta = json.loads((folder / "zarr.json").read_text())
    return bool(meta.get("node_type") == "array")


def compression_limit(path: Path) -> float | None:
    """CPU seconds of the bare compression of the store at ``path``: every chunk of every array
    (every level) encoded once more with the array's own Blosc codec, in this process, timed
    around the encode calls only (reading and decoding are not counted). ``None`` when an
    array is not plain Blosc-compressed chunks (sharded, gzip, uncompressed)."""
    import time

    import numcodecs
    import numpy as np
    import zarr
    from zarr.codecs import BloscCodec

    shuffles = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
    cpu = 0.0
    for folder in arrays(path):
        array = zarr.open_array(folder, mode="r")
        if array.shards is not None or len(array.compressors) != 1:
            return None
        codec = array.compressors[0]
        if isinstance(codec, numcodecs.Blosc):
            blosc = codec
        elif isinstance(codec, BloscCodec) and codec.shuffle is not None:
            blosc = numcodecs.Blosc(
                cname=codec.cname.value,
                clevel=codec.clevel,
                shuffle=shuffles[codec.shuffle.value],
                blocksize=codec.blocksize,
            )
        else:
            return None
        chunks = array.chunks
        grid = [range(0, n, c) for n, c in zip(array.shape, chunks, strict=True)]
        for corner in itertools.product(*grid):
            region = tuple(slice(o, o + c) for o, c in zip(corner, chunks, strict=True))
            block = np.zeros(chunks, dtype=array.dtype)  # edge chunks are stored whole
            data = np.asarray(array[region])
            block[tuple(slice(0, n) for n in data.shape)] = data
            start = time.process_time()
            blosc.encode(block)
            cpu += time.process_time() - start
    return cpu


def io_floor(src: Path, path: Path) -> float:
    """CPU seconds of the I/O any converter of this job does, with no compression and no
    pyramid: every byte of ``src`` (an uncompressed TIFF: its pixels as stored) read once
    into one reused buffer, and every file of the store at ``path`` written once more as
    stored into a scratch copy, file by file, folders included (each file's bytes are read
    beforehand, untimed, one at a time: this process stays small, as the RSS of the runs
    it starts next depends on it)."""
    import tempfile
    import time

    buffer = memoryview(bytearray(8 * 2**20))
    start = time.process_time()
    with src.open("rb", buffering=0) as f:
        while f.readinto(buffer):
            pass
    cpu = time.process_time() - start
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        for file in path.rglob("*"):
            if not file.is_file():
                continue
            data = file.read_bytes()
            start = time.process_time()
            target = Path(tmp) / file.relative_to(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            cpu += time.process_time() - start
    return cpu


#: Where a profile sample's CPU goes: the first step (in this order) one of whose frames is in
#: the sample's stack; ``(step, function name, file, text of the line or "")``. Frames are
#: py-spy's ``function (file:line)``; the line's source text tells steps of one function apart.
STEPS: list[tuple[str, str, str, str]] = [
    ("start-up: imports", "", "importlib._bootstrap", ""),
    ("compress (Blosc encode)", "_encode_sync", "zarr/codecs/blosc.py", ""),
    ("copies: chunks made contiguous", "write", "omeconv/emit/write.py", "ascontiguous"),
    ("copies: chunks made contiguous", "", "zarr/codecs/bytes.py", ""),
    ("copies: chunks made contiguous", "_merge_chunk_array", "zarr/", ""),
    ("copies: block made contiguous after reading", "_read", "omeconv/emit/write.py", "ascont"),
    ("read: TIFF decode and copies into the region", "_read", "omeconv/emit/write.py", ""),
    ("read: TIFF decode and copies into the region", "", "tifffile", ""),
    ("read: TIFF decode and copies into the region", "read_batch", "zarr/core/codec_pipeline", ""),
    ("downsample", "", "omeconv/pyramid.py", ""),
    ("statistics (channel windows)", "", "omeconv/stats.py", ""),
    ("write: store.set of encoded chunks", "_put", "omeconv/emit/write.py", ""),
    ("write: store.set of encoded chunks", "", "zarr/storage", ""),
    ("Python per block (write path)", "", "omeconv/emit/write.py", ""),
    ("dask scheduler", "", "dask/", ""),
    ("thread pools and zarr's event loop", "", "concurrent/futures", ""),
    ("thread pools and zarr's event loop", "", "threading.py", ""),
    ("thread pools and zarr's event loop", "", "asyncio/", ""),
    ("thread pools and zarr's event loop", "", "selectors.py", ""),
]


#: Samples of threads waiting (for work, a lock, the event loop): no CPU, left out of shares.
IDLE = "waiting (a lock, work, the event loop)"


def profile_steps(raw: str, root: Path) -> dict[str, int]:
    """Samples per step (:data:`STEPS`) of a py-spy ``raw`` profile (``stack count`` lines);
    the frames' source lines are read below ``root`` (the repository)."""
    import linecache
    import re

    pattern = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
    out: dict[str, int] = {}
    for entry in raw.splitlines():
        stack, _, count = entry.rpartition(" ")
        frames = [m for f in stack.split(";") if stack and (m := pattern.match(f))]
        step = "other Python (setup, metadata)" if frames else "native threads, no Python frame"
        leaf = frames[-1] if frames else None
        if leaf is not None and (
            leaf["func"].endswith(("wait", "select", "join"))
            or "get(block=True)"
            in linecache.getline(_source(leaf["file"], root), int(leaf["line"]))
        ):
            step = IDLE
        for name, func, file, text in [] if step == IDLE else STEPS:
            if any(
                file in m["file"]
                and m["func"].rpartition(".")[2].endswith(func)
                and (
                    not text or text in linecache.getline(_source(m["file"], root), int(m["line"]))
                )
                for m in frames
            ):
                step = name
                break
        out[step] = out.get(step, 0) + int(count)
    return out


def _source(file: str, root: Path) -> str:
    path = root / file
    return str(path if path.is_file() else file)


def profile_run(tool: str, src: Path, out: Path, results: Path) -> str:
    """Run ``tool`` once under py-spy (all threads, 100 Hz) and write ``profile.md``."""
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy on PATH (pip install py-spy)")
    raw = results / "profile.txt"
    extra = {"omeconv": [], "omeconv-zstd5": ["--compression", "zstd", "--clevel", "5"]}[tool]
    cmd = [sys.executable, "-m", "omeconv", "-q", "tiff2zarr", str(src), str(out), "--overwrite"]
    subprocess.run(
        [spy, "record", "-r", "100", "-f", "raw", "-o", str(raw), "--", *cmd, *extra],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    shutil.rmtree(out)
    steps = profile_steps(raw.read_text(), REPO)
    idle = steps.pop(IDLE, 0)
    total = sum(steps.values())
    lines = [
        f"# Where the CPU of one `{tool}` run goes",
        "",
        (
            f"py-spy samples of the threads at work, 100 Hz: {total} in all (and {idle} of"
            f" threads waiting, left out); input {src.name}; load {os.getloadavg()[0]:.1f}."
        ),
        "",
        "| step | samples | share |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {n} | {n / total:.0%} |"
        for name, n in sorted(steps.items(), key=lambda kv: -kv[1])
    ]
    md = "\n".join(lines) + "\n"
    (results / "profile.md").write_text(md)
    return md


def run_one(tool: str, src: Path, out: Path, timeout: float | None) -> dict[str, Any]:
    """Run one conversion in a subprocess, inspect and validate its output, then delete it."""
    if out.exists():
        shutil.rmtree(out)
    row: dict[str, Any] = {"tool": tool}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench._one", tool, str(src), str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        row["error"] = f"timeout after {timeout} s"
    else:
        if proc.returncode == 0:
            row.update(json.loads(_last_line(proc.stdout)))
        else:
            row["error"] = _last_line(proc.stderr) or f"exit status {proc.returncode}"
    if "error" not in row and not out.exists():
        row["error"] = f"no output at {out}"
    if "error" not in row:
        row["version"], row["levels"] = describe_store(out)
        row["out_bytes"] = disk_bytes(out)
        row["valid"] = "n/a" if tool == "baseline" else validate(out)
        if tool.startswith("omeconv"):
            row["limit_cpu_s"] = compression_limit(out)
            row["floor_cpu_s"] = io_floor(src, out)
    if out.exists():
        shutil.rmtree(out)
    return row


def summarize(runs: list[dict[str, Any]], tools: list[str], nbytes: int) -> list[dict[str, Any]]:
    """One row per tool: median wall time, max peak RSS, throughput and ratio to omeconv."""
    rows: list[dict[str, Any]] = []
    for tool in tools:
        mine = [r for r in runs if r["tool"] == tool]
        ok = [r for r in mine if "error" not in r]
        if not ok:
            rows.append({"tool": tool, "error": mine[-1]["error"] if mine else "not run"})
            continue
        wall = statistics.median(r["wall_s"] for r in ok)
        cpu = statistics.median(r.get("cpu_s", math.nan) for r in ok)
        limit = ok[-1].get("limit_cpu_s")
        floor = ok[-1].get("floor_cpu_s")
        rows.append(
            {
                **ok[-1],
                "wall_s": wall,
                "cpu_s": cpu,
                "efficiency": limit / cpu if limit else None,
                "best_efficiency": limit / (limit + floor) if limit and floor else None,
                "walls": [round(r["wall_s"], 2) for r in ok],
                "peak_rss_mib": max(r["peak_rss_mib"] for r in ok),
                "mb_s": nbytes / 1e6 / wall,
                "failures": len(mine) - len(ok),
            }
        )
    ref = next((r for r in rows if r["tool"] == "omeconv" and "mb_s" in r), None)
    for r in rows:
        if "mb_s" in r and ref is not None:
            r["ratio"] = r["mb_s"] / ref["mb_s"]
    return rows


def _fmt(row: dict[str, Any]) -> list[str]:
    if "error" in row:
        err = row["error"].replace("|", "\\|")[:120]
        return [row["tool"], "failed", "-", "-", "-", "-", "-", "-", "-", "-", "-", err]
    ratio = f"{row['ratio']:.2f}" if "ratio" in row else "n/a"
    limit = row.get("limit_cpu_s")
    efficiency = f"{limit:.1f} / {row['efficiency']:.2f}" if row.get("efficiency") else "-"
    floor = (
        f"{row['floor_cpu_s']:.1f} / {row['best_efficiency']:.2f}"
        if row.get("best_efficiency")
        else "-"
    )
    return [
        row["tool"],
        f"{row['wall_s']:.2f}",
        f"{row['mb_s']:.1f}",
        f"{row['cpu_s']:.1f}",
        efficiency,
        floor,
        f"{row['peak_rss_mib']:.0f}",
        ratio,
        row["valid"],
        f"{row['version']} / {row['levels']}",
        f"{row['out_bytes'] / 2**20:.0f}",
        NOTES.get(row["tool"], ""),
    ]


HEADER = [
    "tool",
    "wall s",
    "MB/s",
    "CPU s",
    "limit CPU s / limit:job",
    "I/O floor CPU s / best limit:job",
    "peak RSS MiB",
    "x omeconv",
    "valid",
    "OME ver / levels",
    "out MiB",
    "notes",
]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The results as a GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(_fmt(r)) + " |" for r in rows]
    return "\n".join(lines)


def _versions() -> str:
    names = ["omeconv", "ngff-zarr", "ome-zarr", "zarr", "dask", "tifffile", "numcodecs"]
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_report(
    rows: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    args: argparse.Namespace,
    shape: tuple[int, ...],
    load: tuple[float, float] = (float("nan"), float("nan")),
) -> str:
    """Write bench.md, bench.json and bench.png; return the markdown."""
    nbytes = 2 * math.prod(shape)
    results = Path(args.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    md = "\n".join(
        [
            "# omeconv benchmark",
            "",
            f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
            f"- machine: {os.cpu_count()} CPUs ({_cpu_model()}), {platform.platform()}",
            f"- python: {platform.python_version()}; {_versions()}",
            (
                f"- input: uint16 TCZYX {shape}, {nbytes / 1e6:.0f} MB uncompressed, "
                "tiled 512x512 OME-TIFF, no compression"
            ),
            (
                f"- third-party tools and baseline write chunks {CHUNKS} with blosc "
                f"{BLOSC['cname']} level {BLOSC['clevel']} + shuffle; 4 levels, Y/X downsampled"
            ),
            f"- repeats: {args.repeat} (median wall time, max peak RSS)",
            (
                f"- 1-min load average before / after the runs: {load[0]:.1f} / {load[1]:.1f} "
                "(well above the CPU count means a busy machine and slower numbers)"
            ),
            "",
            markdown_table(rows),
            "",
            (
                "MB/s = uncompressed level-0 bytes / wall seconds (10^6 bytes). Wall time "
                "includes the tool's imports (or CLI start-up); peak RSS is that of the "
                "converting process. CPU s = user + system seconds of that process (all "
                "threads). Limit CPU s = CPU seconds of the bare compression of everything the "
                "job wrote (every chunk of every level, encoded once more with the same Blosc "
                "codec and chunks, nothing else); limit:job = limit / CPU s, 1 when the job "
                "costs no more than its compression. I/O floor CPU s = CPU seconds of the I/O "
                "any converter of the job does, without compressing or downsampling: every "
                "byte of the (uncompressed) input read once, every stored file written once "
                "more as stored; best limit:job = limit / (limit + floor), the most any converter "
                "writing this output could reach."
            ),
            "",
        ]
    )
    (results / "bench.md").write_text(md)
    (results / "bench.json").write_text(json.dumps({"shape": shape, "runs": runs}, indent=1))
    _plot(rows, results / "bench.png", shape)
    return md


def _plot(rows: list[dict[str, Any]], path: Path, shape: tuple[int, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "mb_s" in r]
    fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
    colors = ["tab:blue" if r["tool"].startswith("omeconv") else "tab:gray" for r in ok]
    bars = ax.bar([r["tool"] for r in ok], [r["mb_s"] for r in ok], color=colors)
    ax.bar_label(bars, fmt="%.1f")
    failed = [r["tool"] for r in rows if "mb_s" not in r]
    title = f"TIFF -> OME-Zarr throughput, input {shape} uint16"
    ax.set_title(title + (f"\n(failed: {', '.join(failed)})" if failed else ""), fontsize=9)
    ax.set_ylabel("MB/s (uncompressed input)")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _warm(path: Path) -> None:
    """Read ``path`` once so that every tool reads it from the page cache, the first one too."""
    with path.open("rb") as f:
        while f.read(64 * 2**20):
            pass


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2048, help="Y = X size (default 2048)")
    parser.add_argument("--z", type=int, default=64, help="Z planes (default 64)")
    parser.add_argument("--channels", type=int, default=3, help="channels (default 3)")
    parser.add_argument("--data-dir", default="bench/data", help="input and scratch outputs")
    parser.add_argument("--results-dir", default="bench/results")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma list (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool, alternating")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per conversion")
    parser.add_argument(
        "--profile",
        choices=["omeconv", "omeconv-zstd5"],
        default=None,
        help="only profile one run of this tool with py-spy (writes profile.md)",
    )
    args = parser.parse_args(argv)

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tools {unknown}; choose from {list(TOOLS)}")

    data = Path(args.data_dir)
    shape = (1, args.channels, args.z, args.size, args.size)
    src = data / f"input_c{args.channels}_z{args.z}_{args.size}.ome.tif"
    print(f"input {src} {shape} ...", flush=True)
    make_tiff(src, c=args.channels, z=args.z, y=args.size, x=args.size)
    nbytes = 2 * math.prod(shape)

    _warm(src)
    import omeconv

    # Bytecode compiled as an install does: with PYTHONDONTWRITEBYTECODE a checkout would
    # recompile every omeconv module in every run (the other tools' are compiled installed).
    compileall.compile_dir(Path(omeconv.__file__).parent, quiet=1)
    if args.profile:
        out = data / f"out-profile-{os.getpid()}.ome.zarr"
        print(profile_run(args.profile, src, out, Path(args.results_dir)))
        return 0
    runs: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    for rep in range(args.repeat):
        for tool in tools:
            out = data / f"out-{tool}-{os.getpid()}.ome.zarr"  # unique: runs may overlap
            os.sync()  # no run pays for writing back what an earlier one left dirty
            row = run_one(tool, src, out, args.timeout)
            row["repeat"] = rep
            runs.append(row)
            status = row.get("error") or f"{row['wall_s']:.2f} s, {row['peak_rss_mib']:.0f} MiB"
            print(f"  [{rep + 1}/{args.repeat}] {tool}: {status}", flush=True)

    rows = summarize(runs, tools, nbytes)
    md = write_report(rows, runs, args, shape, (load_before, os.getloadavg()[0]))
    print()
    print(md)
    print(f"results written to {args.results_dir}/bench.md, bench.json, bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
