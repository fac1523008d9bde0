"""The Python API: read, write, convert. Picks a source adapter and calls the emitter."""

from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from omeconv.converters import check_options, get_converter, guess_converter
from omeconv.errors import OmeconvWarning, UnsupportedSourceError, UsageError
from omeconv.model import Collection, Image

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from omeconv.emit.write import Shuffle
    from omeconv.overrides import Overrides
    from omeconv.progress import Progress
    from omeconv.pyramid import Method
    from omeconv.rocrate import RoCrate

__all__ = [
    "Layout",
    "convert",
    "open_source",
    "read",
    "select_series",
    "series_store_names",
    "write",
]

#: How several series are written: one bioformats2raw collection, or one image store each.
Layout = Literal["collection", "per-series"]


def open_source(
    source: Any, *, converter: str | None = None, series: int | None = None, **metadata: Any
) -> Collection:
    """Open ``source`` (path, numpy or dask array) lazily as a :class:`Collection`.

    ``converter`` names the adapter to use (default: guessed from the source);
    ``metadata`` are the adapter's options (axes, scale, units, channel_names … for arrays).
    Options left at None count as not given; any other the adapter does not take is a
    :class:`~omeconv.errors.UsageError`.
    """
    options: dict[str, Any] = {k: v for k, v in metadata.items() if v is not None}
    if converter is None and "plate_pattern" in options:
        converter = "plate_folder"
    try:
        adapter = get_converter(converter) if converter else guess_converter(source)
        if series is not None:
            options["series"] = series
        check_options(adapter, source, options)
        return adapter.open(source, **options)
    except Exception as exc:
        _raise_remote_access(exc, source, options.get("storage_options"))
        raise


def _raise_remote_access(exc: Exception, source: Any, storage_options: Any) -> None:
    """Raise the one-line error naming ``source`` when reading it failed for its
    credentials; a URL no adapter recognised is asked once more, directly (the adapters'
    guessers stay silent about why they could not look)."""
    from omeconv.stores import is_url, remote_access_error

    if not isinstance(source, str | os.PathLike) or not is_url(source):
        return
    error = remote_access_error(exc, [source])
    if error is None and isinstance(exc, UnsupportedSourceError):
        import fsspec

        try:
            fs, path = fsspec.core.url_to_fs(str(source), **(storage_options or {}))
            fs.info(path)
        except Exception as probe:  # noqa: BLE001  (only a credential failure is told)
            error = remote_access_error(probe, [source])
    if error is not None:
        raise error from exc


def read(source: Any, *, series: int | None = None, **metadata: Any) -> Image:
    """The (first, or ``series``-th) image of ``source``, with lazy dask pixel levels.

    Examples
    --------
    >>> img = omeconv.read("cells.ome.tif")                          # doctest: +SKIP
    >>> img = omeconv.read(np.zeros((3, 64, 64)), axes="cyx",
    ...                    scale={"y": 0.5, "x": 0.5}, units={"y": "micrometer",
    ...                    "x": "micrometer"})                      # doctest: +SKIP
    """
    collection = open_source(source, series=series, **metadata)
    if not collection.images:
        raise ValueError(f"{source!r} holds no image")
    return collection.images[0]


def write(
    image: Image | Collection,
    dest: str | os.PathLike[str],
    *,
    ome_version: str = "0.5",
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
    rocrate: RoCrate | None = None,
    layout: Layout = "collection",
) -> str:
    """Write an image (or a whole collection) as OME-Zarr ``ome_version``; return its location.

    See :func:`omeconv.emit.emit` for the options; ``rocrate`` writes
    ``ro-crate-metadata.json`` at the root (:mod:`omeconv.rocrate`), of each store for
    ``layout="per-series"``, which writes each image of a collection as its own store in the
    folder ``dest`` (see :func:`convert`).
    """
    from omeconv.emit import emit
    from omeconv.rocrate import with_rocrate

    collection = image if isinstance(image, Collection) else Collection(images=(image,))
    if layout != "collection":
        return _write_per_series(
            collection,
            dest,
            layout,
            rocrate=rocrate,
            version=ome_version,
            levels=levels,
            chunks=chunks,
            shards=shards,
            compression=compression,
            clevel=clevel,
            shuffle=shuffle,
            overwrite=overwrite,
            workers=workers,
            client=client,
            progress=progress,
            storage_options=storage_options,
        )
    collection = with_rocrate(collection, rocrate)
    return emit(
        collection,
        dest,
        version=ome_version,
        levels=levels,
        chunks=chunks,
        shards=shards,
        compression=compression,
        clevel=clevel,
        shuffle=shuffle,
        overwrite=overwrite,
        workers=workers,
        client=client,
        progress=progress,
        storage_options=storage_options,
    )


def convert(
    source: Any,
    dest: str | os.PathLike[str],
    *,
    ome_version: str = "0.5",
    series: int | Sequence[int] | Literal["all"] | None = None,
    converter: str | None = None,
    labels: Mapping[str, Any] | None = None,
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
    resume: bool = False,
    overrides: Overrides | None = None,
    downsample: Method | None = None,
    rocrate: RoCrate | None = None,
    layout: Layout = "collection",
    **metadata: Any,
) -> str:
    """Read ``source`` and write it to ``dest`` as OME-Zarr; return the output location.

    ``series`` picks one series (an index), several (a list of indices, written at their
    own indices) or all (``None`` or ``"all"``). ``overrides`` replaces the file's metadata
    (:mod:`omeconv.overrides`); ``downsample`` is the pyramid's method for intensities
    (``mean``, ``mode``, ``nearest``, ``gaussian``; labels always ``mode``). ``resume``
    finishes the output of an interrupted run with the same options. ``rocrate`` writes
    ``ro-crate-metadata.json`` at the root (:mod:`omeconv.rocrate`). ``layout`` writes
    several series as one bioformats2raw collection (``"collection"``) or each as its own
    image store (``"per-series"``): ``dest`` is then a folder holding one
    ``<index>_<name>.ome.zarr`` per series (:func:`series_store_names`), each written as
    ``series=<index>`` would write it, each under the rules of a single output (overwrite,
    resume, staging, and the crate).

    Examples
    --------
    >>> omeconv.convert("cells.ome.tif", "cells.ome.zarr")                # doctest: +SKIP
    >>> omeconv.convert(array, "a.ome.zarr", axes="zyx", ome_version="0.4")  # doctest: +SKIP
    >>> omeconv.convert("c.tif", "c.ome.zarr", labels={"nuclei": "mask.tif"})  # doctest: +SKIP
    >>> omeconv.convert("plate.czi", "wells", layout="per-series")  # doctest: +SKIP
    """
    from omeconv.emit import emit
    from omeconv.rocrate import drop_staged_crate, with_rocrate

    _check_downsample(downsample)
    picked = series if isinstance(series, int) else None
    collection = open_source(source, converter=converter, series=picked, **metadata)
    if not isinstance(series, int | str | None):
        collection = select_series(collection, series)
    if overrides:
        from omeconv.overrides import apply_overrides

        collection = apply_overrides(collection, overrides)
    if labels:
        from omeconv.labels import attach_labels

        collection = attach_labels(collection, labels)
    if layout == "collection":
        collection = with_rocrate(collection, rocrate)
        if resume:
            drop_staged_crate(collection, dest)
    inputs = tuple(
        path for path in (source, *(labels or {}).values()) if isinstance(path, str | os.PathLike)
    )
    if layout != "collection":
        return _write_per_series(
            collection,
            dest,
            layout,
            rocrate=rocrate,
            version=ome_version,
            levels=levels,
            chunks=chunks,
            shards=shards,
            compression=compression,
            clevel=clevel,
            shuffle=shuffle,
            overwrite=overwrite,
            workers=workers,
            client=client,
            progress=progress,
            storage_options=storage_options,
            inputs=inputs,
            resume=resume,
            downsample=downsample,
            indices=None if picked is None else (str(picked),),
        )
    return emit(
        collection,
        dest,
        version=ome_version,
        levels=levels,
        chunks=chunks,
        shards=shards,
        compression=compression,
        clevel=clevel,
        shuffle=shuffle,
        overwrite=overwrite,
        workers=workers,
        client=client,
        progress=progress,
        storage_options=storage_options,
        inputs=inputs,
        resume=resume,
        downsample=downsample,
    )


def select_series(collection: Collection, series: Sequence[int]) -> Collection:
    """The images numbered ``series`` of a multi-series ``collection``, kept at their paths."""
    if collection.plate is not None:
        raise UsageError("a plate is converted whole; give one --series or none")
    count = len(collection.images)
    bad = [i for i in series if not 0 <= i < count]
    if bad:
        raise UsageError(f"--series {bad[0]}: the input has {count} series (0 to {count - 1})")
    paths = collection.image_paths or tuple(str(i) for i in range(count))
    wanted = sorted(set(series))
    return replace(
        collection,
        images=tuple(collection.images[i] for i in wanted),
        image_paths=tuple(paths[i] for i in wanted),
        layout="bioformats2raw" if collection.layout == "image" else collection.layout,
    )


#: Suffixes of a series name that say the source's format, dropped from store names.
_FORMAT_SUFFIX = re.compile(
    r"(\.ome)?\.(tiff?|btf|zarr|ozx|czi|nd2|lif|lsm|oib|oif|npy|dv|mrc)$", re.IGNORECASE
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest name part taken from a series name (the whole name stays far below NAME_MAX).
_NAME_CHARS = 80


def series_store_names(collection: Collection, indices: Sequence[str] | None = None) -> list[str]:
    """The store names of ``collection``'s images in the per-series layout, in order:
    ``<index>_<name>.ome.zarr`` (``<index>.ome.zarr`` for an image without a name), only
    letters, digits, ``.``, ``_`` and ``-``, unique even where file names ignore case.
    ``indices`` are the images' series (default: their paths in the collection)."""
    paths = (
        indices or collection.image_paths or tuple(str(i) for i in range(len(collection.images)))
    )
    names: list[str] = []
    taken: set[str] = set()
    for path, image in zip(paths, collection.images, strict=True):
        parts = [path, _FORMAT_SUFFIX.sub("", image.name or "")]
        safe = [_UNSAFE.sub("_", p).strip("._-")[:_NAME_CHARS] for p in parts]
        stem = "_".join(p for p in safe if p) or "series"
        name, n = f"{stem}.ome.zarr", 1
        while name.lower() in taken:
            n += 1
            name = f"{stem}-{n}.ome.zarr"
        taken.add(name.lower())
        names.append(name)
    return names


def _write_per_series(
    collection: Collection,
    dest: str | os.PathLike[str],
    layout: str,
    *,
    progress: bool | Progress,
    storage_options: dict[str, Any] | None,
    rocrate: RoCrate | None = None,
    resume: bool = False,
    indices: Sequence[str] | None = None,
    **options: Any,
) -> str:
    """Write each image of ``collection`` (series ``indices``) as its own store in the
    folder ``dest``, each with ``rocrate`` (when given) at its root."""
    from omeconv.emit import emit
    from omeconv.progress import Progress
    from omeconv.rocrate import drop_staged_crate, with_rocrate
    from omeconv.stores import join_location, series_folder

    if layout != "per-series":
        raise UsageError(f"layout {layout!r}: give 'collection' or 'per-series'")
    if collection.plate is not None:
        raise UsageError(
            "a plate is written as one store; --layout per-series splits series", path=dest
        )
    total = progress if isinstance(progress, Progress) else None
    names = series_store_names(collection, indices)
    if total is not None:
        total.started = time.monotonic()  # the summary times the writing, as for one store
    with series_folder(dest, storage_options=storage_options):
        for name, part in zip(names, _series_collections(collection), strict=True):
            shown = Progress(mode=total.mode, desc=f"converting {name}") if total else progress
            part = with_rocrate(part, rocrate)
            location = join_location(dest, name)
            if resume:
                drop_staged_crate(part, location)
            emit(
                part,
                location,
                progress=shown,
                storage_options=storage_options,
                resume=resume,
                **options,
            )
            if total is not None and isinstance(shown, Progress):
                total.bytes_in += shown.bytes_in
                total.levels = max(total.levels or 0, shown.levels or 0) or None
    return str(dest)


def _series_collections(collection: Collection) -> list[Collection]:
    """One single-image collection per image, as ``series=<index>`` would open it: the
    file's OME-XML, the image's own nodes; nodes outside every image are left out (warned)."""
    paths = collection.image_paths or tuple(str(i) for i in range(len(collection.images)))
    if collection.image_paths is None and collection.layout == "image" and len(paths) == 1:
        paths = ("",)  # one image at the root: every node is its own
    out = []
    for path, image in zip(paths, collection.images, strict=True):
        prefix = f"{path}/" if path else ""
        nodes = tuple(
            replace(node, path=node.path.removeprefix(prefix))
            for node in collection.extra_nodes
            if node.path.startswith(prefix)
        )
        out.append(
            Collection(
                images=(image,), ome=collection.ome, ome_xml=collection.ome_xml, extra_nodes=nodes
            )
        )
    left = [
        node.path
        for node in collection.extra_nodes
        if not any(node.path.startswith(f"{p}/" if p else "") for p in paths)
    ]
    if left:
        warnings.warn(
            f"--layout per-series: {', '.join(left)} belong(s) to no series; not written",
            OmeconvWarning,
            stacklevel=4,
        )
    return out


def _check_downsample(method: str | None) -> None:
    """``gaussian`` needs scipy (the ``gaussian`` extra): say so before writing anything."""
    import importlib.util

    if method == "gaussian" and importlib.util.find_spec("scipy") is None:
        raise UsageError(
            "--downsample gaussian needs scipy: pip install 'omeconv[gaussian]' (or scipy)"
        )
