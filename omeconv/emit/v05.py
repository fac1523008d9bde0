"""OME-Zarr 0.5 layout: Zarr v3 groups, NGFF metadata under ``attributes["ome"]``."""

from __future__ import annotations

from typing import Any, Literal

from yaozarrs import v05 as NS

from omeconv.emit.ngff import NGFF_V04_KEYS, unversioned
from omeconv.errors import MetadataError, SourceError
from omeconv.ngff06 import is_v06

__all__ = ["NS", "VERSION", "ZARR_FORMAT", "group_attrs", "move"]

VERSION = "0.5"
ZARR_FORMAT: Literal[3] = 3


def group_attrs(doc: dict[str, Any]) -> dict[str, Any]:
    """Group attributes holding the NGFF document ``doc`` (a dumped ``yaozarrs.v05`` model)."""
    return {"ome": dict(doc)}


def move(attrs: dict[str, Any], from_version: str) -> dict[str, Any]:
    """Attributes ``attrs`` of a ``from_version`` group, moved to 0.5; nothing else changes.

    From 0.5 they are the same; from 0.6 they are :func:`omeconv.emit.v06.to_v05`'s (what
    0.5 cannot say is refused as a :class:`SourceError`, which names the source). From 0.4
    the NGFF keys go, in their order, into one ``ome`` object that starts with
    ``"version": "0.5"`` and stands where the first NGFF key stood;
    the per-object ``version`` keys (each multiscale's, ``plate``'s, ``well``'s,
    ``image-label``'s, a top-level one) are dropped. Values keep their JSON types; every
    other key stays at the top level as it is. A group without NGFF keys is unchanged.
    """
    if is_v06(from_version):
        from omeconv.ngff06.moves import to_v05

        if not isinstance(attrs.get("ome"), dict):
            return dict(attrs)
        try:
            return to_v05(attrs)
        except MetadataError as exc:
            raise SourceError(f"OME-Zarr {from_version}: {exc.message}") from exc
    if from_version == VERSION or not any(k in NGFF_V04_KEYS for k in attrs):
        return dict(attrs)
    if "ome" in attrs:
        raise MetadataError("holds both an 'ome' attribute and OME-Zarr 0.4 metadata")
    ome: dict[str, Any] = {"version": VERSION}
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key not in NGFF_V04_KEYS:
            out[key] = value
            continue
        out.setdefault("ome", ome)
        if key != "version":
            ome[key] = unversioned(key, value)
    return out
