"""Channel windows (:mod:`omeconv.emit.windows`): from the source, the pixels written or the
smallest level, always start < end."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from omeconv.emit.windows import channels_with_windows
from omeconv.model import Axis, Channel, Image, Level
from omeconv.stats import Stats


def _image(data: np.ndarray, channels: tuple[Channel, ...] = ()) -> Image:
    return Image(
        name="im",
        axes=tuple(Axis.named(n) for n in "cyx"),
        levels=(Level(data=da.from_array(data), scale=(1.0, 1.0, 1.0)),),
        channels=channels,
    )


def test_windows_come_from_the_stats_of_the_pixels_written() -> None:
    data = np.zeros((2, 4, 4), "uint16")
    stats = Stats(minimum={0: 3.0, 1: 10.0}, maximum={0: 7.0, 1: 900.0})
    channels = channels_with_windows(_image(data, (Channel(label="a"),)), stats)
    assert [ch.label for ch in channels] == ["a", None]
    assert [ch.window for ch in channels] == [(3.0, 7.0, 3.0, 7.0), (10.0, 900.0, 10.0, 900.0)]


def test_without_stats_the_smallest_level_gives_the_windows() -> None:
    data = np.stack([np.full((4, 4), 5, "uint8"), np.arange(16, dtype="uint8").reshape(4, 4)])
    channels = channels_with_windows(_image(data), Stats())
    assert [ch.window for ch in channels] == [(5.0, 6.0, 5.0, 6.0), (0.0, 15.0, 0.0, 15.0)]


@pytest.mark.parametrize(
    ("value", "dtype", "window"),
    [
        (255, "uint8", (254.0, 255.0, 254.0, 255.0)),
        (0, "uint8", (0.0, 1.0, 0.0, 1.0)),
        (2.5, "float32", (2.5, 3.5, 2.5, 3.5)),
    ],
)
def test_a_constant_channel_gets_an_increasing_window(
    value: float, dtype: str, window: tuple[float, ...]
) -> None:
    data = np.full((1, 4, 4), value, dtype)
    stats = Stats(minimum={0: float(value)}, maximum={0: float(value)})
    assert channels_with_windows(_image(data), stats)[0].window == window


def test_a_given_window_is_kept_and_an_empty_one_widened() -> None:
    data = np.zeros((2, 4, 4), "uint8")
    given = (Channel(window=(0.0, 200.0, 10.0, 20.0)), Channel(window=(0.0, 255.0, 255.0, 255.0)))
    channels = channels_with_windows(_image(data, given), Stats())
    assert [ch.window for ch in channels] == [(0.0, 200.0, 10.0, 20.0), (0.0, 255.0, 254.0, 255.0)]
