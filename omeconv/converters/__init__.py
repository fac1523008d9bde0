"""Source adapters: each turns one kind of input into a :class:`omeconv.model.Collection`.

A new source is one module here with a class following :class:`Converter` and one
registration line at its end, ``CONVERTERS["name"] = MyConverter``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from omeconv.errors import SourceNotFoundError, UnsupportedSourceError

if TYPE_CHECKING:
    from collections.abc import Callable

    from omeconv.model import Collection

__all__ = ["CONVERTERS", "Converter", "get_converter", "guess_converter"]


class Converter(Protocol):
    """What a source adapter offers.

    ``guess_can_open`` is cheap and never raises; ``open`` is lazy and never writes.
    Options of ``open`` are keyword-only, so the CLI can pass them by name.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]

    def guess_can_open(self, source: Any) -> bool: ...

    @property
    def open(self) -> Callable[..., Collection]:
        """``open(source, *, option=...)``: each adapter lists its own keyword options."""


CONVERTERS: dict[str, type[Converter]] = {}

# Modules that register converters, in the order guess_converter tries them.
_MODULES = (
    "nd2_",
    "pylibczirw_",
    "liffile_",
    "deltavision",
    "mrcfile_",
    "oiffile_",
    "ndtiff_",
    "tiff",
    "sequence",
    "plate_folder",
    "numpy_",
    "ome_zarr_",
)


def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")


def get_converter(name: str) -> Converter:
    """The converter registered under ``name``."""
    _load_all()
    try:
        return CONVERTERS[name]()
    except KeyError:
        raise UnsupportedSourceError(
            f"no source adapter named {name!r}; known: {', '.join(sorted(CONVERTERS))}"
        ) from None


def guess_converter(source: Any) -> Converter:
    """The first registered converter whose ``guess_can_open`` accepts ``source``."""
    import os

    _load_all()
    if (
        isinstance(source, str | os.PathLike)
        and not any(c in str(source) for c in ("://", "*", "?", "{", "["))
        and not os.path.exists(source)
    ):
        raise SourceNotFoundError("no such file or directory", path=source)
    ranked = sorted(CONVERTERS.values(), key=_rank)
    for cls in ranked:
        converter = cls()
        if converter.guess_can_open(source):
            return converter
    tried = ", ".join(cls.name for cls in ranked)
    raise UnsupportedSourceError(
        f"not a format omeconv reads (tried {tried})", path=_describe(source)
    )


def _rank(cls: type[Converter]) -> int:
    """Position of a converter's module in ``_MODULES`` (whatever order they were imported in)."""
    module = cls.__module__.rsplit(".", 1)[-1]
    return _MODULES.index(module) if module in _MODULES else len(_MODULES)


def _describe(source: Any) -> str:
    if isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        return str(source)
    return f"<{type(source).__name__}>"
