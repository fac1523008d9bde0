"""Human-readable summaries for ``omeconv info``: of an OME-Zarr store or of a source file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.errors import SourceNotFoundError, UnsupportedSourceError

if TYPE_CHECKING:
    import os

    from omeconv.model import Collection, Image

__all__ = ["describe", "read_group_attrs"]


def describe(path: str | os.PathLike[str]) -> str:
    """A multi-line summary of ``path``: an OME-Zarr store, or any file omeconv reads."""
    text = str(path)
    local = Path(text)
    if "://" not in text and not local.exists():
        raise SourceNotFoundError("no such file or directory", path=text)
    if local.is_dir() and _zarr_format(local) is not None:
        return _describe_store(local)
    from omeconv.api import open_source

    collection = open_source(text)
    return _describe_collection(text, collection)


def _zarr_format(path: Path) -> int | None:
    if (path / "zarr.json").is_file():
        return 3
    if (path / ".zgroup").is_file() or (path / ".zattrs").is_file():
        return 2
    return None


def read_group_attrs(path: Path) -> tuple[int, dict[str, Any]]:
    """``(zarr_format, attributes)`` of the group at ``path``; NGFF keys unwrapped for v3."""
    fmt = _zarr_format(path)
    if fmt == 3:
        doc = json.loads((path / "zarr.json").read_text())
        attrs = doc.get("attributes", {}) if doc.get("node_type") == "group" else {}
        return 3, {**attrs, **attrs.get("ome", {})}
    if fmt == 2:
        zattrs = path / ".zattrs"
        return 2, json.loads(zattrs.read_text()) if zattrs.is_file() else {}
    raise UnsupportedSourceError("not a Zarr group", path=path)


def _describe_store(root: Path) -> str:
    fmt, attrs = read_group_attrs(root)
    lines = [f"{root}: OME-Zarr {_version(attrs) or '?'} (Zarr v{fmt})"]
    _describe_node(root, attrs, lines, indent="  ")
    return "\n".join(lines)


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


def _describe_node(path: Path, attrs: dict[str, Any], lines: list[str], indent: str) -> None:
    if "multiscales" in attrs:
        _describe_multiscales(path, attrs, lines, indent)
        labels = path / "labels"
        if labels.is_dir() and _zarr_format(labels):
            names = read_group_attrs(labels)[1].get("labels", [])
            lines.append(f"{indent}labels: {', '.join(names) or '(none listed)'}")
    elif "plate" in attrs:
        plate = attrs["plate"]
        lines.append(
            f"{indent}plate {plate.get('name', '')!r}: {len(plate.get('rows', []))} rows x "
            f"{len(plate.get('columns', []))} columns, {len(plate.get('wells', []))} wells"
        )
        for well in plate.get("wells", [])[:3]:
            well_path = path / well["path"]
            if _zarr_format(well_path):
                images = read_group_attrs(well_path)[1].get("well", {}).get("images", [])
                lines.append(f"{indent}well {well['path']}: {len(images)} field(s)")
                if images:
                    field = well_path / images[0]["path"]
                    _describe_node(field, read_group_attrs(field)[1], lines, indent + "  ")
        if len(plate.get("wells", [])) > 3:
            lines.append(f"{indent}… {len(plate['wells']) - 3} more wells")
    elif "bioformats2raw.layout" in attrs:
        series = _series(path)
        lines.append(f"{indent}bioformats2raw collection: {len(series)} series")
        for name in series:
            child = path / name
            if _zarr_format(child):
                lines.append(f"{indent}series {name}:")
                _describe_node(child, read_group_attrs(child)[1], lines, indent + "  ")
    else:
        lines.append(f"{indent}(no NGFF metadata)")
    if (path / "OME" / "METADATA.ome.xml").is_file():
        lines.append(f"{indent}OME-XML: OME/METADATA.ome.xml")


def _series(path: Path) -> list[str]:
    ome = path / "OME"
    if _zarr_format(ome):
        series = read_group_attrs(ome)[1].get("series")
        if series:
            return [str(s) for s in series]
    names = [p.name for p in path.iterdir() if p.is_dir() and p.name.isdigit()]
    return sorted(names, key=int)


def _describe_multiscales(path: Path, attrs: dict[str, Any], lines: list[str], indent: str) -> None:
    for ms in attrs["multiscales"]:
        axes = ms.get("axes", [])
        names = "".join(a["name"] if isinstance(a, dict) else str(a) for a in axes)
        units = {a["name"]: a.get("unit") for a in axes if isinstance(a, dict) and a.get("unit")}
        lines.append(f"{indent}image {ms.get('name') or ''!r}: axes {names}")
        if units:
            lines.append(f"{indent}units: " + ", ".join(f"{k}={v}" for k, v in units.items()))
        for ds in ms.get("datasets", []):
            scale = next(
                (
                    t["scale"]
                    for t in ds.get("coordinateTransformations", [])
                    if t["type"] == "scale"
                ),
                None,
            )
            lines.append(
                f"{indent}  level {ds['path']}: {_array_summary(path / ds['path'])}"
                f" scale {_fmt(scale)}"
            )
    channels = (attrs.get("omero") or {}).get("channels", [])
    for i, ch in enumerate(channels):
        window = ch.get("window", {})
        lines.append(
            f"{indent}channel {i}: {ch.get('label') or '-'} color {ch.get('color', '-')}"
            f" window {window.get('start', '?')}..{window.get('end', '?')}"
        )


def _array_summary(path: Path) -> str:
    try:
        if (path / "zarr.json").is_file():
            meta = json.loads((path / "zarr.json").read_text())
            chunks = meta.get("chunk_grid", {}).get("configuration", {}).get("chunk_shape")
            codecs = [c.get("name") for c in meta.get("codecs", [])]
            if "sharding_indexed" in codecs:
                inner = meta["codecs"][codecs.index("sharding_indexed")]["configuration"]
                shard = chunks
                chunks = inner.get("chunk_shape")
                codecs = [c.get("name") for c in inner.get("codecs", [])]
                return (
                    f"shape {_fmt(meta['shape'])} {meta['data_type']} chunks {_fmt(chunks)}"
                    f" shards {_fmt(shard)} [{', '.join(codecs)}]"
                )
            return f"shape {_fmt(meta['shape'])} {meta['data_type']} chunks {_fmt(chunks)} [{', '.join(codecs)}]"
        meta = json.loads((path / ".zarray").read_text())
        comp = (meta.get("compressor") or {}).get("id", "none")
        return f"shape {_fmt(meta['shape'])} {meta['dtype']} chunks {_fmt(meta['chunks'])} [{comp}]"
    except (OSError, ValueError, KeyError):
        return "(missing or unreadable array)"


def _fmt(values: Any) -> str:
    if values is None:
        return "-"
    return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + ")"


def _describe_collection(path: str, collection: Collection) -> str:
    lines = [f"{path}: {len(collection.images)} image(s)"]
    for i, image in enumerate(collection.images):
        lines.append(f"  image {i} {image.name or ''!r}:")
        lines.extend(_describe_image(image, "    "))
    if collection.ome_xml:
        lines.append("  OME-XML: present")
    return "\n".join(lines)


def _describe_image(image: Image, indent: str) -> list[str]:
    lines = [f"{indent}axes {image.axis_names}, dtype {image.data.dtype}"]
    units = {a.name: a.unit for a in image.axes if a.unit}
    if units:
        lines.append(f"{indent}units: " + ", ".join(f"{k}={v}" for k, v in units.items()))
    for i, level in enumerate(image.levels):
        lines.append(f"{indent}level {i}: shape {_fmt(level.data.shape)} scale {_fmt(level.scale)}")
    for i, ch in enumerate(image.channels):
        lines.append(f"{indent}channel {i}: {ch.label or '-'} color {ch.color or '-'}")
    return lines
