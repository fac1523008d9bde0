"""What is written for an image: its chunk shape, and the pyramid levels computed below the
levels it has."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omeconv.emit.write import default_chunks
from omeconv.errors import UsageError
from omeconv.pyramid import plan_levels

if TYPE_CHECKING:
    from collections.abc import Sequence

    from omeconv.model import Axis

__all__ = ["chunk_shape", "levels_below"]

#: A level to compute: its shape, scale and factors from the level above.
NewLevel = tuple[tuple[int, ...], tuple[float, ...], tuple[int, ...]]


def chunk_shape(
    axes: Sequence[Axis],
    shape: Sequence[int],
    itemsize: int,
    wanted: Sequence[int] | Mapping[str, int] | None,
) -> tuple[int, ...]:
    """The chunk shape of an image: ``wanted`` (all axes, or ``{axis: size}`` for some), the
    rest picked by :func:`~omeconv.emit.write.default_chunks`."""
    names = [a.name for a in axes]
    chunks = default_chunks(shape, names, itemsize)
    if wanted is None:
        return chunks
    if isinstance(wanted, Mapping):
        unknown = set(wanted) - set(names)
        if unknown:
            raise UsageError(f"--chunks names axes {sorted(unknown)} not in {''.join(names)}")
        return tuple(int(wanted.get(n, c)) for n, c in zip(names, chunks, strict=True))
    if len(wanted) != len(names):
        raise UsageError(
            f"--chunks has {len(wanted)} values but the image has axes {''.join(names)}"
        )
    return tuple(int(c) for c in wanted)


def levels_below(
    levels: Sequence[Any],
    axes: Sequence[Axis],
    chunks: Sequence[int],
    factors: Sequence[tuple[int, ...]] | None,
    total: int | None,
) -> list[NewLevel]:
    """The levels to compute below ``levels``: with ``factors``, one per factor beyond the
    given levels (labels follow their image); otherwise planned from the last given level,
    up to ``total`` levels in all (None: halve until a plane fits a chunk, unless the source
    has a pyramid of its own).
    """
    last = levels[-1]
    if factors is not None:
        wanted = max(len(factors), len(levels))
        shapes = [tuple(lv.shape) for lv in levels]
        scales = [tuple(lv.scale) for lv in levels]
        for f in factors[len(levels) : wanted]:
            shapes.append(tuple(-(-n // k) for n, k in zip(shapes[-1], f, strict=True)))
            scales.append(tuple(s * k for s, k in zip(scales[-1], f, strict=True)))
        extra = [(s, sc, f) for s, sc, f in zip(shapes, scales, factors, strict=False)][
            len(levels) :
        ]
    else:
        wanted_total = total
        if wanted_total is None:
            wanted_total = 1 if len(levels) > 1 else None
        plans = plan_levels(
            last.shape,
            axes,
            last.scale,
            chunks,
            levels=None if wanted_total is None else max(1, wanted_total - len(levels) + 1),
        )
        extra = [(p.shape, p.scale, p.factors) for p in plans[1:]]
    return extra
