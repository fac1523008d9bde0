"""What the OME-XML says about plates: rows, columns, wells, fields and acquisitions."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from omeconv.errors import OmeconvWarning
from omeconv.units import unit_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    import ome_types
    from ome_types import model as ome_model

__all__ = ["AcquisitionMetadata", "PlateMetadata", "WellMetadata", "plate_metadata"]


@dataclass(frozen=True)
class AcquisitionMetadata:
    """One OME PlateAcquisition; times are milliseconds since the epoch (UTC if naive)."""

    id: int
    name: str | None = None
    description: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    maximum_field_count: int | None = None
    ome_id: str | None = None


@dataclass(frozen=True)
class WellMetadata:
    """One OME Well: 0-based row and column indices and its fields.

    ``samples`` has one ``(image index, acquisition id or None)`` pair per WellSample
    (in document order), the image index being the position in ``ome.images``.
    """

    row: int
    column: int
    samples: tuple[tuple[int, int | None], ...]
    ome_id: str | None = None


@dataclass(frozen=True)
class PlateMetadata:
    """One OME Plate: row and column names, wells present, acquisitions."""

    name: str | None
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[WellMetadata, ...]
    acquisitions: tuple[AcquisitionMetadata, ...] = ()
    field_count: int | None = None
    """Largest number of fields in a well."""
    description: str | None = None
    ome_id: str | None = None


def _letters(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


def _names(n: int, convention: ome_model.NamingConvention | None, default: str) -> tuple[str, ...]:
    kind = default if convention is None else unit_text(convention).lower()
    if kind == "letter":
        return tuple(_letters(i) for i in range(n))
    return tuple(str(i + 1) for i in range(n))


def _epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def _acquisition_ids(acqs: Iterable[ome_model.PlateAcquisition]) -> list[int]:
    """Integer ids: the number ending each OME ID when those are unique, else positions."""
    acqs = list(acqs)
    ids: list[int] = []
    for acq in acqs:
        match = re.search(r"(\d+)$", acq.id)
        if match is None:
            break
        ids.append(int(match.group(1)))
    if len(ids) == len(acqs) and len(set(ids)) == len(ids):
        return ids
    return list(range(len(acqs)))


def plate_metadata(ome: ome_types.OME) -> list[PlateMetadata]:
    """One :class:`PlateMetadata` per OME Plate, in document order.

    Rows are named by the plate's RowNamingConvention (letters by default), columns by its
    ColumnNamingConvention (numbers by default); there are as many as the Rows/Columns
    attributes say, or as the wells need. WellSamples whose ImageRef is missing or points
    to no image are skipped with an ``OmeconvWarning``.
    """
    image_index = {img.id: i for i, img in enumerate(ome.images)}
    plates = []
    for plate in ome.plates:
        acq_ids = _acquisition_ids(plate.plate_acquisitions)
        acquisitions = tuple(
            AcquisitionMetadata(
                id=acq_id,
                name=acq.name,
                description=acq.description,
                start_time=_epoch_ms(acq.start_time),
                end_time=_epoch_ms(acq.end_time),
                maximum_field_count=acq.maximum_field_count,
                ome_id=acq.id,
            )
            for acq, acq_id in zip(plate.plate_acquisitions, acq_ids, strict=True)
        )
        sample_acq = {
            ref.id: acq_id
            for acq, acq_id in zip(plate.plate_acquisitions, acq_ids, strict=True)
            for ref in acq.well_sample_refs
        }
        wells = []
        for well in plate.wells:
            samples: list[tuple[int, int | None]] = []
            for ws in well.well_samples:
                ref = ws.image_ref.id if ws.image_ref is not None else None
                if ref not in image_index:
                    warnings.warn(
                        f"plate {plate.id}: well sample {ws.id} refers to no image ({ref});"
                        " skipped",
                        OmeconvWarning,
                        stacklevel=2,
                    )
                    continue
                samples.append((image_index[ref], sample_acq.get(ws.id)))
            wells.append(WellMetadata(well.row, well.column, tuple(samples), ome_id=well.id))
        n_rows = max([plate.rows or 0, *(w.row + 1 for w in wells)])
        n_cols = max([plate.columns or 0, *(w.column + 1 for w in wells)])
        plates.append(
            PlateMetadata(
                name=plate.name,
                rows=_names(n_rows, plate.row_naming_convention, "letter"),
                columns=_names(n_cols, plate.column_naming_convention, "number"),
                wells=tuple(wells),
                acquisitions=acquisitions,
                field_count=max((len(w.samples) for w in wells), default=None),
                description=plate.description,
                ome_id=plate.id,
            )
        )
    return plates
