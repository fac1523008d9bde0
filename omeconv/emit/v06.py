"""OME-Zarr 0.6 layout: Zarr v3 groups as in 0.5, the metadata moved by RFC-5.

0.6 metadata is derived as 0.5 and moved (:mod:`omeconv.ngff06.moves` says how), so a
version is a layout, not a second writer.
"""

from __future__ import annotations

from typing import Any, Literal

from yaozarrs import v05 as NS

from omeconv.emit.v05 import group_attrs as v05_group_attrs
from omeconv.emit.v05 import move as move_to_v05
from omeconv.ngff06 import VERSION, is_v06
from omeconv.ngff06.moves import from_v05, to_v05

__all__ = ["NS", "VERSION", "ZARR_FORMAT", "from_v05", "group_attrs", "move", "to_v05"]

ZARR_FORMAT: Literal[3] = 3

JSON = dict[str, Any]


def group_attrs(doc: JSON) -> JSON:
    """Group attributes holding the NGFF document ``doc`` (a dumped ``yaozarrs.v05`` model:
    0.6 metadata is derived as 0.5, then moved)."""
    return from_v05(v05_group_attrs(doc))


def move(attrs: JSON, from_version: str) -> JSON:
    """Attributes ``attrs`` of a ``from_version`` group, moved to 0.6; nothing else changes.

    From 0.6 they are the same; from 0.5 they are :func:`from_v05`'s; from 0.4 they are
    moved to 0.5 first (:func:`omeconv.emit.v05.move`). A group without an ``ome`` object
    (no NGFF metadata) is unchanged.
    """
    if is_v06(from_version):
        return dict(attrs)
    attrs = move_to_v05(attrs, from_version)
    return from_v05(attrs) if isinstance(attrs.get("ome"), dict) else attrs
