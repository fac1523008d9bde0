"""Where the emitter's groups, copied arrays and files go.

:class:`StoreSink` writes them into a zarr store (zarr's public API), as every conversion and
an upgrade to a copy do. :class:`InPlaceSink` is ``upgrade --in-place``: it only collects the
``zarr.json`` document of every group and array (arrays keep their chunk files where they
are), then :func:`apply` writes them crash-safely.

In place is journaled. The journal (``.omeconv-upgrade.json``, written atomically) first
records every document to write and every v2 file to remove. Then each array's and group's
``zarr.json`` is written (atomically, the root's last) and only then are the v2 files removed.
Until the root ``zarr.json`` exists the store is still a complete v0.4 store; from then on it
is a complete v0.5 store. A run that finds a journal finishes it.

A Zarr v3 store (0.5 to 0.6) is upgraded the same way, with less to do: only the groups whose
attributes change get a new ``zarr.json`` (its other keys kept, and the root's consolidated
metadata, if any, updated to match), the root's last; arrays and files are untouched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.emit.chunk_copy import array_v2_document, copy_array, v3_array_document
from omeconv.errors import MetadataError, UpgradeError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["JOURNAL", "InPlaceSink", "Ops", "StoreSink", "apply", "load_journal", "write_journal"]

#: The in-place journal, at the root of the store being upgraded.
JOURNAL = ".omeconv-upgrade.json"
_JOURNAL_FORMAT = "omeconv-upgrade/1"
_TMP = ".omeconv-tmp"
_V2_FILES = (".zarray", ".zgroup", ".zattrs", ".zmetadata")


class StoreSink:
    """Writes into a zarr store: groups through zarr, arrays' encoded chunks copied."""

    def __init__(
        self,
        store: Any,
        zarr_format: int,
        ledgers: Path | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.zarr_format = zarr_format
        self.ledgers = ledgers
        """Journal folder where chunk copies are recorded for ``--resume`` (local only)."""
        self.progress = progress
        """Told the (decoded) bytes of the chunks copied, as they are."""

    def group(self, path: str, attrs: dict[str, Any]) -> None:
        """Create (or complete) the group at ``path`` with exactly ``attrs``."""
        import zarr

        group = zarr.open_group(self.store, path=path, mode="a", zarr_format=self.zarr_format)  # type: ignore[arg-type]
        # One write of the whole document (``update`` would merge with stale keys).
        group.attrs.put(attrs)

    def copy_array(self, source: Any, path: str, dimension_names: Sequence[str] | None) -> None:
        """The array ``source`` at ``path`` as a Zarr v3 array, encoded chunks as they are."""
        copy_array(
            source,
            self.store,
            path,
            dimension_names=dimension_names,
            ledgers=self.ledgers,
            progress=self.progress,
        )

    def file(self, key: str, data: bytes) -> None:
        """A file that is no zarr node (``OME/METADATA.ome.xml``, a README), byte for byte."""
        from omeconv.zarr_io import write_bytes

        write_bytes(self.store, key, data)


class InPlaceSink:
    """Collects the Zarr v3 documents of a store upgraded where it is; writes nothing.

    ``store`` is None: a node that needs new pixels (a new pyramid level) cannot be written
    in place and the emitter refuses it.
    """

    store = None

    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs: dict[str, dict[str, Any]] = {}
        self.v3 = (root / "zarr.json").is_file()
        """Whether the store is Zarr v3 already (only group attributes change)."""

    def group(self, path: str, attrs: dict[str, Any]) -> None:
        doc = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
        if self.v3:
            old = _v3_doc(self.root / path / "zarr.json")
            if old is not None:
                doc = {**old, "attributes": attrs}
                if doc == old:
                    return
        self.docs[path] = doc

    def copy_array(self, source: Any, path: str, dimension_names: Sequence[str] | None) -> None:
        if source.metadata.zarr_format == 3:
            return  # a v3 array stays as it is
        self.docs[path] = v3_array_document(
            array_v2_document(source),
            dimension_names=dimension_names,
            keep_v2_keys=True,
            where=f"{self.root}/{path}",
        )

    def file(self, key: str, data: bytes) -> None:
        target = self.root / key
        if not (target.is_file() and target.read_bytes() == data):
            raise MetadataError(f"{key}: in place would change this file", path=self.root)

    def steps(self) -> dict[str, Any]:
        """The journal: every ``zarr.json`` to write (root last) and every v2 file to remove.

        Directories between the documents that had no v2 metadata become plain groups.
        Raises before anything is written when some v2 node would be left behind or when a
        file to write or remove lies outside the store (through a symbolic link).
        """
        if self.v3:
            return self._v3_steps()
        nodes = _v2_nodes(self.root)
        write: dict[str, dict[str, Any]] = {}
        for path in sorted(_ancestors(set(self.docs)) - set(self.docs), reverse=True):
            write[path] = {"zarr_format": 3, "node_type": "group", "attributes": {}}
        write.pop("", None)
        write.update((p, d) for p, d in self.docs.items() if p != "")
        write[""] = self.docs.get("", _empty_group())  # the root last
        left = sorted(set(nodes) - set(write))
        if left:
            raise UpgradeError(
                f"would leave Zarr v2 nodes behind: {', '.join(left)}", path=self.root
            )
        remove = [
            _join(path, name)
            for path in sorted(write, key=lambda p: (p == "", p))
            for name in sorted(nodes.get(path, ()))
        ]
        _refuse_outside(self.root, [_join(p, "zarr.json") for p in write] + remove)
        return {"format": _JOURNAL_FORMAT, "write": write, "remove": remove}

    def _v3_steps(self) -> dict[str, Any]:
        """The journal of a v3 store: the changed groups' ``zarr.json``, the root's last."""
        write = {p: d for p, d in self.docs.items() if p != ""}
        root = self.docs.get("") or _v3_doc(self.root / "zarr.json") or _empty_group()
        consolidated = root.get("consolidated_metadata")
        if isinstance(consolidated, dict) and isinstance(consolidated.get("metadata"), dict):
            nodes = dict(consolidated["metadata"])
            for path, doc in write.items():
                if isinstance(nodes.get(path), dict):
                    nodes[path] = {**nodes[path], "attributes": doc["attributes"]}
            root = {**root, "consolidated_metadata": {**consolidated, "metadata": nodes}}
        if write or "" in self.docs or root != _v3_doc(self.root / "zarr.json"):
            write[""] = root
        _refuse_outside(self.root, [_join(p, "zarr.json") for p in write])
        return {"format": _JOURNAL_FORMAT, "write": write, "remove": []}


def _v3_doc(path: Path) -> dict[str, Any] | None:
    """The JSON object in the ``zarr.json`` at ``path`` (None when absent or unreadable)."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _empty_group() -> dict[str, Any]:
    return {"zarr_format": 3, "node_type": "group", "attributes": {}}


def _refuse_outside(root: Path, keys: Sequence[str]) -> None:
    """Refuse (nothing written yet) when a key resolves outside ``root`` (a symbolic link)."""
    top = root.resolve()
    for key in keys:
        target = (root / key).resolve()
        if not target.is_relative_to(top):
            raise UpgradeError(
                f"{key} leads out of the store (symbolic link to {target.parent});"
                " in place writes only inside it",
                path=root,
            )


def _v2_nodes(root: Path) -> dict[str, set[str]]:
    """Every v2 node below ``root`` (symbolic links to directories not followed): its path
    and the metadata files it has."""
    nodes: dict[str, set[str]] = {}
    for dirpath, dirs, files in os.walk(root):
        meta = {f for f in files if f in _V2_FILES}
        rel = Path(dirpath).relative_to(root).as_posix()
        if meta:
            nodes["" if rel == "." else rel] = meta
        if ".zarray" in meta:
            dirs.clear()  # chunk directories
    return nodes


def _ancestors(paths: set[str]) -> set[str]:
    out = {""}
    for p in paths:
        parts = p.split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return out


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def load_journal(root: Path) -> dict[str, Any] | None:
    """The journal an interrupted in-place run left in ``root``, None when there is none."""
    path = root / JOURNAL
    path.with_name(JOURNAL + _TMP).unlink(missing_ok=True)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        doc = None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != _JOURNAL_FORMAT
        or not isinstance(doc.get("write"), dict)
    ):
        raise UpgradeError(
            f"{JOURNAL} was not written by this omeconv; remove it if no upgrade is running",
            path=root,
        )
    return doc


def write_journal(root: Path, steps: dict[str, Any], ops: Ops) -> None:
    """Record ``steps`` durably before any of them is applied."""
    _write_atomic(root / JOURNAL, json.dumps(steps).encode(), ops, sync=True)


def apply(root: Path, steps: dict[str, Any], ops: Ops) -> None:
    """Write every ``zarr.json`` (root last), then remove the v2 files, then the journal."""
    for path, doc in steps["write"].items():
        target = root / path / "zarr.json"
        target.with_name(target.name + _TMP).unlink(missing_ok=True)
        data = json.dumps(doc, indent=2).encode()
        if target.is_file() and target.read_bytes() == data:
            continue
        _write_atomic(target, data, ops, sync=path == "")
    for key in steps["remove"]:
        target = root / key
        if target.exists():
            ops.step()
            target.unlink()
    ops.step()
    (root / JOURNAL).unlink()


def _write_atomic(target: Path, data: bytes, ops: Ops, *, sync: bool = False) -> None:
    tmp = target.with_name(target.name + _TMP)
    ops.step()
    with tmp.open("wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    ops.step()
    os.replace(tmp, target)


class Ops:
    """Counts the file operations of an in-place run (tests stop a run at one of them)."""

    def __init__(self) -> None:
        self.count = 0

    def step(self) -> None:
        self.count += 1
