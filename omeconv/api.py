"""The Python API: read, write, convert. Picks a source adapter and calls the emitter."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from omeconv.converters import get_converter, guess_converter
from omeconv.model import Collection, Image

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from omeconv.progress import Progress

__all__ = ["convert", "open_source", "read", "write"]


def open_source(
    source: Any, *, converter: str | None = None, series: int | None = None, **metadata: Any
) -> Collection:
    """Open ``source`` (path, numpy or dask array) lazily as a :class:`Collection`.

    ``converter`` names the adapter to use (default: guessed from the source);
    ``metadata`` (axes, scale, units, channel_names …) applies to arrays.
    """
    options: dict[str, Any] = {k: v for k, v in metadata.items() if v is not None}
    if converter is None and "plate_pattern" in options:
        converter = "plate_folder"
    adapter = get_converter(converter) if converter else guess_converter(source)
    if series is not None:
        options["series"] = series
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
    series: int | None = None,
    converter: str | None = None,
    labels: Mapping[str, Any] | None = None,
    levels: int | None = None,
    chunks: Sequence[int] | Mapping[str, int] | None = None,
    shards: bool = False,
    compression: str = "balanced",
    clevel: int = 5,
    overwrite: bool = False,
    workers: int | None = None,
    client: Any = None,
    progress: bool | Progress = False,
    storage_options: dict[str, Any] | None = None,
    resume: bool = False,
    **metadata: Any,
) -> str:
    """Read ``source`` and write it to ``dest`` as OME-Zarr; return the output location.

    ``resume`` finishes the output of an interrupted run with the same options.

    Examples
    --------
    >>> omeconv.convert("cells.ome.tif", "cells.ome.zarr")                # doctest: +SKIP
    >>> omeconv.convert(array, "a.ome.zarr", axes="zyx", ome_version="0.4")  # doctest: +SKIP
    >>> omeconv.convert("c.tif", "c.ome.zarr", labels={"nuclei": "mask.tif"})  # doctest: +SKIP
    """
    from omeconv.emit import emit

    collection = open_source(source, converter=converter, series=series, **metadata)
    if labels:
        from omeconv.labels import attach_labels

        collection = attach_labels(collection, labels)
    inputs = (source,) if isinstance(source, str | os.PathLike) else ()
    return emit(
        collection,
        dest,
        version=ome_version,
        levels=levels,
        chunks=chunks,
        shards=shards,
        compression=compression,
        clevel=clevel,
        overwrite=overwrite,
        workers=workers,
        client=client,
        progress=progress,
        storage_options=storage_options,
        inputs=inputs,
        resume=resume,
    )
