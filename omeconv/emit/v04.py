"""OME-Zarr 0.4 layout: Zarr v2 groups, NGFF metadata at the top of ``.zattrs``."""

from __future__ import annotations

from typing import Any, Literal

from yaozarrs import v04 as NS

from omeconv.emit.ngff import dump

__all__ = ["NS", "VERSION", "ZARR_FORMAT", "group_attrs"]

VERSION = "0.4"
ZARR_FORMAT: Literal[2] = 2


def group_attrs(model: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Group attributes holding ``model`` (a ``yaozarrs.v04`` model) and unknown ``extra``."""
    return {**(extra or {}), **dump(model)}
