"""One reader of Zarr hierarchies: nodes, their attributes, array metadata and OME versions.

A :class:`Hierarchy` is opened on any store :func:`omeconv.stores.open_store` opens (a local
folder, a URL, a ``.ozx`` file) and reads lazily, one node at a time as asked, each node once.
The hierarchy's Zarr format is its root's (``zarr.json``: 3, else 2), as zarr opens it; a node
of the other format reads as absent. Attributes are kept exactly as stored (key order and
JSON types). :meth:`Hierarchy.ngff` is the one place that says which NGFF metadata omeconv
reads: a v2 node's attributes, a v3 node's ``attributes["ome"]`` of version 0.5 or 0.6 (0.6
read in 0.5's shape), and it refuses anything else in one line. The OME-Zarr adapter,
``info``, ``validate``, ``verify`` and ``upgrade`` all read stores through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from omeconv.errors import CorruptSourceError, MetadataError, UnsupportedSourceError
from omeconv.ngff06 import is_v06
from omeconv.zarr_io import (
    METADATA_KEYS,
    exists,
    join,
    list_dir,
    read_bytes,
    read_json,
    read_jsons,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator

__all__ = [
    "ArrayMetadata",
    "Hierarchy",
    "Node",
    "dtype_name",
    "first_multiscale",
    "ome_version",
    "scale_translation",
    "well_metadata",
]

#: The per-object NGFF keys of 0.4 that carry a ``version``, in the order they are asked.
_VERSIONED_V04 = ("multiscales", "plate", "well", "image-label")


@dataclass(frozen=True)
class ArrayMetadata:
    """What an array's metadata document says, alike for Zarr v2 and v3.

    ``dtype`` is numpy's name (``uint16`` for v2 ``<u2`` and v3 ``uint16``); ``chunks`` is the
    shape of one chunk (the inner chunk of a shard), ``shards`` the shape of one shard or
    None; ``codecs`` lists the v2 filters and compressor, or the v3 codecs inside the shard,
    as ``{"name", "configuration"}`` (the ``bytes`` codec left out).
    """

    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...] | None
    shards: tuple[int, ...] | None
    codecs: tuple[dict[str, Any], ...]
    fill_value: Any
    dimension_names: tuple[str | None, ...] | None

    @property
    def grid(self) -> tuple[int, ...] | None:
        """The shape of one stored object (a shard if sharded, else a chunk)."""
        return self.shards or self.chunks

    @classmethod
    def from_v2(cls, doc: dict[str, Any]) -> ArrayMetadata:
        """From a ``.zarray`` document."""
        codecs = tuple(
            {"name": c.get("id"), "configuration": {k: v for k, v in c.items() if k != "id"}}
            for c in [*(doc.get("filters") or ()), doc.get("compressor")]
            if isinstance(c, dict)
        )
        return cls(
            shape=_ints(doc.get("shape")) or (),
            dtype=dtype_name(doc.get("dtype")),
            chunks=_ints(doc.get("chunks")),
            shards=None,
            codecs=codecs,
            fill_value=doc.get("fill_value"),
            dimension_names=None,
        )

    @classmethod
    def from_v3(cls, doc: dict[str, Any]) -> ArrayMetadata:
        """From an array's ``zarr.json`` document."""
        grid = _ints(_get(doc, "chunk_grid", "configuration", "chunk_shape"))
        chunks, shards, codecs = grid, None, _list(doc.get("codecs"))
        names = [c.get("name") if isinstance(c, dict) else None for c in codecs]
        if "sharding_indexed" in names:
            inner = codecs[names.index("sharding_indexed")].get("configuration") or {}
            shards, chunks = grid, _ints(inner.get("chunk_shape"))
            codecs = _list(inner.get("codecs"))
        names_ = doc.get("dimension_names")
        return cls(
            shape=_ints(doc.get("shape")) or (),
            dtype=dtype_name(doc.get("data_type")),
            chunks=chunks,
            shards=shards,
            codecs=tuple(c for c in codecs if isinstance(c, dict) and c.get("name") != "bytes"),
            fill_value=doc.get("fill_value"),
            dimension_names=tuple(names_) if isinstance(names_, list) else None,
        )


@dataclass(frozen=True)
class Node:
    """A group or an array of a hierarchy, as stored."""

    path: str
    kind: Literal["group", "array"]
    zarr_format: Literal[2, 3]
    attributes: dict[str, Any]
    """The node's attributes exactly as stored (empty when it has none)."""
    array: ArrayMetadata | None = None
    """The array metadata (None for a group)."""

    @property
    def ome_version(self) -> str | None:
        """The OME-Zarr version the node states (see :func:`ome_version`)."""
        return ome_version(self.attributes, self.zarr_format)


def ome_version(attributes: dict[str, Any], zarr_format: int) -> str | None:
    """The NGFF version of attributes: Zarr v3 ``ome.version``; for Zarr v2 (0.4) the
    ``version`` of the first of ``multiscales``, ``plate``, ``well``, ``image-label`` that
    states one. None where none is stated."""
    if zarr_format == 3:
        ome = attributes.get("ome")
        version = ome.get("version") if isinstance(ome, dict) else None
        return None if version is None else str(version)
    for key in _VERSIONED_V04:
        value = attributes.get(key)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        if isinstance(value, dict) and "version" in value:
            return str(value["version"])
    return None


def scale_translation(
    transforms: Any, ndim: int
) -> tuple[tuple[float, ...], tuple[float, ...] | None]:
    """The scale (ones when absent) and translation (None when absent) of a 0.4/0.5 list of
    ``coordinateTransformations``."""
    scale: tuple[float, ...] = (1.0,) * ndim
    translation: tuple[float, ...] | None = None
    for t in transforms or ():
        if t.get("type") == "scale" and "scale" in t:
            scale = tuple(float(v) for v in t["scale"])
        elif t.get("type") == "translation" and "translation" in t:
            translation = tuple(float(v) for v in t["translation"])
    return scale, translation


def first_multiscale(ngff: dict[str, Any], where: str) -> dict[str, Any]:
    """The first multiscale of an image group's NGFF metadata ``ngff`` (the one omeconv
    reads); :class:`MetadataError` naming ``where`` when there is none with datasets."""
    multiscales = ngff.get("multiscales")
    if not isinstance(multiscales, list) or not multiscales:
        raise MetadataError("'multiscales' must be a non-empty list", path=where)
    first = multiscales[0]
    if not isinstance(first, dict) or not first.get("datasets"):
        raise MetadataError("a multiscale needs 'datasets'", path=where)
    return first


def well_metadata(ngff: dict[str, Any], where: str) -> dict[str, Any]:
    """The ``well`` object of a well group's NGFF metadata ``ngff``; :class:`MetadataError`
    naming ``where`` when there is none."""
    well = ngff.get("well")
    if not isinstance(well, dict):
        raise MetadataError("well group without 'well' metadata", path=where)
    return well


def dtype_name(dtype: Any) -> str:
    """One spelling of a data type for every version: numpy's name (``<u2`` -> ``uint16``)."""
    import numpy as np

    try:
        return str(np.dtype(dtype).name)
    except TypeError:
        return str(dtype)


class Hierarchy:
    """The nodes of one store, read lazily and each once.

    Parameters
    ----------
    location
        A local path, a ``.ozx`` file or a URL (what :func:`omeconv.stores.open_store` opens).
    storage_options
        fsspec options of a URL.
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        from omeconv.stores import open_store

        self.location = str(location)
        self.store = open_store(location, mode="r", storage_options=storage_options)
        self.zarr_format: Literal[2, 3] = 3 if exists(self.store, "zarr.json") else 2
        self._nodes: dict[str, Node | None] = {}

    @property
    def version(self) -> str:
        """The OME-Zarr version the root's Zarr format stands for: 0.5 (v3) or 0.4 (v2)."""
        return "0.5" if self.zarr_format == 3 else "0.4"

    def where(self, path: str) -> str:
        """``path`` inside the store, for messages."""
        return f"{self.location.rstrip('/')}/{path}" if path else self.location

    def node(self, path: str) -> Node | None:
        """The node at ``path``; None where the store has none of its format."""
        if path not in self._nodes:
            try:
                self._nodes[path] = (
                    self._read_v3(path) if self.zarr_format == 3 else self._read_v2(path)
                )
            except CorruptSourceError as exc:
                raise exc.at(self.location) from exc.__cause__
        return self._nodes[path]

    def kind(self, path: str) -> Literal["group", "array"] | None:
        """``"group"``, ``"array"`` or None."""
        node = self.node(path)
        return None if node is None else node.kind

    def attributes(self, path: str) -> dict[str, Any]:
        """The node's attributes as stored (empty when there is no node)."""
        node = self.node(path)
        return {} if node is None else node.attributes

    def ome(self, path: str) -> dict[str, Any]:
        """The node's NGFF metadata as stored: v2 attributes, v3 ``attributes["ome"]``
        (empty when absent); :class:`MetadataError` when ``ome`` is not a JSON object."""
        attrs = self.attributes(path)
        if self.zarr_format == 2:
            return attrs
        ome = attrs.get("ome", {})
        if not isinstance(ome, dict):
            raise MetadataError("'ome' attribute is not a JSON object", path=self.where(path))
        return ome

    def ngff(self, path: str) -> dict[str, Any]:
        """The node's NGFF metadata as omeconv reads it, in 0.4's or 0.5's shape.

        A v3 ``ome.version`` other than 0.5 or 0.6 is refused; 0.6 is read in 0.5's shape
        (:func:`omeconv.ngff06.moves.read_as_v05`, its ``version`` kept): what 0.5 cannot say
        (more coordinate systems, scenes …) is left out of this view; the stored attributes
        carry it to a 0.6 output, and a 0.5 or 0.4 output refuses it.
        """
        ome = self.ome(path)
        if self.zarr_format == 2:
            return ome
        version = ome.get("version")
        if is_v06(version):
            from omeconv.ngff06.moves import read_as_v05

            try:
                moved: dict[str, Any] = read_as_v05(self.attributes(path))
            except MetadataError as exc:
                raise MetadataError(
                    f"OME-Zarr {version}: {exc.message}", path=self.where(path)
                ) from exc
            return {**moved, "version": version}
        if version is not None and str(version).split("-")[0] != "0.5":
            raise UnsupportedSourceError(
                f"OME-Zarr {version} is not supported (omeconv reads 0.4, 0.5 and 0.6)",
                path=self.where(path),
            )
        return ome

    def not_ngff(self) -> UnsupportedSourceError:
        """The refusal of a store whose root holds no NGFF metadata omeconv reads."""
        stated = self.ome_version("")
        if stated is not None:
            return UnsupportedSourceError(
                f"its OME-Zarr {stated} root holds no image, plate or collection omeconv reads",
                path=self.location,
            )
        return UnsupportedSourceError(
            f"not an OME-Zarr {self.version} store (no NGFF metadata)", path=self.location
        )

    def ome_version(self, path: str) -> str | None:
        """The OME-Zarr version the node at ``path`` states (None: none stated)."""
        node = self.node(path)
        return None if node is None else node.ome_version

    def series(self, path: str = "") -> list[str]:
        """Paths below ``path`` of the images of the bioformats2raw collection there: those
        ``OME`` lists in ``series``, else the groups ``0``, ``1`` … in turn;
        :class:`MetadataError` when there are none."""
        listed = self.ngff(join(path, "OME")).get("series")
        if isinstance(listed, list) and listed:
            return [str(p) for p in listed]
        paths: list[str] = []
        while self.kind(join(path, str(len(paths)))) == "group":
            paths.append(str(len(paths)))
        if not paths:
            raise MetadataError("bioformats2raw layout without any series", path=self.where(path))
        return paths

    def store_version(self, path: str = "") -> str | None:
        """The OME-Zarr version of the hierarchy at ``path``: the version its group states;
        for a bioformats2raw collection that states none (0.4), its first series' version."""
        version = self.ome_version(path)
        if version is not None or self.kind(path) != "group":
            return version
        if "bioformats2raw.layout" not in self._ome_or_empty(path):
            return None
        series = self._ome_or_empty(join(path, "OME")).get("series")
        first = str(series[0]) if isinstance(series, list) and series else "0"
        return self.ome_version(join(path, first))

    def _ome_or_empty(self, path: str) -> dict[str, Any]:
        try:
            return self.ome(path)
        except MetadataError:
            return {}

    def entries(self, path: str) -> list[str]:
        """Names directly below ``path`` (keys and folders), sorted, without Zarr metadata
        keys and omeconv's own upgrade files."""
        return [
            n
            for n in list_dir(self.store, path)
            if n not in METADATA_KEYS and not n.startswith(".omeconv-")
        ]

    def children(self, path: str) -> list[str]:
        """Names of the nodes (groups and arrays) directly below the group at ``path``."""
        return [n for n in self.entries(path) if self.node(join(path, n)) is not None]

    def groups(self, path: str) -> list[str]:
        """Names of the sub-groups of ``path``."""
        return [n for n in self.entries(path) if self.kind(join(path, n)) == "group"]

    def walk(self, path: str = "") -> Iterator[Node]:
        """The node at ``path`` and every node below it, parents first (arrays are not
        listed into, so no chunk key is read)."""
        node = self.node(path)
        if node is None:
            return
        yield node
        if node.kind == "group":
            for name in self.children(path):
                yield from self.walk(join(path, name))

    def exists(self, key: str) -> bool:
        """Whether the store holds ``key``."""
        return exists(self.store, key)

    def read(self, key: str) -> bytes | None:
        """The bytes at ``key`` (None when absent)."""
        return read_bytes(self.store, key)

    def text(self, key: str) -> str | None:
        """The UTF-8 text at ``key`` (None when absent)."""
        raw = self.read(key)
        return None if raw is None else raw.decode("utf-8")

    def open_array(self, path: str) -> Any:
        """The zarr array at ``path``, read only; :class:`CorruptSourceError` if it cannot be
        opened or a chunk size is below 1."""
        import warnings

        import zarr

        try:
            with warnings.catch_warnings():
                # Old writers' ``"filters": []`` reads as no filters; zarr's notice is noise.
                warnings.filterwarnings("ignore", message="Found an empty list of filters")
                array = zarr.open_array(
                    self.store, path=path, mode="r", zarr_format=self.zarr_format
                )
        except (FileNotFoundError, KeyError, ValueError, TypeError) as exc:
            raise CorruptSourceError(
                f"cannot open array {path!r}: {exc}", path=self.location
            ) from exc
        if any(int(c) < 1 for c in array.chunks):
            raise CorruptSourceError(
                f"array {path!r}: chunk shape {list(array.chunks)} has a size below 1",
                path=self.location,
            )
        return array

    def _read_v3(self, path: str) -> Node | None:
        key = join(path, "zarr.json")
        doc = read_json(self.store, key)
        if doc is None:
            return None
        kind = doc.get("node_type")
        if doc.get("zarr_format") != 3 or kind not in ("array", "group"):
            raise CorruptSourceError(f"{key} is not Zarr v3 metadata (zarr_format 3, node_type)")
        attrs = doc.get("attributes", {})
        if not isinstance(attrs, dict):
            raise CorruptSourceError(f"{key}: 'attributes' is not a JSON object")
        array = ArrayMetadata.from_v3(doc) if kind == "array" else None
        return Node(path, kind, 3, attrs, array)

    def _read_v2(self, path: str) -> Node | None:
        zarray, zgroup, zattrs = read_jsons(
            self.store, [join(path, k) for k in (".zarray", ".zgroup", ".zattrs")]
        )
        if zarray is not None:
            return Node(path, "array", 2, zattrs or {}, ArrayMetadata.from_v2(zarray))
        if zgroup is not None or zattrs is not None:
            return Node(path, "group", 2, zattrs or {})
        return None


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ints(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list | tuple):
        return None
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return None
