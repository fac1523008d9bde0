"""Axis order and per-axis arithmetic of the emitter (:mod:`omeconv.emit.axes`)."""

from __future__ import annotations

import dask.array as da
import numpy as np

from omeconv.emit.axes import channel_axis, ngff_order, on_axes, ratio, shifted
from omeconv.model import Axis, Image, Label, Level, SourceAttrs


def _image(names: str, shape: tuple[int, ...], **kw: object) -> Image:
    data = da.from_array(np.arange(np.prod(shape), dtype="uint16").reshape(shape))
    scale = tuple(float(i + 1) for i in range(len(shape)))
    return Image(
        name="im",
        axes=tuple(Axis.named(n) for n in names),
        levels=(Level(data=data, scale=scale, translation=scale, path="0", source=object()),),
        **kw,  # type: ignore[arg-type]
    )


def test_axes_are_sorted_time_channel_then_z_y_x_with_pixels_and_scales() -> None:
    image = _image("yxczt", (2, 3, 4, 5, 6), source_attrs=SourceAttrs("0.4", {"a": 1}))
    ordered = ngff_order(image)
    assert [a.name for a in ordered.axes] == ["t", "c", "z", "y", "x"]
    level = ordered.levels[0]
    expected = np.transpose(image.levels[0].data.compute(), (4, 2, 3, 0, 1))
    np.testing.assert_array_equal(level.data.compute(), expected)
    assert level.scale == (5.0, 3.0, 4.0, 1.0, 2.0)
    assert level.translation == (5.0, 3.0, 4.0, 1.0, 2.0)
    assert level.source is None  # transposed: its encoded chunks cannot be copied
    assert ordered.source_attrs is None  # metadata derived anew for the new order


def test_an_image_in_order_is_returned_as_it_is() -> None:
    image = _image("czyx", (2, 3, 4, 5))
    assert ngff_order(image) is image


def test_labels_are_ordered_on_their_own_axes() -> None:
    data = da.zeros((4, 3), dtype="uint8")
    label = Label(
        name="seg",
        levels=(Level(data=data, scale=(1.0, 2.0)),),
        axes=(Axis.named("x"), Axis.named("y")),
    )
    image = _image("yx", (3, 4), labels=(label,))
    ordered = ngff_order(image)
    assert ordered.axes == image.axes
    assert [a.name for a in ordered.labels[0].axes] == ["y", "x"]
    assert ordered.labels[0].levels[0].data.shape == (3, 4)
    assert ordered.labels[0].levels[0].scale == (2.0, 1.0)


def test_per_axis_arithmetic() -> None:
    axes = tuple(Axis.named(n) for n in "czyx")
    assert channel_axis(axes) == 0
    assert channel_axis(axes[1:]) is None
    assert on_axes((3, 8, 16, 32), axes, tuple(Axis.named(n) for n in "tyx")) == (1, 16, 32)
    assert ratio((10, 64, 63), (10, 32, 32)) == (1, 2, 2)
    assert shifted((0.0, 0.5), (1.0, 1.0), (1.0, 2.0)) == (0.0, 1.0)
    assert shifted(None, (1.0,), (2.0,)) is None
