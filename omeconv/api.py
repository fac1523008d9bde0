"""The Python API: read, write, convert. Picks a source adapter and calls the emitter."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from omeconv.converters import check_options, get_converter, guess_converter
from omeconv.errors import UsageError
from omeconv.model import Collection, Image

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from omeconv.emit.write import Shuffle
    from omeconv.overrides import Overrides
    from omeconv.progress import Progress
    from omeconv.pyramid import Method

__all__ = ["convert", "open_source", "read", "select_series", "write"]


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
    adapter = get_converter(converter) if converter else guess_converter(source)
    if series is not None:
        options["series"] = series
    check_options(adapter, source, options)
    return adapter.open(source, **options)


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
) -> str:
    """Write an image (or a whole collection) as OME-Zarr ``ome_version``; return its location.

    See :func:`omeconv.emit.emit` for the options.
    """
    from omeconv.emit import emit

    collection = image if isinstance(image, Collection) else Collection(images=(image,))
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
    **metadata: Any,
) -> str:
    """Read ``source`` and write it to ``dest`` as OME-Zarr; return the output location.

    ``series`` picks one series (an index), several (a list of indices, written at their
    own indices) or all (``None`` or ``"all"``). ``overrides`` replaces the file's metadata
    (:mod:`omeconv.overrides`); ``downsample`` is the pyramid's method for intensities
    (``mean``, ``mode``, ``nearest``, ``gaussian``; labels always ``mode``). ``resume``
    finishes the output of an interrupted run with the same options.

    Examples
    --------
    >>> omeconv.convert("cells.ome.tif", "cells.ome.zarr")                # doctest: +SKIP
    >>> omeconv.convert(array, "a.ome.zarr", axes="zyx", ome_version="0.4")  # doctest: +SKIP
    >>> omeconv.convert("c.tif", "c.ome.zarr", labels={"nuclei": "mask.tif"})  # doctest: +SKIP
    """
    from omeconv.emit import emit

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
    inputs = tuple(
        path for path in (source, *(labels or {}).values()) if isinstance(path, str | os.PathLike)
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
