"""Nikon ND2 files as a source, read with `nd2 <https://github.com/tlambert03/nd2>`_.

nd2 maps each frame lazily (a dask array, one chunk per frame) and describes the file as
OME-XML (``ome_metadata()``), which is kept in ``OME/METADATA.ome.xml`` and mapped to axes,
physical sizes, time increment, channel names, colours and wavelengths like an OME-TIFF's.
Positions (``P``) become a bioformats2raw collection, one image per position, placed at
its stage position (the multipoint loop's point, an NGFF translation in micrometers).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.converters._vendor import (
    Reopened,
    check_file,
    damaged,
    guarded,
    head,
    make_image,
    require,
    series_indices,
)
from omeconv.errors import MetadataError
from omeconv.model import Collection, Image

if TYPE_CHECKING:
    from collections.abc import Sequence

    import dask.array as da

__all__ = ["Nd2Converter", "stage_positions"]

#: Modern ND2 files start with the chunk magic 0x0ABECEDA (little-endian).
_MAGIC = b"\xda\xce\xbe\x0a"
#: Legacy (JPEG 2000) ND2 files start with a JP2 signature box.
_LEGACY = b"\x00\x00\x00\x0cjP  "


class Nd2Converter:
    """Nikon NIS-Elements ND2 files (nd2)."""

    name: ClassVar[str] = "nd2"
    description: ClassVar[str] = "Nikon ND2 (nd2)"
    suffixes: ClassVar[tuple[str, ...]] = (".nd2",)

    def guess_can_open(self, source: Any) -> bool:
        magic = head(source, 12)
        if magic.startswith(_MAGIC):
            return True
        return magic.startswith(_LEGACY) and str(source).lower().endswith(".nd2")

    def open(self, source: Any, *, series: int | None = None) -> Collection:
        """Read ``source`` lazily: every position (a collection) or the one numbered ``series``."""
        nd2 = require("nd2", "nd2", "ND2", source)
        path = Path(source)
        check_file(path, "ND2")
        with damaged(path, "not a readable ND2 file"):
            f = nd2.ND2File(path)
        try:
            with damaged(path, "cannot read the ND2 file"):
                return _open(f, path, series)
        finally:
            f.close()  # the image's reader reopens the file at its first read


def _open(f: Any, path: Path, series: int | None) -> Collection:
    from omeconv.ome_xml import parse_ome_xml

    sizes = dict(f.sizes)
    lazy = f.to_dask()
    reader = Reopened(path, _open_data, lazy.shape, lazy.dtype)
    data = guarded(reader, path, "ND2", lazy.chunks)
    letters = "".join(sizes)
    ome_xml = f.ome_metadata().to_xml()
    ome = parse_ome_xml(ome_xml, path=str(path))
    positions = sizes.get("P", 1)
    if positions > 1 and len(ome.images) != positions:
        raise MetadataError(
            f"the OME-XML describes {len(ome.images)} images for {positions} positions", path=path
        )
    stage = stage_positions(f.experiment) if "P" in letters else []
    images = []
    for p in series_indices(positions, series, path, noun="positions"):
        if "P" in letters:
            index = letters.index("P")
            plane = data[(slice(None),) * index + (p,)]
            rest = letters.replace("P", "")
        else:
            plane, rest = data, letters
        where = stage[p] if len(stage) == positions else None
        images.append(_image(ome, p, plane, rest, path, where))
    if len(images) > 1:
        return Collection(images=tuple(images), ome=ome, ome_xml=ome_xml, layout="bioformats2raw")
    return Collection(images=tuple(images), ome=ome, ome_xml=ome_xml)


def stage_positions(experiment: Sequence[Any]) -> list[dict[str, float]]:
    """The X and Y stage position (micrometers) of each point of the multipoint loop
    (``XYPosLoop``), as nd2 reads them; empty without such a loop."""
    for loop in experiment:
        if getattr(loop, "type", None) == "XYPosLoop":
            return [
                {"x": float(point.stagePositionUm.x), "y": float(point.stagePositionUm.y)}
                for point in loop.parameters.points
            ]
    return []


def _image(
    ome: Any,
    index: int,
    data: da.Array,
    letters: str,
    path: Path,
    stage: dict[str, float] | None,
) -> Image:
    """One position: its pixels with the OME image's sizes and channels, placed at its stage
    position when the x/y pixel sizes are in micrometers too."""
    from omeconv.ome_xml import image_metadata

    meta = image_metadata(ome, index, letters, shape=data.shape)
    sizes = {
        a.name: (s, a.unit)
        for a, s in zip(meta.axes, meta.scale, strict=True)
        if a.unit is not None
    }
    placed = stage is not None and all(sizes.get(a, (0, ""))[1] == "micrometer" for a in "xy")
    return make_image(
        meta.name,
        data,
        letters,
        path,
        sizes=sizes,
        channels=meta.channels,
        translation=stage if placed else None,
    )


def _open_data(path: Path) -> tuple[Any, Any]:
    import nd2

    f = nd2.ND2File(path)
    return f, f.to_dask()
