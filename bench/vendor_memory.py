"""Peak memory of vendor-file conversions with small chunks: does it stay flat?

Converts the largest vendor file of the corpus, the NDPI and the largest file read by a
vendor adapter other than the TIFF one, each in a fresh subprocess with small output chunks
(``--chunks y=128,x=128`` by default), and reports the subprocess' peak resident set size
(``ru_maxrss``) after its imports and at the end, next to the input's size and the
decoded size of its pixels (every image's level 0). Run ``python -m bench.vendor_memory``
(``--corpus`` where the corpus is not ``../shared/corpus``); results go to
``bench/results/vendor_memory.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["main", "measure", "pick_files"]

RESULTS = Path(__file__).parent / "results" / "vendor_memory.md"
CORPUS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus").resolve()
MIB = 2**20


def pick_files(corpus: Path) -> list[Path]:
    """The largest vendor file, the largest NDPI and the largest non-TIFF vendor file."""
    from omeconv.converters import guess_converter
    from omeconv.errors import OmeconvError

    files = sorted(
        (p for p in (corpus / "vendor").rglob("*") if p.is_file() and p.suffix != ".md"),
        key=lambda p: p.stat().st_size,
        reverse=True,
    )
    picked: list[Path] = []

    def first(test: Callable[[Path, str], bool]) -> None:
        for p in files:
            try:
                name = guess_converter(p).name
            except OmeconvError:
                continue
            if test(p, name) and p not in picked:
                picked.append(p)
                return

    first(lambda p, name: True)
    first(lambda p, name: p.suffix.lower() == ".ndpi")
    first(lambda p, name: name not in ("tiff", "ndtiff"))
    return picked


def _child(source: str, out: str, chunks: str) -> None:
    """In the subprocess: import, convert, print the cost as one JSON line."""
    import resource

    from omeconv.api import convert, open_source

    chunk_map = {k: int(v) for k, v in (item.split("=") for item in chunks.split(","))}
    collection = open_source(source)
    decoded = sum(im.data.nbytes for im in collection.images)
    ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    convert(source, out, chunks=chunk_map, workers=2)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"decoded": decoded, "ready_kib": ready, "peak_kib": peak, "wall_s": wall}))


def measure(source: Path, chunks: str) -> dict[str, float]:
    """Convert ``source`` in a fresh subprocess; its size, decoded size, RSS and time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.ome.zarr"
        code = "from bench.vendor_memory import _child; import sys; _child(*sys.argv[1:])"
        done = subprocess.run(
            [sys.executable, "-c", code, str(source), str(out), chunks],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        )
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "input_mib": source.stat().st_size / MIB,
        "decoded_mib": row["decoded"] / MIB,
        "ready_mib": row["ready_kib"] / 1024,
        "peak_mib": row["peak_kib"] / 1024,
        "wall_s": row["wall_s"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--chunks", default="y=128,x=128")
    args = parser.parse_args(argv)
    lines = [
        "# Vendor files: peak memory with small chunks",
        "",
        (
            f"Each file converted in a fresh process (`convert(..., chunks={{{args.chunks}}},"
            " workers=2)`, OME-Zarr 0.5). **after imports**: peak RSS once omeconv, the reader"
            " and the file are open; **peak**: at the end; **decoded**: level-0 pixels of every"
            " image."
        ),
        "",
        "| file | input MiB | decoded MiB | after imports MiB | peak MiB | peak - imports MiB | s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for source in pick_files(args.corpus):
        r = measure(source, args.chunks)
        lines.append(
            f"| {source.parent.name}/{source.name} | {r['input_mib']:.1f} | {r['decoded_mib']:.1f}"
            f" | {r['ready_mib']:.0f} | {r['peak_mib']:.0f} | {r['peak_mib'] - r['ready_mib']:.0f}"
            f" | {r['wall_s']:.1f} |"
        )
        print(lines[-1], flush=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
