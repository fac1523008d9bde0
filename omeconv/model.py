"""The intermediate model: what every source adapter produces and the emitter consumes.

Plain frozen dataclasses, independent of any NGFF version. Pixel data are lazy
``dask.array.Array`` objects, or readers of regions (:class:`ReaderLevel`) whose dask arrays
are made on first use; nothing here reads or writes a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import dask.array as da
    import ome_types

__all__ = [
    "AXIS_TYPES",
    "Axis",
    "AxisType",
    "Channel",
    "Collection",
    "ExtraNode",
    "Image",
    "Label",
    "LabelColor",
    "Level",
    "ReaderLevel",
    "ZarrLevel",
    "Plate",
    "PlateAcquisition",
    "SourceAttrs",
    "Well",
    "WellField",
    "default_axes",
    "reader_array",
]

AxisType = Literal["space", "time", "channel", "custom"]
AXIS_TYPES: dict[str, AxisType] = {
    "t": "time",
    "c": "channel",
    "z": "space",
    "y": "space",
    "x": "space",
}


@dataclass(frozen=True)
class SourceAttrs:
    """The attributes of a source node as stored (v2 ``.zattrs`` or v3 ``attributes``, whole)
    and the OME-Zarr version they follow.

    A node that carries them is emitted by moving them to the output version
    (:func:`omeconv.emit.v05.move`), not by rebuilding them; a node without them (``None``)
    comes from a new conversion and its metadata is derived by the emitter.
    """

    version: str
    attrs: dict[str, Any]


@dataclass(frozen=True)
class Axis:
    """One dimension: NGFF name (``"t"``, ``"c"``, ``"z"``, ``"y"``, ``"x"`` …), type and unit."""

    name: str
    type: AxisType | None = None
    unit: str | None = None

    @classmethod
    def named(cls, name: str, unit: str | None = None) -> Axis:
        """An axis whose type follows from its conventional name (custom otherwise)."""
        kind = AXIS_TYPES.get(name.lower(), "custom")
        return cls(name=name, type=kind, unit=None if kind == "channel" else unit)


def default_axes(ndim: int) -> tuple[Axis, ...]:
    """``tczyx`` trimmed from the left to ``ndim`` axes (2 to 5)."""
    if not 2 <= ndim <= 5:
        raise ValueError(f"an image needs 2 to 5 dimensions, not {ndim}")
    return tuple(Axis.named(n) for n in "tczyx"[-ndim:])


@dataclass(frozen=True)
class Level:
    """One pyramid level: lazy pixels plus its scale and optional translation (one per axis)."""

    data: da.Array
    scale: tuple[float, ...]
    translation: tuple[float, ...] | None = None
    path: str | None = None
    source: Any = None
    """Where the level's encoded chunks live (a ``zarr.Array``) when they can be copied as is."""
    reader: Any = None
    """Reads regions of the same pixels as numpy arrays (``reader[slices]``, picklable) with
    less work than slicing ``data``; None when only ``data`` reads them."""

    @property
    def regions(self) -> Any:
        """What the emitter reads regions of pixels from: :attr:`reader`, else :attr:`data`."""
        return self.data if self.reader is None else self.reader

    @property
    def shape(self) -> tuple[int, ...]:
        """The pixels' shape."""
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The pixels' dtype."""
        dtype: np.dtype[Any] = np.dtype(self.data.dtype)
        return dtype

    @property
    def nbytes(self) -> int:
        """The pixels' size in bytes, uncompressed."""
        return math.prod(self.shape) * self.dtype.itemsize


class ReaderLevel(Level):
    """A level read through its :attr:`reader`, whose dask array is made on first use.

    The emitter reads regions from the reader, and copying encoded chunks needs only the
    shape and dtype: converting or copying such a level needs no dask array at all.
    """

    def __init__(
        self,
        *,
        scale: tuple[float, ...],
        reader: Any,
        translation: tuple[float, ...] | None = None,
        path: str | None = None,
        source: Any = None,
        data: da.Array | None = None,
    ) -> None:
        super().__init__(data, scale, translation, path, source, reader)
        if data is None:
            del self.__dict__["data"]  # built by the property below when first read

    @cached_property
    def data(self) -> da.Array:
        return reader_array(self.reader)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.reader.shape) if "data" not in self.__dict__ else super().shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.reader.dtype) if "data" not in self.__dict__ else super().dtype


def reader_array(reader: Any) -> da.Array:
    """The pixels ``reader`` reads as a lazy dask array, one task per block of the reader
    (its ``block`` when it has one, else its ``chunks``)."""
    import dask.array as da

    chunks = getattr(reader, "block", None) or reader.chunks
    meta = np.empty((0,) * len(reader.shape), dtype=reader.dtype)
    return da.from_array(reader, chunks=chunks, meta=meta, name=False)


class ZarrLevel(ReaderLevel):
    """A level over a zarr array, its :attr:`source` and its :attr:`reader`."""

    def __init__(
        self,
        *,
        scale: tuple[float, ...],
        source: Any,
        translation: tuple[float, ...] | None = None,
        path: str | None = None,
        data: da.Array | None = None,
        reader: Any = None,
    ) -> None:
        super().__init__(
            scale=scale,
            reader=source if data is None else reader,
            translation=translation,
            path=path,
            source=source,
            data=data,
        )

    @cached_property
    def data(self) -> da.Array:
        import dask.array as da

        return da.from_zarr(self.source)


@dataclass(frozen=True)
class Channel:
    """Rendering and acquisition facts of one channel."""

    label: str | None = None
    color: str | None = None
    """Six hex digits, ``"RRGGBB"``."""
    window: tuple[float, float, float, float] | None = None
    """``(min, max, start, end)``; the emitter fills it from the data when absent."""
    active: bool | None = None
    inverted: bool | None = None
    coefficient: float | None = None
    family: str | None = None
    emission_wavelength: float | None = None
    excitation_wavelength: float | None = None


@dataclass(frozen=True)
class LabelColor:
    """Display colour of one label value, RGBA 0-255."""

    value: int
    rgba: tuple[int, int, int, int]


@dataclass(frozen=True)
class Label:
    """A segmentation image stored under the image's ``labels/`` group."""

    name: str
    levels: tuple[Level, ...]
    axes: tuple[Axis, ...]
    colors: tuple[LabelColor, ...] = ()
    properties: tuple[dict[str, Any], ...] = ()
    source_image: str | None = "../../"
    source_attrs: SourceAttrs | None = None


@dataclass(frozen=True)
class Image:
    """A multiscale image: axes, levels (finest first), channels, labels, original OME-XML."""

    name: str | None
    axes: tuple[Axis, ...]
    levels: tuple[Level, ...]
    channels: tuple[Channel, ...] = ()
    labels: tuple[Label, ...] = ()
    ome: ome_types.OME | None = None
    downscale_type: str | None = None
    downscale_metadata: dict[str, Any] | None = None
    """How the source's own lower levels were made (NGFF ``multiscales[].metadata``)."""
    source_attrs: SourceAttrs | None = None
    """The source group's attributes as stored (None for a new conversion)."""
    extra_attrs: dict[str, Any] = field(default_factory=dict)
    """A new conversion's group attributes that NGFF does not define (omeconv's record of
    planes filled with ``--allow-missing``); unused when ``source_attrs`` carries the group."""
    labels_source_attrs: SourceAttrs | None = None
    """The source's ``labels`` group attributes as stored (kept even when it lists none)."""

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("an image needs at least one level")
        ndim = len(self.axes)
        for i, level in enumerate(self.levels):
            if len(level.shape) != ndim or len(level.scale) != ndim:
                raise ValueError(
                    f"level {i} has {len(level.shape)} dimensions and {len(level.scale)} scales,"
                    f" but the image has {ndim} axes"
                )

    @property
    def data(self) -> da.Array:
        """Level 0, the full-resolution pixels."""
        return self.levels[0].data

    @property
    def axis_names(self) -> str:
        """The axis names joined, e.g. ``"czyx"``."""
        return "".join(a.name for a in self.axes)

    @property
    def nchannels(self) -> int:
        """Length of the channel axis (1 when there is none)."""
        names = [a.type for a in self.axes]
        return int(self.levels[0].shape[names.index("channel")]) if "channel" in names else 1

    def with_levels(self, levels: tuple[Level, ...]) -> Image:
        """A copy of this image with other levels."""
        return replace(self, levels=levels)


@dataclass(frozen=True)
class WellField:
    """One field of view (image) in a well."""

    path: str
    image: Image
    acquisition: int | None = None


@dataclass(frozen=True)
class Well:
    """A well at ``row``/``column`` of a plate, holding its fields."""

    row: str
    column: str
    fields: tuple[WellField, ...]
    source_attrs: SourceAttrs | None = None

    @property
    def path(self) -> str:
        return f"{self.row}/{self.column}"


@dataclass(frozen=True)
class PlateAcquisition:
    """One acquisition (run) of a plate."""

    id: int
    name: str | None = None
    description: str | None = None
    maximumfieldcount: int | None = None
    starttime: int | None = None
    endtime: int | None = None


@dataclass(frozen=True)
class Plate:
    """A high-content-screening plate: named rows and columns and the wells present."""

    name: str | None
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[Well, ...]
    acquisitions: tuple[PlateAcquisition, ...] = ()
    field_count: int | None = None


@dataclass(frozen=True)
class ExtraNode:
    """A group, array or file of a source hierarchy that is no NGFF node (fractal's
    ``tables/``, a user's array beside the levels, a README …), written back as it is."""

    path: str
    kind: Literal["group", "array", "file"]
    attrs: SourceAttrs | None = None
    """A group's or array's attributes as stored; a group's are moved to the output version
    like those of NGFF nodes."""
    source: Any = None
    """The source ``zarr.Array`` of an array node (its encoded chunks or values are copied);
    for a file, a callable returning its bytes."""


@dataclass(frozen=True)
class Collection:
    """What a source holds: one image, several series (bioformats2raw layout) or a plate.

    ``images`` are written at ``"0"``, ``"1"`` … when there are several, at the root when
    there is one and no plate. ``ome`` is the whole original OME-XML, kept verbatim.
    """

    images: tuple[Image, ...] = ()
    plate: Plate | None = None
    ome: ome_types.OME | None = None
    ome_xml: str | None = None
    layout: Literal["image", "bioformats2raw", "plate"] = "image"
    image_paths: tuple[str, ...] | None = None
    source_attrs: SourceAttrs | None = None
    """The source root's attributes as stored (plate, bioformats2raw root or group of images;
    a single image at the root carries them itself)."""
    ome_source_attrs: SourceAttrs | None = None
    """The source ``OME`` group's attributes as stored (the series list)."""
    extra_nodes: tuple[ExtraNode, ...] = ()
    """Groups and arrays of the source that NGFF does not define, parents first."""
