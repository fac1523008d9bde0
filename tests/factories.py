"""Small generated inputs written with tifffile and numpy directly (never with omeconv)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import tifffile

if TYPE_CHECKING:
    from pathlib import Path


def random_array(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    """Random pixels covering the dtype's range (bool, integers) or 0-1000 (floats)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) > 0.5
    if dt.kind == "f":
        return (rng.random(shape) * 1000).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)


def make_pyramid_tiff(
    path: Path, levels: list[np.ndarray], *, axes: str = "YX", tile: tuple[int, int] = (16, 16)
) -> Path:
    """An OME-TIFF whose reduced levels are SubIFDs of the first page (``levels`` as given)."""
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(levels[0], subifds=len(levels) - 1, tile=tile, metadata={"axes": axes})
        for lv in levels[1:]:
            tif.write(lv, subfiletype=1, tile=tile)
    return path


def _image_xml(index: int, name: str, shape: tuple[int, int, int], ifd: int) -> str:
    c, y, x = shape
    channels = "".join(f'<Channel ID="Channel:{index}:{k}" SamplesPerPixel="1"/>' for k in range(c))
    return (
        f'<Image ID="Image:{index}" Name="{name}">'
        f'<Pixels ID="Pixels:{index}" DimensionOrder="XYCZT" Type="uint16" SizeX="{x}" '
        f'SizeY="{y}" SizeC="{c}" SizeZ="1" SizeT="1" PhysicalSizeX="0.65" '
        f'PhysicalSizeY="0.65">{channels}'
        f'<TiffData IFD="{ifd}" PlaneCount="{c}"/></Pixels></Image>'
    )


def make_plate_ome_tiff(
    path: Path,
    wells: dict[tuple[int, int], int],
    *,
    shape: tuple[int, int, int] = (2, 12, 14),
    rows: int = 2,
    columns: int = 3,
) -> list[np.ndarray]:
    """An OME-TIFF holding a Plate: ``{(row, column): number of fields}``, 0-based.

    Returns the images (CYX uint16) in OME Image order; well samples refer to them in
    row-major well order, fields in order.
    """
    images: list[np.ndarray] = []
    well_xml = []
    image_xml = []
    for w, ((r, c), nfields) in enumerate(sorted(wells.items())):
        samples = []
        for f in range(nfields):
            i = len(images)
            images.append(random_array(shape, "uint16", seed=i))
            samples.append(
                f'<WellSample ID="WellSample:{w}:{f}" Index="{i}"><ImageRef ID="Image:{i}"/>'
                "</WellSample>"
            )
            image_xml.append(_image_xml(i, f"well{r}{c}_field{f}", shape, i * shape[0]))
        well_xml.append(f'<Well ID="Well:{w}" Row="{r}" Column="{c}">{"".join(samples)}</Well>')
    acq_refs = "".join(
        f'<WellSampleRef ID="WellSample:{w}:{f}"/>'
        for w, (_, n) in enumerate(sorted(wells.items()))
        for f in range(n)
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        f'<Plate ID="Plate:0" Name="test plate" Rows="{rows}" Columns="{columns}" '
        'RowNamingConvention="letter" ColumnNamingConvention="number">'
        f"{''.join(well_xml)}"
        f'<PlateAcquisition ID="PlateAcquisition:0" Name="run 1">{acq_refs}</PlateAcquisition>'
        f"</Plate>{''.join(image_xml)}</OME>"
    )
    with tifffile.TiffWriter(path, ome=False) as tif:
        for k, plane in enumerate(p for img in images for p in img):
            tif.write(plane, description=xml if k == 0 else None, metadata=None)
    return images


def group_attrs(path: Path) -> dict[str, Any]:
    """The NGFF attributes of a group, v0.4 (``.zattrs``) or v0.5 (``zarr.json``)."""
    if (path / "zarr.json").exists():
        attrs: dict[str, Any] = json.loads((path / "zarr.json").read_text())["attributes"]
        return attrs.get("ome", attrs)
    return json.loads((path / ".zattrs").read_text())  # type: ignore[no-any-return]


def read_level(path: Path) -> np.ndarray:
    """The pixels of one array of a store, whatever the zarr format."""
    import zarr

    return np.asarray(zarr.open_array(str(path), mode="r")[...])
