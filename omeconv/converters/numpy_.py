"""numpy arrays, dask arrays and ``.npy`` files as a source.

The caller names the axes, scale, units and channels; defaults are ``"tczyx"[-ndim:]``,
scale 1 and no units. ``.npy`` files are memory-mapped, never loaded whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from omeconv.converters import CONVERTERS
from omeconv.errors import CorruptSourceError, MetadataError, UsageError
from omeconv.model import Axis, Channel, Collection, Image, Level, default_axes

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import dask.array as da

__all__ = ["NumpyConverter", "image_from_array"]

_SUPPORTED_KINDS = "biuf"


def image_from_array(
    array: Any,
    *,
    axes: str | Sequence[str] | None = None,
    scale: Mapping[str, float] | Sequence[float] | None = None,
    units: Mapping[str, str] | None = None,
    translation: Mapping[str, float] | Sequence[float] | None = None,
    channel_names: Sequence[str] | None = None,
    channel_colors: Sequence[str] | None = None,
    name: str | None = None,
    chunks: Any = "auto",
) -> Image:
    """An :class:`Image` over a numpy or dask array (kept lazy).

    Parameters
    ----------
    axes
        Axis names, e.g. ``"czyx"``; default ``"tczyx"[-ndim:]``.
    scale, translation
        Per axis, as a sequence or a ``{name: value}`` mapping (missing names get 1 / 0).
    units
        ``{name: unit}``, e.g. ``{"x": "micrometer", "t": "second"}``.
    channel_names, channel_colors
        Labels and ``RRGGBB`` colours of the channels.
    """
    import dask.array as da

    data: da.Array = array if isinstance(array, da.Array) else da.from_array(array, chunks=chunks)
    if data.dtype.kind not in _SUPPORTED_KINDS:
        raise UsageError(f"unsupported dtype {data.dtype}: use bool, integer or float pixels")
    names = list(axes) if axes is not None else [a.name for a in default_axes(data.ndim)]
    if len(names) != data.ndim:
        raise UsageError(f"axes {''.join(names)!r} do not match an array of {data.ndim} dimensions")
    unit_map = dict(units or {})
    axis_list = tuple(Axis.named(n, unit_map.get(n)) for n in names)
    level = Level(
        data=data,
        scale=_per_axis(scale, names, 1.0),
        translation=_per_axis(translation, names, 0.0) if translation is not None else None,
    )
    channels: tuple[Channel, ...] = ()
    if channel_names or channel_colors:
        count = max(len(channel_names or ()), len(channel_colors or ()))
        channels = tuple(
            Channel(
                label=(channel_names or [None] * count)[i],
                color=(channel_colors or [None] * count)[i],
            )
            for i in range(count)
        )
    return Image(name=name, axes=axis_list, levels=(level,), channels=channels)


def _per_axis(
    values: Mapping[str, float] | Sequence[float] | None, names: Sequence[str], default: float
) -> tuple[float, ...]:
    if values is None:
        return (default,) * len(names)
    if isinstance(values, dict):
        return tuple(float(values.get(n, default)) for n in names)
    seq = [float(v) for v in values]  # type: ignore[union-attr]
    if len(seq) != len(names):
        raise UsageError(f"{len(seq)} values given for {len(names)} axes {''.join(names)!r}")
    return tuple(seq)


class NumpyConverter:
    """numpy/dask arrays in memory and ``.npy`` files on disk."""

    name: ClassVar[str] = "numpy"
    description: ClassVar[str] = "numpy or dask arrays, .npy files"
    suffixes: ClassVar[tuple[str, ...]] = (".npy",)

    def guess_can_open(self, source: Any) -> bool:
        if isinstance(source, np.ndarray) or type(source).__module__.startswith("dask"):
            return True
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            try:
                with path.open("rb") as f:
                    return f.read(6) == b"\x93NUMPY"
            except OSError:
                return path.suffix.lower() in self.suffixes
        return False

    def open(self, source: Any, **metadata: Any) -> Collection:
        """Wrap ``source`` (array or ``.npy`` path); ``metadata`` as for :func:`image_from_array`."""
        if isinstance(source, str | os.PathLike):
            try:
                array = np.load(source, mmap_mode="r", allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise CorruptSourceError(f"not a readable .npy file: {exc}", path=source) from exc
            metadata.setdefault("name", Path(source).name.removesuffix(".npy"))
        else:
            array = source
        if not hasattr(array, "ndim") or not 2 <= array.ndim <= 5:
            raise MetadataError(
                f"an image needs 2 to 5 dimensions, not {getattr(array, 'ndim', '?')}",
                path=source if isinstance(source, str | os.PathLike) else None,
            )
        return Collection(images=(image_from_array(array, **metadata),))


CONVERTERS["numpy"] = NumpyConverter
