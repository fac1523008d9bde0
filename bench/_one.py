"""Run ONE conversion in this (fresh) process and print a JSON line with its cost.

Usage: ``python -m bench._one TOOL IN OUT``. The printed JSON has ``wall_s`` (conversion time,
including the tool's own imports or CLI start-up), ``peak_rss_mib`` (this process's peak
resident set size, or that of the CLI child process for the ``omeconv*`` tools) and ``cpu_s``
(user + system CPU seconds of that same process, every thread).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import dask.array

# Every tool writes level 0 with these chunks and this codec, so they compare like for like.
CHUNKS = (1, 1, 8, 512, 512)
BLOSC = {"cname": "zstd", "clevel": 5, "shuffle": "shuffle"}
SCALE_FACTORS = [2, 4, 8]  # 4 levels, downsampling Y and X only (Z is already coarse)


def _blosc() -> Any:
    from zarr.codecs import BloscCodec

    return BloscCodec(**BLOSC)


def open_input(path: str) -> tuple[dask.array.Array, dict[str, float]]:
    """Open the TIFF lazily as a TCZYX dask array (rechunked to CHUNKS) and its voxel size."""
    import dask.array as da
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes = series.axes
        scale = _ome_scale(tif.ome_metadata) if tif.ome_metadata else dict.fromkeys("zyx", 1.0)
    arr = da.from_zarr(tifffile.imread(path, aszarr=True))
    for i, ax in enumerate("TCZYX"):
        if ax not in axes:
            arr = da.expand_dims(arr, i)
            axes = axes[:i] + ax + axes[i:]
    if axes != "TCZYX":
        raise ValueError(f"unsupported TIFF axes {series.axes!r}")
    chunks = tuple(min(c, n) for c, n in zip(CHUNKS, arr.shape, strict=True))
    return arr.rechunk(chunks), scale


def _ome_scale(xml: str) -> dict[str, float]:
    """Physical voxel size (z, y, x) from OME-XML."""
    import re

    def get(name: str) -> float:
        match = re.search(rf'PhysicalSize{name}="([^"]+)"', xml)
        return float(match.group(1)) if match else 1.0

    return {"z": get("Z"), "y": get("Y"), "x": get("X")}


def _omeconv(src: str, dst: str, *extra: str) -> None:
    exe = Path(sys.executable).with_name("omeconv")
    cmd = str(exe) if exe.exists() else shutil.which("omeconv")
    if cmd is None:
        raise FileNotFoundError("omeconv executable not found")
    proc = subprocess.run(
        [cmd, "-q", "tiff2zarr", src, dst, "--overwrite", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or f"exit status {proc.returncode}").strip()
        raise RuntimeError(f"omeconv exited {proc.returncode}: {lines.splitlines()[-1]}")


def run_omeconv(src: str, dst: str) -> None:
    """``omeconv -q tiff2zarr IN OUT --overwrite``: the CLI with its defaults (OME-Zarr 0.5)."""
    _omeconv(src, dst)


def run_omeconv_zstd5(src: str, dst: str) -> None:
    """``--compression zstd --clevel 5``: the codec the other tools are given (same settings)."""
    _omeconv(src, dst, "--compression", "zstd", "--clevel", "5")


def run_omeconv_v04(src: str, dst: str) -> None:
    """``omeconv tiff2zarr --ome-version 0.4``."""
    _omeconv(src, dst, "--ome-version", "0.4")


def run_ngff_zarr(src: str, dst: str) -> None:
    """ngff-zarr: to_ngff_image -> to_multiscales -> to_ngff_zarr (default version and method)."""
    import ngff_zarr as nz

    arr, scale = open_input(src)
    image = nz.to_ngff_image(
        arr,
        dims=["t", "c", "z", "y", "x"],
        scale=scale,
        axes_units=dict.fromkeys("zyx", "micrometer"),
    )
    factors = [{"z": 1, "y": f, "x": f} for f in SCALE_FACTORS]  # plain ints would also halve Z
    multiscales = nz.to_multiscales(image, scale_factors=factors, chunks=CHUNKS)
    nz.to_ngff_zarr(dst, multiscales, compressors=[_blosc()])


def run_ome_zarr_py(src: str, dst: str) -> None:
    """ome-zarr-py: ome_zarr.writer.write_image into a fresh zarr group (default format)."""
    import zarr
    from ome_zarr.writer import write_image

    arr, scale = open_input(src)
    group = zarr.open_group(dst, mode="w")
    write_image(
        arr,
        group,
        scale_factors=SCALE_FACTORS,
        axes="tczyx",
        scale={"t": 1.0, "c": 1.0, **scale},
        axes_units=dict.fromkeys("zyx", "micrometer"),
        storage_options={"compressors": [_blosc()]},  # chunks follow the dask chunks
    )


def run_baseline(src: str, dst: str) -> None:
    """Level 0 only: tifffile -> dask -> one zarr v3 array (Blosc zstd 5), threaded scheduler."""
    import dask.array as da
    import zarr

    arr, _ = open_input(src)
    out = zarr.create_array(
        dst,
        shape=arr.shape,
        chunks=arr.chunksize,
        dtype=arr.dtype,
        compressors=[_blosc()],
        dimension_names=list("tczyx"),
        zarr_format=3,
        overwrite=True,
    )
    da.store(arr, out, lock=False, scheduler="threads")


TOOLS: dict[str, Callable[[str, str], None]] = {
    "omeconv": run_omeconv,
    "omeconv-zstd5": run_omeconv_zstd5,
    "omeconv-v04": run_omeconv_v04,
    "ngff-zarr": run_ngff_zarr,
    "ome-zarr-py": run_ome_zarr_py,
    "baseline": run_baseline,
}


def main(argv: list[str] | None = None) -> int:
    """Run the tool, print ``{"wall_s": ..., "peak_rss_mib": ..., "cpu_s": ...}``."""
    tool, src, dst = argv if argv is not None else sys.argv[1:]
    start = time.perf_counter()
    TOOLS[tool](src, dst)
    wall = time.perf_counter() - start
    who = resource.RUSAGE_CHILDREN if tool.startswith("omeconv") else resource.RUSAGE_SELF
    usage = resource.getrusage(who)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "cpu_s": cpu}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
