"""Single-file OME-Zarr (``.ozx``, RFC-9): a finished Zarr v3 store packed into one ZIP file.

:func:`pack` writes the archive as RFC-9 recommends: ZIP64 entries, no ZIP-level compression
(chunks are already compressed by their codecs), every ``zarr.json`` first in breadth-first
order (the root's first of all), then the other files, and the archive comment
``{"ome": {"version": …, "zipFile": {"centralDirectory": {"jsonFirst": true}}}}``. The zip is
written beside its destination under a temporary name and renamed into place only once
complete, so an interrupted run never leaves a ``.ozx`` behind. Files are streamed, never
held in memory whole. :func:`ome_version` reads the version back from the comment, and
zarr's ``ZipStore`` opens the archive as a store.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.errors import CorruptSourceError, StoreWriteError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["SUFFIX", "is_ozx", "ome_version", "pack"]

#: The file name extension of an OME-Zarr zip file.
SUFFIX = ".ozx"
_COPY_BUFFER = 16 * 2**20


def is_ozx(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names an OME-Zarr zip file (by its extension, as RFC-9 says)."""
    return str(location).lower().rstrip("/").endswith(SUFFIX)


def pack(store: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Pack the finished Zarr v3 store directory ``store`` into the zip file ``dest``.

    Raises :class:`UsageError` when ``store`` is not an OME-Zarr 0.5+ store (RFC-9 holds
    Zarr v3 only) and :class:`StoreWriteError` when the zip cannot be written; in both
    cases no ``dest`` is left behind.
    """
    root = Path(store)
    target = Path(dest)
    version = _root_version(root)
    comment = {"ome": {"version": version, "zipFile": {"centralDirectory": {"jsonFirst": True}}}}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name in _entries(root):
                _add(zf, root / name, name)
            zf.comment = json.dumps(comment, separators=(",", ":")).encode("utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreWriteError(
            f"cannot write the zip file: {exc.strerror or exc}", path=target
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def ome_version(path: str | os.PathLike[str]) -> str | None:
    """The OME-Zarr version an ``.ozx`` file's archive comment states (None if it has none)."""
    try:
        with zipfile.ZipFile(path) as zf:
            raw = zf.comment
    except (OSError, zipfile.BadZipFile) as exc:
        raise CorruptSourceError(f"not a readable zip file: {exc}", path=path) from exc
    try:
        doc: Any = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None
    ome = doc.get("ome") if isinstance(doc, dict) else None
    version = ome.get("version") if isinstance(ome, dict) else None
    return str(version) if version is not None else None


def _root_version(root: Path) -> str:
    try:
        doc = json.loads((root / "zarr.json").read_bytes())
    except (OSError, ValueError) as exc:
        raise UsageError(
            "a .ozx file holds an OME-Zarr 0.5 or later store (Zarr v3); choose --ome-version 0.5",
            path=root,
        ) from exc
    ome = doc.get("attributes", {}).get("ome", {}) if isinstance(doc, dict) else {}
    version = ome.get("version") if isinstance(ome, dict) else None
    if version is None:
        raise UsageError("the store's root has no OME-Zarr version to zip", path=root)
    return str(version)


def _entries(root: Path) -> list[str]:
    """Every file below ``root`` as a zip name: ``zarr.json`` files breadth-first, then the rest."""
    files = sorted(_files(root))
    metadata = sorted((f for f in files if f.rpartition("/")[2] == "zarr.json"), key=_depth_first)
    rest = [f for f in files if f.rpartition("/")[2] != "zarr.json"]
    return metadata + rest


def _depth_first(name: str) -> tuple[int, str]:
    return name.count("/"), name


def _files(root: Path) -> Iterator[str]:
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        base = Path(dirpath).relative_to(root)
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield (base / name).as_posix()


def _add(zf: zipfile.ZipFile, path: Path, name: str) -> None:
    info = zipfile.ZipInfo.from_file(path, name)
    info.compress_type = zipfile.ZIP_STORED
    with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
        shutil.copyfileobj(src, dst, _COPY_BUFFER)
