"""The one reader of Zarr hierarchies (:mod:`omeconv.hierarchy`), and ``info`` and the OME-Zarr
adapter agreeing because both read through it.

Stores are made here with zarr-python and hand-written attributes (not omeconv's emitter);
the corpus stores come from other tools.
"""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr

from omeconv.cli import main
from omeconv.converters import get_converter
from omeconv.errors import CorruptSourceError, MetadataError, OmeconvError, UnsupportedSourceError
from omeconv.hierarchy import ArrayMetadata, Hierarchy
from omeconv.info import describe, summarize
from omeconv.zarr_io import join

if TYPE_CHECKING:
    from pathlib import Path

#: Attributes whose key order and JSON types (int, float, bool, null, nested) must survive.
ODD_ATTRS = {"zeta": 1, "alpha": 1.0, "mid": [True, None, "x"], "nested": {"b": 2, "a": {}}}


def _store(
    path: Path,
    version: str,
    *,
    translation: list[float] | None = None,
    outer: dict[str, list[float]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A two-level yx image, OME-Zarr 0.4 (Zarr v2) or 0.5 (Zarr v3), written by hand."""
    zarr_format = 2 if version == "0.4" else 3
    root = zarr.open_group(path, mode="w", zarr_format=zarr_format)
    datasets = []
    for level, (shape, scale) in enumerate((((8, 6), 0.5), ((4, 3), 1.0))):
        array = root.create_array(
            str(level), shape=shape, chunks=(4, 3), dtype="uint16", fill_value=0
        )
        array[...] = np.arange(np.prod(shape), dtype="uint16").reshape(shape)
        transforms: list[dict[str, Any]] = [{"type": "scale", "scale": [scale, scale]}]
        if translation is not None:
            transforms.append(
                {"type": "translation", "translation": [t * (level + 1) for t in translation]}
            )
        datasets.append({"path": str(level), "coordinateTransformations": transforms})
    multiscale: dict[str, Any] = {
        "name": "img",
        "axes": [
            {"name": "y", "type": "space", "unit": "micrometer"},
            {"name": "x", "type": "space", "unit": "micrometer"},
        ],
        "datasets": datasets,
    }
    if outer is not None:
        multiscale["coordinateTransformations"] = [
            {"type": kind, kind: values} for kind, values in outer.items()
        ]
    if version == "0.4":
        root.attrs.put({**(extra or {}), "multiscales": [{"version": "0.4", **multiscale}]})
    else:
        ome = {"version": version, "multiscales": [multiscale]}
        root.attrs.put({**(extra or {}), "ome": ome})
    return path


def _set_ome(path: Path, ome: Any) -> None:
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"]["ome"] = ome
    (path / "zarr.json").write_text(json.dumps(doc))


# -- the reader -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_nodes_as_stored(tmp_path: Path, version: str) -> None:
    store = _store(tmp_path / "img.zarr", version, extra={"user": ODD_ATTRS})
    h = Hierarchy(store)
    assert h.zarr_format == (2 if version == "0.4" else 3)
    root = h.node("")
    assert root is not None
    assert root.kind == "group"
    assert root.array is None
    assert root.zarr_format == h.zarr_format
    # key order and JSON types exactly as in the document on disk
    on_disk = json.loads(
        (store / ".zattrs").read_text() if version == "0.4" else (store / "zarr.json").read_text()
    )
    attrs = on_disk if version == "0.4" else on_disk["attributes"]
    assert json.dumps(root.attributes) == json.dumps(attrs)
    assert list(root.attributes["user"]) == ["zeta", "alpha", "mid", "nested"]
    assert type(root.attributes["user"]["alpha"]) is float
    assert root.ome_version == version
    assert h.store_version() == version
    assert h.children("") == ["0", "1"]
    assert [n.path for n in h.walk()] == ["", "0", "1"]
    assert h.node("2") is None
    assert h.kind("missing/deeper") is None
    level = h.node("0")
    assert level is not None
    assert level.kind == "array"
    assert level.array == ArrayMetadata(
        shape=(8, 6),
        dtype="uint16",  # one spelling for v2 ("<u2") and v3 ("uint16")
        chunks=(4, 3),
        shards=None,
        codecs=level.array.codecs,
        fill_value=0,
        dimension_names=None,
    )
    assert level.array.codecs  # zarr's default compressor, alike in both formats
    assert all(set(c) == {"name", "configuration"} for c in level.array.codecs)
    assert "bytes" not in [c["name"] for c in level.array.codecs]
    assert h.ngff("")["multiscales"][0]["name"] == "img"


def test_v3_shards_and_dimension_names(tmp_path: Path) -> None:
    root = zarr.open_group(tmp_path / "s.zarr", mode="w", zarr_format=3)
    root.create_array(
        "a",
        shape=(10, 12),
        chunks=(2, 3),
        shards=(4, 6),
        dtype="float32",
        fill_value=1.5,
        dimension_names=["y", "x"],
        compressors=zarr.codecs.ZstdCodec(level=3),
    )
    meta = Hierarchy(tmp_path / "s.zarr").node("a")
    assert meta is not None
    assert meta.array is not None
    assert meta.array.shape == (10, 12)
    assert (meta.array.chunks, meta.array.shards, meta.array.grid) == ((2, 3), (4, 6), (4, 6))
    assert meta.array.dtype == "float32"
    assert meta.array.fill_value == 1.5
    assert meta.array.dimension_names == ("y", "x")
    assert [c["name"] for c in meta.array.codecs] == ["zstd"]
    assert meta.array.codecs[0]["configuration"]["level"] == 3


def test_a_node_of_the_other_format_is_absent(tmp_path: Path) -> None:
    """The hierarchy's format is its root's, as zarr opens it."""
    store = _store(tmp_path / "img.zarr", "0.5")
    (store / "old").mkdir()
    (store / "old" / ".zgroup").write_text('{"zarr_format": 2}')
    h = Hierarchy(store)
    assert h.node("old") is None
    assert "old" in h.entries("")
    assert "old" not in h.children("")


def test_versions_of_04_objects_and_bioformats2raw(tmp_path: Path) -> None:
    store = tmp_path / "bf.zarr"
    root = zarr.open_group(store, mode="w", zarr_format=2)
    root.attrs.put({"bioformats2raw.layout": 3})
    _store(store / "0", "0.4")
    plate = zarr.open_group(tmp_path / "plate.zarr", mode="w", zarr_format=2)
    plate.attrs.put({"plate": {"version": "0.4", "rows": [], "columns": [], "wells": []}})
    assert Hierarchy(store).ome_version("") is None
    assert Hierarchy(store).store_version() == "0.4"  # the first series'
    assert Hierarchy(tmp_path / "plate.zarr").store_version() == "0.4"


def test_corrupt_metadata_names_the_store_and_key(tmp_path: Path) -> None:
    store = _store(tmp_path / "img.zarr", "0.4")
    (store / "1" / ".zarray").write_text("{not json")
    h = Hierarchy(store)
    assert h.node("0") is not None
    with pytest.raises(CorruptSourceError) as info:
        h.node("1")
    assert str(info.value).startswith(f"{store}: 1/.zarray is not JSON")


def test_memory_url(tmp_path: Path) -> None:
    """A URL store reads as a local one (here fsspec's memory file system)."""
    import fsspec

    store = _store(tmp_path / "img.zarr", "0.5", extra={"user": ODD_ATTRS})
    fs = fsspec.filesystem("memory")
    fs.put(str(store), "/hierarchy-test/img.zarr", recursive=True)
    try:
        remote = Hierarchy("memory://hierarchy-test/img.zarr")
        local = Hierarchy(store)
        assert list(remote.walk()) == list(local.walk())
    finally:
        fs.rm("/hierarchy-test", recursive=True)


def test_join() -> None:
    assert join("", "a/", "/b", "") == "a/b"
    assert join() == ""


# -- info and the adapter agree ---------------------------------------------------------------


def _adapter(store: Path | str) -> Exception | None:
    """What the OME-Zarr adapter says of ``store``: None if it reads it, else its error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_converter("ome_zarr").open(store)
    except OmeconvError as exc:
        return exc
    return None


def _refused_stores(tmp_path: Path) -> dict[str, tuple[Path, type[Exception]]]:
    future = _store(tmp_path / "future.zarr", "0.5")
    _set_ome(future, {"version": "0.7", "multiscales": []})
    not_object = _store(tmp_path / "not-object.zarr", "0.5")
    _set_ome(not_object, "0.5")
    scene = _store(tmp_path / "scene.zarr", "0.5")
    _set_ome(scene, {"version": "0.6", "scene": {}})
    plain = tmp_path / "plain.zarr"
    zarr.open_group(plain, mode="w", zarr_format=2).attrs.put({"note": "no NGFF here"})
    nested = _store(tmp_path / "nested.zarr", "0.5")
    label = nested / "labels"
    zarr.open_group(label, mode="w", zarr_format=3).attrs.put(
        {"ome": {"version": "0.9", "labels": []}}
    )
    no_series = tmp_path / "no-series.zarr"
    zarr.open_group(no_series, mode="w", zarr_format=2).attrs.put({"bioformats2raw.layout": 3})
    return {
        "bioformats2raw without series": (no_series, MetadataError),
        "future version": (future, UnsupportedSourceError),
        "ome not an object": (not_object, MetadataError),
        "0.6 scene without an image": (scene, UnsupportedSourceError),
        "no NGFF metadata": (plain, UnsupportedSourceError),
        "labels of a future version": (nested, UnsupportedSourceError),
    }


@pytest.mark.parametrize(
    "case",
    [
        "bioformats2raw without series",
        "future version",
        "ome not an object",
        "0.6 scene without an image",
        "no NGFF metadata",
        "labels of a future version",
    ],
)
def test_info_says_why_the_adapter_refuses(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store, error = _refused_stores(tmp_path)[case]
    refusal = _adapter(store)
    assert isinstance(refusal, error)
    summary = summarize(store)
    assert summary["refused"] == str(refusal)  # the same words
    assert f"omeconv cannot convert it: {refusal}" in describe(store)
    main(["info", "--json", str(store)])
    assert json.loads(capsys.readouterr().out)["refused"] == str(refusal)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_info_of_a_store_the_adapter_reads(tmp_path: Path, version: str) -> None:
    store = _store(tmp_path / "img.zarr", version)
    assert _adapter(store) is None
    summary = summarize(store)
    assert summary["refused"] is None
    assert "cannot convert" not in describe(store)
    assert summary["ome_version"] == version


def _corpus_stores(corpus: Path) -> list[Path]:
    stores = []
    for folder in ("zarr-v04", "zarr-v05"):
        manifest = corpus / folder / "MANIFEST.json"
        for entry in json.loads(manifest.read_text()):
            path = corpus / entry["file"]
            if "nodes" in entry and path.is_dir():
                stores.append(path)
    return stores


def test_info_and_the_adapter_agree_on_the_corpus(corpus: Path) -> None:
    """Every corpus store: info's version and Zarr format are the reader's, and where info
    says the adapter refuses a store, the adapter refuses it in those words; a store the
    adapter reads has no refusal in info, and the same layout. Info says why for every
    refused store but those whose levels differ in dimensions (which only opening the
    arrays shows)."""
    stores = _corpus_stores(corpus)
    assert stores
    for store in stores:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary = summarize(store)
        h = Hierarchy(store)
        assert summary["zarr_format"] == h.zarr_format, store
        assert summary["ome_version"] == h.store_version(), store
        refusal = _adapter(store)
        if summary["refused"] is not None:
            assert str(refusal) == summary["refused"], store
        elif refusal is not None:  # the one check info does not make: it reads no array
            assert "dimensions, not" in str(refusal), store
        if refusal is None:
            assert summary["refused"] is None, store
            collection = get_converter("ome_zarr").open(store)
            kinds = {"image": "image", "plate": "plate", "bioformats2raw": "bioformats2raw"}
            assert kinds.get(summary["root"]["kind"], "image") == collection.layout, store


# -- translations and scales in info (#12) ----------------------------------------------------


def _upgraded_to_v06(source: Path, dest: Path) -> Path:
    from omeconv.upgrade import upgrade

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        upgrade(source, dest, from_version="0.5", to_version="0.6")
    return dest


@pytest.mark.parametrize("version", ["0.4", "0.5", "0.6"])
def test_info_shows_translation_and_scale(
    tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = "0.5" if version == "0.6" else version
    store = _store(tmp_path / "img.zarr", made, translation=[10.0, -2.5])
    if version == "0.6":
        store = _upgraded_to_v06(store, tmp_path / "v06.zarr")
    main(["info", "--json", str(store)])
    image = json.loads(capsys.readouterr().out)["root"]
    assert image["kind"] == "image"
    assert [(lv["scale"], lv["translation"]) for lv in image["levels"]] == [
        ([0.5, 0.5], [10.0, -2.5]),
        ([1.0, 1.0], [20.0, -5.0]),
    ]
    text = describe(store)
    assert "scale (0.5, 0.5) translation (10, -2.5)" in text
    assert "scale (1, 1) translation (20, -5)" in text


def test_info_without_translation_says_none(tmp_path: Path) -> None:
    store = _store(tmp_path / "img.zarr", "0.5")
    summary = summarize(store)
    assert [lv["translation"] for lv in summary["root"]["levels"]] == [None, None]
    assert summary["root"]["transform"] == {"scale": None, "translation": None}
    assert "translation" not in describe(store).split("\n", 1)[1]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_info_shows_the_multiscale_transform(tmp_path: Path, version: str) -> None:
    store = _store(
        tmp_path / "img.zarr", version, outer={"scale": [2.0, 2.0], "translation": [1.0, 3.0]}
    )
    summary = summarize(store)
    assert summary["root"]["transform"] == {"scale": [2.0, 2.0], "translation": [1.0, 3.0]}
    assert "multiscale transform: scale (2, 2) translation (1, 3)" in describe(store)
