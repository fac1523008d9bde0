"""TIFF, OME-TIFF, ImageJ hyperstacks and other tifffile-readable files as a source.

Pixels are read lazily through tifffile's zarr interface (``aszarr``) into dask; a file is
never loaded whole (:mod:`~omeconv.converters.tiff.levels`). Metadata come, in order of
preference, from the OME-XML, the vendor flavour (LSM, STK, Micro-Manager, FluoView …;
:mod:`~omeconv.converters.tiff.vendor`), the ImageJ description, then the TIFF resolution tags
(:mod:`~omeconv.converters.tiff.metadata`). A file's own pyramid (SubIFDs or reduced pages)
becomes the image's levels. Damaged files are refused by :mod:`~omeconv.converters.tiff.damage`.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.converters.tiff.axes import ngff_axis_name, normalise_axes
from omeconv.converters.tiff.damage import (
    check_every_ifd_used,
    check_series_data,
    clean_log,
    damage_error,
    raise_logged_damage,
    reason,
    tifffile_log,
)
from omeconv.converters.tiff.files import (
    SUFFIXES,
    binary_only_companion,
    check_path,
    first_data_file,
    is_companion_name,
    member_files,
    open_remote,
    read_companion,
)
from omeconv.converters.tiff.levels import BY_IFD
from omeconv.converters.tiff.metadata import file_metadata
from omeconv.converters.tiff.plate import plate_collection
from omeconv.converters.tiff.series import (
    check_decodable,
    image,
    is_lsm_thumbnails,
    ome_indices,
    warn_ome_disagrees,
)
from omeconv.errors import (
    CorruptSourceError,
    MetadataError,
    OmeconvError,
    OmeconvWarning,
    UsageError,
    from_os_error,
)
from omeconv.model import Collection

if TYPE_CHECKING:
    import tifffile

__all__ = [
    "TiffConverter",
    "file_metadata",
    "member_files",
    "ngff_axis_name",
    "normalise_axes",
]

_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class TiffConverter:
    """TIFF family files read with tifffile."""

    name: ClassVar[str] = "tiff"
    description: ClassVar[str] = "TIFF, BigTIFF, OME-TIFF, ImageJ, STK, LSM (tifffile)"
    suffixes: ClassVar[tuple[str, ...]] = SUFFIXES

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
        return head[:4] in _MAGIC or (is_companion_name(path) and b"<OME" in head)

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
        token = BY_IFD.set(by_ifd)
        try:
            return self._open(source, series, storage_options)
        finally:
            BY_IFD.reset(token)

    def _open(
        self, source: Any, series: int | None, storage_options: dict[str, Any] | None
    ) -> Collection:
        import tifffile

        if "://" in str(source):
            return _open_url(str(source), series, storage_options or {})
        path = Path(source)
        check_path(path)
        companion = read_companion(path) if is_companion_name(path) else None
        target = path
        if companion is not None:
            target = first_data_file(companion, path)
        with tifffile_log() as log:
            try:
                tf = tifffile.TiffFile(target, omexml=companion)
                if companion is None:
                    companion = binary_only_companion(tf, path)
                    if companion is not None:
                        tf.close()
                        tf = tifffile.TiffFile(target, omexml=companion)
            except Exception as exc:  # tifffile raises many kinds on fuzzed files
                if isinstance(exc, OSError) and exc.errno is not None:  # the system's error
                    raise from_os_error(exc, path=path) from exc
                raise damage_error(log, path, exc) from exc
            return _open_checked(tf, path, series, {}, log)


def _open_checked(
    tf: tifffile.TiffFile,
    path: Path,
    series: int | None,
    storage_options: dict[str, Any],
    log: list[str],
) -> Collection:
    """:func:`_collection`, with tifffile's errors on bad data as :class:`CorruptSourceError`.

    ``log`` collects what tifffile logs meanwhile: damage to the file's structure is an
    error, anything else a warning, given once the whole file was checked.
    """
    import tifffile

    try:
        collection = _collection(tf, path, series, storage_options, log)
    except (tifffile.TiffFileError, ValueError, IndexError, KeyError, TypeError) as exc:
        if isinstance(exc, OmeconvError):
            raise_logged_damage(log, path)
            raise
        raise damage_error(log, path, exc, "cannot read the TIFF") from exc
    for message in dict.fromkeys(clean_log(m) for m in log):
        warnings.warn(f"{path}: {message}", OmeconvWarning, stacklevel=3)
    return collection


def _open_url(url: str, series: int | None, storage_options: dict[str, Any]) -> Collection:
    """A TIFF file at an fsspec URL: tifffile reads the open (seekable) remote file."""
    import tifffile

    from omeconv.errors import SourceNotFoundError

    try:
        fh = open_remote(url, storage_options)
    except FileNotFoundError as exc:
        raise SourceNotFoundError("no such object", path=url) from exc
    except (OSError, ValueError, ImportError) as exc:
        raise SourceNotFoundError(f"cannot open: {reason(exc)}", path=url) from exc
    with tifffile_log() as log:
        try:
            tf = tifffile.TiffFile(fh, name=url)
        except Exception as exc:  # tifffile raises many kinds on fuzzed files
            fh.close()
            raise_logged_damage(log, Path(url))
            raise CorruptSourceError(f"not a readable TIFF: {reason(exc)}", path=url) from exc
        return _open_checked(tf, Path(url), series, storage_options, log)


def _collection(
    tf: tifffile.TiffFile,
    path: Path,
    series: int | None,
    storage_options: dict[str, Any],
    log: list[str],
) -> Collection:
    """The series of ``tf`` (all, or the one numbered ``series``) as a collection: one image,
    a bioformats2raw series, or the plate its OME-XML describes."""
    all_series = [
        s for s in tf.series if s.shape and math.prod(s.shape) > 0 and not is_lsm_thumbnails(s)
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
    indices = ome_indices(all_series, ome)
    warn_ome_disagrees(all_series, indices, ome, path)
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
        check_decodable(all_series[i], path)
        check_series_data(all_series[i], path)
    if not storage_options and "://" not in str(tf.filehandle.path):
        check_every_ifd_used(tf, path)
    raise_logged_damage(log, path)
    images = tuple(image(tf, all_series[i], indices[i], ome, path, storage_options) for i in chosen)
    if series is None and ome is not None and ome.plates:
        plate = plate_collection(ome, ome_xml, images, indices, path)
        if plate is not None:
            return plate
    if len(images) > 1:
        return Collection(images=images, ome=ome, ome_xml=ome_xml, layout="bioformats2raw")
    return Collection(images=images, ome=ome, ome_xml=ome_xml)
