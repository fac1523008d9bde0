"""Checks that a TIFF's IFDs hold, whole and in place, the planes its metadata describes.

A copying machine must not turn damage into plausible pixels: a truncated file, an IFD chain
that loops or points past the end, strips or tiles that are missing, empty, outside the file
or claim more than their codec can decode, planes the metadata lists without an IFD, IFDs used
twice or left out. Each is a :class:`CorruptSourceError` naming the file and the IFD. What
tifffile logs while it reads a file is collected: structural damage is an error, the rest
becomes a warning. Only tags, offsets and byte counts are read, never the pixels.
"""

from __future__ import annotations

import logging
import math
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from omeconv.errors import CorruptSourceError, OmeconvError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    import tifffile

__all__ = [
    "check_every_ifd_used",
    "check_file",
    "check_series_data",
    "clean_log",
    "damage_error",
    "raise_logged_damage",
    "reason",
    "tifffile_log",
]

#: What tifffile logs about a file whose structure is damaged (truncated, looping, cut).
_DAMAGE = re.compile(
    r"invalid page offset|circular reference|corrupted tag list|invalid offset to page"
    r"|corrupted IFD|invalid value offset|incorrect (Strip|Tile)\w+ count|missing data"
)


@contextmanager
def tifffile_log() -> Iterator[list[str]]:
    """Collect what tifffile logs (warnings and errors) in the block, instead of printing it."""

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    messages: list[str] = []
    log = logging.getLogger("tifffile")
    handler = Collect(logging.WARNING)
    level, propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    log.propagate = False
    try:
        yield messages
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate


def raise_logged_damage(log: list[str], path: Path) -> None:
    """Raise the first structural damage tifffile logged as :class:`CorruptSourceError`."""
    for message in log:
        if _DAMAGE.search(message):
            text = clean_log(message).removeprefix("tifffile: ")
            raise CorruptSourceError(f"damaged TIFF: {text}", path=path)


def damage_error(
    log: list[str], path: Path, exc: BaseException, what: str = "not a readable TIFF"
) -> CorruptSourceError:
    """The error for ``exc``, raised while reading ``path``: the structural damage tifffile
    logged (raised here), else ``what`` with the exception's reason."""
    raise_logged_damage(log, path)
    return CorruptSourceError(f"{what}: {reason(exc)}", path=path)


def clean_log(message: str) -> str:
    """A tifffile log message without its object reprs, in words a user can act on."""
    text = re.sub(r"<TiffTag\.fromfile> raised TiffFileError\('(.*)'\)$", r"\1", message)
    text = re.sub(r"<tifffile\.TiffTag (\d+) @\d+>", r"tag \1:", text)
    text = re.sub(r"<tifffile\.Tiff(Page|Frame) (\d+) @\d+>", r"IFD \2:", text)
    text = re.sub(r"<tifffile\.\w+ [^>]*>\s*", "", text).strip()
    if "invalid page offset" in text:
        return "the IFD chain points past the end of the file (truncated?)"
    if "circular reference" in text:
        ifd = re.search(r"IFD (\d+)", text)
        return f"the IFD chain loops back to IFD {ifd.group(1) if ifd else '?'}"
    if "invalid value offset" in text:
        return f"{text.split(':')[0]}'s value lies past the end of the file (truncated?)"
    wins = "; the IFDs win (the pixels are read as they are stored)"
    if "ImageJ series metadata invalid" in text:
        return "its ImageJ metadata disagrees with the IFDs" + wins
    if "shaped series" in text:
        return "its shape metadata disagrees with the IFDs" + wins
    found = re.search(r"OME series cannot handle discontiguous storage \((.*) != (.*)\)", text)
    if found:
        return (
            f"its OME-XML's shape {found.group(2)} disagrees with the IFDs' {found.group(1)}" + wins
        )
    return f"tifffile: {text}"


def check_file(path: Path) -> None:
    """Refuse a TIFF file whose structure or first series' data is damaged (see
    :func:`check_series_data`); for files read as parts of something else (sequences)."""
    import tifffile

    with tifffile_log() as log:
        try:
            with tifffile.TiffFile(path) as tf:
                series = tf.series[0]
                raise_logged_damage(log, path)
                check_series_data(series, path)
        except OmeconvError:
            raise
        except Exception as exc:  # tifffile raises many kinds on fuzzed files
            raise damage_error(log, path, exc) from exc


def check_series_data(series: tifffile.TiffPageSeries, path: Path) -> None:
    """Refuse a series whose planes are not each one IFD of the file, whole and in place.

    Planes the metadata lists without an IFD (zeros would be invented), IFDs used for two
    planes, IFDs beyond the planes the metadata holds (they would be dropped), and strips
    or tiles that are missing, empty or run past the end of the file are
    :class:`CorruptSourceError`. Only the IFDs' offsets and byte counts are read.
    """
    meta = _metadata_name(series)
    for level in series.levels:
        pages = list(level.pages)
        planes = math.prod(level.shape) // max(1, math.prod(level.keyframe.shape))
        missing = [i for i, p in enumerate(pages) if p is None]
        if missing:
            raise CorruptSourceError(
                f"the {meta} lists {planes} planes but {len(missing)} of them have no IFD "
                f"(planes {_ranges(missing)}); refusing to invent them as zeros",
                path=path,
            )
        seen: dict[tuple[int, Any], int] = {}
        for i, page in enumerate(pages):
            key = (id(page.parent), page.offset)
            if key in seen:
                raise CorruptSourceError(
                    f"the {meta} maps planes {seen[key]} and {i} to the same IFD "
                    f"{page.index}; refusing to duplicate a plane",
                    path=path,
                )
            seen[key] = i
        if len(pages) > planes:
            raise CorruptSourceError(
                f"the {meta} holds {planes} planes but the image has {len(pages)} IFDs; "
                f"refusing to drop IFDs {_ranges([p.index for p in pages[planes:]])}",
                path=path,
            )
        for page in pages:
            _check_page_data(page, path)
        if len(pages) < planes:
            _check_contiguous(level, path)


def _check_page_data(page: Any, path: Path) -> None:
    """Every strip or tile of ``page`` is listed, not empty, and inside its file."""
    import numpy as np

    keyframe = page.keyframe
    file = _file_of(page.parent, path)
    size = page.parent.filehandle.size
    offsets = np.asarray(page.dataoffsets, dtype=np.uint64)
    counts = np.asarray(page.databytecounts, dtype=np.uint64)
    kind = "tile" if keyframe.is_tiled else "strip"
    expected = math.prod(keyframe.chunked)
    if len(offsets) != expected or len(counts) != expected:
        raise CorruptSourceError(
            f"IFD {page.index}: its {'x'.join(map(str, keyframe.shape))} pixels need "
            f"{expected} {kind}s but it lists {min(len(offsets), len(counts))}",
            path=file,
        )
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        raise CorruptSourceError(
            f"IFD {page.index}: {kind} {int(empty[0])} has no data (byte count 0)", path=file
        )
    beyond = np.flatnonzero(offsets + counts > size)
    if len(beyond):
        raise CorruptSourceError(
            f"IFD {page.index}: {kind} {int(beyond[0])} runs past the end of the file "
            f"({size} bytes; truncated?)",
            path=file,
        )
    _check_expansion(keyframe, counts if keyframe.is_tiled else counts[:-1], kind, page, file)
    claimed = keyframe.size * keyframe.bitspersample // 8
    if keyframe.compression == 1 and not keyframe.subsampling and counts.sum() < claimed:
        raise CorruptSourceError(
            f"IFD {page.index}: claims {claimed} bytes of uncompressed pixels "
            f"but its {kind}s hold {int(counts.sum())}",
            path=file,
        )


#: The most a strip or tile can expand when decoded, by TIFF compression code: deflate
#: 1032:1, LZW about 2730:1 (12-bit codes of at most 4096 bytes), PackBits 64:1.
_MAX_EXPANSION = {5: 2731, 8: 1033, 32946: 1033, 32773: 65}
#: Strips or tiles smaller than this decode into little memory whatever they claim.
_EXPANSION_CHECKED_FROM = 16 * 2**20


def _check_expansion(keyframe: Any, counts: Any, kind: str, page: Any, file: Path) -> None:
    """Refuse strips or tiles that claim more pixels than their codec can decode from
    their bytes (a damaged header claiming terabytes), before any is allocated."""
    import numpy as np

    ratio = _MAX_EXPANSION.get(int(keyframe.compression))
    decoded = math.prod(keyframe.chunks) * keyframe.dtype.itemsize
    if ratio is None or decoded < _EXPANSION_CHECKED_FROM or not len(counts):
        return
    short = np.flatnonzero(counts * ratio < decoded)
    if len(short):
        i = int(short[0])
        raise CorruptSourceError(
            f"IFD {page.index}: {kind} {i} claims {decoded} bytes of pixels from "
            f"{int(counts[i])} compressed bytes, more than {keyframe.compression.name} "
            "can hold (damaged header?)",
            path=file,
        )


def _check_contiguous(level: tifffile.TiffPageSeries, path: Path) -> None:
    """Planes stored after the first IFD's data (one IFD for many planes) lie in the file."""
    keyframe = level.keyframe
    size = keyframe.parent.filehandle.size
    start = level.dataoffset
    if start is None:
        start = keyframe.dataoffsets[0]
    if start + level.nbytes > size:
        raise CorruptSourceError(
            f"the {_metadata_name(level)} holds {level.nbytes} bytes of pixels from offset "
            f"{start}, past the end of the file ({size} bytes; truncated?)",
            path=_file_of(keyframe.parent, path),
        )


def check_every_ifd_used(tf: tifffile.TiffFile, path: Path) -> None:
    """Refuse IFDs of an image's plane size that no series reads: they would be dropped."""
    import tifffile

    used: set[int] = set()
    kinds: dict[tuple[Any, Any], str] = {}
    for series in tf.series:
        for level in series.levels:
            used.update(
                p.index
                for p in level.pages
                if p is not None and p.parent is tf and isinstance(p.index, int)
            )
            kinds.setdefault((level.keyframe.shape, level.keyframe.dtype), _metadata_name(series))
    total = len(tf.pages)
    if total <= len(used):
        return
    dropped: dict[str, list[int]] = {}
    for index in range(total):
        if index in used:
            continue
        page = tf.pages[index]
        if not isinstance(page, tifffile.TiffPage):
            page = page.aspage()
        meta = kinds.get((page.shape, page.dtype))
        if meta is not None and not page.is_reduced:
            dropped.setdefault(meta, []).append(index)
    for meta, indices in dropped.items():
        raise CorruptSourceError(
            f"the {meta} leaves {len(indices)} IFDs of the image's plane size out of every "
            f"image (IFDs {_ranges(indices)} of {total}); refusing to drop them",
            path=path,
        )


def _file_of(tf: tifffile.TiffFile, path: Path) -> Path:
    """The file ``tf`` reads, named as the user named ``path`` (a member of its folder)."""
    name = tf.filehandle.name
    return path if name == path.name else path.parent / name


def _metadata_name(series: tifffile.TiffPageSeries) -> str:
    """What described the series' planes: the OME-XML, ImageJ or shape metadata, or the IFDs."""
    names = {"ome": "OME-XML", "imagej": "ImageJ metadata", "shaped": "shape metadata"}
    return names.get(series.kind, f"file's {series.kind or 'IFD'} layout")


def _ranges(indices: Sequence[Any]) -> str:
    """``0, 2-5, 9``: indices with runs shortened (at most a few shown)."""
    parts: list[str] = []
    values = list(indices)
    i = 0
    while i < len(values):
        j = i
        while (
            j + 1 < len(values)
            and isinstance(values[j], int)
            and isinstance(values[j + 1], int)
            and values[j + 1] == values[j] + 1
        ):
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ", ".join(parts[:5]) + (", …" if len(parts) > 5 else "")


def reason(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
