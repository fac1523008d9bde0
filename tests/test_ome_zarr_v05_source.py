"""OME-Zarr 0.5 (Zarr v3) stores as a source: read like 0.4, converted to 0.4 and to 0.5.

0.5 inputs are written by omeconv (v0.4 stores from ome-zarr-py and zarr-python, upgraded,
sharded or not) or come from the corpus (``zarr-v05``). Every output is checked against its
input node by node: arrays equal element for element with their attributes, NGFF metadata
equal but for the version, other attributes as they were; it validates and opens in zarr.
"""

from __future__ import annotations

import json
import shutil
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr

import omeconv
from omeconv.cli import main
from omeconv.converters import get_converter, guess_converter
from omeconv.emit import emit
from omeconv.errors import CorruptSourceError, SourceError, UnsupportedSourceError, UpgradeError
from omeconv.upgrade import upgrade
from omeconv.validate import validate_store
from tests.test_upgrade import make_plate, tree_hash
from tests.test_upgrade_fidelity import assert_fidelity, make_rich_image, make_rich_plate
from tests.test_upgrade_moves import expected_v05, is_valid

if TYPE_CHECKING:
    from pathlib import Path

    from omeconv.model import Image

#: Keys NGFF 0.4 puts beside the metadata it versions; 0.5 has one ``ome.version``.
_VERSIONED = ("multiscales", "plate", "well", "image-label")
_NGFF_V04 = frozenset({*_VERSIONED, "omero", "labels", "bioformats2raw.layout", "series"})


# -- 0.5 inputs written by omeconv -------------------------------------------------------------


def v05_store(tmp_path: Path, kind: str) -> Path:
    """A 0.5 store: ``image`` (labels, tables, user arrays, level attributes, translations),
    ``sharded`` (the same, sharded) or ``plate`` (with a table and extra groups)."""
    v04 = tmp_path / "v04.zarr"
    if kind == "plate":
        make_rich_plate(v04)
    else:
        make_rich_image(v04)
        _add_translations(v04)
        level = zarr.open_array(v04 / "s1", mode="r+", zarr_format=2)
        level.attrs["level-note"] = {"binned": 2}
    out = tmp_path / f"{kind}.ome.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        upgrade(v04, out, shards=kind == "sharded")
    shutil.rmtree(v04)
    return out


def _add_translations(root: Path) -> None:
    attrs = json.loads((root / ".zattrs").read_text())
    for i, ds in enumerate(attrs["multiscales"][0]["datasets"]):
        translation = {"type": "translation", "translation": [0.0, 0.5, 0.25 * i, 1.5 * i]}
        ds["coordinateTransformations"][1:] = [translation]  # one translation per dataset
    (root / ".zattrs").write_text(json.dumps(attrs))


def convert(source: Path, out: Path, version: str, **options: Any) -> Path:
    """``source`` converted quietly, its pyramid kept as it is (``levels=1``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        omeconv.convert(source, out, ome_version=version, levels=1, **options)
    return out


# -- checks ------------------------------------------------------------------------------------


def nodes(root: Path) -> dict[str, Any]:
    """Every group and array of the store at ``root`` by path, whatever its zarr format."""
    group = zarr.open_group(root, mode="r")
    return {"": group, **dict(group.members(max_depth=None))}


def ngff_and_rest(node: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(NGFF metadata without versions, other attributes)`` of a 0.4 or 0.5 group."""
    attrs = dict(node.attrs)
    if node.metadata.zarr_format == 3:
        ngff = attrs.pop("ome", {})
    else:
        ngff = {k: attrs.pop(k) for k in list(attrs) if k in _NGFF_V04 or k == "version"}
    ngff.pop("version", None)
    for key in _VERSIONED:
        if key == "multiscales" and key in ngff:
            ngff[key] = [{k: v for k, v in ms.items() if k != "version"} for ms in ngff[key]]
        elif key in ngff:
            ngff[key] = {k: v for k, v in ngff[key].items() if k != "version"}
    return ngff, attrs


def placements(image: Image) -> list[tuple[str | None, tuple[float, ...], tuple[float, ...]]]:
    """Path, scale and translation (zeros when absent) of each level."""
    return [(lv.path, lv.scale, lv.translation or (0.0,) * len(lv.scale)) for lv in image.levels]


def values(array: Any) -> Any:
    data = array[...]
    return data.tolist() if data.dtype.kind in "OT" else data


def assert_same_store(source: Path, out: Path, version: str) -> None:
    """``out`` (OME-Zarr ``version``) holds every node of ``source`` equally, and validates."""
    assert validate_store(str(out)) == version
    before, after = nodes(source), nodes(out)
    for path, old in before.items():
        assert path in after, f"{path} is missing"
        new = after[path]
        assert new.metadata.zarr_format == (3 if version == "0.5" else 2), path
        if isinstance(old, zarr.Array):
            assert isinstance(new, zarr.Array), path
            assert new.shape == old.shape, path
            np.testing.assert_array_equal(values(new), values(old), err_msg=path)
            assert dict(new.attrs) == dict(old.attrs), path
            continue
        assert isinstance(new, zarr.Group), path
        assert ngff_and_rest(new) == ngff_and_rest(old), path
    ome_xml = source / "OME" / "METADATA.ome.xml"
    if ome_xml.exists():
        assert (out / "OME" / "METADATA.ome.xml").read_bytes() == ome_xml.read_bytes()


# -- reading -----------------------------------------------------------------------------------


def test_reads_v05_as_v04(tmp_path: Path) -> None:
    """The same image read from 0.4 and from its 0.5 upgrade gives the same model."""
    v04 = make_rich_image(tmp_path / "v04.zarr")
    v05 = tmp_path / "v05.zarr"
    upgrade(v04, v05)
    assert guess_converter(v05).name == "ome_zarr"
    before = tree_hash(v05)
    old, new = (get_converter("ome_zarr").open(p) for p in (v04, v05))
    (a,), (b,) = old.images, new.images
    assert b.axes == a.axes
    assert placements(b) == placements(a)
    assert all(lv.source.metadata.zarr_format == 3 for lv in b.levels)
    np.testing.assert_array_equal(np.asarray(b.levels[0].data), np.asarray(a.levels[0].data))
    assert b.channels == a.channels
    # Each node's attributes as stored: the 0.4 ones, moved.
    assert a.source_attrs is not None
    assert b.source_attrs is not None
    assert (a.source_attrs.version, b.source_attrs.version) == ("0.4", "0.5")
    assert b.source_attrs.attrs == expected_v05(a.source_attrs.attrs)
    assert b.source_attrs.attrs["my-tool"] == {"kept": True}
    assert a.labels_source_attrs is not None
    assert b.labels_source_attrs is not None
    assert b.labels_source_attrs.attrs == expected_v05(a.labels_source_attrs.attrs)
    assert [(lb.name, lb.colors, lb.properties, lb.axes) for lb in b.labels] == [
        (lb.name, lb.colors, lb.properties, lb.axes) for lb in a.labels
    ]
    assert [n.path for n in new.extra_nodes] == [n.path for n in old.extra_nodes]
    assert tree_hash(v05) == before


def test_reads_v05_plate(tmp_path: Path) -> None:
    v05 = tmp_path / "plate.zarr"
    upgrade(make_plate(tmp_path / "v04.zarr"), v05)
    collection = get_converter("ome_zarr").open(v05)
    plate = collection.plate
    assert plate is not None
    assert (plate.rows, plate.columns, plate.name) == (("A", "B"), ("1", "2"), "plate")
    assert [w.path for w in plate.wells] == ["A/1", "B/2"]
    assert [(f.path, f.acquisition) for f in plate.wells[0].fields] == [("0", 0), ("1", 0)]
    assert plate.acquisitions[0].name == "run"
    assert collection.image_paths == ("A/1/0", "A/1/1", "B/2/0", "B/2/1")


def test_api_read(tmp_path: Path) -> None:
    store = v05_store(tmp_path, "sharded")
    image = omeconv.read(store)
    assert image.axis_names == "czyx"
    assert image.levels[0].source.shards is not None
    expected = zarr.open_array(store / "s0", mode="r")[...]
    np.testing.assert_array_equal(np.asarray(image.levels[0].data), expected)


# -- converting --------------------------------------------------------------------------------

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "to-0.4": ("0.4", {}),
    "resharded": ("0.5", {"shards": True}),
    "rechunked": ("0.5", {"chunks": {"y": 16, "x": 16}, "compression": "lz4"}),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["image", "sharded", "plate"])
def test_convert_keeps_everything(tmp_path: Path, kind: str, case: str) -> None:
    source = v05_store(tmp_path, kind)
    before = tree_hash(source)
    version, options = CASES[case]
    out = convert(source, tmp_path / "out.zarr", version, **options)
    assert tree_hash(source) == before
    assert_same_store(source, out, version)


def test_level_attributes_survive_reencoding(tmp_path: Path) -> None:
    source = v05_store(tmp_path, "image")
    for version in ("0.4", "0.5"):
        out = convert(source, tmp_path / f"{version}.zarr", version, compression="gzip")
        assert dict(zarr.open_array(out / "s1", mode="r").attrs) == {"level-note": {"binned": 2}}


@pytest.mark.parametrize("kind", ["image", "sharded", "plate"])
def test_copy_chunks_keeps_encoded_bytes(tmp_path: Path, kind: str) -> None:
    """0.5 to 0.5 with chunk copying: every chunk and shard file is the source's, byte for byte."""
    source = v05_store(tmp_path, kind)
    out = tmp_path / "out.zarr"
    collection = get_converter("ome_zarr").open(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emit(collection, out, levels=1, copy_chunks=True, inputs=(source,))
    assert_same_store(source, out, "0.5")
    arrays = [p for p, n in nodes(source).items() if isinstance(n, zarr.Array)]
    assert arrays
    for path in arrays:
        old = json.loads((source / path / "zarr.json").read_text())
        new = json.loads((out / path / "zarr.json").read_text())
        assert new["codecs"] == old["codecs"], path
        assert new["chunk_grid"] == old["chunk_grid"], path
        chunks = sorted(
            p.relative_to(source / path) for p in (source / path).rglob("*") if p.is_file()
        )
        for rel in chunks:
            assert (out / path / rel).read_bytes() == (source / path / rel).read_bytes(), rel


def test_round_trip_04_05_04(tmp_path: Path) -> None:
    v04 = make_rich_image(tmp_path / "v04.zarr")
    v05 = convert(v04, tmp_path / "v05.zarr", "0.5", shards=True)
    back = convert(v05, tmp_path / "back.zarr", "0.4")
    assert_fidelity(v04, back, "0.4")
    assert_same_store(v05, back, "0.4")


def test_bioformats2raw(corpus: Path, tmp_path: Path) -> None:
    v05 = tmp_path / "bf2raw.zarr"
    upgrade(corpus / "zarr-v04/ome-zarr-py-bf2raw/fake-series-2.zarr", v05)
    collection = get_converter("ome_zarr").open(v05)
    assert collection.layout == "bioformats2raw"
    assert collection.ome_xml is not None
    assert_same_store(v05, convert(v05, tmp_path / "out.zarr", "0.4"), "0.4")


# -- corpus ------------------------------------------------------------------------------------


def _corpus_stores(readable: bool) -> list[str]:
    """Stores of the corpus manifest whose arrays all read (or, not ``readable``, the others:
    metadata-only copies and broken stores)."""
    from tests.conftest import CORPUS

    manifest = CORPUS / "zarr-v05" / "MANIFEST.json"
    if not manifest.is_file():
        return []
    out = []
    for entry in json.loads(manifest.read_text()):
        if "nodes" not in entry:
            continue
        arrays = [n for n in entry["nodes"] if n["node"] == "array"]
        if readable == (bool(arrays) and all(n.get("read") == "ok" for n in arrays)):
            out.append(entry["file"])
    return out


def assert_corpus_converted(source: Path, out: Path, version: str) -> None:
    """Arrays equal; axes, per-level scales and translations and channels as read; valid
    where the source is (what the source breaks is kept, with a warning)."""
    if is_valid(source):
        assert validate_store(str(out)) == version
    else:
        assert not is_valid(out)
    old, new = (get_converter("ome_zarr").open(p) for p in (source, out))
    for a, b in zip(old.images, new.images, strict=True):
        assert b.axes == a.axes
        assert placements(b) == placements(a)
        for la, lb in zip(a.levels, b.levels, strict=True):
            np.testing.assert_array_equal(lb.source[...], la.source[...])
        labels = [c.label for c in a.channels]  # the emitter adds channels a source lacks
        assert [c.label for c in b.channels][: len(labels)] == labels
        assert not_ngff(b) == not_ngff(a)


def not_ngff(image: Image) -> dict[str, Any]:
    """The attributes of an image's group that are no NGFF metadata."""
    assert image.source_attrs is not None
    return {k: v for k, v in image.source_attrs.attrs.items() if k not in {*_NGFF_V04, "ome"}}


@pytest.mark.parametrize("name", _corpus_stores(readable=True) or ["absent"])
@pytest.mark.parametrize("case", CASES)
def test_corpus_store_converts(corpus: Path, tmp_path: Path, name: str, case: str) -> None:
    source = corpus / name
    if not source.is_dir():
        pytest.skip(f"{name} not in the corpus")
    version, options = CASES[case]
    if "chunks" in options:
        options = {**options, "chunks": None}  # axes differ from store to store
    out = convert(source, tmp_path / "out.zarr", version, **options)
    assert_corpus_converted(source, out, version)
    for node in nodes(out).values():
        if isinstance(node, zarr.Array):
            node[...]  # opens and reads in zarr-python


@pytest.mark.parametrize("name", _corpus_stores(readable=False) or ["absent"])
def test_corpus_store_without_arrays_is_one_line_error(
    corpus: Path, tmp_path: Path, name: str
) -> None:
    source = corpus / name
    if not source.is_dir():
        pytest.skip(f"{name} not in the corpus")
    with pytest.raises(SourceError) as info:
        convert(source, tmp_path / "out.zarr", "0.4")
    assert str(source) in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out.zarr").exists()


# -- bad input ---------------------------------------------------------------------------------


def _bad_stores(tmp_path: Path) -> dict[str, tuple[Path, type[Exception], str]]:
    """Broken 0.5 stores: ``name: (store, error, words of the message)``."""
    image = v05_store(tmp_path, "image")
    corrupt_root = tmp_path / "corrupt-root.zarr"
    shutil.copytree(image, corrupt_root)
    (corrupt_root / "zarr.json").write_text('{"zarr_format": 3, "node_type": ')
    corrupt_array = tmp_path / "corrupt-array.zarr"
    shutil.copytree(image, corrupt_array)
    (corrupt_array / "labels" / "zarr.json").write_text("[1, 2]")
    plain = tmp_path / "plain.zarr"
    zarr.open_group(plain, mode="w", zarr_format=3).create_array("x", shape=(4,), dtype="u1")
    v06 = tmp_path / "v06.zarr"
    shutil.copytree(image, v06)
    doc = json.loads((v06 / "zarr.json").read_text())
    doc["attributes"]["ome"]["version"] = "0.7"  # 0.6 is read (tests/test_v06_output.py)
    (v06 / "zarr.json").write_text(json.dumps(doc))
    return {
        "corrupt-root": (corrupt_root, CorruptSourceError, "zarr.json is not JSON"),
        "corrupt-labels": (corrupt_array, CorruptSourceError, "labels/zarr.json"),
        "no-ngff": (plain, UnsupportedSourceError, "no NGFF metadata"),
        "v0.7": (v06, UnsupportedSourceError, "OME-Zarr 0.7 is not supported"),
    }


def test_bad_input_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, (store, error, words) in _bad_stores(tmp_path).items():
        with pytest.raises(error) as info:
            get_converter("ome_zarr").open(store)
        message = str(info.value)
        assert str(store) in message, name
        assert words in message, name
        assert "\n" not in message, name
        out = tmp_path / f"{name}-out.zarr"
        with pytest.raises(SystemExit) as exit_info:
            main(["-q", "convert", str(store), str(out)])
        assert exit_info.value.code == 1, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(f"omeconv: error: {store}"), err
        assert not out.exists(), name


def test_upgrade_still_refuses_v05(tmp_path: Path) -> None:
    store = v05_store(tmp_path, "image")
    before = tree_hash(store)
    with pytest.raises(UpgradeError, match="already Zarr v3"):
        upgrade(store, tmp_path / "out.zarr")
    with pytest.raises(UpgradeError, match="already Zarr v3"):
        upgrade(store, in_place=True)
    assert tree_hash(store) == before
