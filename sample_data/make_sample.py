"""Generate ``cells_3ch_z16.ome.tif``: a small synthetic 3-channel 3-D fluorescence image.

Channels: DAPI-like nuclei (gaussian blobs), GFP-like membranes (shells around the nuclei)
and mCherry-like puncta (small spots), with Poisson shot noise, read noise and a camera offset.
Axes CZYX, uint16, 3 x 16 x 256 x 256, tiled 128 x 128, zlib compressed.

Run from anywhere: ``python sample_data/make_sample.py [OUT]``.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import numpy as np
import tifffile

SHAPE_ZYX = (16, 256, 256)
PIXEL_XY_UM = 0.325
PIXEL_Z_UM = 1.0
CAMERA_OFFSET = 100
READ_NOISE = 2.0
SEED = 20240611
DEFAULT_OUT = Path(__file__).with_name("cells_3ch_z16.ome.tif")


def _rgba(r: int, g: int, b: int, a: int = 255) -> int:
    """Pack RGBA into the signed 32-bit integer used by OME ``Channel/@Color``."""
    value = (r << 24) | (g << 16) | (b << 8) | a
    return value - (1 << 32) if value >= (1 << 31) else value


CHANNEL_NAMES = ["DAPI", "GFP", "mCherry"]
CHANNEL_COLORS = [_rgba(0, 0, 255), _rgba(0, 255, 0), _rgba(255, 0, 255)]


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Physical (µm) coordinates of the voxel grid, broadcastable to ZYX."""
    nz, ny, nx = SHAPE_ZYX
    z = (np.arange(nz) * PIXEL_Z_UM)[:, None, None]
    y = (np.arange(ny) * PIXEL_XY_UM)[None, :, None]
    x = (np.arange(nx) * PIXEL_XY_UM)[None, None, :]
    return z, y, x


def make_image(seed: int = SEED) -> np.ndarray:
    """Return the CZYX uint16 image (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = SHAPE_ZYX
    z, y, x = _grid()
    extent_z, extent_y, extent_x = nz * PIXEL_Z_UM, ny * PIXEL_XY_UM, nx * PIXEL_XY_UM

    nuclei = np.zeros(SHAPE_ZYX, np.float32)
    membrane = np.zeros(SHAPE_ZYX, np.float32)
    spots = np.zeros(SHAPE_ZYX, np.float32)

    # Cells: an anisotropic gaussian nucleus plus a thin shell (membrane) around it.
    n_cells = 22
    centers = np.column_stack(
        [
            rng.uniform(0.3, 0.7, n_cells) * extent_z,
            rng.uniform(0.05, 0.95, n_cells) * extent_y,
            rng.uniform(0.05, 0.95, n_cells) * extent_x,
        ]
    )
    for cz, cy, cx in centers:
        sy, sx = rng.uniform(3.0, 5.0, 2)
        sz = rng.uniform(2.5, 3.5)
        brightness = rng.uniform(0.6, 1.0)
        # Normalised ellipsoidal radius.
        r = np.sqrt(((z - cz) / sz) ** 2 + ((y - cy) / sy) ** 2 + ((x - cx) / sx) ** 2)
        nuclei += brightness * np.exp(-0.5 * r**4)  # flat-topped blob
        cell_r = rng.uniform(1.8, 2.3)  # cell radius in units of the nucleus size
        membrane += rng.uniform(0.5, 1.0) * np.exp(-0.5 * ((r - cell_r) / 0.12) ** 2)

    # Texture the nuclei (chromatin-like) with smooth low-frequency modulation.
    texture = np.zeros(SHAPE_ZYX, np.float32)
    for _ in range(12):
        kz, ky, kx = rng.normal(scale=(0.4, 1.2, 1.2))
        texture += np.cos(kz * z + ky * y + kx * x + rng.uniform(0, 2 * np.pi))
    nuclei *= 1.0 + 0.08 * texture

    # Puncta: small, near-diffraction-limited spots, mostly inside cells.
    n_spots = 300
    spot_cells = centers[rng.integers(0, n_cells, n_spots)]
    offsets = rng.normal(scale=(1.5, 4.0, 4.0), size=(n_spots, 3))
    for (cz, cy, cx), amp in zip(spot_cells + offsets, rng.uniform(0.4, 1.0, n_spots), strict=True):
        iz = round(cz / PIXEL_Z_UM)
        iy, ix = round(cy / PIXEL_XY_UM), round(cx / PIXEL_XY_UM)
        z0, z1 = max(iz - 2, 0), min(iz + 3, nz)
        y0, y1 = max(iy - 5, 0), min(iy + 6, ny)
        x0, x1 = max(ix - 5, 0), min(ix + 6, nx)
        if z0 >= z1 or y0 >= y1 or x0 >= x1:
            continue
        d2z = ((z[z0:z1] - cz) / 0.7) ** 2
        d2y = ((y[:, y0:y1] - cy) / 0.35) ** 2
        d2x = ((x[:, :, x0:x1] - cx) / 0.35) ** 2
        spots[z0:z1, y0:y1, x0:x1] += amp * np.exp(-0.5 * (d2z + d2y + d2x))

    # Expected photon counts: signal + autofluorescence background that varies smoothly.
    background = 1.0 + 0.5 * np.sin(y / extent_y * np.pi) * np.cos(x / extent_x * np.pi / 2)
    photons = [
        1500.0 * nuclei + 6.0 * background,
        600.0 * membrane + 200.0 * nuclei * 0.05 + 8.0 * background,
        900.0 * spots + 4.0 * background,
    ]

    image = np.empty((3, *SHAPE_ZYX), np.uint16)
    for c, expected in enumerate(photons):
        counts = rng.poisson(np.clip(expected, 0, None)).astype(np.float32)
        counts += rng.normal(scale=READ_NOISE, size=counts.shape).astype(np.float32)
        image[c] = np.clip(np.rint(counts + CAMERA_OFFSET), 0, 65535).astype(np.uint16)
    return image


def write_sample(out: Path = DEFAULT_OUT) -> Path:
    """Write the sample OME-TIFF to ``out`` and return the path."""
    image = make_image()
    metadata = {
        "axes": "CZYX",
        "Name": "cells",
        "UUID": f"urn:uuid:{uuid.UUID(int=SEED)}",  # fixed, so the file is byte-reproducible
        "PhysicalSizeX": PIXEL_XY_UM,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": PIXEL_XY_UM,
        "PhysicalSizeYUnit": "µm",
        "PhysicalSizeZ": PIXEL_Z_UM,
        "PhysicalSizeZUnit": "µm",
        "Channel": {"Name": CHANNEL_NAMES, "Color": CHANNEL_COLORS},
    }
    tifffile.imwrite(
        out,
        image,
        ome=True,
        photometric="minisblack",
        tile=(128, 128),
        compression="zlib",
        compressionargs={"level": 9},
        predictor=True,
        metadata=metadata,
    )
    return out


if __name__ == "__main__":
    path = write_sample(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
