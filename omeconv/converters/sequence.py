"""A sequence of TIFF files as one image, assembled lazily with tifffile's ``TiffSequence``.

The source is a file name pattern whose ``{t}``, ``{c}`` and ``{z}`` fields hold the
index of each file along that axis (``"stack/img_z{z}_c{c}.tif"``), or a plain glob
(``"frames/*.tif"``) or folder of TIFFs, stacked along one new axis in natural order
(``axes`` names all dimensions, default ``z`` then the files' own axes).

Physical sizes, units and channels come from the first file, read as the TIFF adapter
reads a single file (:func:`omeconv.converters.tiff.file_metadata`): its X/Y pixel size, its
Z spacing and frame interval for the sequence's z and t axes, and its channels when it has
one per index of the sequence's c axis.
"""

from __future__ import annotations

import glob
import os
import re
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.errors import CorruptSourceError, OmeconvWarning, SourceNotFoundError, UsageError
from omeconv.model import Collection, Image, Level

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["SequenceConverter", "parse_pattern"]

_FIELD = re.compile(r"\{(\w+)\}")
_TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")
#: Pattern field names accepted for each NGFF axis.
_FIELD_AXES = {
    "t": "t",
    "time": "t",
    "c": "c",
    "ch": "c",
    "channel": "c",
    "z": "z",
    "slice": "z",
    "plane": "z",
}


def parse_pattern(pattern: str) -> tuple[str, str | None, tuple[str, ...]]:
    """``(glob, regex, axes)`` of a file name pattern.

    ``{name}`` fields match digits and become named regex groups; ``*`` and ``?`` keep
    their glob meaning. ``regex`` is None when the pattern has no fields.

    Examples
    --------
    >>> parse_pattern("d/img_z{z}_c{c}.tif")[1:]
    ('img_z(?P<z>\\\\d+)_c(?P<c>\\\\d+)\\\\.tif$', ('z', 'c'))
    """
    names = tuple(_FIELD.findall(pattern))
    files = _FIELD.sub("*", pattern)
    if not names:
        return files, None, ()
    unknown = [n for n in names if n.lower() not in _FIELD_AXES]
    if unknown:
        raise UsageError(
            f"pattern fields {unknown} are not axes; use {{t}}, {{c}} or {{z}}", path=pattern
        )
    if len(set(names)) != len(names):
        raise UsageError("a pattern field appears twice", path=pattern)
    regex = ""
    for part in re.split(r"(\{\w+\}|\*|\?)", Path(pattern).name):
        if part == "*":
            regex += ".*?"
        elif part == "?":
            regex += "."
        elif _FIELD.fullmatch(part):
            regex += rf"(?P<{_FIELD_AXES[part[1:-1].lower()]}>\d+)"
        else:
            regex += re.escape(part)
    return files, regex + "$", tuple(_FIELD_AXES[n.lower()] for n in names)


def _is_pattern(source: str) -> bool:
    return any(c in source for c in "*?[{")


def _files(source: str) -> str:
    """The glob matching the files of ``source`` (a pattern or a folder)."""
    if os.path.isdir(source):
        return os.path.join(source, "*.tif*")
    return parse_pattern(source)[0] if "{" in source else source


class SequenceConverter:
    """Several TIFF files named by a pattern, a glob or a folder, as one image."""

    name: ClassVar[str] = "sequence"
    description: ClassVar[str] = "TIFF file sequences: 'dir/img_z{z}_c{c}.tif', globs, folders"
    suffixes: ClassVar[tuple[str, ...]] = ()

    def guess_can_open(self, source: Any) -> bool:
        if not isinstance(source, str | os.PathLike):
            return False
        text = os.fspath(source)
        if not isinstance(text, str) or not (_is_pattern(text) or os.path.isdir(text)):
            return False
        try:
            matches = glob.glob(_files(text))
        except (OSError, UsageError, re.error):
            return False
        return any(m.lower().endswith(_TIFF_SUFFIXES) for m in matches)

    def open(
        self, source: Any, *, axes: str | None = None, allow_missing: bool = False
    ) -> Collection:
        """The files of ``source`` stacked into one image.

        Parameters
        ----------
        axes
            For a glob or folder: names of all dimensions, the sequence axis first, e.g.
            ``"tyx"`` (default ``z`` followed by the files' axes). Not used with ``{}``
            fields, which name the axes themselves.
        allow_missing
            Fill the planes of indices no file holds (``z0, z10, z20``) with zeros, and say
            so in the image's attributes (``omeconv.filled_planes``); otherwise they are an
            error.
        """
        import tifffile

        text = os.fspath(source)
        files_glob, regex, field_axes = (
            parse_pattern(text) if "{" in text else (_files(text), None, ())
        )
        files = sorted(glob.glob(files_glob))
        if not files:
            raise SourceNotFoundError("no file matches", path=text)
        try:
            seq = (
                tifffile.TiffSequence(files_glob, pattern=regex)
                if regex
                else (tifffile.TiffSequence(files_glob))
            )
        except (ValueError, OSError, tifffile.TiffFileError) as exc:
            raise CorruptSourceError(f"not a file sequence: {exc}", path=text) from exc
        if len(seq) == 0:
            raise SourceNotFoundError("no file name matches the pattern's fields", path=text)
        from omeconv.converters.tiff.damage import check_file

        for name in seq:
            check_file(Path(name))
        try:
            with tifffile.TiffFile(seq[0]) as first:
                file_axes = first.series[0].axes.upper()
                file_shape = first.series[0].shape
            data = _dask(seq)
        except (ValueError, OSError, IndexError, tifffile.TiffFileError) as exc:
            raise CorruptSourceError(f"cannot read the sequence: {exc}", path=seq[0]) from exc
        if tuple(data.shape[len(seq.shape) :]) != tuple(file_shape):
            raise CorruptSourceError("the files differ in shape", path=text)
        letters = _letters(seq.shape, field_axes, file_axes, axes, text)
        filled = _missing_planes(seq, letters[: len(seq.shape)], text, allow_missing=allow_missing)
        image = _image(data, letters, text, seq[0])
        if filled:
            warnings.warn(
                f"{text}: {len(filled)} planes no file holds are filled with zeros "
                "(listed in the image's omeconv.filled_planes attribute)",
                OmeconvWarning,
                stacklevel=2,
            )
            image = replace(image, extra_attrs={"omeconv": {"filled_planes": filled}})
        return Collection(images=(image,))


def _missing_planes(
    seq: Any, letters: str, source: str, *, allow_missing: bool
) -> list[dict[str, int]]:
    """Positions of the sequence no file holds (``{"z": 3}``), when ``allow_missing``.

    Two files at one position, or a missing one without ``allow_missing``, are errors:
    tifffile would keep one of the two, or fill the hole with zeros.
    """
    from itertools import product

    files = list(seq)
    indices = [tuple(int(i) for i in idx) for idx in seq.indices]
    seen: dict[tuple[int, ...], str] = {}
    for name, idx in zip(files, indices, strict=True):
        if idx in seen:
            raise CorruptSourceError(
                f"{Path(seen[idx]).name} and {Path(name).name} are at the same position "
                f"of the sequence; refusing to keep only one",
                path=source,
            )
        seen[idx] = name
    names = [c.lower() for c in letters]
    missing = [idx for idx in product(*(range(n) for n in seq.shape)) if idx not in seen]
    if not missing or allow_missing:
        return [dict(zip(names, idx, strict=True)) for idx in missing]
    where = ", ".join(
        " ".join(f"{n}={i}" for n, i in zip(names, idx, strict=True)) for idx in missing[:3]
    )
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    raise CorruptSourceError(
        f"no file holds {len(missing)} of the sequence's {len(missing) + len(files)} planes "
        f"({where}{more}, counted from the first file); pass --allow-missing to fill them "
        "with zeros",
        path=source,
    )


def _dask(seq: Any) -> da.Array:
    import dask.array as da
    import zarr

    return da.from_zarr(zarr.open_array(seq.aszarr(), mode="r"))


def _letters(
    seq_shape: tuple[int, ...],
    field_axes: tuple[str, ...],
    file_axes: str,
    axes: str | None,
    source: str,
) -> str:
    """tifffile letters of every dimension: sequence dimensions, then each file's axes."""
    if field_axes:
        if axes is not None:
            raise UsageError("--axes cannot be used with a pattern that has {} fields", path=source)
        letters = "".join(a.upper() for a in field_axes) + file_axes
    elif axes is not None:
        if len(axes) != len(seq_shape) + len(file_axes):
            raise UsageError(
                f"--axes {axes!r} names {len(axes)} dimensions, but the sequence has"
                f" {len(seq_shape)} and each file {len(file_axes)} ({file_axes})",
                path=source,
            )
        letters = axes.upper()
    else:
        letters = "Z" + file_axes
    if len(set(letters)) != len(letters):
        raise UsageError(f"axes {letters.lower()!r} repeat a name", path=source)
    return letters


def _image(data: da.Array, letters: str, source: str, first: str) -> Image:
    """The image, with the sizes, units and channels the first file states (as a TIFF)."""
    import tifffile

    from omeconv.converters.tiff import file_metadata, ngff_axis_name, normalise_axes

    levels, letters = normalise_axes([data], letters, Path(source))
    names = tuple(ngff_axis_name(c) for c in letters)
    with tifffile.TiffFile(first) as tf:
        meta = file_metadata(tf, tf.series[0], letters, names, levels[0].shape)
    level = Level(data=levels[0], scale=meta.scale)
    return Image(
        name=Path(source).parent.name or None,
        axes=meta.axes,
        levels=(level,),
        channels=meta.channels,
    )
