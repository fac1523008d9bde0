"""One run of the emitter: a :class:`~omeconv.model.Collection` written as OME-Zarr 0.4, 0.5
or 0.6, staged beside the output and journaled so an interrupted run can be resumed.

Arrays first, group metadata after, the root's metadata last: an interrupted write never
looks like a complete OME-Zarr.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

# Not ``from omeconv.emit import``: that would import the package that imports this module.
import omeconv.emit.v04 as v04  # noqa: PLR0402
import omeconv.emit.v05 as v05  # noqa: PLR0402
import omeconv.emit.v06 as v06  # noqa: PLR0402
from omeconv.emit.axes import ngff_order
from omeconv.emit.paths import image_paths
from omeconv.emit.sinks import StoreSink
from omeconv.emit.write import Encoding, Runner, Shuffle
from omeconv.emit.writer import Writer
from omeconv.errors import SourceError, UnsupportedSourceError, UsageError
from omeconv.journal import Journal, check_inputs_unchanged, check_resume, source_identity
from omeconv.ozx import is_ozx
from omeconv.progress import Progress
from omeconv.stores import is_url, staged_output, staging_path
from omeconv.zarr_io import NODE_KEYS

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from types import ModuleType

    from omeconv.emit.sinks import InPlaceSink
    from omeconv.model import Collection, Image
    from omeconv.pyramid import Method

__all__ = ["LAYOUTS", "emit", "emit_into", "is_finished"]

LAYOUTS: dict[str, ModuleType] = {"0.4": v04, "0.5": v05, "0.6": v06}


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
        writer = Writer(sink, layout, encoding, levels, chunks, runner, journal)
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
        lv.nbytes
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
    return any((root / name).is_file() for name in NODE_KEYS)


def emit_into(collection: Collection, sink: InPlaceSink, *, version: str = "0.5") -> None:
    """Write ``collection`` through ``sink`` with its levels as they are, arrays' encoded
    chunks copied: ``upgrade --in-place`` collects the documents this way. A node that would
    need new pixels (a missing label level) is refused."""
    layout = LAYOUTS[version]
    writer = Writer(sink, layout, Encoding(zarr_format=layout.ZARR_FORMAT), 1, None, Runner())
    writer.copy_chunks = True
    _write_all(writer, collection, [ngff_order(image) for image in collection.images], ())


def _write_all(
    writer: Writer,
    collection: Collection,
    images: Sequence[Image],
    inputs: tuple[str | os.PathLike[str], ...],
    identity: list[list[Any]] | None = None,
) -> None:
    """Images (arrays first, then their groups), non-NGFF nodes, then the collection's groups,
    the root last. The inputs' ``identity`` is checked before the root: an input that changed
    while it was read leaves no complete output."""
    paths = image_paths(collection)
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
        dtype = np.dtype(image.levels[0].dtype)
        if dtype.kind not in "biuf":
            raise UnsupportedSourceError(
                f"unsupported pixel type {dtype}; OME-Zarr holds bool, integer or float pixels",
                path=inputs[0] if inputs else None,
            )
