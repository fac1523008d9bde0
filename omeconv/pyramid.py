"""Pyramid planning and downsampling kernels.

Each level halves X and Y, and Z while Z is not coarser than XY, until the largest plane
fits one chunk (or a requested number of levels). Every level is computed from the one
above it. Downsampling windows that run past an odd edge average only the pixels present,
so level ``k + 1`` has ``ceil(n / 2)`` pixels along each halved axis and scales double exactly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from omeconv.errors import OmeconvWarning

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from omeconv.model import Axis

__all__ = ["METHODS", "LevelPlan", "Method", "default_method", "downsample", "plan_levels"]

Method = Literal["mean", "mode", "nearest", "gaussian"]
#: The downsampling methods, the default (for intensities) first.
METHODS: tuple[Method, ...] = ("mean", "mode", "nearest", "gaussian")


@dataclass(frozen=True)
class LevelPlan:
    """Shape and scale of one level, and its per-axis factor relative to the level above."""

    shape: tuple[int, ...]
    scale: tuple[float, ...]
    factors: tuple[int, ...]


def plan_levels(
    shape: Sequence[int],
    axes: Sequence[Axis],
    scale: Sequence[float],
    chunks: Sequence[int],
    *,
    levels: int | None = None,
) -> list[LevelPlan]:
    """Plan the pyramid below level 0 (level 0 included as the first entry).

    Parameters
    ----------
    shape, scale, chunks
        Level 0's shape, physical scale and chunk shape, one value per axis.
    axes
        The image axes; only ``x``, ``y`` and ``z`` space axes are downsampled.
    levels
        Total number of levels wanted. ``None`` keeps halving until the largest
        plane fits one chunk in Y and X.
    """
    names = [a.name.lower() for a in axes]
    types = [a.type for a in axes]
    yx = [i for i, n in enumerate(names) if n in ("y", "x") and types[i] == "space"]
    z = next((i for i, n in enumerate(names) if n == "z" and types[i] == "space"), None)
    plans = [LevelPlan(tuple(shape), tuple(float(s) for s in scale), (1,) * len(shape))]
    while True:
        current = plans[-1]
        if levels is not None:
            if len(plans) >= levels:
                break
        elif not yx or all(current.shape[i] <= chunks[i] for i in yx):
            break
        if not yx or all(current.shape[i] == 1 for i in yx):
            break
        factors = [1] * len(shape)
        for i in yx:
            factors[i] = 2 if current.shape[i] > 1 else 1
        if z is not None and current.shape[z] > 1:
            xy_scale = min(current.scale[i] for i in yx)
            if current.scale[z] <= xy_scale:
                factors[z] = 2
        plans.append(
            LevelPlan(
                shape=tuple(-(-n // f) for n, f in zip(current.shape, factors, strict=True)),
                scale=tuple(s * f for s, f in zip(current.scale, factors, strict=True)),
                factors=tuple(factors),
            )
        )
    if levels is not None and len(plans) < levels:
        why = f"it is 1 pixel in y and x at level {len(plans) - 1}" if yx else "it has no y or x"
        warnings.warn(
            f"{levels} levels asked for, but {why}; writing {len(plans)}",
            OmeconvWarning,
            stacklevel=2,
        )
    return plans


def default_method(dtype: np.dtype) -> Method:
    """``mode`` for booleans (and labels, chosen by the caller), ``mean`` for intensities."""
    return "mode" if dtype == np.bool_ else "mean"


def downsample(block: np.ndarray, factors: Sequence[int], method: Method = "mean") -> np.ndarray:
    """Reduce ``block`` by integer ``factors`` per axis; edge windows use the pixels present.

    ``mean`` rounds integers to the nearest value (ties to even) without overflow and keeps
    the dtype; ``mode`` returns the most frequent value of each window (ties to the smallest);
    ``nearest`` keeps each window's first pixel; ``gaussian`` smooths with a Gaussian of
    sigma ``2 * factor / 6`` per axis (as scikit-image's ``pyramid_reduce``; scipy, edges
    of the block repeated) and then takes the mean.
    """
    if all(f == 1 for f in factors):
        return block
    if method == "mode":
        return _mode(block, factors)
    if method == "nearest":
        return np.ascontiguousarray(block[tuple(slice(None, None, f) for f in factors)])
    if method == "gaussian" and block.dtype.kind in "iuf":
        return _gaussian(block, factors)
    return _mean(block, factors)


def _gaussian(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    import importlib

    from omeconv.errors import UsageError

    try:
        ndimage = importlib.import_module("scipy.ndimage")
    except ImportError:
        raise UsageError("--downsample gaussian needs scipy: pip install scipy") from None
    sigma = [2 * f / 6 if f > 1 else 0.0 for f in factors]
    smooth = ndimage.gaussian_filter(block.astype(np.float64), sigma, mode="nearest")
    out = _mean(smooth, factors)
    if block.dtype.kind == "f":
        return out.astype(block.dtype)
    info = np.iinfo(block.dtype)
    return np.asarray(np.clip(np.rint(out), info.min, info.max).astype(block.dtype))


def _window_sums(block: np.ndarray, factors: Sequence[int], acc: type) -> np.ndarray:
    """Sums over windows, accumulated in ``acc`` without a full-size widened copy."""
    out = block
    for axis, f in enumerate(factors):
        if f > 1:
            out = np.add.reduceat(out, np.arange(0, out.shape[axis], f), axis=axis, dtype=acc)
    return out if out is not block else block.astype(acc)


def _window_counts(shape: Sequence[int], factors: Sequence[int]) -> np.ndarray:
    counts = np.ones((1,) * len(shape), dtype=np.int64)
    for axis, (n, f) in enumerate(zip(shape, factors, strict=True)):
        if f > 1:
            sizes = np.minimum(f, n - np.arange(0, n, f))
            counts = counts * sizes.reshape([-1 if i == axis else 1 for i in range(len(shape))])
    return counts


#: Accumulator of the halving mean per input dtype: wide enough for 8 summed values.
_HALVING_ACC = {
    np.dtype(np.uint8): np.uint32,
    np.dtype(np.uint16): np.uint32,
    np.dtype(np.uint32): np.uint64,
    np.dtype(np.int8): np.int32,
    np.dtype(np.int16): np.int32,
    np.dtype(np.int32): np.int64,
    np.dtype(np.float16): np.float32,
    np.dtype(np.float32): np.float64,
    np.dtype(np.float64): np.float64,
}


def _mean(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    dtype = block.dtype
    if dtype.kind == "b":
        return _mode(block, factors)
    if dtype.kind not in "iuf":
        raise TypeError(f"cannot mean-downsample dtype {dtype}")
    if all(f in (1, 2) for f in factors) and dtype.newbyteorder("=") in _HALVING_ACC:
        return _in_slabs(_mean_halving, block, factors)
    counts = _window_counts(block.shape, factors)
    out: np.ndarray
    if dtype.kind == "f":
        acc: type[np.generic] = np.float64 if dtype.itemsize >= 4 else np.float32
        out = (_window_sums(block, factors, acc) / counts).astype(dtype)
    elif dtype.itemsize <= 4:
        acc = np.float64 if dtype.itemsize == 4 else np.float32
        out = np.rint(_window_sums(block, factors, acc) / counts).astype(dtype)
    else:
        out = _mean_64bit(block, factors, counts)
    return out


#: Bytes of input one step of a slab-wise kernel reads at most (its temporaries are as large).
_SLAB_BYTES = 8 * 2**20


def _in_slabs(
    kernel: Callable[[np.ndarray, Sequence[int]], np.ndarray],
    block: np.ndarray,
    factors: Sequence[int],
) -> np.ndarray:
    """``kernel(block, factors)`` computed slab by slab along the first axis longer than one
    window, so that its wider temporaries stay near :data:`_SLAB_BYTES` however large the
    block. Slabs hold whole windows; only the last may be short, as the block's edge is."""
    axis = next(
        (i for i, (n, f) in enumerate(zip(block.shape, factors, strict=True)) if n > f), None
    )
    if axis is None or block.nbytes <= _SLAB_BYTES:
        return kernel(block, factors)
    f = factors[axis]
    step = max(f, _SLAB_BYTES // (block.nbytes // block.shape[axis]) // f * f)
    n = block.shape[axis]
    if step >= n:
        return kernel(block, factors)
    head = (slice(None),) * axis
    out: np.ndarray | None = None
    for i in range(0, n, step):
        part = kernel(block[(*head, slice(i, i + step))], factors)
        if out is None:
            shape = list(part.shape)
            shape[axis] = -(-n // f)
            out = np.empty(shape, dtype=part.dtype)
        out[(*head, slice(i // f, i // f + part.shape[axis]))] = part
    assert out is not None
    return out


def _mean_halving(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Mean over windows of 2 (or 1) per axis, by adding strided halves.

    An odd edge repeats its last slice: that doubles every pixel of the edge windows
    alike, so their mean stays that of the pixels present, and every window sums
    ``2**k`` values. Integer means round half to even with shifts, exactly.
    """
    dtype = block.dtype
    acc = _HALVING_ACC[dtype.newbyteorder("=")]
    out = block
    k = 0
    for axis, f in enumerate(factors):
        if f != 2:
            continue
        if out.shape[axis] % 2:
            last = out[(slice(None),) * axis + (slice(-1, None),)]
            out = np.concatenate([out, last], axis=axis)
        head = (slice(None),) * axis
        out = np.add(out[(*head, slice(0, None, 2))], out[(*head, slice(1, None, 2))], dtype=acc)
        k += 1
    if k == 0:
        return block
    if dtype.kind == "f":
        out *= 0.5**k
        result: np.ndarray = out.astype(dtype)
        return result
    # round(s / 2**k), ties to even: add 2**(k-1) - 1, plus 1 when the quotient is odd.
    odd = out >> k
    odd &= 1
    odd += (1 << (k - 1)) - 1
    out += odd
    out >>= k
    return np.asarray(out.astype(dtype))


def _mean_64bit(block: np.ndarray, factors: Sequence[int], counts: np.ndarray) -> np.ndarray:
    """Exact rounded mean of 64-bit integers: sum the high and low 32 bits apart."""
    dtype = block.dtype
    high = _window_sums(block >> 32, factors, dtype.type)
    low = _window_sums(block & dtype.type(0xFFFFFFFF), factors, dtype.type)
    cnt = counts.astype(dtype)
    q_high, r_high = np.divmod(high, cnt)
    q_low, rem = np.divmod((r_high << 32) + low, cnt)
    twice = rem * 2
    round_up = (twice > cnt) | ((twice == cnt) & (q_low % 2 == 1))
    with np.errstate(over="ignore"):
        out: np.ndarray = ((q_high << 32) + q_low + round_up.astype(dtype)).astype(dtype)
    return out


def _mode(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Most frequent value per window (ties to the smallest); padding never counts."""
    nd = block.ndim
    out_shape = [-(-n // f) for n, f in zip(block.shape, factors, strict=True)]
    pad = [(0, o * f - n) for o, f, n in zip(out_shape, factors, block.shape, strict=True)]
    split = [d for o, f in zip(out_shape, factors, strict=True) for d in (o, f)]
    order = [2 * i for i in range(nd)] + [2 * i + 1 for i in range(nd)]

    def windows(a: np.ndarray) -> np.ndarray:
        return a.reshape(split).transpose(order).reshape(-1, int(np.prod(factors)))

    values = windows(np.pad(block, pad, mode="edge"))
    valid = windows(np.pad(np.ones(block.shape, bool), pad))
    sort = np.argsort(values, axis=1, kind="stable")
    values = np.take_along_axis(values, sort, axis=1)
    valid = np.take_along_axis(valid, sort, axis=1)
    counts = np.zeros(values.shape, np.int64)
    for j in range(values.shape[1]):
        counts += (values == values[:, j : j + 1]) & valid[:, j : j + 1]
    counts[~valid] = -1
    best = np.argmax(counts, axis=1)
    out: np.ndarray = values[np.arange(values.shape[0]), best].reshape(out_shape)
    return out
