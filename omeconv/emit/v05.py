"""OME-Zarr 0.5 layout: Zarr v3 groups, NGFF metadata under ``attributes["ome"]``."""

from __future__ import annotations

from typing import Any, Literal

from yaozarrs import v05 as NS

from omeconv.emit.ngff import dump

__all__ = ["NS", "VERSION", "ZARR_FORMAT", "group_attrs"]

VERSION = "0.5"
ZARR_FORMAT: Literal[3] = 3


def group_attrs(model: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Group attributes holding ``model`` (a ``yaozarrs.v05`` model) and unknown ``extra``."""
    return {**(extra or {}), "ome": dump(model)}
