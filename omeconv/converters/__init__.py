"""Source adapters: each turns one kind of input into a :class:`omeconv.model.Collection`.

Adapters register through the entry-point group ``omeconv.converters`` (``name =
"module:Class"``), so a package installed next to omeconv adds a source without touching it
(see ``docs/adding_a_source.md``). ``guess_converter`` tries the built-in adapters in the
order of :data:`BUILTINS` (specific formats before generic ones), then third-party adapters
in the order of their entry-point names.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import warnings
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from omeconv.errors import (
    OmeconvWarning,
    SourceNotFoundError,
    UnsupportedSourceError,
    UsageError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from omeconv.model import Collection

__all__ = [
    "BUILTINS",
    "CONVERTERS",
    "GROUP",
    "Converter",
    "check_options",
    "get_converter",
    "guess_converter",
]

GROUP = "omeconv.converters"
"""The entry-point group adapters register in."""

BUILTINS: tuple[tuple[str, str], ...] = (
    ("nd2", "omeconv.converters.nd2_:Nd2Converter"),
    ("czi", "omeconv.converters.pylibczirw_:CziConverter"),
    ("lif", "omeconv.converters.liffile_:LifConverter"),
    ("dv", "omeconv.converters.deltavision:DeltaVisionConverter"),
    ("mrc", "omeconv.converters.mrcfile_:MrcConverter"),
    ("oib", "omeconv.converters.oiffile_:OifConverter"),
    ("ndtiff", "omeconv.converters.ndtiff_:NdtiffConverter"),
    ("tiff", "omeconv.converters.tiff:TiffConverter"),
    ("sequence", "omeconv.converters.sequence:SequenceConverter"),
    ("plate_folder", "omeconv.converters.plate_folder:PlateFolderConverter"),
    ("numpy", "omeconv.converters.numpy_:NumpyConverter"),
    ("ome_zarr", "omeconv.converters.ome_zarr_:OmeZarrConverter"),
)
"""The built-in adapters (as in ``pyproject.toml``), in the order ``guess_converter`` tries them.

Also the registry when omeconv's installed metadata predates the entry points."""


class Converter(Protocol):
    """What a source adapter offers.

    ``guess_can_open`` is cheap and never raises; ``open`` is lazy and never writes.
    Options of ``open`` are keyword-only and listed by name (no ``**kwargs``):
    :func:`omeconv.open_source` refuses any option the adapter does not list.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]

    def guess_can_open(self, source: Any) -> bool: ...

    @property
    def open(self) -> Callable[..., Collection]:
        """``open(source, *, option=...)``: each adapter lists its own keyword options."""


CONVERTERS: dict[str, type[Converter]] = {}
"""Adapters by name, in guessing order; filled from the entry points at first use."""


def _registered() -> list[tuple[str, str]]:
    """``(name, "module:Class")`` of every adapter: built-ins first, then third parties by name."""
    builtin = dict(BUILTINS)
    others: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        if ep.name not in builtin:
            others.setdefault(ep.name, ep.value)
        elif ep.value != builtin[ep.name]:
            warnings.warn(
                f"adapter {ep.name!r} ({ep.value}) ignored: the name is omeconv's own",
                OmeconvWarning,
                stacklevel=2,
            )
    return [*BUILTINS, *sorted(others.items())]


def _load(name: str, target: str) -> type[Converter]:
    """The class ``module:Class``; a stand-in that says why when it cannot be imported."""
    module, _, attr = target.partition(":")
    try:
        cls: type[Converter] = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        return _unavailable(name, target, exc)
    return cls


def _unavailable(name: str, target: str, exc: BaseException) -> type[Converter]:
    """An adapter that claims nothing and whose ``open`` says why the real one did not load."""
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

    class Unavailable:
        description: ClassVar[str] = f"{name} (not loaded: {why})"
        suffixes: ClassVar[tuple[str, ...]] = ()

        def guess_can_open(self, source: Any) -> bool:
            return False

        def open(self, source: Any, **_: Any) -> Collection:  # whatever it would take
            raise UnsupportedSourceError(
                f"the {name} adapter ({target}) cannot be loaded: {why}", path=_describe(source)
            )

    Unavailable.name = name  # type: ignore[attr-defined]
    return Unavailable  # type: ignore[return-value]


def _load_all() -> None:
    if not CONVERTERS:
        CONVERTERS.update((name, _load(name, target)) for name, target in _registered())


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
    for cls in CONVERTERS.values():
        converter = cls()
        if converter.guess_can_open(source):
            return converter
    tried = ", ".join(CONVERTERS)
    raise UnsupportedSourceError(
        f"not a format omeconv reads (tried {tried})", path=_describe(source)
    )


def check_options(converter: Converter, source: Any, options: dict[str, Any]) -> None:
    """Refuse, in one line, an option ``converter.open`` does not list."""
    params = list(inspect.signature(converter.open).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes = [p.name for p in params[1:] if p.kind in named]  # after ``source``
    unknown = [k for k in options if k not in takes]
    if unknown:
        offered = f"its options: {', '.join(takes)}" if takes else "it takes no option"
        raise UsageError(
            f"the {converter.name} adapter does not take {', '.join(unknown)} ({offered})",
            path=_describe(source),
        )


def _describe(source: Any) -> str:
    if isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        return str(source)
    return f"<{type(source).__name__}>"
