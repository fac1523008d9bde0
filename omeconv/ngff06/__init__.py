"""OME-Zarr 0.6 (RFC-5: coordinate systems and transformations): versions, models, schemas.

0.6 is a release candidate: stores are tagged :data:`VERSION` (``"0.6rc0"``, the only
version its schemas accept); ``"0.6"`` is read as the same version.
"""

from __future__ import annotations

from typing import Final

__all__ = ["INTRINSIC", "VERSION", "VERSIONS", "WORLD", "is_v06"]

#: The ``ome.version`` omeconv writes for OME-Zarr 0.6.
VERSION: Final = "0.6rc0"
#: The ``ome.version`` values read as OME-Zarr 0.6.
VERSIONS = ("0.6", "0.6rc0")
#: Name given to a multiscale's intrinsic coordinate system (the output of its levels).
INTRINSIC = "intrinsic"
#: Name given to the output of a multiscale-level transformation moved from 0.4/0.5.
WORLD = "world"


def is_v06(version: object) -> bool:
    """Whether an ``ome.version`` value means OME-Zarr 0.6."""
    return version in VERSIONS
