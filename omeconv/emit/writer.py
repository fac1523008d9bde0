"""The writer: one image's levels, labels and group metadata, the collection's groups, the
source's non-NGFF nodes, into one store with one OME-Zarr layout."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from omeconv.emit.axes import channel_axis, on_axes, ratio, shifted
from omeconv.emit.moved import moved_attrs
from omeconv.emit.ngff import (
    LevelMeta,
    bf2raw_model,
    dump,
    image_model,
    label_doc,
    labels_group_model,
    plate_model,
    series_model,
    well_model,
)
from omeconv.emit.plan import chunk_shape, levels_below
from omeconv.emit.provenance import downscale_of
from omeconv.emit.windows import channels_with_windows
from omeconv.emit.write import (
    Encoding,
    Runner,
    copy_values,
    create_level_array,
    fill_levels,
    plan_shards,
)
from omeconv.errors import MetadataError
from omeconv.pyramid import Method, default_method
from omeconv.stats import Stats
from omeconv.zarr_io import join

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import ModuleType

    from omeconv.emit.sinks import InPlaceSink, StoreSink
    from omeconv.journal import Journal
    from omeconv.model import Axis, Collection, ExtraNode, Image, Label, Level, SourceAttrs

__all__ = ["Writer"]


class Writer:
    """Writes images and collection metadata into one store with one layout."""

    def __init__(
        self,
        sink: StoreSink | InPlaceSink,
        layout: ModuleType,
        encoding: Encoding,
        levels: int | None,
        chunks: Sequence[int] | Mapping[str, int] | None,
        runner: Runner,
        journal: Journal | None = None,
    ) -> None:
        self.sink = sink
        self.store = sink.store
        self.copy_chunks = False
        self.journal = journal
        self.chunks = chunks
        self.layout = layout
        self.ns: ModuleType = layout.NS
        self.encoding = encoding
        self.levels = levels
        self.runner = runner
        self.level_scales: dict[str, tuple[float, ...]] = {}
        """Scale of every level written, by path."""
        self.method: Method | None = None
        """Pyramid method for images (None: the dtype's default)."""
        self.levels_written: list[int] = []
        """How many levels each image has in the output."""

    def image(self, path: str, image: Image) -> None:
        """Write one image: its levels, its labels, then its group metadata.

        An image read from a store carries its attributes as stored: they are moved to the
        output version, and only the datasets of levels computed here are added. A new
        conversion's metadata is derived from the model.
        """
        level0 = image.levels[0]
        chunks = chunk_shape(image.axes, level0.shape, level0.dtype.itemsize, self.chunks)
        method = default_method(level0.dtype)
        if self.method is not None and method == "mean":
            method = self.method
        metas, factors, stats = self._levels(path, image.levels, image.axes, chunks, method, None)
        self.levels_written.append(len(metas))
        for label in image.labels:
            # A label may lack some of the image's axes (often ``c``): match them by name.
            self._label(
                join(path, "labels"),
                label,
                [on_axes(f, image.axes, label.axes) for f in factors],
                on_axes(chunks, image.axes, label.axes),
            )
        if image.labels_source_attrs is not None:
            self._moved(join(path, "labels"), image.labels_source_attrs)
        elif image.labels:
            names = [label.name for label in image.labels]
            self._group(join(path, "labels"), self._validated(labels_group_model, names))
        computed = metas[len(image.levels) :]
        if image.source_attrs is not None:
            self._moved(path, image.source_attrs, computed, method)
            return
        channels = channels_with_windows(image, stats)
        downscale = downscale_of(image, method, [name for name, _, _ in computed])
        name = path.rsplit("/", 1)[-1] or "image"
        self._group(
            path,
            self._validated(image_model, image, metas, channels, name, downscale),
            image.extra_attrs,
        )

    def _label(
        self, path: str, label: Label, factors: list[tuple[int, ...]], chunks: Sequence[int]
    ) -> None:
        dtype = label.levels[0].dtype
        if dtype.kind not in "iub":
            raise MetadataError(f"label {label.name!r} has dtype {dtype}; labels must be integers")
        metas, _, _ = self._levels(
            join(path, label.name), label.levels, label.axes, chunks, "mode", factors
        )
        computed = metas[len(label.levels) :]
        if label.source_attrs is not None:
            self._moved(join(path, label.name), label.source_attrs, computed, "mode")
            return
        downscale = downscale_of(None, "mode", [name for name, _, _ in computed])
        doc = self._validated(label_doc, label, metas, downscale)
        self._write_attrs(join(path, label.name), self.layout.group_attrs(doc))

    def _levels(
        self,
        path: str,
        levels: Sequence[Any],
        axes: Sequence[Axis],
        chunks: Sequence[int],
        method: Method,
        factors: list[tuple[int, ...]] | None,
    ) -> tuple[list[LevelMeta], list[tuple[int, ...]], Stats]:
        """Write given levels and the generated ones below them.

        ``factors`` fixes the per-level factors (labels follow their image); otherwise the
        pyramid is planned from the last given level.
        """
        names = [a.name for a in axes]
        last = levels[-1]
        ones = (1,) * len(names)
        extra = levels_below(levels, axes, chunks, factors, self.levels)
        if extra and self.store is None:
            raise MetadataError(f"{path or 'the image'}: new levels cannot be written in place")
        arrays: list[Any] = []
        metas: list[LevelMeta] = []
        all_factors: list[tuple[int, ...]] = []
        shards = plan_shards(
            [lv.shape for lv in levels] + [s for s, _, _ in extra],
            [ones]
            + [ratio(a.shape, b.shape) for a, b in pairwise(levels)]
            + [f for _, _, f in extra],
            chunks,
            last.dtype.itemsize,
        )
        for i, lv in enumerate(levels):
            name = lv.path or str(i)
            if self._copies(lv) and not (extra and i == len(levels) - 1):
                arrays.append(None)
                self.sink.copy_array(lv.source, join(path, name), names)
            else:
                arrays.append(
                    self._array(
                        path,
                        name,
                        lv.shape,
                        lv.dtype,
                        chunks,
                        names,
                        shards[i],
                        attributes=None if lv.source is None else dict(lv.source.attrs),
                    )
                )
            metas.append((name, tuple(lv.scale), lv.translation))
            all_factors.append(ones if i == 0 else ratio(levels[i - 1].shape, lv.shape))
        for j, (shape, scale, f) in enumerate(extra, start=len(levels)):
            arrays.append(self._array(path, str(j), shape, last.dtype, chunks, names, shards[j]))
            metas.append((str(j), scale, shifted(last.translation, last.scale, scale)))
            all_factors.append(f)
        self.level_scales.update((join(path, name), scale) for name, scale, _ in metas)
        stats = Stats()
        for i, lv in enumerate(levels):
            if arrays[i] is None:
                continue
            is_last = i == len(levels) - 1
            targets = arrays[i:] if is_last else [arrays[i]]
            level_factors = [ones] + [f for _, _, f in extra] if is_last else [ones]
            result = fill_levels(
                lv.regions,
                targets,
                level_factors,
                method=method,
                channel_axis=channel_axis(axes),
                runner=self.runner,
                journal=self.journal,
            )
            if i == 0:
                stats = result
        return metas, all_factors, stats

    def _array(
        self,
        path: str,
        name: str,
        shape: Sequence[int],
        dtype: np.dtype,
        chunks: Sequence[int],
        names: Sequence[str],
        shards: Sequence[int],
        *,
        attributes: dict[str, Any] | None = None,
    ) -> Any:
        """A new level array (or the one an interrupted run created), with ``attributes``."""
        if self.journal is not None and self.journal.resuming:
            existing = _open_array(self.store, join(path, name))
            if existing is not None:
                return existing
        return create_level_array(
            self.store,
            join(path, name),
            shape=shape,
            dtype=np.dtype(dtype),
            chunks=chunks,
            encoding=self.encoding,
            dimension_names=names,
            shards=shards,
            attributes=attributes,
        )

    def extra_nodes(self, nodes: Sequence[ExtraNode]) -> None:
        """Write the source's non-NGFF nodes as they are: arrays, then files and groups
        (parents first).

        Arrays' encoded chunks are copied when chunks are copied, else their values are
        re-encoded; files are copied byte for byte; groups' attributes are moved like any
        group's. A node where a new pyramid level went is refused rather than written over it.
        """
        taken = sorted(n.path for n in nodes if n.path in self.level_scales)
        if taken:
            raise MetadataError(
                f"{taken[0]}: the source holds a non-NGFF node where a new pyramid level"
                " goes; move it or write fewer levels"
            )
        for node in nodes:
            if node.kind != "array":
                continue
            if self.copy_chunks and self.encoding.zarr_format == 3:
                self.sink.copy_array(node.source, node.path, None)
            else:
                copy_values(node.source, self.store, node.path, encoding=self.encoding)
        for node in nodes:
            if node.kind == "file":
                self.sink.file(node.path, node.source())
            elif node.kind == "group" and node.attrs is not None:
                self._moved(node.path, node.attrs)

    def collection(self, collection: Collection, paths: Sequence[str]) -> None:
        """Write wells, the OME group and the root metadata (last)."""
        if collection.ome_xml is not None:
            self._ome_group(collection.ome_xml, collection, paths)
        if collection.plate is not None:
            for well in collection.plate.wells:
                if well.source_attrs is not None:
                    self._moved(well.path, well.source_attrs)
                else:
                    self._group(well.path, self._validated(well_model, well))
        if collection.source_attrs is not None:
            self._moved("", collection.source_attrs)
        elif collection.plate is not None:
            self._group("", self._validated(plate_model, collection.plate))
        elif collection.layout == "bioformats2raw":
            self._group("", self._validated(bf2raw_model))
        elif paths != [""]:
            self._write_attrs("", {})

    def _ome_group(self, xml: str, collection: Collection, paths: Sequence[str]) -> None:
        """The ``OME`` group (the source's, moved, or listing the series) and its XML."""
        series = [p for p in paths if p]
        if collection.ome_source_attrs is not None:
            self._moved("OME", collection.ome_source_attrs)
        elif series:
            self._group("OME", self._validated(series_model, series))
        else:
            self._write_attrs("OME", {})
        self.sink.file("OME/METADATA.ome.xml", xml.encode("utf-8"))

    def _copies(self, level: Level) -> bool:
        """Whether ``level``'s encoded chunks are copied (into Zarr v3 only)."""
        return self.copy_chunks and level.source is not None and self.encoding.zarr_format == 3

    def _validated(self, builder: Any, *args: Any) -> Any:
        from pydantic import ValidationError

        try:
            return builder(self.ns, *args)
        except ValidationError as exc:
            reasons = "; ".join(e["msg"] for e in exc.errors())
            raise MetadataError(
                f"cannot express as OME-Zarr {self.layout.VERSION}: {reasons}"
            ) from exc

    def _group(self, path: str, model: Any, extra: dict[str, Any] | None = None) -> None:
        """A group whose NGFF metadata is derived: the yaozarrs ``model`` laid out, after
        the ``extra`` attributes NGFF does not define."""
        self._write_attrs(path, {**(extra or {}), **self.layout.group_attrs(dump(model))})

    def _moved(
        self,
        path: str,
        source: SourceAttrs,
        computed: Sequence[LevelMeta] = (),
        method: Method = "mean",
    ) -> None:
        """A group whose attributes are the source's, moved to the output version; with
        ``computed`` levels, their datasets and provenance are added to the multiscale."""
        attrs = moved_attrs(self.layout, path, source, computed, method, self.level_scales)
        self._write_attrs(path, attrs)

    def _write_attrs(self, path: str, attrs: dict[str, Any]) -> None:
        self.sink.group(path, json.loads(json.dumps(attrs)))


def _open_array(store: Any, path: str) -> Any:
    """The array an interrupted run created at ``path`` (same options), or None."""
    import zarr

    try:
        return zarr.open_array(store, path=path, mode="r+")
    except (OSError, ValueError, KeyError, LookupError):
        return None
