"""What ``omeconv info`` reports: a summary of an OME-Zarr store or of a source file.

:func:`summarize` returns the summary as plain JSON-ready data (``omeconv info --json``);
:func:`describe` renders the same summary as text. Stores are read through
:class:`omeconv.hierarchy.Hierarchy`, the reader the OME-Zarr adapter uses, so local paths,
``.ozx`` files and URLs (``s3://`` …) are summarised alike, from their metadata documents
only (no chunk is read), and a store the adapter would refuse says why in its words
(``refused``). Each level shows its scale and translation, and an image the transforms of
its whole multiscale, where the store has them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.errors import (
    CorruptSourceError,
    MetadataError,
    SourceNotFoundError,
    UnsupportedSourceError,
)
from omeconv.hierarchy import Hierarchy, first_multiscale, well_metadata
from omeconv.ozx import is_ozx
from omeconv.zarr_io import METADATA_KEYS, join, stored_sizes

if TYPE_CHECKING:
    import os

    from omeconv.model import Collection, Image

__all__ = ["describe", "summarize"]

#: Wells of a plate described field by field in the text summary (the JSON lists them all).
_WELLS_SHOWN = 3


def summarize(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The summary of ``path``: an OME-Zarr store (local or URL), or any file omeconv reads."""
    text = str(path)
    if "://" not in text and not Path(text).exists():
        raise SourceNotFoundError("no such file or directory", path=text)
    if "://" in text or Path(text).is_dir() or is_ozx(text):
        docs = _Documents(text)
        try:
            root = docs.hierarchy.node("")
        except CorruptSourceError as exc:
            raise exc.at(text) from exc.__cause__
        if root is not None:
            return _summarize_store(docs)
    from omeconv.api import open_source

    return _summarize_collection(text, open_source(text))


def describe(path: str | os.PathLike[str]) -> str:
    """A multi-line text summary of ``path`` (see :func:`summarize`)."""
    summary = summarize(path)
    if summary["kind"] == "source":
        return "\n".join(_render_source(summary))
    lines = [
        f"{summary['path']}: OME-Zarr {summary['ome_version'] or '?'} (Zarr v{summary['zarr_format']})"
    ]
    lines += _render_node(summary["root"], "  ")
    if summary["refused"]:
        lines.append(f"  omeconv cannot convert it: {summary['refused']}")
    return "\n".join(lines)


class _Documents:
    """What ``info`` reads of one store: the nodes of its :class:`Hierarchy`, each group's NGFF
    metadata as the OME-Zarr adapter reads it, and the first reason the adapter would refuse
    the store (:attr:`refused`), in the adapter's own words."""

    def __init__(self, location: str) -> None:
        self.hierarchy = Hierarchy(location)
        self.location = location
        self.refused: str | None = None

    def attrs(self, path: str) -> dict[str, Any]:
        """The group attributes at ``path``, NGFF keys unwrapped from ``ome`` for Zarr v3 (0.6
        in 0.5's shape where 0.5 can say it, else as stored)."""
        h = self.hierarchy
        try:
            attrs = h.attributes(path)
            if h.zarr_format == 2:
                return attrs
            if h.kind(path) != "group":
                return {}
            return {**attrs, **h.ngff(path)}
        except (MetadataError, UnsupportedSourceError) as exc:
            self.refused = self.refused or str(exc)
            ome = attrs.get("ome")
            return {**attrs, **(ome if isinstance(ome, dict) else {})}
        except CorruptSourceError as exc:
            raise exc.at(self.location) from exc.__cause__

    def multiscale(self, path: str, attrs: dict[str, Any]) -> dict[str, Any] | None:
        """The first multiscale of the image group at ``path`` (None, the refusal noted, when
        the adapter would refuse it)."""
        try:
            return first_multiscale(attrs, self.hierarchy.where(path))
        except MetadataError as exc:
            self.refused = self.refused or str(exc)
            return None

    def array(self, path: str) -> dict[str, Any] | None:
        """Shape, dtype, chunks, shards, codecs and sizes of the array at ``path``; None if absent.

        Sizes come from listing the array's keys: ``nbytes`` uncompressed, ``stored_bytes``
        on disk (chunks and metadata), and how many of its chunks (shards) are present;
        absent ones read as the fill value.
        """
        node = self.hierarchy.node(path)
        if node is None or node.array is None:
            try:  # to say why the adapter would refuse it, in its words
                self.hierarchy.open_array(path)
            except CorruptSourceError as exc:
                self.refused = self.refused or str(exc)
            return None
        meta = node.array
        codecs = [dict(c) for c in meta.codecs]
        stored, present = self._stored(path)
        itemsize = _itemsize(meta.dtype)
        grid = meta.grid or meta.shape
        return {
            "shape": list(meta.shape),
            "dtype": meta.dtype,
            "chunks": None if meta.chunks is None else list(meta.chunks),
            "shards": None if meta.shards is None else list(meta.shards),
            "codecs": codecs,
            "codec": _codec_text(codecs),
            "nbytes": None if itemsize is None else math.prod(meta.shape) * itemsize,
            "stored_bytes": stored,
            "chunks_total": math.prod(
                -(-n // max(1, c)) for n, c in zip(meta.shape, grid, strict=False)
            ),
            "chunks_present": present,
        }

    def _stored(self, path: str) -> tuple[int, int]:
        """Bytes stored under the array at ``path`` and how many of its keys are chunks."""
        listed = stored_sizes(self.hierarchy.store, f"{path}/" if path else "")
        chunks = [k for k, _ in listed if k.rpartition("/")[2] not in METADATA_KEYS]
        return sum(size for _, size in listed), len(chunks)

    def series(self, path: str) -> list[str]:
        """The series of the bioformats2raw collection at ``path`` (none, the refusal noted,
        when the adapter would find none)."""
        try:
            return self.hierarchy.series(path)
        except (MetadataError, UnsupportedSourceError) as exc:
            self.refused = self.refused or str(exc)
            return []

    def well(self, path: str) -> dict[str, Any]:
        """The ``well`` metadata of the well group at ``path`` (empty, the refusal noted,
        when the adapter would refuse it)."""
        try:
            return well_metadata(self.attrs(path), self.hierarchy.where(path))
        except MetadataError as exc:
            self.refused = self.refused or str(exc)
            return {}


def _itemsize(dtype: str) -> int | None:
    import numpy as np

    try:
        return int(np.dtype(dtype).itemsize) or None
    except TypeError:
        return None


#: Zarr v2 Blosc's shuffle numbers, named as Zarr v3 names them.
_BLOSC_SHUFFLE = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle", -1: "autoshuffle"}


def _codec_text(codecs: list[dict[str, Any]]) -> str:
    """``blosc(cname=zstd, clevel=5, shuffle=bitshuffle)`` for each codec, joined by ``+``."""
    parts = []
    for codec in codecs:
        config = codec.get("configuration") or {}
        settings = ", ".join(
            f"{k}={_BLOSC_SHUFFLE.get(v, v) if k == 'shuffle' else v}"
            for k, v in config.items()
            if k not in ("typesize", "blocksize")
        )
        parts.append(f"{codec.get('name')}({settings})" if settings else str(codec.get("name")))
    return " + ".join(parts) or "uncompressed"


# -- stores -----------------------------------------------------------------------------------


def _summarize_store(docs: _Documents) -> dict[str, Any]:
    attrs = docs.attrs("")
    root = _node(docs, "", attrs)
    h = docs.hierarchy
    version = h.store_version("")
    if root["kind"] == "group" and not any("multiscales" in docs.attrs(p) for p in h.groups("")):
        docs.refused = docs.refused or str(h.not_ngff())
    return {
        "kind": "store",
        "path": docs.location,
        "zarr_format": h.zarr_format,
        "ome_version": version,
        "refused": docs.refused,
        "root": root,
    }


def _node(docs: _Documents, path: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The summary of the NGFF group at ``path``: an image, a plate or a collection."""
    if "multiscales" in attrs and docs.multiscale(path, attrs) is not None:
        node = _image_node(docs, path, attrs)
    elif isinstance(attrs.get("plate"), dict):
        node = _plate_node(docs, path, attrs["plate"])
    elif "bioformats2raw.layout" in attrs:
        series = docs.series(path)
        node = {
            "kind": "bioformats2raw",
            "path": path,
            "series": [_node(docs, join(path, s), docs.attrs(join(path, s))) for s in series],
            "open": [docs.location.rstrip("/") + "/" + join(path, s) for s in series],
        }
    else:
        node = {"kind": "group", "path": path}
    xml = join(path, "OME", "METADATA.ome.xml")
    node["ome_xml"] = xml if docs.hierarchy.exists(xml) else None
    return node


def _image_node(docs: _Documents, path: str, attrs: dict[str, Any]) -> dict[str, Any]:
    ms = attrs["multiscales"][0]  # checked by docs.multiscale
    axes = [
        {"name": a.get("name"), "type": a.get("type"), "unit": a.get("unit")}
        if isinstance(a, dict)
        else {"name": str(a), "type": None, "unit": None}
        for a in ms.get("axes", [])
    ]
    levels = [
        {
            "path": ds.get("path"),
            "array": docs.array(join(path, str(ds.get("path")))),
            **_transforms(ds),
        }
        for ds in ms.get("datasets", [])
    ]
    channels = [
        {
            "label": ch.get("label"),
            "color": ch.get("color"),
            "window": ch.get("window"),
        }
        for ch in (attrs.get("omero") or {}).get("channels", [])
    ]
    labels_path = join(path, "labels")
    labels = (
        docs.attrs(labels_path).get("labels")
        if docs.hierarchy.node(labels_path) is not None
        else None
    )
    node = {
        "kind": "image",
        "path": path,
        "name": ms.get("name"),
        "axes": axes,
        "levels": levels,
        "transform": _transforms(ms),
        "channels": channels,
        "labels": labels,
        "label_images": [
            _image_node(docs, join(labels_path, str(name)), attrs)
            for name in labels or ()
            if docs.multiscale(
                join(labels_path, str(name)), attrs := docs.attrs(join(labels_path, str(name)))
            )
            is not None
        ],
    }
    node.update(_totals([level["array"] for level in levels]))
    return node


def _transforms(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``scale`` and ``translation`` of ``obj``'s ``coordinateTransformations`` as stored
    (None where it has none)."""
    transforms = obj.get("coordinateTransformations")
    found = {t.get("type"): t for t in transforms or () if isinstance(t, dict)}
    return {
        "scale": found.get("scale", {}).get("scale"),
        "translation": found.get("translation", {}).get("translation"),
    }


def _totals(arrays: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Uncompressed and stored bytes of some arrays, their ratio, and absent chunks."""
    present = [a for a in arrays if a is not None]
    nbytes = sum(a["nbytes"] or 0 for a in present)
    stored = sum(a["stored_bytes"] for a in present)
    return {
        "nbytes": nbytes,
        "stored_bytes": stored,
        "ratio": round(nbytes / stored, 3) if stored else None,
        "chunks_missing": sum(a["chunks_total"] - a["chunks_present"] for a in present),
    }


def _plate_node(docs: _Documents, path: str, plate: dict[str, Any]) -> dict[str, Any]:
    wells = []
    for i, well in enumerate(plate.get("wells", [])):
        well_path = join(path, str(well.get("path")))
        fields = [str(f.get("path")) for f in docs.well(well_path).get("images", [])]
        entry: dict[str, Any] = {"path": well.get("path"), "fields": fields}
        if i < _WELLS_SHOWN and fields:
            first = join(well_path, fields[0])
            entry["first_field"] = _node(docs, first, docs.attrs(first))
        wells.append(entry)
    return {
        "kind": "plate",
        "path": path,
        "name": plate.get("name"),
        "rows": [r.get("name") for r in plate.get("rows", [])],
        "columns": [c.get("name") for c in plate.get("columns", [])],
        "wells": wells,
    }


def _render_node(node: dict[str, Any], indent: str) -> list[str]:
    kind = node["kind"]
    if kind == "image":
        lines = _render_image(node, indent)
    elif kind == "plate":
        wells = node["wells"]
        lines = [
            (
                f"{indent}plate {node['name'] or ''!r}: {len(node['rows'])} rows x "
                f"{len(node['columns'])} columns, {len(wells)} wells"
            )
        ]
        for well in wells[:_WELLS_SHOWN]:
            lines.append(f"{indent}well {well['path']}: {len(well['fields'])} field(s)")
            if "first_field" in well:
                lines += _render_node(well["first_field"], indent + "  ")
        if len(wells) > _WELLS_SHOWN:
            lines.append(f"{indent}… {len(wells) - _WELLS_SHOWN} more wells")
    elif kind == "bioformats2raw":
        lines = [f"{indent}bioformats2raw collection: {len(node['series'])} series"]
        if node["open"]:
            lines.append(f"{indent}open a series, e.g. {node['open'][0]} (most viewers need one)")
        for series in node["series"]:
            lines.append(f"{indent}series {series['path'].rsplit('/', 1)[-1]}:")
            lines += _render_node(series, indent + "  ")
    else:
        lines = [f"{indent}(no NGFF metadata)"]
    if node["ome_xml"]:
        lines.append(f"{indent}OME-XML: {node['ome_xml']}")
    return lines


def _render_image(node: dict[str, Any], indent: str) -> list[str]:
    names = "".join(str(a["name"]) for a in node["axes"])
    lines = [f"{indent}image {node['name'] or ''!r}: axes {names}"]
    units = {a["name"]: a["unit"] for a in node["axes"] if a["unit"]}
    if units:
        lines.append(f"{indent}units: " + ", ".join(f"{k}={v}" for k, v in units.items()))
    lines += [
        f"{indent}  level {level['path']}: {_render_array(level['array'])}"
        f"{_render_transforms(level)}"
        for level in node["levels"]
    ]
    if any(v is not None for v in node["transform"].values()):
        lines.append(f"{indent}  multiscale transform:{_render_transforms(node['transform'])}")
    lines.append(f"{indent}{_render_sizes(node)}")
    for i, ch in enumerate(node["channels"]):
        window = ch["window"] or {}
        lines.append(
            f"{indent}channel {i}: {ch['label'] or '-'} color {ch['color'] or '-'}"
            f" window {window.get('start', '?')}..{window.get('end', '?')}"
        )
    if node["labels"] is not None:
        lines.append(f"{indent}labels: {', '.join(node['labels']) or '(none listed)'}")
    for label in node["label_images"]:
        lines.append(f"{indent}label {label['path'].rsplit('/', 1)[-1]}:")
        lines += [
            f"{indent}  level {level['path']}: {_render_array(level['array'])}"
            for level in label["levels"]
        ]
    return lines


def _render_transforms(transforms: dict[str, Any]) -> str:
    """`` scale (…) translation (…)``, the translation only where there is one."""
    text = f" scale {_fmt(transforms['scale'])}"
    if transforms["translation"] is not None:
        text += f" translation {_fmt(transforms['translation'])}"
    return text


def _render_sizes(node: dict[str, Any]) -> str:
    text = f"size: {_bytes(node['nbytes'])} of pixels, {_bytes(node['stored_bytes'])} stored"
    if node["ratio"]:
        text += f" (ratio {node['ratio']:.2f})"
    if node["chunks_missing"]:
        text += f"; {node['chunks_missing']} chunks absent (read as the fill value)"
    return text


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def _render_array(array: dict[str, Any] | None) -> str:
    if array is None:
        return "(missing array)"
    text = f"shape {_fmt(array['shape'])} {array['dtype']} chunks {_fmt(array['chunks'])}"
    if array["shards"]:
        text += f" shards {_fmt(array['shards'])}"
    return text + f" [{array['codec']}]"


def _fmt(values: Any) -> str:
    if values is None:
        return "-"
    return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + ")"


# -- source files -----------------------------------------------------------------------------


def _summarize_collection(path: str, collection: Collection) -> dict[str, Any]:
    return {
        "kind": "source",
        "path": path,
        "images": [_image_summary(image) for image in collection.images],
        "plate": None if collection.plate is None else collection.plate.name or "",
        "ome_xml": collection.ome_xml is not None,
    }


def _image_summary(image: Image) -> dict[str, Any]:
    return {
        "name": image.name,
        "axes": [{"name": a.name, "type": a.type, "unit": a.unit} for a in image.axes],
        "dtype": str(image.levels[0].dtype),
        "levels": [
            {"shape": list(level.shape), "scale": list(level.scale)} for level in image.levels
        ],
        "channels": [{"label": ch.label, "color": ch.color} for ch in image.channels],
        "labels": [label.name for label in image.labels],
    }


def _render_source(summary: dict[str, Any]) -> list[str]:
    lines = [f"{summary['path']}: {len(summary['images'])} image(s)"]
    if summary["plate"] is not None:
        lines.append(f"  plate {summary['plate']!r}")
    for i, image in enumerate(summary["images"]):
        lines.append(f"  image {i} {image['name'] or ''!r}:")
        names = "".join(a["name"] for a in image["axes"])
        lines.append(f"    axes {names}, dtype {image['dtype']}")
        units = {a["name"]: a["unit"] for a in image["axes"] if a["unit"]}
        if units:
            lines.append("    units: " + ", ".join(f"{k}={v}" for k, v in units.items()))
        for k, level in enumerate(image["levels"]):
            lines.append(
                f"    level {k}: shape {_fmt(level['shape'])} scale {_fmt(level['scale'])}"
            )
        for k, ch in enumerate(image["channels"]):
            lines.append(f"    channel {k}: {ch['label'] or '-'} color {ch['color'] or '-'}")
        if image["labels"]:
            lines.append(f"    labels: {', '.join(image['labels'])}")
    if summary["ome_xml"]:
        lines.append("  OME-XML: present")
    return lines
