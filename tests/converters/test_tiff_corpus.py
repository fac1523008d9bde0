"""Every corpus TIFF (except tiff/malformed) converts and validates, or fails in one line."""

from __future__ import annotations

import itertools
import json
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from omeconv.api import convert
from omeconv.errors import UnsupportedSourceError
from omeconv.validate import validate_store
from tests.conftest import CORPUS
from tests.factories import group_attrs, read_level

if TYPE_CHECKING:
    from pathlib import Path

#: Files tifffile cannot decode, with the reason omeconv must give.
UNSUPPORTED = {
    "generic/image-tiff/logluv-3c-16b.tiff": "SGILOG",
    "generic/libtiffpic/dscf0013.tif": "chroma subsampling",
}
#: Larger than a few hundred kilobytes: run with ``-m slow``.
SLOW_BYTES = 400_000


def _entries() -> list[dict]:
    manifest = CORPUS / "tiff" / "MANIFEST.json"
    if not manifest.exists():
        return []
    return [e for e in json.loads(manifest.read_text()) if e["category"] != "malformed"]


def _params() -> list:
    out = []
    for e in _entries():
        rel = e["file"].removeprefix("tiff/")
        marks = [pytest.mark.slow] if e["size"] > SLOW_BYTES else []
        out.append(pytest.param(rel, id=rel, marks=marks))
    return out


def _expected(src: Path, stored: np.ndarray) -> np.ndarray:
    """tifffile's pixels of the first series, its axes permuted to the stored layout.

    Length-1 axes are dropped on both sides; of the axis orders giving the stored shape,
    the one equal to the stored pixels is returned (the first, if none is).
    """
    companions = list(src.parent.glob("*.companion.ome"))
    if companions:  # a multi-file set: every file reads as the whole set
        xml = companions[0].read_text()
        target_file = src if src.suffix != ".ome" else next(src.parent.glob("*.tif*"))
        with tifffile.TiffFile(target_file, omexml=xml) as tf:
            ref = tf.series[0].asarray()
    else:
        ref = tifffile.imread(src, series=0)
    ref = ref.reshape([n for n in ref.shape if n != 1])
    target = tuple(n for n in stored.shape if n != 1)
    first = None
    for order in itertools.permutations(range(ref.ndim)):
        candidate = ref.transpose(order)
        if candidate.shape != target:
            continue
        first = candidate if first is None else first
        if np.array_equal(candidate, stored.reshape(target)):
            return candidate
    assert first is not None, f"stored shape {stored.shape} fits no order of {ref.shape}"
    return first


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("rel", _params())
def test_corpus_tiff(corpus: Path, tmp_path: Path, rel: str, version: str) -> None:
    src = corpus / "tiff" / rel
    out = tmp_path / "out.ome.zarr"
    if rel in UNSUPPORTED:
        with pytest.raises(UnsupportedSourceError, match=UNSUPPORTED[rel]) as info:
            convert(src, out, ome_version=version)
        assert "\n" not in str(info.value)
        assert not out.exists()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert(src, out, ome_version=version)
    assert validate_store(str(out)) == version
    root = group_attrs(out)
    image = out / "0" if "bioformats2raw.layout" in root else out
    multiscale = group_attrs(image)["multiscales"][0]
    stored = read_level(image / multiscale["datasets"][0]["path"])
    assert len(multiscale["axes"]) == stored.ndim
    np.testing.assert_array_equal(stored.ravel(), _expected(src, stored).ravel())
    if src.suffix == ".ome" or tifffile.TiffFile(src).is_ome:
        assert (out / "OME" / "METADATA.ome.xml").exists()
