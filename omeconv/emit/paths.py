"""Paths of the nodes an output holds: each image's group, and a node's key below a group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omeconv.errors import MetadataError

if TYPE_CHECKING:
    from omeconv.model import Collection

__all__ = ["image_paths"]


def image_paths(collection: Collection) -> list[str]:
    """The group path of each image of ``collection``: as it names them, else ``"0"``, ``"1"``
    … for a bioformats2raw layout or several images, else the root."""
    if collection.image_paths is not None:
        return list(collection.image_paths)
    if collection.plate is not None:
        raise MetadataError("a plate collection must name the path of each image")
    if collection.layout == "bioformats2raw" or len(collection.images) > 1:
        return [str(i) for i in range(len(collection.images))]
    return [""]
