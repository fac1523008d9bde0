"""Axes of the output: NGFF order (time, channel/custom, then z, y, x) and the per-axis
arithmetic between levels (factors, translations, values picked by axis name)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from omeconv.model import Axis, Image, Label, Level

__all__ = ["channel_axis", "ngff_order", "on_axes", "ratio", "shifted"]

_TYPE_RANK = {"time": 0, "channel": 1, "space": 2}
_SPACE_RANK = {"z": 0, "y": 1, "x": 2}


def ngff_order(image: Image) -> Image:
    """``image`` (and its labels) with axes in NGFF order: time, channel/custom, then z, y, x."""
    order = _ngff_permutation(image.axes)
    labels = tuple(_label_in_order(label) for label in image.labels)
    if order is None:
        return replace(image, labels=labels) if image.labels else image
    return replace(
        image,
        axes=_permute(image.axes, order),
        levels=_permute_levels(image.levels, order),
        labels=labels,
        source_attrs=None,  # axes in another order: the metadata is derived anew
    )


def _label_in_order(label: Label) -> Label:
    order = _ngff_permutation(label.axes)
    if order is None:
        return label
    return replace(
        label,
        axes=_permute(label.axes, order),
        levels=_permute_levels(label.levels, order),
        source_attrs=None,
    )


def _ngff_permutation(axes: Sequence[Axis]) -> list[int] | None:
    """The axis order that sorts ``axes`` into NGFF order; None when they already are."""
    order = sorted(
        range(len(axes)),
        key=lambda i: (
            _TYPE_RANK.get(axes[i].type or "", 1),
            _SPACE_RANK.get(axes[i].name.lower(), -1) if axes[i].type == "space" else 0,
        ),
    )
    return None if order == list(range(len(axes))) else order


def _permute(values: Sequence[Any] | None, order: list[int]) -> Any:
    return None if values is None else tuple(values[i] for i in order)


def _permute_levels(levels: Sequence[Level], order: list[int]) -> tuple[Level, ...]:
    """Levels with transposed pixels; a transposed level's encoded chunks cannot be copied."""
    return tuple(
        replace(
            lv,
            data=lv.data.transpose(order),
            scale=_permute(lv.scale, order),
            translation=_permute(lv.translation, order),
            source=None,
            reader=None,
        )
        for lv in levels
    )


def on_axes(values: Sequence[int], axes: Sequence[Axis], target: Sequence[Axis]) -> tuple[int, ...]:
    """``values`` given per axis of ``axes``, picked for the axes of ``target`` (1 if absent)."""
    by_name = {a.name: v for a, v in zip(axes, values, strict=True)}
    return tuple(by_name.get(a.name, 1) for a in target)


def channel_axis(axes: Sequence[Axis]) -> int | None:
    """Index of the channel axis of ``axes``; None when there is none."""
    return next((i for i, a in enumerate(axes) if a.type == "channel"), None)


def ratio(upper: Sequence[int], lower: Sequence[int]) -> tuple[int, ...]:
    """The downsampling factor per axis from shape ``upper`` to shape ``lower``."""
    return tuple(max(1, round(u / lo)) for u, lo in zip(upper, lower, strict=True))


def shifted(
    translation: Sequence[float] | None, old: Sequence[float], new: Sequence[float]
) -> tuple[float, ...] | None:
    """Translation of a coarser level: pixel centres move by half the growth of the pixel."""
    if translation is None:
        return None
    return tuple(t + (n - o) / 2 for t, o, n in zip(translation, old, new, strict=True))
