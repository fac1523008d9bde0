"""What ``omeconv info`` reports: a summary of an OME-Zarr store or of a source file.

:func:`summarize` returns the summary as plain JSON-ready data (``omeconv info --json``);
:func:`describe` renders the same summary as text. Stores are read through zarr's store
layer, so local paths and URLs (``s3://`` …) are summarised alike, from their metadata
documents only: no chunk is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.errors import CorruptSourceError, SourceNotFoundError

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
    if "://" in text or Path(text).is_dir():
        docs = _Documents(text)
        if docs.zarr_format("") is not None:
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
    return "\n".join(lines)


class _Documents:
    """The JSON metadata documents of one store, read through zarr's store layer."""

    def __init__(self, location: str) -> None:
        from omeconv.stores import open_store

        self.location = location
        self.store = open_store(location, mode="r")

    def get(self, key: str) -> dict[str, Any] | None:
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        buffer = sync(self.store.get(key, prototype=default_buffer_prototype()))
        if buffer is None:
            return None
        try:
            doc = json.loads(buffer.to_bytes())
        except ValueError as exc:
            raise CorruptSourceError(f"{key} is not JSON: {exc}", path=self.location) from exc
        if not isinstance(doc, dict):
            raise CorruptSourceError(f"{key} is not a JSON object", path=self.location)
        return doc

    def zarr_format(self, path: str) -> int | None:
        if self.get(_join(path, "zarr.json")) is not None:
            return 3
        if any(self.get(_join(path, name)) is not None for name in (".zgroup", ".zattrs")):
            return 2
        return None

    def attrs(self, path: str) -> dict[str, Any]:
        """The group attributes at ``path``, NGFF keys unwrapped from ``ome`` for Zarr v3."""
        doc = self.get(_join(path, "zarr.json"))
        if doc is not None:
            attrs = doc.get("attributes", {}) if doc.get("node_type") == "group" else {}
            return {**attrs, **attrs.get("ome", {})}
        return self.get(_join(path, ".zattrs")) or {}

    def array(self, path: str) -> dict[str, Any] | None:
        """Shape, dtype, chunks, shards and codecs of the array at ``path``; None if absent."""
        meta = self.get(_join(path, "zarr.json"))
        if meta is not None and meta.get("node_type") == "array":
            chunks = meta.get("chunk_grid", {}).get("configuration", {}).get("chunk_shape")
            codecs = meta.get("codecs", [])
            shards = None
            names = [c.get("name") for c in codecs]
            if "sharding_indexed" in names:
                inner = codecs[names.index("sharding_indexed")]["configuration"]
                shards, chunks = chunks, inner.get("chunk_shape")
                codecs = inner.get("codecs", [])
            return {
                "shape": meta.get("shape"),
                "dtype": meta.get("data_type"),
                "chunks": chunks,
                "shards": shards,
                "codecs": [c.get("name") for c in codecs],
            }
        meta = self.get(_join(path, ".zarray"))
        if meta is None:
            return None
        compressor = (meta.get("compressor") or {}).get("id")
        return {
            "shape": meta.get("shape"),
            "dtype": meta.get("dtype"),
            "chunks": meta.get("chunks"),
            "shards": None,
            "codecs": [compressor] if compressor else [],
        }

    def numbered_children(self, path: str) -> list[str]:
        from zarr.core.sync import sync

        async def names() -> list[str]:
            return [name async for name in self.store.list_dir(path)]

        return sorted((n for n in sync(names()) if n.isdigit()), key=int)


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


# -- stores -----------------------------------------------------------------------------------


def _summarize_store(docs: _Documents) -> dict[str, Any]:
    attrs = docs.attrs("")
    root = _node(docs, "", attrs)
    version = _version(attrs)
    if version is None and root["kind"] == "bioformats2raw" and root["series"]:
        version = _version(docs.attrs(root["series"][0]["path"]))
    return {
        "kind": "store",
        "path": docs.location,
        "zarr_format": docs.zarr_format(""),
        "ome_version": version,
        "root": root,
    }


def _version(attrs: dict[str, Any]) -> str | None:
    if "version" in attrs:
        return str(attrs["version"])
    for key in ("multiscales", "plate", "well"):
        value = attrs.get(key)
        if isinstance(value, list) and value and "version" in value[0]:
            return str(value[0]["version"])
        if isinstance(value, dict) and "version" in value:
            return str(value["version"])
    return None


def _node(docs: _Documents, path: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The summary of the NGFF group at ``path``: an image, a plate or a collection."""
    if "multiscales" in attrs:
        node = _image_node(docs, path, attrs)
    elif isinstance(attrs.get("plate"), dict):
        node = _plate_node(docs, path, attrs["plate"])
    elif "bioformats2raw.layout" in attrs:
        series = [str(s) for s in docs.attrs(_join(path, "OME")).get("series") or ()]
        series = series or docs.numbered_children(path)
        node = {
            "kind": "bioformats2raw",
            "path": path,
            "series": [_node(docs, _join(path, s), docs.attrs(_join(path, s))) for s in series],
        }
    else:
        node = {"kind": "group", "path": path}
    xml = _join(path, "OME", "METADATA.ome.xml")
    from zarr.core.sync import sync

    node["ome_xml"] = xml if sync(docs.store.exists(xml)) else None
    return node


def _image_node(docs: _Documents, path: str, attrs: dict[str, Any]) -> dict[str, Any]:
    ms = attrs["multiscales"][0]
    axes = [
        {"name": a.get("name"), "type": a.get("type"), "unit": a.get("unit")}
        if isinstance(a, dict)
        else {"name": str(a), "type": None, "unit": None}
        for a in ms.get("axes", [])
    ]
    levels = []
    for ds in ms.get("datasets", []):
        transforms = {t.get("type"): t for t in ds.get("coordinateTransformations", [])}
        levels.append(
            {
                "path": ds.get("path"),
                "array": docs.array(_join(path, str(ds.get("path")))),
                "scale": transforms.get("scale", {}).get("scale"),
                "translation": transforms.get("translation", {}).get("translation"),
            }
        )
    channels = [
        {
            "label": ch.get("label"),
            "color": ch.get("color"),
            "window": ch.get("window"),
        }
        for ch in (attrs.get("omero") or {}).get("channels", [])
    ]
    labels_path = _join(path, "labels")
    labels = docs.attrs(labels_path).get("labels") if docs.zarr_format(labels_path) else None
    return {
        "kind": "image",
        "path": path,
        "name": ms.get("name"),
        "axes": axes,
        "levels": levels,
        "channels": channels,
        "labels": labels,
    }


def _plate_node(docs: _Documents, path: str, plate: dict[str, Any]) -> dict[str, Any]:
    wells = []
    for i, well in enumerate(plate.get("wells", [])):
        well_path = _join(path, str(well.get("path")))
        fields = [
            str(f.get("path")) for f in docs.attrs(well_path).get("well", {}).get("images", [])
        ]
        entry: dict[str, Any] = {"path": well.get("path"), "fields": fields}
        if i < _WELLS_SHOWN and fields:
            first = _join(well_path, fields[0])
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
        f" scale {_fmt(level['scale'])}"
        for level in node["levels"]
    ]
    for i, ch in enumerate(node["channels"]):
        window = ch["window"] or {}
        lines.append(
            f"{indent}channel {i}: {ch['label'] or '-'} color {ch['color'] or '-'}"
            f" window {window.get('start', '?')}..{window.get('end', '?')}"
        )
    if node["labels"] is not None:
        lines.append(f"{indent}labels: {', '.join(node['labels']) or '(none listed)'}")
    return lines


def _render_array(array: dict[str, Any] | None) -> str:
    if array is None:
        return "(missing array)"
    text = f"shape {_fmt(array['shape'])} {array['dtype']} chunks {_fmt(array['chunks'])}"
    if array["shards"]:
        text += f" shards {_fmt(array['shards'])}"
    return text + f" [{', '.join(array['codecs']) or 'uncompressed'}]"


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
        "dtype": str(image.data.dtype),
        "levels": [
            {"shape": list(level.data.shape), "scale": list(level.scale)} for level in image.levels
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
