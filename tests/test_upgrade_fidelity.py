"""The upgrade loses nothing a v0.4 store holds: omero extras and nodes outside NGFF.

Each store is checked node by node against its source: every array reads back equal,
element for element, with its attributes; every group keeps its attributes exactly (moved
under ``ome`` in 0.5, as :func:`tests.test_upgrade_moves.expected_v05` says); the output
validates and opens in zarr-python. v0.4 inputs are written with ome-zarr-py and
zarr-python, never with omeconv.
"""

from __future__ import annotations

import json
import shutil
import warnings
from typing import TYPE_CHECKING, Any

import numcodecs
import numpy as np
import pytest
import zarr

import omeconv
from omeconv.errors import OmeconvError, UpgradeError
from omeconv.upgrade import upgrade
from omeconv.validate import validate_store
from tests.test_upgrade import assert_all_v3, make_labelled_image, make_plate, tree_hash, zattrs
from tests.test_upgrade_kill import _count_operations, kill_points, killed_stores
from tests.test_upgrade_moves import assert_same_json, expected_v05, is_valid

if TYPE_CHECKING:
    from pathlib import Path

RICH_OMERO: dict[str, Any] = {
    "id": 7,
    "name": "cells",
    "version": "0.4",
    "rdefs": {"defaultZ": 2, "defaultT": 0, "model": "color", "projection": "intmax"},
    "my-viewer": {"zoom": [1, 2.5]},
    "channels": [
        {
            "color": "FF0000",
            "label": "dapi",
            "window": {"start": 10.0, "end": 900.0, "min": 0.0, "max": 1000.0},
            "active": True,
            "family": "linear",
            "coefficient": 1.0,
            "inverted": False,
            "wavelength_id": "A01_C01",
            "emission": {"nm": 461},
        },
        {
            "color": "00FF00",
            "label": "gfp",
            "window": {"start": 5.0, "end": 800.0, "min": 0.0, "max": 1000.0},
            "active": False,
            "family": "exponential",
            "coefficient": 0.5,
            "inverted": True,
            "wavelength_id": "A01_C02",
        },
    ],
}

MODES = ["copy", "in-place", "rechunk", "v0.4"]


# -- v0.4 stores with more than NGFF -----------------------------------------------------------


def add_table(group: zarr.Group, name: str = "roi") -> None:
    """An AnnData-like table under ``group/tables``: float X, int and string columns, a scalar."""
    tables = group.require_group("tables")
    tables.attrs["tables"] = [*tables.attrs.get("tables", []), name]
    table = tables.create_group(name)
    table.attrs.put({"encoding-type": "anndata", "encoding-version": "0.1.0", "type": "roi"})
    blosc = numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE)
    x = table.create_array("X", shape=(5, 6), dtype="f4", chunks=(3, 4), compressors=blosc)
    x[:] = np.arange(30, dtype="f4").reshape(5, 6) / 7
    x.attrs["encoding-type"] = "array"
    obs = table.create_group("obs")
    obs.attrs.put({"_index": "_index", "column-order": ["count"], "encoding-type": "dataframe"})
    index = obs.create_array("_index", shape=(5,), dtype=str, chunks=(2,), compressors=blosc)
    index[:] = np.array(["FOV_1", "FOV_2", "é", "", "FOV_5"], dtype=object)
    index.attrs["encoding-type"] = "string-array"
    count = obs.create_array("count", shape=(5,), dtype="<i8", chunks=(2,), compressors=blosc)
    count[:] = np.array([3, -1, 2**40, 0, 7])
    count.attrs["encoding-type"] = "array"
    uns = table.create_group("uns")
    uns.attrs["nested"] = {"a": [1, "b"], "c": None}
    scalar = uns.create_array("pixel_size", shape=(), dtype="f8", compressors=None)
    scalar[()] = 0.65


def make_rich_image(path: Path) -> Path:
    """A labelled image plus omero extras, a table, a user array, an unlisted label and
    a directory without metadata that holds an array."""
    make_labelled_image(path)
    root = zarr.open_group(path, mode="a", zarr_format=2)
    root.attrs["omero"] = RICH_OMERO
    add_table(root)
    raw = root.create_array(
        "raw_mask", shape=(10, 12), dtype="u1", chunks=(4, 5), compressors=numcodecs.Zlib(level=3)
    )
    raw[:] = np.arange(120, dtype="u1").reshape(10, 12)
    raw.attrs["note"] = "a user's array beside the levels"
    labels = root["labels"]
    labels.attrs["labels-note"] = {"drawn-by": "me"}
    draft = labels.create_group("draft")
    draft.attrs["draft"] = True
    level = draft.create_array("0", shape=(4, 8, 8), dtype="i4", chunks=(2, 8, 8))
    level[:] = np.arange(256, dtype="i4").reshape(4, 8, 8)
    deep = root.create_array("extras/deep/values", shape=(7,), dtype="u2", chunks=(3,))
    deep[:] = np.arange(7, dtype="u2") * 1000
    for name in (".zgroup", ".zattrs"):
        (path / "extras" / name).unlink(missing_ok=True)  # an implicit group
    return path


def make_rich_plate(path: Path) -> Path:
    """A plate with attributes on a row group, an extra group in a well and a table."""
    make_plate(path)
    root = zarr.open_group(path, mode="a", zarr_format=2)
    root.attrs["screen"] = {"id": 3}
    root["A"].attrs["row-note"] = 1
    qc = root["A/1"].create_group("qc")
    qc.attrs["passed"] = [True, False]
    flags = qc.create_array("flags", shape=(2, 3), dtype="bool", chunks=(1, 3))
    flags[:] = [[True, False, True], [False, False, True]]
    add_table(root["B/2/0"])
    return path


# -- checks ------------------------------------------------------------------------------------


def v2_nodes(root: Path) -> dict[str, str]:
    """Every v2 node below ``root``: ``"array"`` or ``"group"`` by path."""
    nodes = {}
    for meta in sorted([*root.rglob(".zarray"), *root.rglob(".zgroup"), *root.rglob(".zattrs")]):
        path = meta.parent.relative_to(root).as_posix()
        kind = "array" if (meta.parent / ".zarray").exists() else "group"
        nodes["" if path == "." else path] = kind
    return nodes


def _values(array: zarr.Array) -> Any:
    data = array[...]
    return data.tolist() if data.dtype.kind in "OT" else data


def assert_fidelity(source: Path, out: Path, version: str) -> None:
    """Every node of the v0.4 ``source`` is in ``out`` with equal values and attributes:
    array attributes the same, group attributes the same (0.4) or moved (0.5), as parsed
    JSON with types and key order. The output is valid where the source was."""
    if is_valid(source):
        assert validate_store(str(out)) == version
    else:
        assert not is_valid(out)
    tree = zarr.open_group(out, mode="r", zarr_format=3 if version == "0.5" else 2)
    members: dict[str, Any] = {"": tree, **dict(tree.members(max_depth=None))}
    for path, kind in v2_nodes(source).items():
        assert path in members, f"{path} is missing"
        node = members[path]
        before = zattrs(source / path) if (source / path / ".zattrs").exists() else {}
        if kind == "array":
            assert isinstance(node, zarr.Array), path
            old = zarr.open_array(source / path, mode="r", zarr_format=2)
            assert node.shape == old.shape, path
            np.testing.assert_array_equal(_values(node), _values(old), err_msg=path)
            assert_same_json(dict(node.attrs), before, path)
            continue
        assert isinstance(node, zarr.Group), path
        want = expected_v05(before) if version == "0.5" else before
        assert_same_json(_stored_attrs(out, path, version), want, path or "/")


def _stored_attrs(out: Path, path: str, version: str) -> dict[str, Any]:
    """A group's attributes as written (zarr's views may not keep key order)."""
    if version == "0.5":
        return dict(json.loads((out / path / "zarr.json").read_text())["attributes"])
    file = out / path / ".zattrs"
    return dict(json.loads(file.read_text())) if file.exists() else {}


def upgraded(source: Path, tmp_path: Path, mode: str) -> tuple[Path, str]:
    """``source`` upgraded by ``mode``; a reference copy of it is kept beside."""
    shutil.copytree(source, tmp_path / "reference.zarr")
    out = tmp_path / "out.zarr"
    if mode == "in-place":
        upgrade(source, in_place=True)
        return source, "0.5"
    if mode == "v0.4":
        omeconv.convert(source, out, ome_version="0.4")
        return out, "0.4"
    upgrade(source, out, rechunk=mode == "rechunk")
    return out, "0.5"


# -- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make", [make_rich_image, make_rich_plate], ids=["image", "plate"])
def test_everything_survives(tmp_path: Path, make: Any, mode: str) -> None:
    source = make(tmp_path / "in.zarr")
    out, version = upgraded(source, tmp_path, mode)
    assert_fidelity(tmp_path / "reference.zarr", out, version)
    if version == "0.5":
        assert_all_v3(out)


@pytest.mark.parametrize("mode", MODES)
def test_fractal_tables_survive(corpus: Path, tmp_path: Path, mode: str) -> None:
    source = tmp_path / "in.zarr"
    shutil.copytree(corpus / "zarr-v04/fractal/plate_ones.zarr", source)
    assert "B/03/0/tables/FOV_ROI_table/obs/_index" in v2_nodes(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SHOULD rules the fractal store leaves out
        out, version = upgraded(source, tmp_path, mode)
        assert_fidelity(tmp_path / "reference.zarr", out, version)
    if version == "0.5" and mode != "rechunk":
        doc = json.loads((out / "B/03/0/tables/FOV_ROI_table/obs/_index/zarr.json").read_text())
        assert doc["data_type"] == "string"
        assert [c["name"] for c in doc["codecs"]] == ["vlen-utf8", "blosc"]


@pytest.mark.parametrize("name", ["4007801.zarr", "9798462.zarr"])
def test_corpus_rdefs_survive(corpus: Path, tmp_path: Path, name: str) -> None:
    """The omero block of an IDR image (rdefs, id, version) on generated pixels."""
    omero = zattrs(corpus / "zarr-v04/yaozarrs-metadata-only" / name)["omero"]
    source = tmp_path / "in.zarr"
    group = zarr.open_group(source, mode="w", zarr_format=2)
    level = group.create_array("0", shape=(len(omero["channels"]), 16, 16), dtype="u1")
    level[:] = np.arange(level.size, dtype="u1").reshape(level.shape)
    axes = [{"name": "c", "type": "channel"}] + [
        {"name": n, "type": "space", "unit": "micrometer"} for n in "yx"
    ]
    scale = [{"type": "scale", "scale": [1.0, 0.5, 0.5]}]
    dataset = {"path": "0", "coordinateTransformations": scale}
    group.attrs.put(
        {
            "multiscales": [{"version": "0.4", "axes": axes, "datasets": [dataset]}],
            "omero": omero,
        }
    )
    for mode in ("copy", "v0.4"):
        out, version = upgraded(source, tmp_path / mode, mode)
        assert_fidelity(tmp_path / mode / "reference.zarr", out, version)


def test_dry_run_lists_carried_nodes(tmp_path: Path) -> None:
    source = make_rich_image(tmp_path / "in.zarr")
    before = tree_hash(tmp_path)
    for text in (
        upgrade(source, tmp_path / "out.zarr", dry_run=True),
        upgrade(source, in_place=True, dry_run=True),
    ):
        for path in ("tables/roi/obs/_index", "raw_mask", "labels/draft", "extras"):
            assert any(path in line and "carried" in line for line in text.splitlines()), path
        assert "string [5] [vlen-utf8, blosc]" in text
    assert tree_hash(tmp_path) == before


def test_unmappable_table_codec(tmp_path: Path) -> None:
    """A table array whose codec has no v3 twin: copy and in place refuse before writing,
    re-encoding carries it."""
    source = make_rich_image(tmp_path / "in.zarr")
    meta = json.loads((source / "tables/roi/X/.zarray").read_text())
    data = zarr.open_array(source / "tables/roi/X", mode="r")[...]
    meta["compressor"] = {"id": "base64"}
    (source / "tables/roi/X/.zarray").write_text(json.dumps(meta))
    zarr.open_array(source / "tables/roi/X", mode="r+", zarr_format=2)[:] = data
    before = tree_hash(tmp_path)
    for kwargs in ({"dest": tmp_path / "out.zarr"}, {"in_place": True}):
        with pytest.raises(UpgradeError, match=r"tables/roi/X.*base64") as info:
            upgrade(source, **kwargs)  # type: ignore[arg-type]
        assert "\n" not in str(info.value)
    assert tree_hash(tmp_path) == before
    upgrade(source, tmp_path / "out.zarr", rechunk=True)
    assert_fidelity(source, tmp_path / "out.zarr", "0.5")


def test_unreadable_object_array_is_one_line_error(tmp_path: Path) -> None:
    source = make_rich_image(tmp_path / "in.zarr")
    meta = json.loads((source / "tables/roi/obs/_index/.zarray").read_text())
    meta["filters"] = [{"id": "json2"}]
    (source / "tables/roi/obs/_index/.zarray").write_text(json.dumps(meta))
    before = tree_hash(tmp_path)
    for kwargs in ({"dest": tmp_path / "out.zarr"}, {"in_place": True}):
        with pytest.raises(OmeconvError, match="obs/_index") as info:
            upgrade(source, **kwargs)  # type: ignore[arg-type]
        assert "\n" not in str(info.value)
    assert tree_hash(tmp_path) == before


def test_extra_array_where_a_new_level_goes(tmp_path: Path) -> None:
    """A copy computes the label's missing level ``2``; a stray array there is refused."""
    source = make_labelled_image(tmp_path / "in.zarr", label_levels=2)
    stray = zarr.open_group(source, mode="a", zarr_format=2)
    stray.create_array("labels/cells/2", shape=(3,), dtype="u1")
    with pytest.raises(OmeconvError, match=r"labels/cells/2: .*new pyramid level") as info:
        upgrade(source, tmp_path / "out.zarr")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out.zarr").exists()


@pytest.mark.parametrize("stride", [pytest.param(2, marks=pytest.mark.slow), 9])
def test_kill_in_place_with_extra_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stride: int
) -> None:
    """Killed at any file operation, a store with tables and user arrays opens as 0.4 or
    0.5 with every array intact, and running again finishes it losing nothing."""
    reference = make_rich_image(tmp_path / "reference.zarr")
    probe = tmp_path / "probe.zarr"
    shutil.copytree(reference, probe)
    total = _count_operations(probe, monkeypatch)
    assert_fidelity(reference, probe, "0.5")
    versions: set[str] = set()
    for store in killed_stores(reference, tmp_path, kill_points(total, stride)):
        versions.add(_check_killed(store, reference))
        upgrade(store, in_place=True)  # the same command again finishes the job
        assert_fidelity(reference, store, "0.5")
        assert_all_v3(store)
        shutil.rmtree(store)
    assert versions == {"0.4", "0.5"}


def _check_killed(store: Path, reference: Path) -> str:
    """A killed store opens as 0.4 with every v2 array intact, or as a complete 0.5 store."""
    version = validate_store(str(store))
    if version == "0.5":
        assert_fidelity(reference, store, "0.5")
        return version
    for path, kind in v2_nodes(reference).items():
        if kind == "array":
            before = zarr.open_array(reference / path, mode="r", zarr_format=2)
            after = zarr.open_array(store / path, mode="r", zarr_format=2)
            np.testing.assert_array_equal(_values(after), _values(before), err_msg=path)
    return version
