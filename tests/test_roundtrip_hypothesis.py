"""Property: read -> write -> read returns the same pixels and metadata (v0.4 and v0.5).

Random shapes, dtypes, axes (in any input order), chunk sizes and level counts.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import omeconv
from omeconv.errors import OmeconvWarning
from omeconv.validate import validate_store

NGFF_ORDER = "tczyx"
TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
UNITS = {"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"}
DTYPES = ["uint8", "int8", "uint16", "int16", "int32", "float32", "float64"]
MAX_SIZE = {"t": 2, "c": 3, "z": 5, "y": 40, "x": 40}
#: Smallest chunk along y and x (when the image is larger): keeps the file count modest.
MIN_PLANE_CHUNK = 12


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    extra = draw(st.lists(st.sampled_from("tcz"), unique=True, max_size=3))
    names = [a for a in NGFF_ORDER if a in extra or a in "yx"]
    order = draw(st.permutations(names))  # the input's axis order
    shape = {a: draw(st.integers(1, MAX_SIZE[a])) for a in names}
    chunks = {
        a: draw(st.integers(min(shape[a], MIN_PLANE_CHUNK) if a in "yx" else 1, shape[a]))
        for a in names
    }
    scale = {a: draw(st.sampled_from([0.25, 0.5, 1.0, 3.0])) for a in names if a != "c"}
    return {
        "order": "".join(order),
        "names": "".join(names),
        "shape": shape,
        "chunks": chunks,
        "scale": scale,
        "dtype": draw(st.sampled_from(DTYPES)),
        "levels": draw(st.integers(1, 3)),
        "version": draw(st.sampled_from(["0.4", "0.5"])),
        "seed": draw(st.integers(0, 2**16)),
    }


def _pixels(case: dict[str, Any]) -> np.ndarray:
    rng = np.random.default_rng(case["seed"])
    shape = tuple(case["shape"][a] for a in case["order"])
    dtype = np.dtype(case["dtype"])
    if dtype.kind == "f":
        return rng.normal(0, 1000, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _attrs(path: Path) -> dict[str, Any]:
    attrs = dict(zarr.open_group(path, mode="r").attrs)
    return attrs.get("ome", attrs)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(case=cases())
def test_read_write_read(case: dict[str, Any]) -> None:
    data = _pixels(case)
    names = case["names"]
    image = omeconv.read(
        data,
        axes=case["order"],
        scale=case["scale"],
        units={a: UNITS[a] for a in names if a in UNITS},
    )
    expected = np.transpose(data, [case["order"].index(a) for a in names])
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", OmeconvWarning)
        out = Path(tmp) / "img.ome.zarr"
        omeconv.write(
            image,
            out,
            ome_version=case["version"],
            chunks={a: case["chunks"][a] for a in names},
            levels=case["levels"],
        )
        assert validate_store(str(out)) == case["version"]
        meta = _attrs(out)
        multiscale = meta["multiscales"][0]
        # axes: NGFF order, names, types and units as given
        assert [a["name"] for a in multiscale["axes"]] == list(names)
        assert [a.get("type") for a in multiscale["axes"]] == [TYPES[a] for a in names]
        assert [a.get("unit") for a in multiscale["axes"]] == [UNITS.get(a) for a in names]
        datasets = multiscale["datasets"]
        assert 1 <= len(datasets) <= case["levels"]
        scale0 = datasets[0]["coordinateTransformations"][0]["scale"]
        assert scale0 == [case["scale"].get(a, 1.0) for a in names]
        # level 0: the same pixels, in the chunks asked for
        level0 = zarr.open_array(out / datasets[0]["path"], mode="r")
        assert level0.dtype == data.dtype
        assert level0.chunks == tuple(case["chunks"][a] for a in names)
        np.testing.assert_array_equal(level0[...], expected)
        # lower levels: each a downsampling of the one above, as its scale says
        previous, prev_scale = expected.shape, scale0
        for ds in datasets[1:]:
            lower = zarr.open_array(out / ds["path"], mode="r")
            lower_scale = ds["coordinateTransformations"][0]["scale"]
            factors = [round(s / p) for s, p in zip(lower_scale, prev_scale, strict=True)]
            assert lower.shape == tuple(
                math.ceil(n / f) for n, f in zip(previous, factors, strict=True)
            )
            previous, prev_scale = lower.shape, lower_scale
        if case["version"] == "0.4":
            back = omeconv.read(out)
            assert "".join(a.name for a in back.axes) == names
            assert len(back.levels) == len(datasets)
            np.testing.assert_array_equal(np.asarray(back.levels[0].data), expected)
            assert tuple(back.levels[0].scale) == tuple(scale0)


def test_strategy_covers_both_versions() -> None:
    """Guard: the strategy reaches both versions and several dtypes (derandomized)."""
    seen: set[tuple[str, str]] = set()

    @settings(max_examples=60, derandomize=True, deadline=None)
    @given(case=cases())
    def collect(case: dict[str, Any]) -> None:
        seen.add((case["version"], case["dtype"]))

    collect()
    assert {v for v, _ in seen} == {"0.4", "0.5"}
    assert len({d for _, d in seen}) >= 4


pytestmark = pytest.mark.filterwarnings("ignore::omeconv.errors.OmeconvWarning")
