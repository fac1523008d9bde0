"""TIFF, OME-TIFF, ImageJ hyperstacks and other tifffile-readable files as a source.

Pixels are read lazily through tifffile's zarr interface (``aszarr``) into dask; a file is
never loaded whole. Metadata come, in order of preference, from the OME-XML, the vendor
flavour (LSM, STK, Micro-Manager, FluoView …; :mod:`omeconv.converters.tiff_vendor`), the
ImageJ description, then the TIFF resolution tags. A file's own pyramid (SubIFDs or reduced
pages) becomes the image's levels.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import count, product
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.converters.tiff_damage import (
    check_every_ifd_used,
    check_series_data,
    clean_log,
    raise_logged_damage,
    tifffile_log,
)
from omeconv.converters.tiff_damage import reason as _reason
from omeconv.errors import (
    CorruptSourceError,
    MetadataError,
    OmeconvError,
    OmeconvWarning,
    UnsupportedSourceError,
    UsageError,
    from_os_error,
)
from omeconv.model import Axis, Channel, Collection, Image, Level
from omeconv.units import ngff_unit

if TYPE_CHECKING:
    from collections.abc import Sequence

    import dask.array as da
    import tifffile

__all__ = [
    "ImageMeta",
    "TiffConverter",
    "file_metadata",
    "member_files",
    "ngff_axis_name",
    "normalise_axes",
]

logger = logging.getLogger(__name__)
#: Whether the levels being opened read each plane from its IFD (see ``TiffConverter.open``).
_BY_IFD: ContextVar[bool] = ContextVar("by_ifd", default=False)

_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: tifffile axis letters with a fixed NGFF name.
_LETTERS = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}
#: Resolutions that TIFF writers put in by default; they say nothing about pixel size.
_DEFAULT_DPI = (1.0, 72.0, 96.0, 150.0, 300.0)
#: Bytes of one block of a level: the file's chunks read (decoded) together.
_BLOCK_BYTES = 4 * 2**20
#: Bytes of decoded blocks kept for the regions that follow, all levels and files together.
_CACHE_BYTES = 32 * 2**20


class TiffConverter:
    """TIFF family files read with tifffile."""

    name: ClassVar[str] = "tiff"
    description: ClassVar[str] = "TIFF, BigTIFF, OME-TIFF, ImageJ, STK, LSM (tifffile)"
    suffixes: ClassVar[tuple[str, ...]] = (
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

    def guess_can_open(self, source: Any) -> bool:
        if not isinstance(source, str | os.PathLike):
            return False
        path = Path(source)
        try:
            with path.open("rb") as f:
                head = f.read(512)
        except OSError:
            if any(c in str(source) for c in "*?[{"):
                return False  # a file name pattern: the sequence adapter's
            return path.suffix.lower() in self.suffixes
        return head[:4] in _MAGIC or (_is_companion_name(path) and b"<OME" in head)

    def open(
        self,
        source: Any,
        *,
        series: int | None = None,
        storage_options: dict[str, Any] | None = None,
        by_ifd: bool = False,
    ) -> Collection:
        """Read ``source`` lazily; all series (a collection or plate) or the one numbered ``series``.

        ``source`` is a TIFF file or an OME-XML companion file (``*.companion.ome``,
        ``*.ome.xml``) whose ``TiffData`` name the TIFF files holding the pixels, or the URL
        of one TIFF file (``s3://``, ``file://``, any fsspec protocol), opened with
        ``storage_options`` and read region by region. ``by_ifd`` reads each plane from its
        own IFD (the series' list of IFDs) rather than through tifffile's series assembly,
        as :func:`omeconv.verify.verify` does to check a conversion independently.
        """
        token = _BY_IFD.set(by_ifd)
        try:
            return self._open(source, series, storage_options)
        finally:
            _BY_IFD.reset(token)

    def _open(
        self, source: Any, series: int | None, storage_options: dict[str, Any] | None
    ) -> Collection:
        import tifffile

        if "://" in str(source):
            return _open_url(str(source), series, storage_options or {})
        path = Path(source)
        _check_file(path)
        companion = _read_companion(path) if _is_companion_name(path) else None
        target = path
        if companion is not None:
            target = _first_data_file(companion, path)
        with tifffile_log() as log:
            try:
                tf = tifffile.TiffFile(target, omexml=companion)
                if companion is None:
                    companion = _binary_only_companion(tf, path)
                    if companion is not None:
                        tf.close()
                        tf = tifffile.TiffFile(target, omexml=companion)
            except OSError as exc:
                if exc.errno is not None:  # the system's error, not tifffile's about the content
                    raise from_os_error(exc, path=path) from exc
                raise_logged_damage(log, path)
                raise CorruptSourceError(f"not a readable TIFF: {_reason(exc)}", path=path) from exc
            except Exception as exc:  # tifffile raises many kinds on fuzzed files
                raise_logged_damage(log, path)
                raise CorruptSourceError(f"not a readable TIFF: {_reason(exc)}", path=path) from exc
            return _open_checked(tf, path, series, {}, log)


def _open_checked(
    tf: tifffile.TiffFile,
    path: Path,
    series: int | None,
    storage_options: dict[str, Any],
    log: list[str],
) -> Collection:
    """:func:`_open`, with tifffile's errors on bad data as :class:`CorruptSourceError`.

    ``log`` collects what tifffile logs meanwhile: damage to the file's structure is an
    error, anything else a warning, given once the whole file was checked.
    """
    import tifffile

    try:
        collection = _open(tf, path, series, storage_options, log)
    except (tifffile.TiffFileError, ValueError, IndexError, KeyError, TypeError) as exc:
        raise_logged_damage(log, path)
        if isinstance(exc, OmeconvError):
            raise
        raise CorruptSourceError(f"cannot read the TIFF: {_reason(exc)}", path=path) from exc
    for message in dict.fromkeys(clean_log(m) for m in log):
        warnings.warn(f"{path}: {message}", OmeconvWarning, stacklevel=3)
    return collection


def _open_url(url: str, series: int | None, storage_options: dict[str, Any]) -> Collection:
    """A TIFF file at an fsspec URL: tifffile reads the open (seekable) remote file."""
    import tifffile

    from omeconv.errors import SourceNotFoundError

    try:
        fh = _open_remote(url, storage_options)
    except FileNotFoundError as exc:
        raise SourceNotFoundError("no such object", path=url) from exc
    except (OSError, ValueError, ImportError) as exc:
        raise SourceNotFoundError(f"cannot open: {_reason(exc)}", path=url) from exc
    with tifffile_log() as log:
        try:
            tf = tifffile.TiffFile(fh, name=url)
        except Exception as exc:  # tifffile raises many kinds on fuzzed files
            fh.close()
            raise_logged_damage(log, Path(url))
            raise CorruptSourceError(f"not a readable TIFF: {_reason(exc)}", path=url) from exc
        return _open_checked(tf, Path(url), series, storage_options, log)


def _open_remote(url: str, storage_options: dict[str, Any]) -> Any:
    """The file at ``url`` opened for reading with fsspec."""
    import fsspec

    return fsspec.open(url, mode="rb", **storage_options).open()


def member_files(path: Path) -> list[Path]:
    """The files a multi-file OME-TIFF set names (``TiffData/UUID/@FileName``) beside
    ``path``, a member or its companion OME-XML; empty for anything else."""
    import tifffile

    if path.suffix.lower() not in (*TiffConverter.suffixes, ".ome", ".xml"):
        return []
    try:
        if _is_companion_name(path):
            xml = path.read_bytes().decode("utf-8-sig", errors="replace")
        else:
            with tifffile.TiffFile(path) as tf:
                xml = tf.pages.first.description if tf.is_ome else ""
    except Exception:  # noqa: BLE001 - not a readable TIFF: the adapter says why
        return []
    names = dict.fromkeys(re.findall(r"(?:FileName|MetadataFile)=\"([^\"]+)\"", xml))
    files = [path.parent / n for n in names if (path.parent / n).is_file()]
    if "BinaryOnly" in xml and files and _is_companion_name(files[0]):
        return [*files, *member_files(files[0])]
    return files


def _is_companion_name(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".companion.ome", ".ome.xml", ".ome"))


def _read_companion(path: Path) -> str:
    """The text of an OME-XML companion file."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptSourceError(f"not a readable OME-XML file: {_reason(exc)}", path=path) from exc
    if text.rstrip()[-4:] != "OME>":
        raise CorruptSourceError("not an OME-XML document (no closing </OME>)", path=path)
    return text


def _first_data_file(xml: str, path: Path) -> Path:
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


def _binary_only_companion(tf: tifffile.TiffFile, path: Path) -> str | None:
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
    return _read_companion(companion)


def _check_file(path: Path) -> None:
    from omeconv.errors import SourceNotFoundError

    if not path.exists():
        raise SourceNotFoundError("no such file", path=path)
    if path.is_dir():
        raise SourceNotFoundError("is a directory, not a TIFF file", path=path)
    if not os.access(path, os.R_OK):
        raise SourceNotFoundError("permission denied", path=path)
    if path.stat().st_size == 0:
        raise CorruptSourceError("empty file (0 bytes)", path=path)


def _open(
    tf: tifffile.TiffFile,
    path: Path,
    series: int | None,
    storage_options: dict[str, Any],
    log: list[str],
) -> Collection:
    all_series = [
        s for s in tf.series if s.shape and _size(s.shape) > 0 and not _is_lsm_thumbnails(s)
    ]
    raise_logged_damage(log, path)
    if not all_series:
        raise CorruptSourceError("the TIFF holds no image data", path=path)
    ome = None
    ome_xml = tf.ome_metadata if tf.is_ome else None
    if ome_xml:
        from omeconv.ome_xml import parse_ome_xml

        try:
            ome = parse_ome_xml(ome_xml, path=str(path))
        except MetadataError as exc:
            warnings.warn(
                f"{path}: ignoring its OME-XML: {exc.message}", OmeconvWarning, stacklevel=2
            )
            ome_xml = None
    indices = _ome_indices(all_series, ome)
    _warn_ome_disagrees(all_series, indices, ome, path)
    if series is not None:
        if not 0 <= series < len(all_series):
            raise UsageError(
                f"--series {series} does not exist; the file has {len(all_series)} series"
                f" (0 to {len(all_series) - 1})",
                path=path,
            )
        chosen = [series]
    else:
        chosen = list(range(len(all_series)))
    for i in chosen:
        _check_decodable(all_series[i], path)
        check_series_data(all_series[i], path)
    if not storage_options and "://" not in str(tf.filehandle.path):
        check_every_ifd_used(tf, path)
    raise_logged_damage(log, path)
    images = tuple(
        _image(tf, all_series[i], indices[i], ome, path, storage_options) for i in chosen
    )
    if series is None and ome is not None and ome.plates:
        plate = _plate(ome, ome_xml, images, indices, path)
        if plate is not None:
            return plate
    if len(images) > 1:
        return Collection(images=images, ome=ome, ome_xml=ome_xml, layout="bioformats2raw")
    return Collection(images=images, ome=ome, ome_xml=ome_xml)


def _is_lsm_thumbnails(series: tifffile.TiffPageSeries) -> bool:
    """Whether ``series`` is the previews an LSM file keeps after each image (reduced pages)."""
    return series.kind == "lsm" and bool(series.keyframe.is_reduced)


def _warn_ome_disagrees(
    all_series: Sequence[tifffile.TiffPageSeries], indices: list[int | None], ome: Any, path: Path
) -> None:
    """Warn (once) when the OME-XML's dimensions disagree with the pixel data: the pixels win."""
    if ome is None or not ome.images:
        return
    unmatched = [s for s, i in zip(all_series, indices, strict=True) if i is None]
    if not unmatched:
        return
    used = {i for i in indices if i is not None}
    image = next((im for k, im in enumerate(ome.images) if k not in used), ome.images[0])
    p = image.pixels
    sizes = f"X={p.size_x} Y={p.size_y} Z={p.size_z} C={p.size_c} T={p.size_t}"
    shape = "x".join(str(n) for n in unmatched[0].shape)
    warnings.warn(
        f"{path}: the OME-XML's dimensions ({sizes}) disagree with the pixel data "
        f"({shape}, axes {unmatched[0].axes}); the pixel data wins and the OME-XML's "
        "sizes are ignored",
        OmeconvWarning,
        stacklevel=3,
    )


def _ome_indices(all_series: Sequence[tifffile.TiffPageSeries], ome: Any) -> list[int | None]:
    """The OME Image index of each series (None when the series is not an OME image).

    tifffile skips OME Images without pixel data, so series and images are aligned in
    document order by name and X/Y size, not by position.
    """
    out: list[int | None] = []
    if ome is None:
        return [None] * len(all_series)
    cursor = 0
    for s in all_series:
        found = None
        if s.kind == "ome":
            for i in range(cursor, len(ome.images)):
                if _matches(s, ome.images[i]):
                    found = i
                    cursor = i + 1
                    break
        out.append(found)
    return out


def _matches(series: tifffile.TiffPageSeries, image: Any) -> bool:
    axes = series.axes.upper()
    shape = series.shape
    pixels = image.pixels
    same_name = (series.name or "") == (image.name or "") or not series.name
    return (
        same_name
        and shape[axes.index("X")] == pixels.size_x
        and shape[axes.index("Y")] == pixels.size_y
    )


def _check_decodable(series: tifffile.TiffPageSeries, path: Path) -> None:
    """Raise a one-line error now when tifffile cannot decode the series' pixels."""
    for level in series.levels:
        decode = level.keyframe.decode
        if getattr(decode, "__name__", "").startswith("decode_raise"):
            try:
                decode(None, 0)
            except Exception as exc:
                raise UnsupportedSourceError(
                    f"cannot decode its pixels: {_reason(exc)}", path=path
                ) from exc


def _plate(
    ome: Any,
    ome_xml: str | None,
    images: tuple[Image, ...],
    indices: list[int | None],
    path: Path,
) -> Collection | None:
    """The first OME Plate as a plate collection; None when its wells refer to no image here."""
    from omeconv.model import Plate, PlateAcquisition, Well, WellField
    from omeconv.ome_xml import plate_metadata

    plates = plate_metadata(ome)
    if len(plates) > 1:
        warnings.warn(
            f"{path}: OME-XML has {len(plates)} plates; converting the first, {plates[0].name!r}",
            OmeconvWarning,
            stacklevel=3,
        )
    meta = plates[0]
    by_index = {idx: img for idx, img in zip(indices, images, strict=True) if idx is not None}
    wells = []
    paths: list[str] = []
    used: list[Image] = []
    for w in meta.wells:
        fields: list[WellField] = []
        for sample_index, acquisition in w.samples:
            image = by_index.get(sample_index)
            if image is None:
                continue
            field_path = str(len(fields))
            fields.append(WellField(path=field_path, image=image, acquisition=acquisition))
            paths.append(f"{meta.rows[w.row]}/{meta.columns[w.column]}/{field_path}")
            used.append(image)
        if fields:
            row, column = meta.rows[w.row], meta.columns[w.column]
            wells.append(Well(row=row, column=column, fields=tuple(fields)))
    if not wells:
        warnings.warn(
            f"{path}: the plate's wells refer to no image in this file; writing the images only",
            OmeconvWarning,
            stacklevel=3,
        )
        return None
    if len(used) < len(images):
        warnings.warn(
            f"{path}: {len(images) - len(used)} images are in no well and are left out of the plate",
            OmeconvWarning,
            stacklevel=3,
        )
    acquisitions = tuple(
        PlateAcquisition(
            id=a.id,
            name=a.name,
            description=a.description,
            maximumfieldcount=a.maximum_field_count,
            starttime=a.start_time,
            endtime=a.end_time,
        )
        for a in meta.acquisitions
    )
    plate = Plate(
        name=meta.name,
        rows=meta.rows,
        columns=meta.columns,
        wells=tuple(wells),
        acquisitions=acquisitions,
        field_count=meta.field_count,
    )
    return Collection(
        images=tuple(used),
        plate=plate,
        ome=ome,
        ome_xml=ome_xml,
        layout="plate",
        image_paths=tuple(paths),
    )


def _size(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _image(
    tf: tifffile.TiffFile,
    series: tifffile.TiffPageSeries,
    index: int | None,
    ome: Any,
    path: Path,
    storage_options: dict[str, Any],
) -> Image:
    levels_data = [_dask_level(series, i, storage_options) for i in range(len(series.levels))]
    letters = series.axes.upper()
    levels_data, letters = normalise_axes(levels_data, letters, path)
    names = tuple(_LETTERS[c] for c in letters)
    meta = _metadata(tf, series, index, ome, letters, names, levels_data[0].shape)
    base = levels_data[0].shape
    levels = tuple(
        Level(
            data=d,
            scale=tuple(
                s * (b / n if name in ("x", "y", "z") else 1.0)
                for s, b, n, name in zip(meta.scale, base, d.shape, names, strict=True)
            ),
        )
        for d in levels_data
    )
    return Image(
        name=meta.name or (series.name or None) or path.name.split(".")[0],
        axes=meta.axes,
        levels=levels,
        channels=meta.channels,
    )


def ngff_axis_name(letter: str) -> str:
    """NGFF name of a tifffile axis letter left by :func:`normalise_axes` (``"Z"`` -> ``"z"``)."""
    return _LETTERS[letter]


def _dask_level(
    series: tifffile.TiffPageSeries, level: int, storage_options: dict[str, Any]
) -> da.Array:
    import dask.array as da
    import numpy as np
    import zarr

    array = zarr.open_array(series.aszarr(level=level, read_only=True), mode="r")
    tf = series.parent
    location = str(tf.filehandle.path)
    reader = _LevelReader(location, tf.series.index(series), level, array, storage_options)
    reader.series_obj = series
    reader.by_ifd = _BY_IFD.get()
    meta = np.empty((0,) * array.ndim, dtype=array.dtype)
    return da.from_array(reader, chunks=reader.block, meta=meta, name=False)


def _block(shape: Sequence[int], chunks: Sequence[int], itemsize: int) -> tuple[int, ...]:
    """The file's chunks (strips or tiles) grouped along the innermost axis they do not span
    into blocks of about :data:`_BLOCK_BYTES`: each block is decoded in one read."""
    block = list(chunks)
    partial = [i for i, (c, n) in enumerate(zip(chunks, shape, strict=True)) if c < n]
    if partial:
        axis = partial[-1]
        nbytes = max(1, _size(chunks) * itemsize)
        block[axis] = min(shape[axis], chunks[axis] * max(1, _BLOCK_BYTES // nbytes))
    return tuple(block)


class _LevelReader:
    """Regions of one level of one series; picklable (the file, a path or an fsspec URL,
    reopens where unpickled)."""

    def __init__(
        self, path: str, series: int, level: int, array: Any, storage_options: dict[str, Any]
    ) -> None:
        self.path, self.series, self.level = path, series, level
        self.storage_options = storage_options
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim
        self.block = _block(array.shape, array.chunks, array.dtype.itemsize)
        self._array: Any = array
        self._token = next(_TOKENS)
        self.series_obj: Any = None
        self.by_ifd = False

    def __getitem__(self, region: Any) -> Any:
        if self._array is None:
            import tifffile
            import zarr

            if "://" in self.path:
                fh = _open_remote(self.path, self.storage_options)
                tf = tifffile.TiffFile(fh, name=self.path)
            else:
                tf = tifffile.TiffFile(self.path)
            self.series_obj = tf.series[self.series]
            store = self.series_obj.aszarr(level=self.level, read_only=True)
            self._array = zarr.open_array(store, mode="r")
        try:
            if self.by_ifd:
                return self._read_by_ifd(region)
            return self._read(region)
        except Exception as exc:
            if isinstance(exc, MemoryError | OmeconvError):
                raise
            raise self._damage(region, exc) from exc

    def _read(self, region: Any) -> Any:
        """``region``, cut from the decoded block holding it when it lies in one.

        Output chunks are often smaller than a block (an NDPI's JPEG strips span the whole
        width), so the last blocks read are kept (:data:`_BLOCKS`, bounded in bytes for the
        whole process): neighbouring regions reuse them instead of decoding the strips again.
        """
        bounds = _in_one_block(region, self.shape, self.block)
        if bounds is None:
            return self._array[region]
        index = tuple(start // b for (start, _), b in zip(bounds, self.block, strict=True))
        corner = tuple(i * b for i, b in zip(index, self.block, strict=True))
        block = _BLOCKS.get((self._token, *index))
        if block is None:
            whole = tuple(slice(c, c + b) for c, b in zip(corner, self.block, strict=True))
            try:
                block = self._array[whole]
            except Exception as exc:
                if isinstance(exc, MemoryError | OmeconvError):
                    raise
                raise self._damage(whole, exc) from exc  # the IFD may be outside ``region``
            _BLOCKS.put((self._token, *index), block)
        return block[
            tuple(slice(a - c, b - c) for (a, b), c in zip(bounds, corner, strict=True))
        ].copy()

    def _read_by_ifd(self, region: Any) -> Any:
        """``region`` read plane by plane, each from the IFD the series lists for it."""
        import numpy as np
        import zarr

        level = self.series_obj.levels[self.level]
        ranges = self._plane_ranges(region, level)
        if ranges is None:
            return self._array[region]  # one plane, or planes after one IFD: as stored
        pages = list(level.pages)
        outer = tuple(self.shape[: len(ranges)])
        inner = region[len(ranges) :]
        planes = [
            np.asarray(zarr.open_array(pages[int(i)].aszarr(), mode="r")[inner])
            for i in (np.ravel_multi_index(idx, outer) for idx in product(*ranges))
        ]
        return np.stack(planes).reshape(*(len(r) for r in ranges), *planes[0].shape)

    def _damage(self, region: Any, exc: Exception) -> CorruptSourceError:
        """The error naming the file and the first IFD of ``region`` that cannot be read."""
        candidates = self._pages_in(region, self.series_obj.levels[self.level])
        for page in candidates:
            try:
                page.asarray()
            except Exception as page_exc:  # noqa: BLE001 - any decoding failure names the IFD
                return CorruptSourceError(
                    f"IFD {page.index}: cannot decode its pixels: {_reason(page_exc)}",
                    path=str(page.parent.filehandle.path),
                )
        return CorruptSourceError(f"cannot read the pixels: {_reason(exc)}", path=self.path)

    def _pages_in(self, region: Any, level: Any) -> list[Any]:
        """The IFDs holding ``region`` (every IFD of the level when that is not known)."""
        import numpy as np

        pages = list(level.pages)
        ranges = self._plane_ranges(region, level)
        if ranges is None:
            return pages
        outer = tuple(self.shape[: len(ranges)])
        return [pages[int(np.ravel_multi_index(idx, outer))] for idx in product(*ranges)]

    def _plane_ranges(self, region: Any, level: Any) -> list[range] | None:
        """The plane indices ``region`` spans on each axis outside the IFDs' own shape;
        None unless every plane of the level is one IFD and ``region`` is plain slices."""
        n = self.ndim - len(level.keyframe.shape)
        outer = tuple(self.shape[:n])
        if (
            n <= 0
            or tuple(self.shape[n:]) != tuple(level.keyframe.shape)
            or len(level.pages) != _size(outer)
            or not isinstance(region, tuple)
            or len(region) != self.ndim
            or not all(isinstance(s, slice) for s in region)
        ):
            return None
        return [range(*s.indices(size)) for s, size in zip(region[:n], outer, strict=True)]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None, "series_obj": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _token=next(_TOKENS))  # blocks of this process only


def _in_one_block(
    region: Any, shape: Sequence[int], block: Sequence[int]
) -> list[tuple[int, int]] | None:
    """The ``(start, stop)`` of ``region`` on each axis when it is plain slices within one
    block; None otherwise."""
    if not isinstance(region, tuple) or len(region) != len(shape):
        return None
    bounds = []
    for s, n, b in zip(region, shape, block, strict=True):
        if not isinstance(s, slice):
            return None
        start, stop, step = s.indices(n)
        if step != 1 or stop <= start or start // b != (stop - 1) // b:
            return None
        bounds.append((start, stop))
    return bounds


class _BlockCache:
    """The blocks read last, up to ``limit`` bytes (at least the last one), shared by the
    threads and readers of a process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._blocks: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, index: tuple[int, ...]) -> Any:
        with self._lock:
            block = self._blocks.get(index)
            if block is not None:
                self._blocks.move_to_end(index)
            return block

    def put(self, index: tuple[int, ...], block: Any) -> None:
        with self._lock:
            self._blocks[index] = block
            total = sum(b.nbytes for b in self._blocks.values())
            while total > self.limit and len(self._blocks) > 1:
                total -= self._blocks.popitem(last=False)[1].nbytes


#: Decoded blocks of every level reader, keyed by ``(reader token, *block index)``.
_BLOCKS = _BlockCache(_CACHE_BYTES)
_TOKENS = count()


def normalise_axes(levels: list[da.Array], letters: str, path: Path) -> tuple[list[da.Array], str]:
    """Squeeze or rename axes until only ``TCZYX`` letters remain, S folded into C.

    Returns the levels and their tifffile axis letters; raises :class:`MetadataError`
    when more than five dimensions remain.
    """
    shape = levels[0].shape
    # Letters with no NGFF meaning: drop when of length 1, else give them a free role.
    for i, c in enumerate(letters):
        if c in _LETTERS:
            continue
        if shape[i] == 1:
            continue
        free = next((r for r in "ZTC" if r not in letters), None)
        if free is None:
            raise MetadataError(
                f"axes {letters!r}: cannot place axis {c!r} of length {shape[i]}", path=path
            )
        letters = letters[:i] + free + letters[i + 1 :]
    keep = [i for i, c in enumerate(letters) if c in _LETTERS or shape[i] != 1]
    if len(keep) != len(letters):
        drop = tuple(i for i in range(len(letters)) if i not in keep)
        levels = [d.squeeze(axis=drop) for d in levels]
        letters = "".join(letters[i] for i in keep)
    if "S" in letters:
        levels, letters = _fold_samples(levels, letters)
    # Length-1 channel/time/z axes carry no information but are kept: they are part
    # of the data's shape as the file declares it.
    if len(letters) > 5:
        raise MetadataError(f"{len(letters)} dimensions ({letters}); NGFF allows 5", path=path)
    return levels, letters


def _fold_samples(levels: list[da.Array], letters: str) -> tuple[list[da.Array], str]:
    """Samples (RGB) become the channel axis, merged with C when both are present."""
    s = letters.index("S")
    if "C" not in letters:
        order = [i for i in range(len(letters)) if i != s]
        # Put S where a channel axis belongs: after T, before Z/Y/X.
        pos = 1 if letters.startswith("T") else 0
        order.insert(pos, s)
        return [d.transpose(order) for d in levels], "".join(
            "C" if letters[i] == "S" else letters[i] for i in order
        )
    c = letters.index("C")
    order = [i for i in range(len(letters)) if i not in (c, s)]
    order.insert(order.index(min(i for i in order if letters[i] in "ZYX")), c)
    order.insert(order.index(c) + 1, s)
    out = []
    for d in levels:
        t = d.transpose(order)
        ci = order.index(c)
        shape = (*t.shape[:ci], t.shape[ci] * t.shape[ci + 1], *t.shape[ci + 2 :])
        out.append(t.reshape(shape))
    new = "".join(letters[i] for i in order if i != s)
    return out, new


@dataclass(frozen=True)
class ImageMeta:
    """Metadata of one image: its name, axes (with units), scale and channels."""

    name: str | None
    axes: tuple[Axis, ...]
    scale: tuple[float, ...]
    channels: tuple[Channel, ...]


def _metadata(
    tf: tifffile.TiffFile,
    series: tifffile.TiffPageSeries,
    index: int | None,
    ome: Any,
    letters: str,
    names: tuple[str, ...],
    shape: tuple[int, ...],
) -> ImageMeta:
    """Name, axes, scale and channels from the OME-XML, else from :func:`file_metadata`."""
    if ome is not None and index is not None:
        from omeconv.ome_xml import image_metadata

        m = image_metadata(ome, index, letters, shape=shape)
        if len(m.axes) == len(names):
            return ImageMeta(m.name, tuple(m.axes), tuple(m.scale), tuple(m.channels))
    return file_metadata(tf, series, letters, names, shape)


def file_metadata(
    tf: tifffile.TiffFile,
    series: tifffile.TiffPageSeries,
    letters: str,
    names: Sequence[str],
    shape: Sequence[int],
) -> ImageMeta:
    """Axes (with units), scale and channels of an image with axes ``names`` and ``shape``
    from what ``tf`` says besides OME-XML.

    Each source overrides the one before it, axis by axis: the TIFF resolution tags (X, Y),
    the ImageJ description (X, Y units, Z spacing, frame interval, LUT colours, labels), then
    the vendor flavour's own metadata (Aperio SVS, LSM, STK, Micro-Manager, FluoView, NIH
    Image, ScanImage, Andor; see :mod:`omeconv.converters.tiff_vendor`), which records what the
    instrument measured. Only the OME-XML (in :func:`_metadata`) ranks higher. Channels are
    kept only when there is one per index of the ``c`` axis.
    """
    from omeconv.converters.tiff_vendor import read_vendor

    units: dict[str, str | None] = {}
    scale = dict.fromkeys(names, 1.0)
    channels: tuple[Channel, ...] = ()
    ij = tf.imagej_metadata if tf.is_imagej else None
    xy = _resolution(series.keyframe, ij)
    if xy is not None:
        (scale["x"], scale["y"]), unit = xy
        units["x"] = units["y"] = unit
    if ij:
        unit = ngff_unit(ij.get("unit"))
        if "spacing" in ij and "z" in scale:
            scale["z"] = float(ij["spacing"])
            units["z"] = unit
        if ij.get("finterval") and "t" in scale:
            scale["t"] = float(ij["finterval"])
            units["t"] = ngff_unit(ij.get("tunit")) or "second"
        channels = _imagej_channels(ij, series, letters)
    vendor = read_vendor(tf, series)
    if vendor is not None:
        for name, (size, unit) in vendor.sizes.items():
            if name in scale:
                scale[name], units[name] = size, unit
        channels = vendor.channels or channels
    count = shape[names.index("c")] if "c" in names else 0
    if len(channels) != count:
        channels = ()
    axes = tuple(Axis.named(n, units.get(n)) for n in names)
    return ImageMeta(None, axes, tuple(scale[n] for n in names), channels)


def _resolution(
    page: Any, ij: dict[str, Any] | None
) -> tuple[tuple[float, float], str | None] | None:
    """Pixel size in X and Y from the resolution tags, with its unit; None if meaningless."""
    import tifffile

    try:
        xres, yres = page.get_resolution()
        unit_tag = page.resolutionunit
    except (AttributeError, ZeroDivisionError, TypeError, ValueError):
        return None
    if not xres or not yres:
        return None
    if ij is not None and ij.get("unit"):
        return (1.0 / xres, 1.0 / yres), ngff_unit(ij["unit"])
    if unit_tag == tifffile.RESUNIT.CENTIMETER:
        return (1e4 / xres, 1e4 / yres), "micrometer"
    if unit_tag == tifffile.RESUNIT.INCH and xres not in _DEFAULT_DPI:
        return (25400.0 / xres, 25400.0 / yres), "micrometer"
    if unit_tag == tifffile.RESUNIT.MILLIMETER:
        return (1e3 / xres, 1e3 / yres), "micrometer"
    if unit_tag == tifffile.RESUNIT.MICROMETER:
        return (1.0 / xres, 1.0 / yres), "micrometer"
    return None


def _imagej_channels(
    ij: dict[str, Any], series: tifffile.TiffPageSeries, letters: str
) -> tuple[Channel, ...]:
    """Channel colours from ImageJ LUTs and names from slice labels, where present."""
    if "C" not in letters:
        return ()
    count = series.shape[series.axes.upper().index("C")] if "C" in series.axes.upper() else 0
    if count == 0:
        return ()
    colors: list[str | None] = [None] * count
    for i, lut in enumerate(ij.get("LUTs") or []):
        if i < count and getattr(lut, "shape", None) and lut.shape[0] == 3:
            r, g, b = (int(lut[k][-1]) for k in range(3))
            colors[i] = f"{r:02X}{g:02X}{b:02X}"
    labels = ij.get("Labels") or []
    names: list[str | None] = [None] * count
    if labels and len(labels) >= count and len(set(labels[:count])) == count:
        names = list(labels[:count])
    if not any(colors) and not any(names):
        return ()
    return tuple(Channel(label=n, color=c) for n, c in zip(names, colors, strict=True))
