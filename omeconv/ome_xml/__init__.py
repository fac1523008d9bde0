"""OME-XML to the intermediate model: tolerant parsing, image and plate metadata.

Units live in :mod:`omeconv.units`, shared with the other readers.
"""

from __future__ import annotations

from omeconv.ome_xml.image import ImageMetadata, image_metadata, ome_color_to_hex
from omeconv.ome_xml.parse import parse_ome_xml
from omeconv.ome_xml.plate import (
    AcquisitionMetadata,
    PlateMetadata,
    WellMetadata,
    plate_metadata,
)
from omeconv.units import length_to_nanometers, length_unit, time_unit

__all__ = [
    "AcquisitionMetadata",
    "ImageMetadata",
    "PlateMetadata",
    "WellMetadata",
    "image_metadata",
    "length_to_nanometers",
    "length_unit",
    "ome_color_to_hex",
    "parse_ome_xml",
    "plate_metadata",
    "time_unit",
]
