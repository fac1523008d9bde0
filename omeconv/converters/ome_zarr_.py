"""OME-Zarr stores as a source: 0.4 (Zarr v2), 0.5 and 0.6 (Zarr v3) images, labels, plates and
bioformats2raw collections.

The store is read as it is: each level is a :class:`~omeconv.model.ZarrLevel` over the
existing zarr array (its :attr:`Level.source`, so the emitter can copy its encoded chunks),
whose lazy dask array is made only when the pixels are read. Per-level scales and translations, ``omero``, labels, plate and well metadata and the
``OME/METADATA.ome.xml`` document are carried; group attributes NGFF does not define are kept
in ``extra_attrs``. Nothing here writes.

The store is read through :class:`omeconv.hierarchy.Hierarchy`, the one reader ``info``,
``validate``, ``verify`` and ``upgrade`` share, and only it knows the format: v2 NGFF metadata
sits at the top of ``.zattrs``, v3 under ``attributes["ome"]`` of ``zarr.json`` (whose
``version`` must be 0.5 or 0.6; 0.6 is read in 0.5's shape and its attributes are kept as
stored, tagged 0.6); everything else reads all alike. The kind of the root is found by an ordered list of probes (plate,
bioformats2raw, image, plain group of images); each returns ``None`` to pass. Then the whole
hierarchy is walked: every group or array the NGFF structure does not hold (fractal's
``tables/``, unlisted labels, a user's arrays) rides along in :attr:`Collection.extra_nodes`.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.errors import (
    MetadataError,
    OmeconvWarning,
    SourceNotFoundError,
)
from omeconv.hierarchy import Hierarchy, first_multiscale, scale_translation, well_metadata
from omeconv.model import (
    Axis,
    Channel,
    Collection,
    ExtraNode,
    Image,
    Label,
    LabelColor,
    Level,
    Plate,
    PlateAcquisition,
    SourceAttrs,
    Well,
    WellField,
    ZarrLevel,
)
from omeconv.ngff06 import is_v06
from omeconv.zarr_io import NODE_KEYS, join

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["OmeZarrConverter"]

logger = logging.getLogger(__name__)


class OmeZarrConverter:
    """OME-Zarr 0.4 (Zarr v2), 0.5 and 0.6 (Zarr v3) stores read with zarr-python."""

    name: ClassVar[str] = "ome_zarr"
    description: ClassVar[str] = (
        "OME-Zarr 0.4 (Zarr v2), 0.5 and 0.6 (Zarr v3): images, labels, plates, bioformats2raw"
    )
    suffixes: ClassVar[tuple[str, ...]] = (".zarr", ".ozx")

    def guess_can_open(self, source: Any) -> bool:
        from omeconv.ozx import is_ozx

        if not isinstance(source, str | os.PathLike) or "://" in str(source):
            return False
        path = Path(source)
        try:
            if is_ozx(path):
                return path.is_file()
            return path.is_dir() and any((path / name).is_file() for name in NODE_KEYS)
        except OSError:
            return False

    def open(
        self,
        source: Any,
        *,
        storage_options: dict[str, Any] | None = None,
        warn_missing: bool = True,
    ) -> Collection:
        """Read the OME-Zarr 0.4, 0.5 or 0.6 hierarchy rooted at ``source`` lazily, all of it.

        There is no ``series``: images, labels, plates and extra nodes are carried as one
        hierarchy (an upgrade), and taking one image out of it would drop what the rest says.
        ``warn_missing`` lists each level's chunks to warn of missing ones (which read as the
        fill value); a copy of the encoded chunks, which keeps the gaps as they are, skips it.
        """
        reader = _Reader(source, storage_options, warn_missing=warn_missing)
        for probe in _PROBES:
            collection = probe(reader)
            if collection is not None:
                return replace(collection, extra_nodes=_extra_nodes(reader, collection))
        raise reader.not_ngff()


class _Reader(Hierarchy):
    """The store seen by the adapter: :class:`~omeconv.hierarchy.Hierarchy` plus the
    source-attribute view the model carries (:meth:`stored`) and the adapter's own errors."""

    def __init__(
        self, source: Any, storage_options: dict[str, Any] | None, *, warn_missing: bool = True
    ) -> None:
        from omeconv.ozx import is_ozx
        from omeconv.stores import is_url

        local = Path(str(source))
        if not is_url(source) and not (local.is_file() if is_ozx(local) else local.is_dir()):
            raise SourceNotFoundError(
                f"no such {'file' if is_ozx(local) else 'directory'}", path=source
            )
        super().__init__(source, storage_options=storage_options)
        self.root = self.ngff("")
        self.warn_missing = warn_missing

    def stored(self, path: str) -> SourceAttrs:
        """The node's attributes as stored (empty when there is no node) and their version
        (a v3 node's own ``ome.version`` when that is 0.6)."""
        node = self.node(path)
        version = None if node is None else node.ome_version
        return SourceAttrs(
            version if version is not None and is_v06(version) else self.version,
            self.attributes(path),
        )

    def stored_group(self, path: str) -> SourceAttrs | None:
        """:meth:`stored` of the group at ``path``; None when there is no group there."""
        return self.stored(path) if self.kind(path) == "group" else None

    def array(self, path: str) -> Any:
        return self.open_array(path)

    def reader_of(self, key: str) -> Callable[[], bytes]:
        """A callable returning the bytes of the file ``key``."""

        def read() -> bytes:
            return self.read(key) or b""

        return read

    def fail(self, path: str, message: str) -> MetadataError:
        return MetadataError(message, path=self.where(path))


# -- probes -----------------------------------------------------------------------------------


def _probe_plate(reader: _Reader) -> Collection | None:
    plate_doc = reader.root.get("plate")
    if not isinstance(plate_doc, dict):
        return None
    plate = _plate(reader, plate_doc)
    images = []
    paths = []
    for well in plate.wells:
        for f in well.fields:
            images.append(f.image)
            paths.append(join(well.path, f.path))
    if "bioformats2raw.layout" in reader.root:
        logger.info("%s: plate with bioformats2raw layout; written as a plate", reader.location)
    return Collection(
        images=tuple(images),
        plate=plate,
        ome_xml=reader.text("OME/METADATA.ome.xml"),
        layout="plate",
        image_paths=tuple(paths),
        source_attrs=reader.stored(""),
        ome_source_attrs=_ome_group(reader),
    )


def _probe_bf2raw(reader: _Reader) -> Collection | None:
    if "bioformats2raw.layout" not in reader.root:
        return None
    paths = reader.series()
    images = tuple(_image(reader, p) for p in paths)
    return Collection(
        images=images,
        ome_xml=reader.text("OME/METADATA.ome.xml"),
        layout="bioformats2raw",
        image_paths=tuple(paths),
        source_attrs=reader.stored(""),
        ome_source_attrs=_ome_group(reader),
    )


def _probe_image(reader: _Reader) -> Collection | None:
    if "multiscales" not in reader.root:
        return None
    return Collection(images=(_image(reader, ""),), image_paths=("",))


def _probe_groups(reader: _Reader) -> Collection | None:
    """A plain group whose children are images."""
    if reader.kind("") != "group":
        return None
    paths = [p for p in reader.groups("") if "multiscales" in reader.ngff(p)]
    if not paths:
        return None
    images = tuple(_image(reader, p) for p in paths)
    return Collection(images=images, image_paths=tuple(paths), source_attrs=reader.stored(""))


def _ome_group(reader: _Reader) -> SourceAttrs | None:
    """The ``OME`` group beside ``METADATA.ome.xml`` (an NGFF node only with that document)."""
    return reader.stored("OME") if reader.exists("OME/METADATA.ome.xml") else None


# -- images and labels ------------------------------------------------------------------------


def _multiscale(reader: _Reader, path: str, attrs: dict[str, Any]) -> dict[str, Any]:
    ms = first_multiscale(attrs, reader.where(path))
    if len(attrs["multiscales"]) > 1:
        warnings.warn(
            f"{reader.where(path)}: {len(attrs['multiscales'])} multiscales; only the first is kept",
            OmeconvWarning,
            stacklevel=4,
        )
    return ms


def _axes(reader: _Reader, path: str, ms: dict[str, Any], ndim: int) -> tuple[Axis, ...]:
    raw = ms.get("axes")
    if raw is None:
        return tuple(Axis.named(n) for n in "tczyx"[-ndim:])
    axes = []
    for item in raw:
        if isinstance(item, str):
            axes.append(Axis.named(item))
        elif isinstance(item, dict) and "name" in item:
            kind = item.get("type")
            axis = Axis.named(str(item["name"]), item.get("unit"))
            if kind is not None and kind != axis.type:
                axis = Axis(name=axis.name, type=kind, unit=item.get("unit"))
            axes.append(axis)
        else:
            raise reader.fail(path, f"cannot read axis {item!r}")
    if len(axes) != ndim:
        raise reader.fail(path, f"{len(axes)} axes but the arrays have {ndim} dimensions")
    return tuple(axes)


def _levels(reader: _Reader, path: str, ms: dict[str, Any]) -> tuple[Level, ...]:
    arrays = []
    for ds in ms["datasets"]:
        if not isinstance(ds, dict) or "path" not in ds:
            raise reader.fail(path, f"dataset without a path: {ds!r}")
        arrays.append((ds, reader.array(join(path, str(ds["path"])))))
    ndim = arrays[0][1].ndim
    # A multiscale-wide transform applies after each dataset's own: fold it in.
    outer_scale, outer_shift = scale_translation(ms.get("coordinateTransformations"), ndim)
    levels = []
    for ds, array in arrays:
        if array.ndim != ndim:
            raise reader.fail(path, f"level {ds['path']!r} has {array.ndim} dimensions, not {ndim}")
        scale, shift = scale_translation(ds.get("coordinateTransformations"), ndim)
        if len(scale) != ndim or (shift is not None and len(shift) != ndim):
            raise reader.fail(path, f"level {ds['path']!r}: transform length != {ndim} axes")
        if outer_shift is not None or shift is not None:
            inner = shift or (0.0,) * ndim
            outer = outer_shift or (0.0,) * ndim
            shift = tuple(s * t + o for s, t, o in zip(outer_scale, inner, outer, strict=True))
        scale = tuple(s * o for s, o in zip(scale, outer_scale, strict=True))
        if reader.warn_missing:
            from omeconv.validate import warn_missing_chunks

            warn_missing_chunks(array, reader.where(join(path, str(ds["path"]))))
        # The dask array is made when the pixels are read: a chunk copy never needs it.
        levels.append(ZarrLevel(scale=scale, translation=shift, path=str(ds["path"]), source=array))
    return tuple(levels)


def _channels(omero: Any) -> tuple[Channel, ...]:
    if not isinstance(omero, dict):
        return ()
    out = []
    for ch in omero.get("channels") or ():
        window = ch.get("window")
        win = None
        if isinstance(window, dict) and {"start", "end"} <= set(window):
            start, end = float(window["start"]), float(window["end"])
            win = (float(window.get("min", start)), float(window.get("max", end)), start, end)
        color = ch.get("color")
        out.append(
            Channel(
                label=None if ch.get("label") is None else str(ch["label"]),
                color=str(color).upper() if color else None,
                window=win,
                active=ch.get("active"),
                inverted=ch.get("inverted"),
                coefficient=ch.get("coefficient"),
                family=ch.get("family"),
            )
        )
    return tuple(out)


def _image(reader: _Reader, path: str) -> Image:
    attrs = reader.ngff(path)
    ms = _multiscale(reader, path, attrs)
    levels = _levels(reader, path, ms)
    axes = _axes(reader, path, ms, len(levels[0].shape))
    labels = tuple(_labels(reader, path))
    omero = attrs.get("omero")
    labels_group = join(path, "labels")
    has_labels = "labels" in reader.ngff(labels_group)
    return Image(
        name=ms.get("name"),
        axes=axes,
        levels=levels,
        channels=_channels(omero),
        labels=labels,
        downscale_type=ms.get("type"),
        downscale_metadata=ms.get("metadata"),
        source_attrs=reader.stored(path),
        labels_source_attrs=reader.stored_group(labels_group) if has_labels else None,
    )


def _labels(reader: _Reader, path: str) -> list[Label]:
    group = join(path, "labels")
    names = reader.ngff(group).get("labels")
    if not names:
        return []
    return [_label(reader, join(group, str(name)), str(name)) for name in names]


def _label(reader: _Reader, path: str, name: str) -> Label:
    attrs = reader.ngff(path)
    ms = _multiscale(reader, path, attrs)
    levels = _levels(reader, path, ms)
    info = attrs.get("image-label") or {}
    colors = tuple(
        LabelColor(value=int(c["label-value"]), rgba=tuple(int(v) for v in c["rgba"]))  # type: ignore[arg-type]
        for c in info.get("colors") or ()
        if "label-value" in c and len(c.get("rgba") or ()) == 4
    )
    properties = tuple(dict(p) for p in info.get("properties") or () if "label-value" in p)
    source = info.get("source") or {}
    return Label(
        name=name,
        levels=levels,
        axes=_axes(reader, path, ms, len(levels[0].shape)),
        colors=colors,
        properties=properties,
        source_image=source.get("image") if isinstance(source, dict) else None,
        source_attrs=reader.stored(path),
    )


# -- plates -----------------------------------------------------------------------------------


def _plate(reader: _Reader, doc: dict[str, Any]) -> Plate:
    rows = tuple(str(r["name"]) for r in doc.get("rows") or ())
    columns = tuple(str(c["name"]) for c in doc.get("columns") or ())
    wells = []
    for w in doc.get("wells") or ():
        well_path = str(w["path"]).strip("/")
        row, _, column = well_path.partition("/")
        if row not in rows or column not in columns:
            raise reader.fail(well_path, "well path is not '<row>/<column>' of the plate")
        wells.append(_well(reader, well_path, row, column))
    acquisitions = tuple(
        PlateAcquisition(**{k: a[k] for k in _ACQUISITION_KEYS if a.get(k) is not None})
        for a in doc.get("acquisitions") or ()
    )
    return Plate(
        name=doc.get("name"),
        rows=rows,
        columns=columns,
        wells=tuple(wells),
        acquisitions=acquisitions,
        field_count=doc.get("field_count"),
    )


_ACQUISITION_KEYS = ("id", "name", "description", "maximumfieldcount", "starttime", "endtime")


def _well(reader: _Reader, path: str, row: str, column: str) -> Well:
    doc = well_metadata(reader.ngff(path), reader.where(path))
    fields = tuple(
        WellField(
            path=str(f["path"]),
            image=_image(reader, join(path, str(f["path"]))),
            acquisition=f.get("acquisition"),
        )
        for f in doc.get("images") or ()
    )
    return Well(row=row, column=column, fields=fields, source_attrs=reader.stored(path))


# -- nodes outside NGFF -----------------------------------------------------------------------


def _extra_nodes(reader: _Reader, collection: Collection) -> tuple[ExtraNode, ...]:
    """Every group, array and file below the root that ``collection`` does not hold,
    parents first.

    Directories without metadata that hold such nodes become plain groups. The collection's
    own arrays are not listed into, so their chunk keys are never read. ``OME/METADATA.ome.xml``
    is the collection's own (:attr:`Collection.ome_xml`).
    """
    groups, arrays = _ngff_nodes(collection)
    found: list[ExtraNode] = []

    def visit(path: str) -> None:
        for name in reader.entries(path):
            sub = join(path, name)
            if sub in arrays:
                continue
            kind = reader.kind(sub)
            if kind is None and reader.exists(sub):  # a file, not a folder
                if sub != "OME/METADATA.ome.xml" or collection.ome_xml is None:
                    found.append(ExtraNode(sub, "file", source=reader.reader_of(sub)))
                continue
            if kind == "array":
                found.append(ExtraNode(sub, "array", reader.stored(sub), reader.array(sub)))
                continue
            first = len(found)
            visit(sub)
            if sub in groups:
                continue
            if len(found) > first or kind:
                found.insert(first, ExtraNode(sub, "group", reader.stored(sub)))

    visit("")
    if found:
        logger.info("%s: not NGFF, carried as is: %s", reader.location, [n.path for n in found])
    return tuple(found)


def _ngff_nodes(collection: Collection) -> tuple[set[str], set[str]]:
    """Paths of the groups and of the arrays that ``collection`` holds."""
    groups = {""} | ({"OME"} if collection.ome_source_attrs is not None else set())
    if collection.plate is not None:
        groups.update(w.path for w in collection.plate.wells)
    arrays: set[str] = set()
    for base, image in zip(collection.image_paths or (), collection.images, strict=True):
        groups.add(base)
        arrays.update(join(base, lv.path or "") for lv in image.levels)
        if image.labels or image.labels_source_attrs is not None:
            groups.add(join(base, "labels"))
        for label in image.labels:
            path = join(base, "labels", label.name)
            groups.add(path)
            arrays.update(join(path, lv.path or "") for lv in label.levels)
    return groups, arrays


_PROBES: tuple[Callable[[_Reader], Collection | None], ...] = (
    _probe_plate,
    _probe_bf2raw,
    _probe_image,
    _probe_groups,
)
