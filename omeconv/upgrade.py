"""Upgrade OME-Zarr 0.4 (Zarr v2) to 0.5 or 0.6, or 0.5 to 0.6 (Zarr v3): a copy, or in place.

The store is read by the OME-Zarr source adapter (:mod:`omeconv.converters.ome_zarr_`),
which keeps every group's attributes as stored, and written by the one emitter, which moves
them (the NGFF keys under ``ome``, per-object versions become ``ome.version``; nothing added,
dropped or reordered). A copy goes through :func:`omeconv.emit.emit` into a new store
(encoded chunks copied as they are, unless re-encoding is asked for); in place goes through
:func:`omeconv.emit.emit_into` into an :class:`~omeconv.emit.sinks.InPlaceSink`, which
journals the ``zarr.json`` documents and applies them crash-safely
(:mod:`omeconv.emit.sinks`). 0.4 to 0.6 is the 0.4 to 0.5 move followed by 0.5 to 0.6
(:mod:`omeconv.emit.v06`); 0.5 to 0.6 in place rewrites only group attributes.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.emit.sinks import JOURNAL
from omeconv.errors import (
    OmeconvWarning,
    SourceNotFoundError,
    UnsupportedSourceError,
    UpgradeError,
    UsageError,
)
from omeconv.hierarchy import Hierarchy
from omeconv.ngff06 import is_v06
from omeconv.ozx import is_ozx
from omeconv.zarr_io import join

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator, Mapping, Sequence

    from omeconv.model import Collection, SourceAttrs
    from omeconv.progress import Progress
    from omeconv.rocrate import RoCrate

__all__ = ["JOURNAL", "LOCK", "UPGRADES", "UpgradePlan", "plan_upgrade", "upgrade"]

logger = logging.getLogger(__name__)

#: The in-place lock file, beside the journal while an upgrade runs.
LOCK = ".omeconv-upgrade.lock"
#: The upgrades omeconv makes, ``(from, to)``.
UPGRADES = (("0.4", "0.5"), ("0.4", "0.6"), ("0.5", "0.6"))


def upgrade(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str] | None = None,
    *,
    from_version: str = "0.4",
    to_version: str = "0.5",
    in_place: bool = False,
    dry_run: bool = False,
    overwrite: bool = False,
    resume: bool = False,
    rechunk: bool = False,
    chunks: Sequence[int] | Mapping[str, int] | None = None,
    shards: bool = False,
    compression: str | None = None,
    clevel: int = 5,
    workers: int | None = None,
    progress: bool | Progress = False,
    rocrate: RoCrate | None = None,
) -> str:
    """Upgrade the OME-Zarr ``from_version`` store ``source`` to ``to_version``, at ``dest`` or
    ``in_place``.

    Parameters
    ----------
    source
        Root of an image, a plate, a bioformats2raw collection or a group of images.
    from_version, to_version
        One of :data:`UPGRADES` (``"v0.4"`` reads as ``"0.4"``); 0.6 is written as
        :data:`omeconv.ngff06.VERSION`.
    dest
        Where to write the upgraded copy (refused when it exists, unless ``overwrite``).
        ``source`` is never modified by a copy.
    in_place
        Rewrite only the metadata of ``source``; chunk files stay where they are.
    dry_run
        Change nothing; return a description of what would change.
    resume
        Finish the copy an interrupted run left in ``<dest>.partial`` (same options): chunk
        files already copied in full are kept. In place, a re-run always finishes the job.
    rechunk, chunks, shards, compression, clevel
        Re-encode the pixels through the normal write path (copy only) instead of copying
        the encoded chunks; ``rechunk`` alone picks new default chunks.
    workers, progress
        Threads for re-encoding; a progress bar (or a :class:`~omeconv.progress.Progress`)
        for the copy or re-encode.
    rocrate
        Write ``ro-crate-metadata.json`` at the root of the copy (:mod:`omeconv.rocrate`), in
        place of the source's.

    Returns
    -------
    str
        The location of the upgraded store, or with ``dry_run`` the description of the changes.

    Examples
    --------
    >>> omeconv.upgrade("plate.zarr", "plate-v05.zarr")                 # doctest: +SKIP
    >>> omeconv.upgrade("image.ome.zarr", in_place=True)                # doctest: +SKIP
    """
    from_version, to_version = _versions(from_version, to_version)
    reencode = rechunk or chunks is not None or shards or compression is not None
    if in_place and dest is not None:
        raise UsageError("give either OUTPUT or --in-place, not both")
    if not in_place and dest is None:
        raise UsageError("give OUTPUT, or --in-place to upgrade INPUT itself")
    if in_place and reencode:
        raise UsageError("--in-place rewrites metadata only; re-encoding needs an OUTPUT")
    if in_place and rocrate is not None:
        raise UsageError("--in-place rewrites NGFF metadata only; --rocrate needs an OUTPUT")
    if in_place and is_ozx(source):
        raise UsageError("a .ozx file is not upgraded in place; give OUTPUT", path=source)
    if in_place:
        root = Path(_local(source))
        # A dry run writes nothing; a missing store gets _in_place's own error.
        with nullcontext() if dry_run or not root.is_dir() else _exclusive(root):
            return _in_place(root, from_version, to_version, dry_run=dry_run)
    plan = plan_upgrade(source, copy_chunks=not reencode, from_version=from_version)
    plan.to_version = to_version
    if dry_run:
        return plan.describe(dest=str(dest))
    from omeconv.emit import emit
    from omeconv.rocrate import drop_staged_crate, with_rocrate

    collection = with_rocrate(plan.collection, rocrate)
    if resume and dest is not None:
        drop_staged_crate(collection, dest)
    return emit(
        collection,
        str(dest),
        version=to_version,
        levels=1,
        chunks=chunks,
        shards=shards,
        compression=compression or "balanced",
        clevel=clevel,
        overwrite=overwrite,
        workers=workers,
        progress=progress,
        inputs=(source,),
        resume=resume,
        copy_chunks=not reencode,
    )


@dataclass
class UpgradePlan:
    """What an upgrade reads and writes, checked before anything is written."""

    source: str
    collection: Collection
    arrays: dict[str, dict[str, Any]]
    """v3 ``zarr.json`` of each array, by path (chunks kept as they are)."""
    copy_chunks: bool = True
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Group attributes by path, in write order (in place only)."""
    from_version: str = "0.4"
    to_version: str = "0.5"

    def describe(self, *, dest: str | None = None) -> str:
        """One line per change, for ``--dry-run``."""
        c = self.collection
        kind = "plate" if c.plate else c.layout
        head = (
            f"{self.source}: OME-Zarr {self.from_version} {kind}, {len(c.images)} image(s),"
            f" {len(self.arrays)} arrays"
        )
        lines = [head]
        if dest is not None:
            how = "encoded chunks copied as they are" if self.copy_chunks else "pixels re-encoded"
            lines.append(
                f"would write {dest} as OME-Zarr {self.to_version} ({how});"
                f" {self.source} is not modified"
            )
        else:
            lines.append("would rewrite metadata in place; no chunk file moves")
        extra = {n.path for n in c.extra_nodes}

        def note(path: str) -> str:
            return " (no OME-Zarr node: carried as it is)" if path in extra else ""

        for path, doc in self.arrays.items():
            codecs = ", ".join(cd["name"] for cd in doc["codecs"])
            lines.append(
                f"  array {path or '.'}: {doc['data_type']} {doc['shape']} [{codecs}]{note(path)}"
            )
        groups = self.groups or [n.path for n in c.extra_nodes if n.kind == "group"]
        how = ""
        if self.groups:
            v2 = self.from_version == "0.4"
            how = ": write zarr.json, remove .zgroup/.zattrs" if v2 else ": rewrite attributes"
        lines.extend(f"  group {p or '.'}{how}{note(p)}" for p in groups)
        kept = "copied as it is" if dest is not None else "left as it is"
        lines.extend(f"  file {n.path}: {kept}" for n in c.extra_nodes if n.kind == "file")
        return "\n".join(lines)


def plan_upgrade(
    source: str | os.PathLike[str], *, copy_chunks: bool = True, from_version: str = "0.4"
) -> UpgradePlan:
    """Open ``source`` as OME-Zarr ``from_version`` (0.4 or 0.5) and map every array to Zarr
    v3 (raises when one cannot)."""
    from omeconv.converters.ome_zarr_ import OmeZarrConverter
    from omeconv.emit.chunk_copy import array_v2_document, array_v3_document, v3_array_document

    location = _local(source)
    root = Path(location)
    if not root.exists():
        raise SourceNotFoundError("no such file or directory", path=location)
    hierarchy = Hierarchy(location)
    v3 = hierarchy.zarr_format == 3
    if from_version == "0.4" and v3:
        raise UpgradeError(
            "already Zarr v3 (OME-Zarr 0.5 or later); nothing to upgrade from 0.4", path=location
        )
    if from_version == "0.4" and hierarchy.kind("") != "group":
        raise UpgradeError("not a Zarr v2 store (no .zgroup or .zattrs)", path=location)
    if from_version == "0.5" and not v3:
        raise UpgradeError("not a Zarr v3 store (no zarr.json); upgrade it from 0.4", path=location)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OmeconvWarning)
            # Missing chunks stay missing in the copy: no need to list every chunk for that.
            collection = OmeZarrConverter().open(location, warn_missing=False)
    except UnsupportedSourceError as exc:
        raise UpgradeError(
            f"not an OME-Zarr {from_version} store (no NGFF metadata)", path=location
        ) from exc
    if any(is_v06(attrs.version) for attrs in _source_attrs(collection)):
        raise UpgradeError("already OME-Zarr 0.6; nothing to upgrade", path=location)
    arrays = {}
    for path, array, names in _arrays(collection):
        if v3 and copy_chunks:
            arrays[path] = array_v3_document(array, dimension_names=None)
            continue
        if not copy_chunks:
            arrays[path] = {
                "data_type": str(array.dtype),
                "shape": list(array.shape),
                "codecs": [{"name": "re-encoded"}],
            }
            continue
        arrays[path] = v3_array_document(
            array_v2_document(array),
            dimension_names=names,
            keep_v2_keys=True,
            where=f"{location}/{path}",
        )
    return UpgradePlan(
        str(source), collection, arrays, copy_chunks=copy_chunks, from_version=from_version
    )


def _versions(from_version: str, to_version: str) -> tuple[str, str]:
    """``(from, to)`` without a leading ``v``; refused unless one of :data:`UPGRADES`."""
    pair = (from_version.removeprefix("v"), to_version.removeprefix("v"))
    if pair not in UPGRADES:
        known = ", ".join(f"{a} to {b}" for a, b in UPGRADES)
        raise UsageError(
            f"cannot upgrade OME-Zarr {pair[0]} to {pair[1]}; omeconv upgrades {known}"
        )
    return pair


def _source_attrs(collection: Collection) -> Iterator[SourceAttrs]:
    """The stored attributes of the collection's root and images."""
    if collection.source_attrs is not None:
        yield collection.source_attrs
    for image in collection.images:
        if image.source_attrs is not None:
            yield image.source_attrs


def _local(source: str | os.PathLike[str]) -> str:
    from omeconv.stores import is_url

    text = str(source)
    if is_url(text):
        raise UsageError("upgrade works on local stores only", path=text)
    return text.removeprefix("file://")


def _arrays(collection: Collection) -> Iterator[tuple[str, Any, list[str] | None]]:
    """``(path, source zarr array, dimension names)`` of every level, label level and
    non-NGFF array."""
    paths = collection.image_paths or [str(i) for i in range(len(collection.images))]
    for base, image in zip(paths, collection.images, strict=True):
        names = [a.name for a in image.axes]
        for i, lv in enumerate(image.levels):
            yield join(base, lv.path or str(i)), lv.source, names
        for label in image.labels:
            names = [a.name for a in label.axes]
            for i, lv in enumerate(label.levels):
                yield join(base, "labels", label.name, lv.path or str(i)), lv.source, names
    for node in collection.extra_nodes:
        if node.kind == "array":
            yield node.path, node.source, None


# -- in place ---------------------------------------------------------------------------------


def _exclusive(root: Path) -> AbstractContextManager[None]:
    """Hold the store's upgrade lock (``LOCK``) so two in-place runs never interleave."""
    from omeconv.locks import exclusive_lock

    busy = "another omeconv upgrade is running on this store; wait for it to finish"
    return exclusive_lock(root / LOCK, busy=busy, path=root)


def _in_place(root: Path, from_version: str, to_version: str, *, dry_run: bool) -> str:
    from omeconv.emit import emit_into
    from omeconv.emit.sinks import InPlaceSink, Ops, apply, load_journal, write_journal

    steps = load_journal(root)
    if steps is not None:
        # The journal's target (journals of older runs have none: they went to 0.5).
        done = str(steps.get("to", "0.5"))
        if done != to_version and (done, to_version) != ("0.5", "0.6"):
            raise UpgradeError(
                f"an interrupted in-place upgrade to OME-Zarr {done} is unfinished; run"
                f" 'omeconv upgrade {from_version} {done} --in-place' to finish it",
                path=root,
            )
        if dry_run:
            return f"{root}: would finish an interrupted in-place upgrade ({len(steps['write'])} documents)"
        logger.info("%s: finishing an interrupted upgrade", root)
        apply(root, steps, Ops())
        if done == to_version:
            return str(root)
        from_version = done  # then on from there
    plan = plan_upgrade(root, from_version=from_version)
    plan.to_version = to_version
    _check_label_levels(plan.collection, to_version)
    sink = InPlaceSink(root)
    emit_into(plan.collection, sink, version=to_version)
    steps = {**sink.steps(), "to": to_version}
    plan.groups = {p: doc for p, doc in steps["write"].items() if doc["node_type"] == "group"}
    if dry_run:
        return plan.describe()
    ops = Ops()
    write_journal(root, steps, ops)
    apply(root, steps, ops)
    return str(root)


def _check_label_levels(collection: Collection, version: str) -> None:
    """OME-Zarr 0.5+ wants as many label levels as image levels; in place cannot add any."""
    for image in collection.images:
        for label in image.labels:
            if len(label.levels) != len(image.levels):
                raise UpgradeError(
                    f"label {label.name!r} has {len(label.levels)} levels but its image has"
                    f" {len(image.levels)}; OME-Zarr {version} needs as many. Upgrade to a copy"
                    " (with OUTPUT), which computes the missing label levels"
                )
