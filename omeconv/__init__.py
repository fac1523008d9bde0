"""omeconv: microscopy images to OME-Zarr (v0.4 and v0.5), and OME-Zarr v0.4 to v0.5.

The API functions and ``__version__`` are imported when first asked for, so that a command
(``omeconv --help``, ``omeconv upgrade``) imports only what it uses.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from omeconv import errors

if TYPE_CHECKING:
    from collections.abc import Callable

    from omeconv.api import convert, read, write

    __version__: str

__all__ = ["__version__", "convert", "errors", "read", "upgrade", "write"]


def __getattr__(name: str) -> Any:
    """``convert``, ``read``, ``write`` (:mod:`omeconv.api`) and ``__version__``, on first use."""
    if name in ("convert", "read", "write"):
        from omeconv import api

        value = getattr(api, name)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("omeconv")
        except PackageNotFoundError:  # pragma: no cover
            value = "0+unknown"
    else:
        raise AttributeError(f"module 'omeconv' has no attribute {name!r}")
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """The ``omeconv`` package, whose ``upgrade`` stays the function :func:`omeconv.upgrade.upgrade`
    when the submodule of that name is imported (which sets the attribute to the module)."""

    @property
    def upgrade(self) -> Callable[..., str]:
        from omeconv.upgrade import upgrade

        return upgrade

    @upgrade.setter
    def upgrade(self, _module: object) -> None:
        """The import of the submodule :mod:`omeconv.upgrade`: the function stays."""


sys.modules[__name__].__class__ = _Package
