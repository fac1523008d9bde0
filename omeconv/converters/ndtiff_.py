"""Micro-Manager / pycro-manager NDTiff datasets as a source, read with
`ndtiff <https://github.com/micro-manager/NDStorage>`_.

A dataset is a folder holding ``NDTiff.index`` and ``*_NDTiffStack.tif`` files; it opens
from the folder, its index or any of its stacks. Images are read one by one through the
index. Axes ``time``, ``channel`` and ``z`` map to ``t``, ``c``, ``z``; positions become a
bioformats2raw collection named by their labels, each placed at its stage position (an NGFF
translation); tiled (``row``/``column``) datasets are stitched by ndtiff. The pixel size and time interval come from the summary metadata, the
channel names from the channel axis' labels (or the summary's channel names).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, ClassVar

from omeconv.converters._vendor import (
    Reopened,
    damaged,
    guarded,
    make_image,
    require,
    series_indices,
)
from omeconv.errors import (
    SourceNotFoundError,
    UnsupportedSourceError,
)
from omeconv.model import Channel, Collection, Image

__all__ = ["NdtiffConverter", "stage_position"]

_INDEX = "NDTiff.index"
_LETTERS = {"time": "T", "channel": "C", "z": "Z"}


class NdtiffConverter:
    """Micro-Manager NDTiff (v3) datasets (ndtiff)."""

    name: ClassVar[str] = "ndtiff"
    description: ClassVar[str] = "Micro-Manager NDTiff datasets (ndtiff)"
    suffixes: ClassVar[tuple[str, ...]] = (".index",)

    def guess_can_open(self, source: Any) -> bool:
        return _dataset_folder(source) is not None

    def open(self, source: Any, *, series: int | None = None) -> Collection:
        """Read the dataset lazily: every position (a collection) or the ``series``-th."""
        ndtiff = require("ndtiff", "ndtiff", "NDTiff", source)
        folder = _dataset_folder(source)
        if folder is None:
            raise SourceNotFoundError(f"no {_INDEX} in or next to it", path=source)
        # ndtiff prints its progress
        with (
            damaged(folder, "not a readable NDTiff dataset"),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            dataset = ndtiff.Dataset(str(folder))
        try:
            with damaged(folder, "cannot read the NDTiff dataset"):
                return _collection(dataset, folder, series)
        finally:
            dataset.close()


def _dataset_folder(source: Any) -> Path | None:
    """The dataset folder of ``source`` (the folder, its index or one of its stacks)."""
    if not isinstance(source, str | Path) or "://" in str(source):
        return None
    path = Path(source)
    folder = path if path.is_dir() else path.parent
    if path.is_dir() or path.name == _INDEX or path.name.endswith("_NDTiffStack.tif"):
        return folder if (folder / _INDEX).is_file() else None
    return None


def _collection(dataset: Any, folder: Path, series: int | None) -> Collection:
    axes = {name: list(values) for name, values in dataset.axes.items()}
    stitched = "row" in axes and "column" in axes
    outer = [a for a in axes if a not in ("row", "column", "position")]
    unknown = [a for a in outer if a not in _LETTERS]
    if unknown:
        raise UnsupportedSourceError(f"NDTiff axes {unknown} have no NGFF meaning", path=folder)
    positions = axes.get("position", [None])
    images = [
        _image(dataset, folder, outer, axes, positions[k], stitched)
        for k in series_indices(len(positions), series, folder, noun="positions")
    ]
    if len(positions) > 1 and series is None:
        return Collection(images=tuple(images), layout="bioformats2raw")
    return Collection(images=tuple(images))


def _image(
    dataset: Any,
    folder: Path,
    outer: list[str],
    axes: dict[str, list[Any]],
    position: Any,
    stitched: bool,
) -> Image:
    options = {"axes": outer, "stitched": stitched, "position": position}
    lazy = _read(dataset, **options)
    letters = "".join(_LETTERS[a] for a in outer) + "YX"
    if lazy.ndim == len(letters) + 1:
        letters += "S"  # RGB
    chunks = tuple(1 if c in "TCZ" else n for c, n in zip(letters, lazy.shape, strict=True))
    reader = Reopened(folder, _Opener(options), lazy.shape, lazy.dtype)
    data = guarded(reader, folder, "NDTiff", chunks)
    summary = dataset.summary_metadata or {}
    sizes: dict[str, tuple[float, str | None]] = {}
    pixel = summary.get("PixelSize_um")
    if pixel and float(pixel) > 0:
        sizes["x"] = sizes["y"] = (float(pixel), "micrometer")
    step = summary.get("z-step_um")
    if "Z" in letters and step and float(step) > 0:
        sizes["z"] = (float(step), "micrometer")
    interval = summary.get("Interval_ms")
    if "T" in letters and interval and float(interval) > 0:
        sizes["t"] = (float(interval), "millisecond")
    channels = _channels(dataset, axes.get("channel"))
    name = str(position) if position is not None else folder.name
    where = None
    if position is not None and not stitched and sizes.get("x", (0, ""))[1] == "micrometer":
        where = stage_position(dataset, position)
    return make_image(
        name, data, letters, folder, sizes=sizes, channels=channels, translation=where
    )


def stage_position(dataset: Any, position: Any) -> dict[str, float] | None:
    """The X and Y stage position (micrometers) of the first image of ``position``: the
    measured ``XPositionUm``/``YPositionUm``, else the acquisition's intended
    ``XPosition_um_Intended``/``YPosition_um_Intended``; None when its metadata state
    neither."""
    key = next((k for k in dataset.index if ("position", position) in k), None)
    if key is None:
        return None
    meta = dataset.read_metadata(**dict(key)) or {}
    for x, y in (
        ("XPositionUm", "YPositionUm"),
        ("XPosition_um_Intended", "YPosition_um_Intended"),
    ):
        try:
            return {"x": float(meta[x]), "y": float(meta[y])}
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _read(dataset: Any, *, axes: list[str], stitched: bool, position: Any) -> Any:
    """The dataset's dask array over ``axes`` (then Y, X), for one position."""
    selection = {} if position is None else {"position": position}
    return dataset.as_array(axes=axes, stitched=stitched, **selection)


class _Opener:
    """Opens a dataset and its array for one position (picklable, for :class:`Reopened`)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def __call__(self, folder: Path) -> tuple[Any, Any]:
        import ndtiff

        with contextlib.redirect_stdout(io.StringIO()):
            dataset = ndtiff.Dataset(str(folder))
        return dataset, _read(dataset, **self.options)


def _channels(dataset: Any, values: list[Any] | None) -> list[Channel]:
    if not values:
        return []
    if all(isinstance(v, str) for v in values):
        return [Channel(label=v) for v in values]
    names = dataset.get_channel_names() or []
    if len(names) == len(values):
        return [Channel(label=str(n)) for n in names]
    return []
