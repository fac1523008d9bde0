"""An OME-XML plate of a TIFF file as a plate collection of its images."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from omeconv.errors import OmeconvWarning
from omeconv.model import Collection

if TYPE_CHECKING:
    from pathlib import Path

    from omeconv.model import Image

__all__ = ["plate_collection"]


def plate_collection(
    ome: Any,
    ome_xml: str | None,
    images: tuple[Image, ...],
    indices: list[int | None],
    path: Path,
) -> Collection | None:
    """The first OME Plate as a plate collection; None when its wells refer to no image here."""
    from omeconv.model import Plate, PlateAcquisition, Well, WellField
    from omeconv.ome_xml import plate_metadata

    plates = plate_metadata(ome)
    if len(plates) > 1:
        warnings.warn(
            f"{path}: OME-XML has {len(plates)} plates; converting the first, {plates[0].name!r}",
            OmeconvWarning,
            stacklevel=3,
        )
    meta = plates[0]
    by_index = {idx: img for idx, img in zip(indices, images, strict=True) if idx is not None}
    wells = []
    paths: list[str] = []
    used: list[Image] = []
    for w in meta.wells:
        fields: list[WellField] = []
        for sample_index, acquisition in w.samples:
            image = by_index.get(sample_index)
            if image is None:
                continue
            field_path = str(len(fields))
            fields.append(WellField(path=field_path, image=image, acquisition=acquisition))
            paths.append(f"{meta.rows[w.row]}/{meta.columns[w.column]}/{field_path}")
            used.append(image)
        if fields:
            row, column = meta.rows[w.row], meta.columns[w.column]
            wells.append(Well(row=row, column=column, fields=tuple(fields)))
    if not wells:
        warnings.warn(
            f"{path}: the plate's wells refer to no image in this file; writing the images only",
            OmeconvWarning,
            stacklevel=3,
        )
        return None
    if len(used) < len(images):
        warnings.warn(
            f"{path}: {len(images) - len(used)} images are in no well and are left out of the plate",
            OmeconvWarning,
            stacklevel=3,
        )
    acquisitions = tuple(
        PlateAcquisition(
            id=a.id,
            name=a.name,
            description=a.description,
            maximumfieldcount=a.maximum_field_count,
            starttime=a.start_time,
            endtime=a.end_time,
        )
        for a in meta.acquisitions
    )
    plate = Plate(
        name=meta.name,
        rows=meta.rows,
        columns=meta.columns,
        wells=tuple(wells),
        acquisitions=acquisitions,
        field_count=meta.field_count,
    )
    return Collection(
        images=tuple(used),
        plate=plate,
        ome=ome,
        ome_xml=ome_xml,
        layout="plate",
        image_paths=tuple(paths),
    )
