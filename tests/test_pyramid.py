"""Pyramid planning and the downsampling kernels, checked against independent numpy code."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from omeconv import pyramid
from omeconv.errors import OmeconvWarning
from omeconv.model import Axis
from omeconv.pyramid import default_method, downsample, plan_levels

INTS = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
FLOATS = ["float16", "float32", "float64"]
FACTORS = [(2, 2, 2), (1, 2, 2), (2, 1, 1), (3, 2, 1), (1, 1, 1)]


def _windows(a: np.ndarray, factors: tuple[int, ...]) -> dict[tuple[int, ...], np.ndarray]:
    """Every output index with the input pixels of its window (edge windows are smaller)."""
    out_shape = [-(-n // f) for n, f in zip(a.shape, factors, strict=True)]
    return {
        idx: a[tuple(slice(i * f, (i + 1) * f) for i, f in zip(idx, factors, strict=True))]
        for idx in itertools.product(*(range(n) for n in out_shape))
    }


def reference_mean(a: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """Mean of the pixels present, in exact rationals for integers (rounded half to even)."""
    from fractions import Fraction

    windows = _windows(a, factors)
    out = np.empty([-(-n // f) for n, f in zip(a.shape, factors, strict=True)], a.dtype)
    for idx, w in windows.items():
        if a.dtype.kind == "f":
            out[idx] = np.float64(w.astype(np.float64).sum()) / w.size
        else:
            out[idx] = round(Fraction(sum(int(v) for v in w.ravel()), w.size))  # half to even
    return out


def reference_mode(a: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    out = np.empty([-(-n // f) for n, f in zip(a.shape, factors, strict=True)], a.dtype)
    for idx, w in _windows(a, factors).items():
        counts = Counter(w.ravel().tolist())
        top = max(counts.values())
        out[idx] = min(v for v, c in counts.items() if c == top)
    return out


def _random(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("factors", FACTORS, ids=str)
@pytest.mark.parametrize("dtype", INTS + FLOATS)
def test_mean_matches_reference(dtype: str, factors: tuple[int, ...]) -> None:
    a = _random(dtype, (5, 7, 9))  # odd edges on every axis
    got = downsample(a, factors, "mean")
    assert got.dtype == a.dtype
    expected = reference_mean(a, factors)
    if dtype == "float64":
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("shape", "factors"),
    [((4, 7, 9), (1, 2, 2)), ((9, 5, 6), (2, 2, 2)), ((1, 11, 8, 6), (1, 2, 1, 2))],
    ids=str,
)
@pytest.mark.parametrize("dtype", ["uint16", "int32", "float32"])
def test_mean_in_slabs_equals_reference(
    monkeypatch: pytest.MonkeyPatch, dtype: str, shape: tuple[int, ...], factors: tuple[int, ...]
) -> None:
    """Slabs of any size (odd edges on the slab axis included) give the whole block's mean."""
    a = _random(dtype, shape, seed=4)
    for slab in (1, a.nbytes // 3, a.nbytes):
        monkeypatch.setattr(pyramid, "_SLAB_BYTES", slab)
        got = downsample(a, factors, "mean")
        assert got.dtype == a.dtype
        np.testing.assert_array_equal(got, reference_mean(a, factors), err_msg=f"slab {slab}")


def test_mean_rounds_ties_to_even() -> None:
    a = np.array([[0, 1, 1, 2, 2, 3, 5, 6]], np.uint8)  # means 0.5, 1.5, 2.5, 5.5
    np.testing.assert_array_equal(downsample(a, (1, 2)), [[0, 2, 2, 6]])
    b = np.array([[-1, -2, -3, -4]], np.int16)  # -1.5, -3.5
    np.testing.assert_array_equal(downsample(b, (1, 2)), [[-2, -4]])


def test_mean_extremes_do_not_overflow() -> None:
    for dtype in INTS:
        info = np.iinfo(dtype)
        a = np.full((3, 3, 3), info.max, dtype)
        assert (downsample(a, (2, 2, 2)) == info.max).all()
        a[:] = info.min
        assert (downsample(a, (2, 2, 2)) == info.min).all()


@pytest.mark.parametrize("factors", FACTORS, ids=str)
@pytest.mark.parametrize("dtype", ["uint8", "int32", "uint64", "bool"])
def test_mode_matches_reference(dtype: str, factors: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, size=(5, 7, 9)).astype(dtype)  # few values: many ties
    got = downsample(a, factors, "mode")
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(got, reference_mode(a, factors))


def test_bool_mean_is_mode() -> None:
    a = np.array([[True, True, False, True, False, False]])
    assert default_method(a.dtype) == "mode"
    np.testing.assert_array_equal(downsample(a, (1, 3), "mean"), [[True, False]])


def _axes(names: str) -> list[Axis]:
    return [Axis.named(n) for n in names]


def test_plan_halves_xy_until_one_chunk() -> None:
    plans = plan_levels((2, 10, 1000, 600), _axes("czyx"), (1, 1, 1, 1), (1, 10, 256, 256))
    assert [p.shape for p in plans] == [
        (2, 10, 1000, 600),
        (2, 5, 500, 300),
        (2, 3, 250, 150),
    ]
    assert plans[1].factors == (1, 2, 2, 2)
    assert plans[2].scale == (1, 4, 4, 4)


def test_plan_halves_z_once_xy_is_as_coarse() -> None:
    plans = plan_levels((64, 2048, 2048), _axes("zyx"), (1.0, 0.325, 0.325), (16, 256, 256))
    assert [p.factors for p in plans[1:]] == [(1, 2, 2), (1, 2, 2), (2, 2, 2)]
    assert plans[-1].shape == (32, 256, 256)
    assert plans[-1].scale == pytest.approx((2.0, 2.6, 2.6))


def test_plan_fixed_level_count_and_single_pixel_stop() -> None:
    with pytest.warns(OmeconvWarning, match=r"10 levels asked for, but it is 1 pixel in y and x"):
        assert len(plan_levels((3, 3), _axes("yx"), (1, 1), (1, 1), levels=10)) == 3  # 3 -> 2 -> 1
    with pytest.warns(OmeconvWarning, match=r"but it has no y or x; writing 1"):
        assert len(plan_levels((5, 4), _axes("ct"), (1, 1), (1, 1), levels=2)) == 1
    assert len(plan_levels((64, 64), _axes("yx"), (1, 1), (8, 8), levels=2)) == 2
    assert len(plan_levels((5, 4), _axes("ct"), (1, 1), (1, 1))) == 1  # nothing to halve
