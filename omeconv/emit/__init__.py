"""The emitter: writes a :class:`~omeconv.model.Collection` as OME-Zarr 0.4, 0.5 or 0.6.

Arrays first, group metadata after, the root's metadata last: an interrupted write never
looks like a complete OME-Zarr. A version is a small layout module (:mod:`~omeconv.emit.v04`,
:mod:`~omeconv.emit.v05`, :mod:`~omeconv.emit.v06`); all versions share one array-write path
(:mod:`omeconv.emit.write`) and one metadata builder (:mod:`omeconv.emit.ngff`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from omeconv.emit import ngff, v04, v05, v06
from omeconv.emit.sinks import StoreSink
from omeconv.emit.write import (
    Encoding,
    Runner,
    Stats,
    copy_values,
    create_level_array,
    default_chunks,
    fill_levels,
    plan_shards,
)
from omeconv.errors import (
    MetadataError,
    OmeconvWarning,
    SourceError,
    UnsupportedSourceError,
    UsageError,
)
from omeconv.journal import Journal, check_inputs_unchanged, check_resume, source_identity
from omeconv.ngff06 import is_v06
from omeconv.ozx import is_ozx
from omeconv.progress import Progress
from omeconv.pyramid import Method, default_method, plan_levels
from omeconv.stores import is_url, staged_output, staging_path

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from types import ModuleType

    from omeconv.emit.sinks import InPlaceSink
    from omeconv.emit.write import Shuffle
    from omeconv.model import (
        Axis,
        Channel,
        Collection,
        ExtraNode,
        Image,
        Label,
        Level,
        SourceAttrs,
    )

__all__ = ["LAYOUTS", "emit", "emit_into", "is_finished", "ngff_order"]

LAYOUTS: dict[str, ModuleType] = {"0.4": v04, "0.5": v05, "0.6": v06}
_TYPE_RANK = {"time": 0, "channel": 1, "space": 2}
_SPACE_RANK = {"z": 0, "y": 1, "x": 2}


def emit(
    collection: Collection,
    dest: str | os.PathLike[str],
    *,
    version: str = "0.5",
    levels: int | None = None,
    chunks: Sequence[int] | Mapping[str, int] | None = None,
    shards: bool = False,
    compression: str = "balanced",
    clevel: int = 5,
    shuffle: Shuffle | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    client: Any = None,
    progress: bool | Progress = False,
    storage_options: dict[str, Any] | None = None,
    inputs: tuple[str | os.PathLike[str], ...] = (),
    copy_chunks: bool = False,
    resume: bool = False,
    downsample: Method | None = None,
) -> str:
    """Write ``collection`` to ``dest``; return where it was written. A local ``dest`` ending
    in ``.ozx`` is written as one RFC-9 zip file (:mod:`omeconv.ozx`; 0.5 and 0.6 only).

    Parameters
    ----------
    version
        NGFF version, ``"0.4"`` (Zarr v2), ``"0.5"`` or ``"0.6"`` (Zarr v3; 0.6 is written as
        :data:`omeconv.ngff06.VERSION`).
    levels
        Total pyramid levels; ``None`` halves until a plane fits one chunk (or keeps the
        source's own pyramid when it has one).
    chunks
        Chunk shape in NGFF axis order, or ``{axis: size}`` for some axes; the rest
        (or all, when ``None``) are picked for chunks of about 2 MiB.
    shards, compression, clevel, shuffle
        Encoding: sharding (Zarr v3: 0.5 and 0.6 only); a preset (``balanced``, ``fast``, ``small``),
        ``zstd``/``lz4`` (Blosc, byte shuffle), ``gzip`` or ``none``; ``shuffle`` (``byte``,
        ``bit``, ``none``) replaces the Blosc shuffle of either.
    overwrite
        Replace an existing ``dest`` once the new output is complete.
    workers, client
        Threads for the local dask scheduler, or a ``distributed.Client`` to run on.
    progress
        A :class:`~omeconv.progress.Progress` to report to (bar, log lines; its ``levels``
        and ``bytes_in`` are set for the run's summary), or True for a bar on stderr.
    inputs
        Paths of the sources, which ``dest`` must not be or lie inside.
    copy_chunks
        For Zarr v3 versions (0.5, 0.6), copy the encoded chunks of levels that have a ``source`` array (Zarr
        v2 or v3) instead of decoding and re-encoding them (:mod:`omeconv.emit.chunk_copy`).
    resume
        Finish the unfinished output of an interrupted run with the same options,
        skipping the regions it journaled as written (local outputs only).
    downsample
        Pyramid method for images (default: ``mean``, ``mode`` for booleans); labels
        always use ``mode``.
    """
    if version not in LAYOUTS:
        raise UsageError(f"unknown OME-Zarr version {version!r}; choose 0.4, 0.5 or 0.6")
    if levels is not None and levels < 1:
        raise UsageError(f"--levels must be at least 1, not {levels}")
    layout = LAYOUTS[version]
    if is_ozx(dest) and layout.ZARR_FORMAT != 3:
        raise UsageError(
            f"a .ozx file holds OME-Zarr 0.5 or 0.6 (Zarr v3), not {version}", path=dest
        )
    encoding = Encoding(
        compression=compression,  # type: ignore[arg-type]
        clevel=clevel,
        shards=shards,
        zarr_format=layout.ZARR_FORMAT,
        shuffle=shuffle,
    )
    images = [ngff_order(image) for image in collection.images]
    _refuse_unsupported_dtypes(images, inputs)
    reporter = (
        progress if isinstance(progress, Progress) else Progress(mode="bar" if progress else "off")
    )
    total = _total_bytes(images)
    identity = source_identity(inputs)
    options = {
        "version": version,
        "levels": levels,
        "chunks": dict(chunks) if isinstance(chunks, Mapping) else chunks,
        "encoding": [compression, clevel, shards, shuffle],
        "inputs": identity,
        "downsample": downsample,
    }
    if resume:
        if is_url(dest):
            raise UsageError("--resume needs a local OUTPUT", path=dest)
        if not overwrite and is_finished(dest):
            return str(dest)
        # Nothing (or no journal) to resume: start over, as without --resume.
        resume = check_resume(staging_path(dest), options)
    with (
        staged_output(
            dest,
            overwrite=overwrite,
            storage_options=storage_options,
            inputs=inputs,
            resume=resume,
        ) as out,
        reporter,
    ):
        reporter.start(total, "copying" if copy_chunks else "converting")
        reporter.bytes_in = total
        runner = Runner(workers=workers, client=client, bar=reporter)
        journal = None if is_url(out.final) else Journal(out.staging, options, resume=resume)
        ledgers = None if journal is None else journal.root / "chunks"
        sink = StoreSink(out.store, layout.ZARR_FORMAT, ledgers, progress=reporter.update)
        writer = _Writer(sink, layout, encoding, levels, chunks, runner, journal)
        writer.copy_chunks = copy_chunks
        writer.method = downsample
        _write_all(writer, collection, images, inputs, identity)
        reporter.levels = max(writer.levels_written, default=None)
        if journal is not None:
            journal.remove()
    return out.final


def _total_bytes(images: Sequence[Image]) -> int:
    """Bytes of every level given (written or copied) of ``images`` and their labels."""
    return sum(
        lv.data.nbytes
        for image in images
        for levels in (image.levels, *(label.levels for label in image.labels))
        for lv in levels
    )


def is_finished(dest: str | os.PathLike[str]) -> bool:
    """Whether the local ``dest`` is a finished output: its root metadata (written last) is
    there and no unfinished run's staging directory is beside it."""
    from pathlib import Path

    staging = staging_path(dest)
    if staging is None or staging.exists():
        return False
    root = Path(dest)
    return any((root / name).is_file() for name in ("zarr.json", ".zattrs", ".zgroup"))


def emit_into(collection: Collection, sink: InPlaceSink, *, version: str = "0.5") -> None:
    """Write ``collection`` through ``sink`` with its levels as they are, arrays' encoded
    chunks copied: ``upgrade --in-place`` collects the documents this way. A node that would
    need new pixels (a missing label level) is refused."""
    layout = LAYOUTS[version]
    writer = _Writer(sink, layout, Encoding(zarr_format=layout.ZARR_FORMAT), 1, None, Runner())
    writer.copy_chunks = True
    _write_all(writer, collection, [ngff_order(image) for image in collection.images], ())


def _write_all(
    writer: _Writer,
    collection: Collection,
    images: Sequence[Image],
    inputs: tuple[str | os.PathLike[str], ...],
    identity: list[list[Any]] | None = None,
) -> None:
    """Images (arrays first, then their groups), non-NGFF nodes, then the collection's groups,
    the root last. The inputs' ``identity`` is checked before the root: an input that changed
    while it was read leaves no complete output."""
    paths = _image_paths(collection)
    where = inputs[0] if inputs else None
    try:
        for path, image in zip(paths, images, strict=True):
            writer.image(path, image)
        writer.extra_nodes(collection.extra_nodes)
        if identity is not None:
            check_inputs_unchanged(identity)
        writer.collection(collection, paths)
    except SourceError as exc:
        raise exc.at(where) from exc.__cause__


def _refuse_unsupported_dtypes(
    images: Sequence[Image], inputs: tuple[str | os.PathLike[str], ...]
) -> None:
    """OME-Zarr stores real pixels: refuse complex (and other non-numeric) dtypes."""
    for image in images:
        dtype = np.dtype(image.levels[0].data.dtype)
        if dtype.kind not in "biuf":
            raise UnsupportedSourceError(
                f"unsupported pixel type {dtype}; OME-Zarr holds bool, integer or float pixels",
                path=inputs[0] if inputs else None,
            )


def _image_paths(collection: Collection) -> list[str]:
    if collection.image_paths is not None:
        return list(collection.image_paths)
    if collection.plate is not None:
        raise MetadataError("a plate collection must name the path of each image")
    if collection.layout == "bioformats2raw" or len(collection.images) > 1:
        return [str(i) for i in range(len(collection.images))]
    return [""]


def ngff_order(image: Image) -> Image:
    """``image`` (and its labels) with axes in NGFF order: time, channel/custom, then z, y, x."""
    order = _ngff_permutation(image.axes)
    labels = tuple(_label_in_order(label) for label in image.labels)
    if order is None:
        return replace(image, labels=labels) if image.labels else image
    return replace(
        image,
        axes=_permute(image.axes, order),
        levels=_permute_levels(image.levels, order),
        labels=labels,
        source_attrs=None,  # axes in another order: the metadata is derived anew
    )


def _label_in_order(label: Label) -> Label:
    order = _ngff_permutation(label.axes)
    if order is None:
        return label
    return replace(
        label,
        axes=_permute(label.axes, order),
        levels=_permute_levels(label.levels, order),
        source_attrs=None,
    )


def _ngff_permutation(axes: Sequence[Axis]) -> list[int] | None:
    """The axis order that sorts ``axes`` into NGFF order; None when they already are."""
    order = sorted(
        range(len(axes)),
        key=lambda i: (
            _TYPE_RANK.get(axes[i].type or "", 1),
            _SPACE_RANK.get(axes[i].name.lower(), -1) if axes[i].type == "space" else 0,
        ),
    )
    return None if order == list(range(len(axes))) else order


def _permute(values: Sequence[Any] | None, order: list[int]) -> Any:
    return None if values is None else tuple(values[i] for i in order)


def _permute_levels(levels: Sequence[Level], order: list[int]) -> tuple[Level, ...]:
    """Levels with transposed pixels; a transposed level's encoded chunks cannot be copied."""
    return tuple(
        replace(
            lv,
            data=lv.data.transpose(order),
            scale=_permute(lv.scale, order),
            translation=_permute(lv.translation, order),
            source=None,
        )
        for lv in levels
    )


class _Writer:
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
        chunks = self._chunks(image.axes, level0.data.shape, level0.data.dtype.itemsize)
        method = default_method(level0.data.dtype)
        if self.method is not None and method == "mean":
            method = self.method
        metas, factors, stats = self._levels(path, image.levels, image.axes, chunks, method, None)
        self.levels_written.append(len(metas))
        for label in image.labels:
            # A label may lack some of the image's axes (often ``c``): match them by name.
            self._label(
                _join(path, "labels"),
                label,
                [_on_axes(f, image.axes, label.axes) for f in factors],
                _on_axes(chunks, image.axes, label.axes),
            )
        if image.labels_source_attrs is not None:
            self._moved(_join(path, "labels"), image.labels_source_attrs)
        elif image.labels:
            names = [label.name for label in image.labels]
            self._group(_join(path, "labels"), self.ns_model("labels_group_model", names))
        computed = metas[len(image.levels) :]
        if image.source_attrs is not None:
            self._moved(path, image.source_attrs, computed, method)
            return
        if not stats.minimum and _lacks_windows(image):
            stats = _small_level_stats(image)
        channels = _channels_with_windows(image, stats)
        downscale = _downscale(image, method, [name for name, _, _ in computed])
        name = path.rsplit("/", 1)[-1] or "image"
        self._group(
            path,
            self._validated(ngff.image_model, image, metas, channels, name, downscale),
            image.extra_attrs,
        )

    def _chunks(self, axes: Sequence[Axis], shape: Sequence[int], itemsize: int) -> tuple[int, ...]:
        names = [a.name for a in axes]
        chunks = default_chunks(shape, names, itemsize)
        if self.chunks is None:
            return chunks
        if isinstance(self.chunks, Mapping):
            unknown = set(self.chunks) - set(names)
            if unknown:
                raise UsageError(f"--chunks names axes {sorted(unknown)} not in {''.join(names)}")
            return tuple(int(self.chunks.get(n, c)) for n, c in zip(names, chunks, strict=True))
        if len(self.chunks) != len(names):
            raise UsageError(
                f"--chunks has {len(self.chunks)} values but the image has axes {''.join(names)}"
            )
        return tuple(int(c) for c in self.chunks)

    def _label(
        self, path: str, label: Label, factors: list[tuple[int, ...]], chunks: Sequence[int]
    ) -> None:
        dtype = label.levels[0].data.dtype
        if dtype.kind not in "iub":
            raise MetadataError(f"label {label.name!r} has dtype {dtype}; labels must be integers")
        metas, _, _ = self._levels(
            _join(path, label.name), label.levels, label.axes, chunks, "mode", factors
        )
        computed = metas[len(label.levels) :]
        if label.source_attrs is not None:
            self._moved(_join(path, label.name), label.source_attrs, computed, "mode")
            return
        downscale = _downscale(None, "mode", [name for name, _, _ in computed])
        doc = self._validated(ngff.label_doc, label, metas, downscale)
        self._write_attrs(_join(path, label.name), self.layout.group_attrs(doc))

    def _levels(
        self,
        path: str,
        levels: Sequence[Any],
        axes: Sequence[Axis],
        chunks: Sequence[int],
        method: Method,
        factors: list[tuple[int, ...]] | None,
    ) -> tuple[list[ngff.LevelMeta], list[tuple[int, ...]], Stats]:
        """Write given levels and the generated ones below them.

        ``factors`` fixes the per-level factors (labels follow their image); otherwise the
        pyramid is planned from the last given level.
        """
        names = [a.name for a in axes]
        last = levels[-1]
        ones = (1,) * len(names)
        if factors is not None:
            wanted = max(len(factors), len(levels))
            shapes = [tuple(lv.data.shape) for lv in levels]
            scales = [tuple(lv.scale) for lv in levels]
            for f in factors[len(levels) : wanted]:
                shapes.append(tuple(-(-n // k) for n, k in zip(shapes[-1], f, strict=True)))
                scales.append(tuple(s * k for s, k in zip(scales[-1], f, strict=True)))
            extra = [(s, sc, f) for s, sc, f in zip(shapes, scales, factors, strict=False)][
                len(levels) :
            ]
        else:
            wanted_total = self.levels
            if wanted_total is None:
                wanted_total = 1 if len(levels) > 1 else None
            plans = plan_levels(
                last.data.shape,
                axes,
                last.scale,
                chunks,
                levels=None if wanted_total is None else max(1, wanted_total - len(levels) + 1),
            )
            extra = [(p.shape, p.scale, p.factors) for p in plans[1:]]
        if extra and self.store is None:
            raise MetadataError(f"{path or 'the image'}: new levels cannot be written in place")
        arrays: list[Any] = []
        metas: list[ngff.LevelMeta] = []
        all_factors: list[tuple[int, ...]] = []
        shards = plan_shards(
            [lv.data.shape for lv in levels] + [s for s, _, _ in extra],
            [ones]
            + [_ratio(a.data.shape, b.data.shape) for a, b in pairwise(levels)]
            + [f for _, _, f in extra],
            chunks,
            last.data.dtype.itemsize,
        )
        for i, lv in enumerate(levels):
            name = lv.path or str(i)
            if self._copies(lv) and not (extra and i == len(levels) - 1):
                arrays.append(None)
                self.sink.copy_array(lv.source, _join(path, name), names)
            else:
                arrays.append(
                    self._array(
                        path,
                        name,
                        lv.data.shape,
                        lv.data.dtype,
                        chunks,
                        names,
                        shards[i],
                        attributes=None if lv.source is None else dict(lv.source.attrs),
                    )
                )
            metas.append((name, tuple(lv.scale), lv.translation))
            all_factors.append(ones if i == 0 else _ratio(levels[i - 1].data.shape, lv.data.shape))
        for j, (shape, scale, f) in enumerate(extra, start=len(levels)):
            arrays.append(
                self._array(path, str(j), shape, last.data.dtype, chunks, names, shards[j])
            )
            metas.append((str(j), scale, _shifted(last.translation, last.scale, scale)))
            all_factors.append(f)
        self.level_scales.update((_join(path, name), scale) for name, scale, _ in metas)
        stats = Stats()
        for i, lv in enumerate(levels):
            if arrays[i] is None:
                continue
            is_last = i == len(levels) - 1
            targets = arrays[i:] if is_last else [arrays[i]]
            level_factors = [ones] + [f for _, _, f in extra] if is_last else [ones]
            result = fill_levels(
                lv.data,
                targets,
                level_factors,
                method=method,
                channel_axis=_channel_axis(axes),
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
            existing = _open_array(self.store, _join(path, name))
            if existing is not None:
                return existing
        return create_level_array(
            self.store,
            _join(path, name),
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
                    self._group(well.path, self.ns_model("well_model", well))
        if collection.source_attrs is not None:
            self._moved("", collection.source_attrs)
        elif collection.plate is not None:
            self._group("", self.ns_model("plate_model", collection.plate))
        elif collection.layout == "bioformats2raw":
            self._group("", self.ns_model("bf2raw_model"))
        elif paths != [""]:
            self._write_attrs("", {})

    def _ome_group(self, xml: str, collection: Collection, paths: Sequence[str]) -> None:
        """The ``OME`` group (the source's, moved, or listing the series) and its XML."""
        series = [p for p in paths if p]
        if collection.ome_source_attrs is not None:
            self._moved("OME", collection.ome_source_attrs)
        elif series:
            self._group("OME", self.ns_model("series_model", series))
        else:
            self._write_attrs("OME", {})
        self.sink.file("OME/METADATA.ome.xml", xml.encode("utf-8"))

    def _copies(self, level: Level) -> bool:
        """Whether ``level``'s encoded chunks are copied (into Zarr v3 only)."""
        return self.copy_chunks and level.source is not None and self.encoding.zarr_format == 3

    def ns_model(self, builder: str, *args: Any) -> Any:
        return self._validated(getattr(ngff, builder), *args)

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
        self._write_attrs(path, {**(extra or {}), **self.layout.group_attrs(ngff.dump(model))})

    def _moved(
        self,
        path: str,
        source: SourceAttrs,
        computed: Sequence[ngff.LevelMeta] = (),
        method: Method = "mean",
    ) -> None:
        """A group whose attributes are the source's, moved to the output version; with
        ``computed`` levels, their datasets and provenance are added to the multiscale."""
        # New levels are added in 0.5's layout when writing 0.6 (its NS is yaozarrs v05).
        edit = v05 if computed and self.layout is v06 else self.layout
        try:
            attrs = deepcopy(edit.move(source.attrs, source.version))
            if computed:
                doc = attrs["ome"] if edit.ZARR_FORMAT == 3 else attrs
                self._add_levels(path, doc["multiscales"][0], computed, method)
                attrs = self.layout.move(attrs, edit.VERSION)
        except MetadataError as exc:
            raise MetadataError(exc.message, path=path or "/") from exc
        self._check_moved(path, source, attrs)
        self._write_attrs(path, attrs)

    def _add_levels(
        self,
        path: str,
        multiscale: dict[str, Any],
        computed: Sequence[ngff.LevelMeta],
        method: Method,
    ) -> None:
        """Datasets of the ``computed`` levels after the source's, in the source dataset's
        frame, and the provenance of the computed levels when the source gives none."""
        last = multiscale["datasets"][-1]
        transforms = {t.get("type"): t for t in last.get("coordinateTransformations", [])}
        if "scale" not in transforms or "scale" not in transforms["scale"]:
            raise MetadataError(
                f"{path or 'the image'}: the last dataset has no scale to derive new levels from"
            )
        old = [float(v) for v in transforms["scale"]["scale"]]
        shift = transforms.get("translation", {}).get("translation")
        base = self.level_scales[_join(path, str(last["path"]))]
        for name, scale, _ in computed:
            new = [o * n / b for o, n, b in zip(old, scale, base, strict=True)]
            steps: list[Any] = [self.ns.ScaleTransformation(scale=new)]
            if shift is not None:
                moved = [t + (n - o) / 2 for t, o, n in zip(shift, old, new, strict=True)]
                steps.append(self.ns.TranslationTransformation(translation=moved))
            dataset = self.ns.Dataset(path=name, coordinateTransformations=steps)
            multiscale["datasets"].append(ngff.dump(dataset))
        if "type" not in multiscale and "metadata" not in multiscale:
            kind, metadata = _downscale(None, method, [name for name, _, _ in computed])
            multiscale["type"], multiscale["metadata"] = kind, metadata

    def _check_moved(self, path: str, source: SourceAttrs, attrs: dict[str, Any]) -> None:
        """Validate moved NGFF attributes; what was already invalid in the source is kept
        with a warning naming the rule, what the move broke is refused."""
        reason = _invalid(attrs, self.layout.VERSION)
        if reason is None:
            return
        where = path or "/"
        if _invalid(source.attrs, source.version) is None:
            raise MetadataError(
                f"cannot express as OME-Zarr {self.layout.VERSION}: {reason}", path=where
            )
        warnings.warn(
            f"{where}: kept as the source has it, though OME-Zarr {self.layout.VERSION}"
            f" says: {reason}",
            OmeconvWarning,
            stacklevel=2,
        )

    def _write_attrs(self, path: str, attrs: dict[str, Any]) -> None:
        self.sink.group(path, json.loads(json.dumps(attrs)))


def _invalid(attrs: dict[str, Any], version: str) -> str | None:
    """The first reason yaozarrs finds ``attrs`` of an OME-Zarr ``version`` group invalid;
    None when valid or when they hold no NGFF metadata."""
    from pydantic import ValidationError
    from yaozarrs import validate_ome_json

    from omeconv.validate import spec_problems
    from omeconv.validate_v06 import validate_v06

    if is_v06(version):
        if not isinstance(attrs.get("ome"), dict):
            return None
        problems = validate_v06({"zarr_format": 3, "node_type": "group", "attributes": attrs})
        return problems[0] if problems else None
    if version == "0.5":
        if not isinstance(attrs.get("ome"), dict):
            return None
        doc: dict[str, Any] = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
        ngff_attrs = attrs["ome"]
    else:
        if not any(k in ngff.NGFF_V04_KEYS for k in attrs):
            return None
        doc = ngff_attrs = attrs
    try:
        validate_ome_json(json.dumps(doc))
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["type"] not in _UNION_NOISE]
        error = max(errors or exc.errors(), key=lambda e: len(e["loc"]))
        return f"{'.'.join(str(p) for p in error['loc'][-3:])}: {error['msg']}"
    problems = spec_problems(ngff_attrs, version)
    return problems[0] if problems else None


#: pydantic errors of union members that do not apply (no tag, another document kind).
_UNION_NOISE = frozenset({"union_tag_not_found", "missing"})


def _open_array(store: Any, path: str) -> Any:
    """The array an interrupted run created at ``path`` (same options), or None."""
    import zarr

    try:
        return zarr.open_array(store, path=path, mode="r+")
    except (OSError, ValueError, KeyError, LookupError):
        return None


def _on_axes(
    values: Sequence[int], axes: Sequence[Axis], target: Sequence[Axis]
) -> tuple[int, ...]:
    """``values`` given per axis of ``axes``, picked for the axes of ``target`` (1 if absent)."""
    by_name = {a.name: v for a, v in zip(axes, values, strict=True)}
    return tuple(by_name.get(a.name, 1) for a in target)


def _downscale(image: Image | None, method: Method, computed: Sequence[str]) -> ngff.Downscale:
    """How an image's lower levels were made: by omeconv (the ``computed`` ones), or as the
    source says (nothing when it says nothing)."""
    from omeconv import __version__

    if not computed:
        return (image.downscale_type, image.downscale_metadata) if image else (None, None)
    return method, {
        "description": f"levels {', '.join(computed)}: 2x block {_KERNELS[method]} per level,"
        " computed from the level above; windows at odd edges use the pixels present",
        "method": "omeconv.pyramid.downsample",
        "version": __version__,
        "kwargs": {"method": method},
    }


#: How each downsampling method reduces a window, for the multiscale's description.
_KERNELS = {
    "mean": "mean",
    "mode": "mode",
    "nearest": "nearest (first pixel of each window)",
    "gaussian": "mean after a Gaussian blur of sigma 2 * factor / 6",
}


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _channel_axis(axes: Sequence[Axis]) -> int | None:
    return next((i for i, a in enumerate(axes) if a.type == "channel"), None)


def _ratio(upper: Sequence[int], lower: Sequence[int]) -> tuple[int, ...]:
    return tuple(max(1, round(u / lo)) for u, lo in zip(upper, lower, strict=True))


def _shifted(
    translation: tuple[float, ...] | None, old: Sequence[float], new: Sequence[float]
) -> tuple[float, ...] | None:
    """Translation of a coarser level: pixel centres move by half the growth of the pixel."""
    if translation is None:
        return None
    return tuple(t + (n - o) / 2 for t, o, n in zip(translation, old, new, strict=True))


def _lacks_windows(image: Image) -> bool:
    channels = image.channels
    return len(channels) < image.nchannels or any(ch.window is None for ch in channels)


def _small_level_stats(image: Image, limit: int = 64 * 2**20) -> Stats:
    """Channel statistics from the image's smallest level when that is under ``limit`` bytes."""
    from dask import threaded

    stats = Stats()
    data = image.levels[-1].data
    if data.nbytes <= limit:
        stats.update(np.asarray(data.compute(scheduler=threaded.get)), _channel_axis(image.axes), 0)
    return stats


def _channels_with_windows(image: Image, stats: Stats) -> list[Channel]:
    """The image's channels (one per channel index), windows filled from ``stats``."""
    from omeconv.model import Channel

    count = image.nchannels
    given = list(image.channels[:count]) + [Channel() for _ in range(count - len(image.channels))]
    dtype = np.dtype(image.data.dtype)
    out = []
    for i, ch in enumerate(given):
        if ch.window is None:
            lo = stats.minimum.get(i, 0.0)
            hi = stats.maximum.get(i, lo)
            ch = replace(ch, window=_viewable(lo, hi, dtype))
        elif not ch.window[2] < ch.window[3]:
            lo, hi, start, end = ch.window
            start, end = _viewable(start, end, dtype)[2:]
            ch = replace(ch, window=(min(lo, start), max(hi, end), start, end))
        out.append(ch)
    return out


def _viewable(lo: float, hi: float, dtype: np.dtype) -> tuple[float, float, float, float]:
    """The window ``(min, max, start, end)`` of values from ``lo`` to ``hi`` with start < end,
    as viewers require (napari refuses an empty range): a constant channel's ``v`` gets
    ``[v, v + 1]``, or ``[v - 1, v]`` at the top of the dtype's range."""
    if hi > lo:
        return (lo, hi, lo, hi)
    top = float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0 if dtype.kind == "b" else None
    if top is not None and lo + 1 > top:
        return (lo - 1, lo, lo - 1, lo)
    end = lo + 1 if lo + 1 > lo else float(np.nextafter(lo, np.inf))  # huge floats
    return (lo, end, lo, end)
