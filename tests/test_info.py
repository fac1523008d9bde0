"""``omeconv info``: text and ``--json`` summaries of stores (local and URL) and source files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile
import zarr

import omeconv
from omeconv.emit.write import PRESETS
from omeconv.errors import SourceNotFoundError
from omeconv.info import describe, summarize
from tests.cli_runs import info_json

if TYPE_CHECKING:
    from pathlib import Path


def _written(dest: Path | str, version: str = "0.5", shards: bool = False) -> np.ndarray:
    data = np.random.default_rng(1).integers(0, 4000, (2, 5, 70, 90), dtype=np.uint16)
    image = omeconv.read(
        data,
        axes="czyx",
        scale={"z": 2.0, "y": 0.5, "x": 0.5},
        units={"z": "micrometer", "y": "micrometer", "x": "micrometer"},
        channel_names=["dapi", "gfp"],
    )
    omeconv.write(
        image, dest, ome_version=version, levels=3, chunks={"z": 1, "y": 32, "x": 32}, shards=shards
    )
    return data


@pytest.mark.parametrize(("version", "shards"), [("0.5", False), ("0.5", True), ("0.4", False)])
def test_json_matches_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str, shards: bool
) -> None:
    out = tmp_path / "img.ome.zarr"
    data = _written(out, version, shards)
    summary = info_json(out, capsys)
    assert summary["kind"] == "store"
    assert summary["ome_version"] == version
    assert summary["zarr_format"] == (3 if version == "0.5" else 2)
    root = summary["root"]
    assert root["kind"] == "image"
    assert [a["name"] for a in root["axes"]] == ["c", "z", "y", "x"]
    assert [a["unit"] for a in root["axes"]] == [None, "micrometer", "micrometer", "micrometer"]
    assert [ch["label"] for ch in root["channels"]] == ["dapi", "gfp"]
    assert root["channels"][1]["window"]["end"] == float(data[1].max())
    group = zarr.open_group(out, mode="r")
    assert len(root["levels"]) == 3
    for level in root["levels"]:
        array = group[level["path"]]
        assert level["array"]["shape"] == list(array.shape)
        assert level["array"]["chunks"] == list(array.chunks)
        assert (level["array"]["shards"] is not None) == shards
    assert root["levels"][1]["scale"] == [1.0, 2.0, 1.0, 1.0]


def test_text_names_levels_chunks_and_channels(tmp_path: Path) -> None:
    out = tmp_path / "img.ome.zarr"
    _written(out, shards=True)
    text = describe(out).splitlines()
    assert text[0] == f"{out}: OME-Zarr 0.5 (Zarr v3)"
    assert "  units: z=micrometer, y=micrometer, x=micrometer" in text
    level0 = next(line for line in text if "level 0:" in line)
    assert "shape (2, 5, 70, 90) uint16 chunks (1, 1, 32, 32)" in level0
    assert "shards" in level0
    assert any(line.startswith("  channel 1: gfp color ") for line in text)


def test_url_store_is_summarized_from_its_documents() -> None:
    url = "memory://omeconv-info/img.ome.zarr"
    _written(url)
    summary = summarize(url)
    assert summary["ome_version"] == "0.5"
    assert summary["root"]["levels"][0]["array"]["shape"] == [2, 5, 70, 90]


def test_plate_lists_every_well(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = corpus / "zarr-v04/ome-zarr-examples/valid/plate-01.zarr"
    summary = info_json(store, capsys)
    plate = summary["root"]
    assert plate["kind"] == "plate"
    attrs = json.loads((store / ".zattrs").read_text())["plate"]
    assert [w["path"] for w in plate["wells"]] == [w["path"] for w in attrs["wells"]]
    first = plate["wells"][0]
    assert first["first_field"]["kind"] == "image"
    well_attrs = json.loads((store / first["path"] / ".zattrs").read_text())["well"]
    assert first["fields"] == [f["path"] for f in well_attrs["images"]]


def test_source_file_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cells.ome.tif"
    data = np.zeros((3, 4, 32, 48), dtype=np.uint8)
    tifffile.imwrite(
        path,
        data,
        metadata={"axes": "CZYX", "PhysicalSizeX": 0.25, "Channel": {"Name": ["a", "b", "c"]}},
    )
    summary = info_json(path, capsys)
    assert summary["kind"] == "source"
    assert summary["ome_xml"] is True
    (image,) = summary["images"]
    assert image["levels"][0]["shape"] == [3, 4, 32, 48]
    assert image["levels"][0]["scale"][-1] == 0.25
    assert [ch["label"] for ch in image["channels"]] == ["a", "b", "c"]


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        summarize(tmp_path / "nope.zarr")


def _disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_sizes_codec_and_dtype_are_reported_alike_for_both_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    out = tmp_path / "img.ome.zarr"
    data = _written(out, version)
    root = info_json(out, capsys)["root"]
    level0 = root["levels"][0]["array"]
    assert level0["dtype"] == "uint16"
    assert level0["nbytes"] == data.nbytes
    assert level0["stored_bytes"] == _disk_bytes(out / root["levels"][0]["path"])
    assert root["stored_bytes"] == sum(_disk_bytes(out / lv["path"]) for lv in root["levels"])
    assert root["ratio"] == pytest.approx(root["nbytes"] / root["stored_bytes"], rel=1e-3)
    cname, clevel = PRESETS["balanced"]
    assert f"cname={cname}" in level0["codec"]
    assert f"clevel={clevel}" in level0["codec"]
    assert root["chunks_missing"] == 0
    text = describe(out)
    assert "of pixels" in text
    assert "stored (ratio" in text


def test_codec_settings_tell_lz4_from_zstd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    omeconv.convert(data, tmp_path / "a.zarr", compression="lz4", clevel=3)
    level0 = info_json(tmp_path / "a.zarr", capsys)["root"]["levels"][0]["array"]
    assert "cname=lz4" in level0["codec"]
    assert "clevel=3" in level0["codec"]


def test_absent_chunks_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "img.ome.zarr"
    data = np.random.default_rng(0).integers(1, 100, (64, 64), dtype=np.uint8)
    omeconv.convert(data, out, chunks=(32, 32), levels=1)
    chunk_files = sorted(f for f in (out / "0").rglob("*") if f.is_file() and f.name != "zarr.json")
    assert len(chunk_files) == 4
    chunk_files[0].unlink()
    summary = info_json(out, capsys)["root"]
    assert summary["levels"][0]["array"]["chunks_total"] == 4
    assert summary["levels"][0]["array"]["chunks_present"] == 3
    assert summary["chunks_missing"] == 1
    assert "1 chunks absent" in describe(out)


def test_labels_are_described_with_their_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "img.tif"
    mask = tmp_path / "mask.tif"
    tifffile.imwrite(image, np.zeros((64, 64), np.uint16))
    tifffile.imwrite(mask, (np.arange(64 * 64).reshape(64, 64) % 7).astype(np.uint8))
    out = tmp_path / "img.ome.zarr"
    omeconv.convert(str(image), out, labels={"cells": str(mask)}, levels=2, chunks=(32, 32))
    root = info_json(out, capsys)["root"]
    (label,) = root["label_images"]
    assert label["path"] == "labels/cells"
    assert [lv["array"]["shape"] for lv in label["levels"]] == [[64, 64], [32, 32]]
    assert {lv["array"]["dtype"] for lv in label["levels"]} == {"uint8"}
    assert "label cells:" in describe(out)


def test_collection_says_which_path_to_open(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = corpus / "zarr-v04/ome-zarr-py-bf2raw/fake-series-2.zarr"
    root = info_json(store, capsys)["root"]
    assert root["kind"] == "bioformats2raw"
    assert root["open"] == [f"{store}/0", f"{store}/1"]
    assert f"{store}/0" in describe(store)
