"""Upgrade benchmark: a ~1 GB OME-Zarr 0.4 store upgraded by copy and in place.

The copy is timed against ``shutil.copytree`` of the same store in the same run. The store
is written with zarr-python directly (not omeconv). Run ``python -m bench.upgrade``;
results go to ``bench/results/upgrade.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

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


def _timed(fn: object, *args: object, **kwargs: object) -> float:
    """Seconds ``fn`` takes, started with no dirty pages: an fsync must not flush earlier runs."""
    os.sync()
    start = time.perf_counter()
    fn(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write ``bench/results/upgrade.md``."""
    from omeconv.upgrade import upgrade

    parser = argparse.ArgumentParser(prog="python -m bench.upgrade", description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0, help="store size (default 1 GiB)")
    parser.add_argument("--workdir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        source = root / "v04.zarr"
        nbytes = make_store(source, gib=args.gib)
        mb = nbytes / 1e6
        # Alternate and take the best of two for both, as for any copy: the first run of
        # each also pays for the page cache, and the first upgrade for its lazy imports.
        t_plain = _timed(shutil.copytree, source, root / "plain-copy.zarr")
        t_cold = _timed(upgrade, source, root / "v05.zarr")
        t_plain = min(t_plain, _timed(shutil.copytree, source, root / "plain-copy-2.zarr"))
        t_copy = min(t_cold, _timed(upgrade, source, root / "v05-2.zarr"))
        t_inplace = _timed(upgrade, source, in_place=True)
    rows = [
        ("plain copy (shutil.copytree, best of 2)", t_plain, mb / t_plain),
        ("omeconv upgrade (copy mode, best of 2)", t_copy, mb / t_copy),
        ("omeconv upgrade (copy mode, first run: imports included)", t_cold, mb / t_cold),
        ("omeconv upgrade --in-place", t_inplace, float("nan")),
    ]
    table = ["| run | seconds | MB/s |", "|---|---:|---:|"]
    table += [
        f"| {name} | {secs:.2f} | {'-' if math.isnan(rate) else f'{rate:.0f}'} |"
        for name, secs, rate in rows
    ]
    ratio = t_plain / t_copy
    text = (
        f"# Upgrade benchmark\n\nStore: {mb:.0f} MB OME-Zarr 0.4 (czyx uint16, 3 levels, "
        f"512x512 Blosc-lz4 chunks).\n\n" + "\n".join(table) + "\n\n"
        f"Copy mode reaches {ratio:.0%} of plain-copy speed (target >= 80%); "
        f"in place takes {t_inplace:.2f} s (target < 2 s).\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
