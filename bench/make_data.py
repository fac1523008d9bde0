"""Write the benchmark input: a large, tiled, uncompressed uint16 OME-TIFF (axes TCZYX).

The image is generated plane by plane and handed to tifffile tile by tile, so the whole
image is never held in memory. Usage: ``python -m bench.make_data OUT --z 64 --size 2048``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tifffile

if TYPE_CHECKING:
    from collections.abc import Iterator

TILE = 512
PIXEL_XY_UM = 0.325
PIXEL_Z_UM = 1.0
SEED = 12345


def tiff_shape(path: Path) -> tuple[int, ...] | None:
    """Shape of the first series of an existing TIFF, or None if it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes, shape = series.get_axes(False), series.get_shape(False)
    except (OSError, ValueError, IndexError, tifffile.TiffFileError):
        return None
    return tuple(n for a, n in zip(axes, shape, strict=True) if a != "S")


def _plane(rng: np.random.Generator, c: int, z: int, nz: int, y: int, x: int) -> np.ndarray:
    """One YX plane: smooth gradients + a z-dependent blob/wave pattern + noise + offset."""
    yy = np.linspace(0.0, 1.0, y, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, x, dtype=np.float32)[None, :]
    phase = 2 * np.pi * z / max(nz, 1)
    freq = 6.0 + 4.0 * c
    waves = np.sin(freq * np.pi * xx + phase) * np.cos(freq * np.pi * yy - 0.5 * phase)
    signal = 300.0 * (1.0 + c) * (xx + 0.5 * yy) + 800.0 * np.clip(waves, 0.0, None) ** 3
    noise = rng.integers(0, 64, size=(y, x), dtype=np.uint16)
    return (signal + 100.0).astype(np.uint16) + noise


def _tile_size(y: int, x: int) -> int:
    """TILE, or less for small images (TIFF tiles are multiples of 16)."""
    return min(TILE, -(-max(y, x) // 16) * 16)


def _tiles(c: int, z: int, y: int, x: int) -> Iterator[np.ndarray]:
    """Yield the image's tiles in TIFF page order (t, c, z), row-major within a page."""
    tile = _tile_size(y, x)
    rng = np.random.default_rng(SEED)
    for ci in range(c):
        for zi in range(z):
            plane = _plane(rng, ci, zi, z, y, x)
            for ty in range(0, y, tile):
                for tx in range(0, x, tile):
                    yield plane[ty : ty + tile, tx : tx + tile]


def make_tiff(path: Path | str, *, c: int = 3, z: int = 64, y: int = 2048, x: int = 2048) -> Path:
    """Write the benchmark OME-TIFF of shape (1, c, z, y, x) unless an identical one exists."""
    path = Path(path)
    shape = (1, c, z, y, x)
    if tiff_shape(path) == shape:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    tifffile.imwrite(
        tmp,
        _tiles(c, z, y, x),
        shape=shape,
        dtype=np.uint16,
        tile=(_tile_size(y, x),) * 2,
        photometric="minisblack",
        ome=True,
        bigtiff=True,
        metadata={
            "axes": "TCZYX",
            "PhysicalSizeX": PIXEL_XY_UM,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": PIXEL_XY_UM,
            "PhysicalSizeYUnit": "µm",
            "PhysicalSizeZ": PIXEL_Z_UM,
            "PhysicalSizeZUnit": "µm",
            "Channel": {"Name": [f"ch{i}" for i in range(c)]},
        },
    )
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="output .ome.tif path")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--z", type=int, default=64)
    parser.add_argument("--size", type=int, default=2048, help="Y = X size in pixels")
    args = parser.parse_args(argv)
    path = make_tiff(args.out, c=args.channels, z=args.z, y=args.size, x=args.size)
    print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
