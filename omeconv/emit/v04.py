"""OME-Zarr 0.4 layout: Zarr v2 groups, NGFF metadata at the top of ``.zattrs``."""

from __future__ import annotations

from typing import Any, Literal

from yaozarrs import v04 as NS

from omeconv.emit.ngff import NGFF_V04_KEYS, versioned
from omeconv.errors import MetadataError
from omeconv.ngff06 import is_v06

__all__ = ["NS", "VERSION", "ZARR_FORMAT", "group_attrs", "move"]

VERSION = "0.4"
ZARR_FORMAT: Literal[2] = 2


def group_attrs(doc: dict[str, Any]) -> dict[str, Any]:
    """Group attributes holding the NGFF document ``doc`` (a dumped ``yaozarrs.v04`` model)."""
    return dict(doc)


def move(attrs: dict[str, Any], from_version: str) -> dict[str, Any]:
    """Attributes ``attrs`` of a ``from_version`` group, moved to 0.4; nothing else changes.

    From 0.4 they are the same. From 0.5 the keys of ``attrs["ome"]`` go to the top level
    where ``ome`` was, in their order, and the objects 0.4 versions (each multiscale,
    ``plate``, ``well``, ``image-label``) get ``"version": "0.4"``. From 0.6 they are moved
    to 0.5 first (:func:`omeconv.emit.v05.move`).
    """
    if is_v06(from_version):
        from omeconv.emit.v05 import VERSION as V05
        from omeconv.emit.v05 import move as to_v05

        attrs, from_version = to_v05(attrs, from_version), V05
    if from_version == VERSION or "ome" not in attrs:
        return dict(attrs)
    ome = attrs["ome"]
    clash = [k for k in attrs if k in NGFF_V04_KEYS]
    if not isinstance(ome, dict) or clash:
        raise MetadataError("the 'ome' attribute cannot be laid out as OME-Zarr 0.4 attributes")
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key != "ome":
            out[key] = value
            continue
        for name, item in ome.items():
            if name != "version":
                out[name] = versioned(name, item, VERSION)
    return out
