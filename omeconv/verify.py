"""Read an output back and compare it with its source, chunk by chunk.

For ``--verify`` and ``omeconv verify SOURCE OUTPUT``: every level-0 chunk of every image
(and label) is read from the output and from the source, one chunk at a time (memory stays
bounded by one chunk), and their checksums compared; then the metadata is validated
against the spec. The first difference raises :class:`VerificationFailedError`.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

import numpy as np

from omeconv.errors import (
    CorruptSourceError,
    MetadataError,
    OmeconvWarning,
    SourceError,
    VerificationFailedError,
    describe_os_error,
)
from omeconv.hierarchy import Hierarchy
from omeconv.zarr_io import join

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["Report", "chunk_digest", "verify"]


@dataclass(frozen=True)
class Report:
    """What a verification compared."""

    arrays: int
    chunks: int
    version: str

    def __str__(self) -> str:
        return (
            f"{self.chunks} level-0 chunks in {self.arrays} arrays equal the source; "
            f"valid OME-Zarr {self.version}"
        )


def chunk_digest(block: np.ndarray) -> str:
    """Checksum of one block's pixels (dtype, shape and bytes)."""
    block = np.ascontiguousarray(block)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{block.dtype.str}{block.shape}".encode())
    h.update(block.tobytes())
    return h.hexdigest()


def verify(
    source: Any,
    output: str | os.PathLike[str],
    *,
    converter: str | None = None,
    series: int | None = None,
    **options: Any,
) -> Report:
    """Compare every level-0 chunk of ``output`` with ``source``; validate its metadata.

    ``converter``, ``series`` and ``options`` (``axes``, ``plate_pattern`` …) open the
    source as the conversion did.

    Raises
    ------
    VerificationFailedError
        At the first array or chunk that differs, or when the metadata is invalid.
    """
    from omeconv.api import open_source
    from omeconv.converters import guess_converter
    from omeconv.emit import image_paths, ngff_order
    from omeconv.errors import ValidationFailedError
    from omeconv.validate import validate_store

    out = str(output)
    try:
        if converter is None and "plate_pattern" not in options:
            converter = guess_converter(source).name
        if converter == "tiff":
            options["by_ifd"] = True  # each plane from its own IFD, not tifffile's assembly
        collection = open_source(source, converter=converter, series=series, **options)
    except SourceError as exc:
        raise _source_differs(exc, source) from exc
    try:
        root = Hierarchy(out)
        kind = root.kind("")
    except OSError as exc:
        raise VerificationFailedError(
            f"cannot open the output: {describe_os_error(exc)}", path=out
        ) from exc
    except CorruptSourceError as exc:
        raise VerificationFailedError(f"cannot open the output: {exc.message}", path=out) from exc
    if kind != "group":
        raise VerificationFailedError("cannot open the output: no Zarr group there", path=out)
    pairs: list[tuple[str, Any]] = []
    for path, image in zip(image_paths(collection), collection.images, strict=True):
        image = ngff_order(image)
        pairs.append((path, image.levels[0].data))
        pairs.extend(
            (join(path, "labels", label.name), label.levels[0].data) for label in image.labels
        )
    chunks = 0
    for path, data in pairs:
        try:
            chunks += _compare(root, path, data, out)
        except SourceError as exc:
            raise _source_differs(exc, source) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OmeconvWarning)  # SHOULD rules: not a difference
            version = validate_store(out)
    except ValidationFailedError as exc:
        details = f" ({exc.details[0]})" if exc.details else ""
        raise VerificationFailedError(f"metadata: {exc.message}{details}", path=out) from exc
    return Report(arrays=len(pairs), chunks=chunks, version=version)


def _source_differs(exc: SourceError, source: Any) -> VerificationFailedError:
    """A source that cannot be read (any more) as it was converted: a difference."""
    where = exc.path or (str(source) if isinstance(source, str | os.PathLike) else None)
    return VerificationFailedError(
        f"the source does not read as a conversion needs: {exc.message}", path=where
    )


def _compare(root: Hierarchy, group_path: str, data: Any, out: str) -> int:
    """Compare the level-0 array of the multiscale at ``group_path`` with ``data``."""
    from dask.local import get_sync

    try:
        dataset = str(root.ome(group_path)["multiscales"][0]["datasets"][0]["path"])
        array = root.open_array(join(group_path, dataset))
    except (KeyError, IndexError, TypeError) as exc:
        raise VerificationFailedError(
            f"no level-0 array for {group_path or 'the image'}: {exc}", path=out
        ) from exc
    except (CorruptSourceError, MetadataError) as exc:
        raise VerificationFailedError(
            f"no level-0 array for {group_path or 'the image'}: {exc.message}", path=out
        ) from exc
    where = root.where(join(group_path, dataset))
    if tuple(array.shape) != tuple(data.shape):
        raise VerificationFailedError(
            f"shape {tuple(array.shape)} differs from the source's {tuple(data.shape)}", path=where
        )
    if np.dtype(array.dtype) != np.dtype(data.dtype):
        raise VerificationFailedError(
            f"dtype {array.dtype} differs from the source's {data.dtype}", path=where
        )
    count = 0
    for region in _chunk_regions(array.shape, array.chunks):
        block = data[region]
        expected = np.asarray(
            block.compute(scheduler=get_sync) if hasattr(block, "compute") else block
        )
        got = np.asarray(array[region])
        if chunk_digest(got) != chunk_digest(expected):
            # Equal values with other bytes (NaN payloads, -0.0) are no difference.
            diff = np.argwhere(~_equal(got, expected))
            if len(diff):
                at = tuple(diff[0])
                first = tuple(int(s.start + i) for s, i in zip(region, at, strict=True))
                index = tuple(s.start // c for s, c in zip(region, array.chunks, strict=True))
                raise VerificationFailedError(
                    f"chunk {index} differs from the source (first at pixel {first}: "
                    f"{got[at].item()!r} != {expected[at].item()!r})",
                    path=where,
                )
        count += 1
    return count


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "fc":
        return np.asarray((a == b) | (np.isnan(a) & np.isnan(b)))
    return np.asarray(a == b)


def _chunk_regions(shape: Sequence[int], chunks: Sequence[int]) -> Iterator[tuple[slice, ...]]:
    starts = [range(0, n, c) for n, c in zip(shape, chunks, strict=True)]
    for corner in product(*starts):
        yield tuple(slice(s, min(s + c, n)) for s, c, n in zip(corner, chunks, shape, strict=True))
