"""Segmentation masks attached to an image as NGFF labels (``labels/<name>``).

A label is given as an array or a path any source adapter reads. Its shape must be the
image's shape with the channel axis of length 1 (NGFF label images have the image's axes);
length-1 axes may be left out, nothing is broadcast. The emitter downsamples labels by mode
with the image's own level factors, so a label has as many levels as its image.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from omeconv.errors import UsageError
from omeconv.model import Collection, Image, Label, LabelColor, Level

if TYPE_CHECKING:
    from collections.abc import Mapping

    import dask.array as da

__all__ = ["MAX_COLORS", "attach_labels", "make_label", "parse_label_option"]

#: Label values beyond this many get no colour entry (the list would dwarf the metadata).
MAX_COLORS = 4096
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def parse_label_option(value: str) -> tuple[str, str]:
    """``NAME=PATH`` as given to ``--labels``."""
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise UsageError(f"--labels {value!r}: give NAME=PATH, e.g. cells=cells_mask.tif")
    return name.strip(), path.strip()


def attach_labels(collection: Collection, labels: Mapping[str, Any]) -> Collection:
    """``collection`` with ``labels`` (``{name: array or path}``) added to its one image."""
    if not labels:
        return collection
    if collection.plate is not None or len(collection.images) != 1:
        raise UsageError(
            f"labels need a single image, but the source holds {len(collection.images)}"
            " (choose one with --series)"
        )
    image = collection.images[0]
    added = tuple(make_label(name, source, image) for name, source in labels.items())
    known = {lb.name for lb in image.labels}
    clash = known & {lb.name for lb in added}
    if clash:
        raise UsageError(f"the image already has labels named {sorted(clash)}")
    new = replace(image, labels=image.labels + added)
    return replace(collection, images=(new,))


def make_label(name: str, source: Any, image: Image) -> Label:
    """A :class:`Label` of ``image`` from an array or a file.

    Raises
    ------
    UsageError
        The name is not a valid path segment, the dtype is not integer (or bool, stored as
        uint8), or the shape does not match the image's shape with a channel of length 1.
    """
    if not _NAME.match(name):
        raise UsageError(f"label name {name!r}: use letters, digits, '_', '-' and '.'")
    data = _label_array(source)
    where = f"label {name!r}"
    if data.dtype.kind == "b":
        data = data.astype("uint8")
    elif data.dtype.kind not in "iu":
        raise UsageError(
            f"{where} has dtype {data.dtype}; labels must be integers (cast the mask to an"
            " integer type first)"
        )
    target = tuple(
        1 if axis.type == "channel" else int(n)
        for axis, n in zip(image.axes, image.levels[0].shape, strict=True)
    )
    if tuple(data.shape) != target:
        if _squeezed(data.shape) != _squeezed(target):
            raise UsageError(
                f"{where} has shape {tuple(data.shape)}, but image axes {image.axis_names!r}"
                f" need {target} (the image's shape with one channel; axes of length 1 may be"
                " left out, others are not broadcast)"
            )
        data = data.reshape(target)
    level0 = image.levels[0]
    level = Level(data=data, scale=level0.scale, translation=level0.translation)
    return Label(name=name, levels=(level,), axes=image.axes, colors=_colors(data))


def _label_array(source: Any) -> da.Array:
    import dask.array as da

    if isinstance(source, da.Array):
        return source
    if isinstance(source, str | os.PathLike):
        from omeconv.converters import guess_converter

        collection = guess_converter(source).open(source)
        if len(collection.images) != 1:
            raise UsageError(
                f"label file holds {len(collection.images)} images; give a file with one",
                path=source,
            )
        return collection.images[0].data
    if hasattr(source, "shape") and hasattr(source, "dtype"):
        return da.from_array(source, chunks="auto")
    raise UsageError(f"a label must be an array or a file path, not {type(source).__name__}")


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(n) for n in shape if n != 1)


def _colors(data: da.Array) -> tuple[LabelColor, ...]:
    """A distinct, reproducible RGBA colour for each label value present (0 transparent)."""
    import dask.array as da
    import numpy as np
    from dask import threaded

    values = np.asarray(da.unique(data.ravel()).compute(scheduler=threaded.get))
    if values.size > MAX_COLORS:
        return ()
    out = []
    for v in values.tolist():
        if v == 0:
            out.append(LabelColor(value=0, rgba=(0, 0, 0, 0)))
            continue
        # golden-ratio hue walk: neighbouring values get clearly different colours
        hue = (v * 0.618033988749895) % 1.0
        r, g, b = (int(255 * c) for c in _hsv(hue, 0.65, 0.95))
        out.append(LabelColor(value=int(v), rgba=(r, g, b, 255)))
    return tuple(out)


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)
