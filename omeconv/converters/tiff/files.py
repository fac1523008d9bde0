"""The files of a TIFF source: the file itself or its OME-XML companion, the members of a
multi-file OME-TIFF set, and files at fsspec URLs."""

from __future__ import annotations

import os
import re
import warnings
from typing import TYPE_CHECKING, Any

from omeconv.converters.tiff.damage import reason
from omeconv.errors import (
    CorruptSourceError,
    MetadataError,
    OmeconvWarning,
    SourceNotFoundError,
    UnsupportedSourceError,
)

if TYPE_CHECKING:
    from pathlib import Path

    import tifffile

__all__ = [
    "SUFFIXES",
    "binary_only_companion",
    "check_path",
    "first_data_file",
    "is_companion_name",
    "member_files",
    "open_remote",
    "read_companion",
]

#: Suffixes of the TIFF family.
SUFFIXES = (
    ".tif",
    ".tiff",
    ".btf",
    ".tf2",
    ".tf8",
    ".lsm",
    ".stk",
    ".qptiff",
    ".ndpi",
    ".svs",
    ".scn",
)


def open_remote(url: str, storage_options: dict[str, Any]) -> Any:
    """The file at ``url`` opened for reading with fsspec."""
    import fsspec

    return fsspec.open(url, mode="rb", **storage_options).open()


def member_files(path: Path) -> list[Path]:
    """The files a multi-file OME-TIFF set names (``TiffData/UUID/@FileName``) beside
    ``path``, a member or its companion OME-XML; empty for anything else."""
    import tifffile

    if path.suffix.lower() not in (*SUFFIXES, ".ome", ".xml"):
        return []
    try:
        if is_companion_name(path):
            xml = path.read_bytes().decode("utf-8-sig", errors="replace")
        else:
            with tifffile.TiffFile(path) as tf:
                xml = tf.pages.first.description if tf.is_ome else ""
    except Exception:  # noqa: BLE001 - not a readable TIFF: the adapter says why
        return []
    names = dict.fromkeys(re.findall(r"(?:FileName|MetadataFile)=\"([^\"]+)\"", xml))
    files = [path.parent / n for n in names if (path.parent / n).is_file()]
    if "BinaryOnly" in xml and files and is_companion_name(files[0]):
        return [*files, *member_files(files[0])]
    return files


def is_companion_name(path: Path) -> bool:
    """Whether ``path`` is named like an OME-XML companion file."""
    name = path.name.lower()
    return name.endswith((".companion.ome", ".ome.xml", ".ome"))


def read_companion(path: Path) -> str:
    """The text of an OME-XML companion file."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptSourceError(f"not a readable OME-XML file: {reason(exc)}", path=path) from exc
    if text.rstrip()[-4:] != "OME>":
        raise CorruptSourceError("not an OME-XML document (no closing </OME>)", path=path)
    return text


def first_data_file(xml: str, path: Path) -> Path:
    """The first TIFF named by a ``TiffData/UUID/@FileName`` of a companion file."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(xml.encode("utf-8"))
    except ElementTree.ParseError as exc:
        raise MetadataError(f"malformed OME-XML: {exc}", path=path) from exc
    for elem in root.iter():
        if elem.tag.endswith("}UUID") and elem.attrib.get("FileName"):
            candidate = path.parent / elem.attrib["FileName"]
            if candidate.is_file():
                return candidate
    raise UnsupportedSourceError(
        "OME-XML names no TIFF file next to it (no TiffData/UUID/@FileName found)", path=path
    )


def binary_only_companion(tf: tifffile.TiffFile, path: Path) -> str | None:
    """The companion OME-XML a ``BinaryOnly`` OME-TIFF points to, when it is present."""
    xml = tf.ome_metadata if tf.is_ome else None
    if not xml or "BinaryOnly" not in xml:
        return None
    match = re.search(r"<(?:\w+:)?BinaryOnly[^>]*MetadataFile=\"([^\"]+)\"", xml)
    if match is None:
        return None
    companion = path.parent / match.group(1)
    if not companion.is_file():
        warnings.warn(
            f"{path}: its OME-XML is in {match.group(1)}, which is missing; reading this file alone",
            OmeconvWarning,
            stacklevel=3,
        )
        return None
    return read_companion(companion)


def check_path(path: Path) -> None:
    """Refuse a path that is not a readable, non-empty file."""
    if not path.exists():
        raise SourceNotFoundError("no such file", path=path)
    if path.is_dir():
        raise SourceNotFoundError("is a directory, not a TIFF file", path=path)
    if not os.access(path, os.R_OK):
        raise SourceNotFoundError("permission denied", path=path)
    if path.stat().st_size == 0:
        raise CorruptSourceError("empty file (0 bytes)", path=path)
