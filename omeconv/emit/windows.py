"""Channels' display windows (``omero`` ``window``): from the source, else from the pixels'
range, always with start < end as viewers require."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from omeconv.emit.axes import channel_axis
from omeconv.model import Channel
from omeconv.stats import Stats

if TYPE_CHECKING:
    from omeconv.model import Image

__all__ = ["channels_with_windows"]


def channels_with_windows(image: Image, stats: Stats) -> list[Channel]:
    """The image's channels (one per channel index), windows filled from ``stats`` of the
    pixels written, or from the smallest level when ``stats`` has none and a window is missing."""
    if not stats.minimum and _lacks_windows(image):
        stats = _small_level_stats(image)
    count = image.nchannels
    given = list(image.channels[:count]) + [Channel() for _ in range(count - len(image.channels))]
    dtype = np.dtype(image.levels[0].dtype)
    out = []
    for i, ch in enumerate(given):
        if ch.window is None:
            lo = stats.minimum.get(i, 0.0)
            hi = stats.maximum.get(i, lo)
            ch = replace(ch, window=_viewable(lo, hi, dtype))
        elif not ch.window[2] < ch.window[3]:
            lo, hi, start, end = ch.window
            start, end = _viewable(start, end, dtype)[2:]
            ch = replace(ch, window=(min(lo, start), max(hi, end), start, end))
        out.append(ch)
    return out


def _lacks_windows(image: Image) -> bool:
    channels = image.channels
    return len(channels) < image.nchannels or any(ch.window is None for ch in channels)


def _small_level_stats(image: Image, limit: int = 64 * 2**20) -> Stats:
    """Channel statistics from the image's smallest level when that is under ``limit`` bytes."""
    from dask import threaded

    stats = Stats()
    data = image.levels[-1].data
    if data.nbytes <= limit:
        stats.update(np.asarray(data.compute(scheduler=threaded.get)), channel_axis(image.axes), 0)
    return stats


def _viewable(lo: float, hi: float, dtype: np.dtype) -> tuple[float, float, float, float]:
    """The window ``(min, max, start, end)`` of values from ``lo`` to ``hi`` with start < end,
    as viewers require (napari refuses an empty range): a constant channel's ``v`` gets
    ``[v, v + 1]``, or ``[v - 1, v]`` at the top of the dtype's range."""
    if hi > lo:
        return (lo, hi, lo, hi)
    top = float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0 if dtype.kind == "b" else None
    if top is not None and lo + 1 > top:
        return (lo - 1, lo, lo - 1, lo)
    end = lo + 1 if lo + 1 > lo else float(np.nextafter(lo, np.inf))  # huge floats
    return (lo, end, lo, end)
