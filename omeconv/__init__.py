"""omeconv: microscopy images to OME-Zarr (v0.4 and v0.5), and OME-Zarr v0.4 to v0.5."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from omeconv import errors
from omeconv.api import convert, read, write
from omeconv.upgrade import upgrade

try:
    __version__ = version("omeconv")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

__all__ = ["__version__", "convert", "errors", "read", "upgrade", "write"]
