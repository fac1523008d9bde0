"""numpy arrays, dask arrays and ``.npy`` files as a source.

The caller names the axes, scale, units and channels; defaults are ``"tczyx"[-ndim:]``,
scale 1 and no units. ``.npy`` files are memory-mapped, never loaded whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

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
        none: list[str | None] = [None] * count
        labels = list(channel_names) if channel_names else none
        colors = list(channel_colors) if channel_colors else none
        channels = tuple(Channel(label=labels[i], color=colors[i]) for i in range(count))
    return Image(name=name, axes=axis_list, levels=(level,), channels=channels)


def _per_axis(
    values: Mapping[str, float] | Sequence[float] | None, names: Sequence[str], default: float
) -> tuple[float, ...]:
    if values is None:
        return (default,) * len(names)
    if isinstance(values, dict):
        return tuple(float(values.get(n, default)) for n in names)
    seq = [float(v) for v in values]
    if len(seq) != len(names):
        raise UsageError(f"{len(seq)} values given for {len(names)} axes {''.join(names)!r}")
    return tuple(seq)


class NumpyConverter:
    """numpy/dask arrays in memory; ``.npy`` and ``.npz`` files and folders of ``.npy`` planes."""

    name: ClassVar[str] = "numpy"
    description: ClassVar[str] = "numpy or dask arrays, .npy/.npz files, folders of .npy planes"
    suffixes: ClassVar[tuple[str, ...]] = (".npy", ".npz")

    def guess_can_open(self, source: Any) -> bool:
        if isinstance(source, np.ndarray) or type(source).__module__.startswith("dask"):
            return True
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if path.is_dir():
                return any(path.glob("*.npy"))
            try:
                with path.open("rb") as f:
                    head = f.read(6)
            except OSError:
                return path.suffix.lower() in self.suffixes
            return head == b"\x93NUMPY" or (
                head[:4] == b"PK\x03\x04" and path.suffix.lower() == ".npz"
            )
        return False

    def open(
        self,
        source: Any,
        *,
        series: int | None = None,
        axes: str | Sequence[str] | None = None,
        scale: Mapping[str, float] | Sequence[float] | None = None,
        units: Mapping[str, str] | None = None,
        translation: Mapping[str, float] | Sequence[float] | None = None,
        channel_names: Sequence[str] | None = None,
        channel_colors: Sequence[str] | None = None,
        name: str | None = None,
        chunks: Any = "auto",
    ) -> Collection:
        """Wrap ``source``; the options as for :func:`image_from_array`, applied to every image.

        ``source`` is an array, a ``.npy`` file (memory-mapped), a ``.npz`` file (each array
        an image, or only the ``series``-th) or a folder of ``.npy`` planes of one shape,
        stacked in natural file-name order along a new first axis.
        """
        given = {
            "axes": axes,
            "scale": scale,
            "units": units,
            "translation": translation,
            "channel_names": channel_names,
            "channel_colors": channel_colors,
            "name": name,
        }
        metadata: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        metadata["chunks"] = chunks
        if not isinstance(source, str | os.PathLike):
            return Collection(images=(_image(source, None, metadata),))
        path = Path(source)
        if path.is_dir():
            metadata.setdefault("name", path.name)
            return Collection(images=(_image(_stack_planes(path), path, metadata),))
        if path.suffix.lower() == ".npz":
            return _open_npz(path, series, metadata)
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise CorruptSourceError(f"not a readable .npy file: {exc}", path=path) from exc
        metadata.setdefault("name", path.name.removesuffix(".npy"))
        return Collection(images=(_image(array, path, metadata),))


def _image(array: Any, path: Path | None, metadata: dict[str, Any]) -> Image:
    if not hasattr(array, "ndim") or not 2 <= array.ndim <= 5:
        raise MetadataError(
            f"an image needs 2 to 5 dimensions, not {getattr(array, 'ndim', '?')}", path=path
        )
    return image_from_array(array, **metadata)


def _stack_planes(folder: Path) -> da.Array:
    """The ``.npy`` files of ``folder``, memory-mapped and stacked lazily (natural order)."""
    import dask.array as da
    from tifffile import natural_sorted

    files = natural_sorted([str(p) for p in folder.glob("*.npy")])
    arrays = []
    for name in files:
        try:
            arrays.append(np.load(name, mmap_mode="r", allow_pickle=False))
        except (ValueError, OSError, EOFError) as exc:
            raise CorruptSourceError(f"not a readable .npy file: {exc}", path=name) from exc
    first = arrays[0]
    for name, a in zip(files, arrays, strict=True):
        if a.shape != first.shape or a.dtype != first.dtype:
            raise CorruptSourceError(
                f"shape {a.shape} {a.dtype} differs from the first plane's"
                f" {first.shape} {first.dtype}",
                path=name,
            )
    return da.stack([da.from_array(a, chunks=a.shape) for a in arrays])


def _open_npz(path: Path, series: int | None, metadata: dict[str, Any]) -> Collection:
    """Each array of a ``.npz`` archive as a lazy image, read only when its pixels are."""
    import zipfile

    import dask
    import dask.array as da

    try:
        with zipfile.ZipFile(path) as zf:
            headers = {
                info.filename.removesuffix(".npy"): _npy_header(zf, info.filename)
                for info in zf.infolist()
                if info.filename.endswith(".npy")
            }
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptSourceError(f"not a readable .npz file: {exc}", path=path) from exc
    if not headers:
        raise CorruptSourceError("the .npz file holds no array", path=path)
    keys = list(headers)
    if series is not None:
        if not 0 <= series < len(keys):
            raise UsageError(
                f"--series {series} does not exist; the file has {len(keys)} arrays", path=path
            )
        keys = [keys[series]]

    def load(key: str) -> np.ndarray:
        with np.load(path, allow_pickle=False) as npz:
            return np.asarray(npz[key])

    images = []
    for key in keys:
        shape, dtype = headers[key]
        array = da.from_delayed(dask.delayed(load)(key), shape=shape, dtype=dtype)
        images.append(_image(array, path, {"name": key, **metadata}))
    if len(images) > 1:
        return Collection(images=tuple(images), layout="bioformats2raw")
    return Collection(images=tuple(images))


def _npy_header(zf: Any, member: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    with zf.open(member) as f:
        version = np.lib.format.read_magic(f)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read(f)
    return tuple(shape), np.dtype(dtype)
