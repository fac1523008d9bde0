"""The upgrade moves metadata, it never rewrites it.

For every group of a v0.4 store, the 0.5 output's ``attributes`` equal the input's ``.zattrs``
with only the NGFF keys moved under ``ome`` (``"version": "0.5"`` first, per-object
``version`` keys dropped), compared as parsed JSON including types and key order; array
attributes are the same; every array reads back equal; non-zarr files are copied (copy) or
left (in place). The expected documents are computed here, independently of omeconv.
Inputs: every corpus v0.4 store with arrays, and stores written with ome-zarr-py's v0.4
writer with extra keys at every level.
"""

from __future__ import annotations

import json
import shutil
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr

from omeconv.errors import (
    OmeconvError,
    OmeconvWarning,
    UnsupportedSourceError,
    ValidationFailedError,
)
from omeconv.upgrade import upgrade
from omeconv.validate import validate_store
from tests.conftest import CORPUS
from tests.test_upgrade import make_labelled_image, make_plate, tree_hash

if TYPE_CHECKING:
    from pathlib import Path

#: 0.4 group attributes that move under ``ome`` in 0.5.
NGFF = (
    "multiscales",
    "omero",
    "labels",
    "image-label",
    "plate",
    "well",
    "bioformats2raw.layout",
    "series",
    "version",
)
V2_META = (".zattrs", ".zgroup", ".zarray", ".zmetadata")


def expected_v05(attrs: dict[str, Any]) -> dict[str, Any]:
    """What a 0.4 group's attributes become in 0.5, by the spec, written out by hand."""
    if not any(k in NGFF for k in attrs):
        return attrs
    out: dict[str, Any] = {}
    ome: dict[str, Any] = {"version": "0.5"}
    for key, value in attrs.items():
        if key not in NGFF:
            out[key] = value
            continue
        if "ome" not in out:
            out["ome"] = ome
        if key == "version":
            continue
        if key == "multiscales":
            value = [{k: v for k, v in ms.items() if k != "version"} for ms in value]
        elif key in ("plate", "well", "image-label"):
            value = {k: v for k, v in value.items() if k != "version"}
        ome[key] = value
    return out


def assert_same_json(got: Any, want: Any, where: str) -> None:
    """Equal as JSON with the same types (1 is not 1.0, "10" is not 10) and key order."""
    assert type(got) is type(want), f"{where}: {got!r} != {want!r}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for key in want:
            assert_same_json(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_json(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def v2_tree(root: Path) -> tuple[dict[str, str], list[str]]:
    """``({node path: "group" | "array"}, [paths of files that are no zarr metadata])`` of a
    v2 store; chunk files of arrays are neither."""
    nodes: dict[str, str] = {}
    files: list[str] = []

    def visit(folder: Path, rel: str) -> None:
        names = {p.name for p in folder.iterdir()}
        if ".zarray" in names:
            nodes[rel] = "array"
            return
        if names & {".zgroup", ".zattrs"}:
            nodes[rel] = "group"
        for child in sorted(folder.iterdir()):
            sub = f"{rel}/{child.name}" if rel else child.name
            if child.is_dir():
                visit(child, sub)
            elif child.name not in V2_META:
                files.append(sub)

    visit(root, "")
    return nodes, files


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def assert_moved(source: Path, out: Path) -> None:
    """``out`` (0.5) holds every node of the v0.4 ``source``, attributes moved, pixels equal,
    non-zarr files equal; nothing else but plain groups for directories between nodes."""
    nodes, files = v2_tree(source)
    for path, kind in nodes.items():
        doc = _json(out / path / "zarr.json")
        assert doc["node_type"] == kind, path
        zattrs = _json(source / path / ".zattrs") if (source / path / ".zattrs").exists() else {}
        want = zattrs if kind == "array" else expected_v05(zattrs)
        assert_same_json(doc.get("attributes", {}), want, path or "/")
        if kind == "array":
            before = zarr.open_array(source / path, mode="r", zarr_format=2)
            after = zarr.open_array(out / path, mode="r", zarr_format=3)
            assert after.shape == before.shape, path
            if before.dtype.kind in "OT":
                assert after[...].tolist() == before[...].tolist(), path
            else:
                np.testing.assert_array_equal(after[...], before[...], err_msg=path)
    for path in files:
        assert (out / path).read_bytes() == (source / path).read_bytes(), path
    written = {p.parent.relative_to(out).as_posix() for p in out.rglob("zarr.json")}
    written = {"" if p == "." else p for p in written}
    for path in written - set(nodes):
        assert _json(out / path / "zarr.json")["attributes"] == {}, path
        assert any(n.startswith(f"{path}/") or not path for n in nodes), path


def is_valid(store: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            validate_store(str(store))
        except (ValidationFailedError, UnsupportedSourceError):
            return False
    return True


# -- the corpus ---------------------------------------------------------------------------------


def corpus_stores() -> list[str]:
    """Every v0.4 store of the corpus's manifest that holds arrays."""
    manifest = CORPUS / "zarr-v04" / "MANIFEST.json"
    if not manifest.is_file():
        return []
    entries = json.loads(manifest.read_text())
    return [
        e["file"].removeprefix("zarr-v04/")
        for e in entries
        if any(n.get("node") == "array" for n in e.get("nodes", ()))
    ]


#: Corpus stores that are refused, and why (one line each, nothing written).
REFUSED = {
    # its metadata names 3 axes, but level 1 is 2-D
    "ome-zarr-examples/invalid/image-04.zarr": "dimensions",
    # its level "0" does not exist
    "ome-zarr-examples/invalid/image-03.zarr": "cannot open array",
    # wells' rowIndex/columnIndex contradict their paths: 0.5 forbids it (0.4 did not say)
    "ome-zarr-examples/valid/plate-01.zarr": "is not row/column",
}


def run_upgrade(source: Path, tmp_path: Path, mode: str) -> Path:
    """``source`` upgraded by ``mode`` ("copy" or "in-place", on a copy of it)."""
    if mode == "copy":
        out = tmp_path / "out.zarr"
        upgrade(source, out)
        return out
    store = tmp_path / "store.zarr"
    shutil.copytree(source, store, symlinks=True)
    upgrade(store, in_place=True)
    return store


@pytest.mark.parametrize("mode", ["copy", "in-place"])
@pytest.mark.parametrize("name", corpus_stores())
def test_corpus_store_moves(corpus: Path, tmp_path: Path, name: str, mode: str) -> None:
    source = corpus / "zarr-v04" / name
    before = tree_hash(source)
    if name in REFUSED:
        with pytest.raises(OmeconvError, match=REFUSED[name]) as info:
            run_upgrade(source, tmp_path, mode)
        assert "\n" not in str(info.value)
        assert not (tmp_path / "out.zarr").exists()
        if mode == "in-place":
            assert tree_hash(tmp_path / "store.zarr") == before
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_upgrade(source, tmp_path, mode)
    assert tree_hash(source) == before
    assert_moved(source, out)
    # Valid where the source was valid; what the source broke is kept, with a warning.
    assert is_valid(out) == is_valid(source)
    kept = [w for w in caught if "kept as the source has it" in str(w.message)]
    assert bool(kept) == (not is_valid(source))


# -- stores written with ome-zarr-py, extra keys everywhere -------------------------------------


def _edit(path: Path, change: Any) -> None:
    """Rewrite the JSON document ``path`` with ``change(doc)`` (keeps key order)."""
    doc = _json(path)
    new = change(doc)
    path.write_text(json.dumps(doc if new is None else new, indent=1))


def _keyed_image(root: Path, rel: str = "", *, omero: bool = True) -> None:
    """Extra keys at every level of the image at ``root/rel`` and its labels, types that are
    easy to break (ints where floats are usual, strings of digits), a zero translation."""
    image = root / rel

    def image_attrs(doc: dict[str, Any]) -> None:
        ms = doc["multiscales"][0]
        ms["x-multiscale"] = {"n": 1, "s": "10"}
        ms["coordinateTransformations"] = [
            {"type": "scale", "scale": [1, 1, 1, 1][: len(ms["axes"])]}
        ]
        for i, ds in enumerate(ms["datasets"]):
            ds["x-dataset"] = i
            scale = ds["coordinateTransformations"][0]
            scale["scale"] = [int(v) if float(v).is_integer() else v for v in scale["scale"]]
            scale["x-transform"] = "kept"
            zero = {"type": "translation", "translation": [0] * len(scale["scale"])}
            ds["coordinateTransformations"][1:] = [zero]
        if omero and "omero" in doc:
            doc["omero"]["x-omero"] = [1, 1.0, "1"]
            doc["omero"]["channels"][0]["x-channel"] = {"deep": [None, True]}
            doc["omero"]["channels"][0]["window"]["start"] = 10
        elif not omero:
            doc.pop("omero", None)
        doc["x-after"] = "10"

    _edit(image / ".zattrs", image_attrs)
    if (image / "labels").is_dir():
        _edit(image / "labels" / ".zattrs", lambda d: d.update({"x-labels": 2}))

        def label_attrs(doc: dict[str, Any]) -> None:
            doc["image-label"]["x-image-label"] = "kept"
            doc["image-label"]["colors"][0]["x-color"] = 1
            doc["multiscales"][0]["x-label-multiscale"] = 1.5

        _edit(image / "labels" / "cells" / ".zattrs", label_attrs)
    level = json.loads((image / ".zattrs").read_text())["multiscales"][0]["datasets"][0]["path"]
    (image / level / ".zattrs").write_text(json.dumps({"x-array": {"b": 2, "a": 1}}))


def keyed_image(path: Path) -> Path:
    """ome-zarr-py image with omero and a label, extra keys everywhere, README files."""
    make_labelled_image(path)
    _keyed_image(path)
    _edit(path / ".zattrs", lambda d: {"x-first": 0, **d})
    (path / "README.txt").write_text("kept byte for byte\n")
    (path / "labels" / "notes.md").write_bytes(b"\x00\xffnot utf-8")
    (path / ".hidden").write_text("a dotfile")
    return path


def keyed_image_without_omero(path: Path) -> Path:
    """ome-zarr-py image without omero or labels."""
    from ome_zarr.format import FormatV04
    from ome_zarr.scale import Scaler
    from ome_zarr.writer import write_image

    group = zarr.open_group(path, mode="w", zarr_format=2)
    data = np.arange(2 * 32 * 32, dtype="u2").reshape(2, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_image(data, group, axes="zyx", fmt=FormatV04(), scaler=Scaler(max_layer=1))
    _keyed_image(path, omero=False)
    return path


def keyed_plate(path: Path) -> Path:
    """ome-zarr-py plate, extra keys in plate, wells, acquisitions and images."""
    make_plate(path)

    def plate(doc: dict[str, Any]) -> None:
        doc["plate"]["x-plate"] = {"z": 1, "a": 2}
        doc["plate"]["acquisitions"][0]["x-acquisition"] = "1"
        doc["plate"]["wells"][0]["x-well-ref"] = 0

    _edit(path / ".zattrs", plate)
    for well in ("A/1", "B/2"):
        _edit(path / well / ".zattrs", lambda d: d["well"].update({"x-well": 1.0}))
        _keyed_image(path, f"{well}/0", omero=False)
    (path / "A" / "1" / "0" / "notes.txt").write_text("well notes")
    return path


def keyed_bf2raw(path: Path) -> Path:
    """A bioformats2raw collection of two ome-zarr-py images, OME group and XML, extra keys."""
    from ome_zarr.format import FormatV04
    from ome_zarr.scale import Scaler
    from ome_zarr.writer import write_image

    root = zarr.open_group(path, mode="w", zarr_format=2)
    root.attrs.put({"x-root": [3, 2, 1], "bioformats2raw.layout": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for series in "01":
            data = np.full((1, 16, 16), int(series) + 1, dtype="u1")
            write_image(
                data,
                root.require_group(series),
                axes="cyx",
                fmt=FormatV04(),
                scaler=Scaler(max_layer=1),
            )
            _keyed_image(path, series, omero=False)
    ome = root.require_group("OME")
    ome.attrs.put({"series": ["0", "1"], "x-ome": True})
    (path / "OME" / "METADATA.ome.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<OME xmlns="http://www.openmicroscopy.org/'
        b'Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT"'
        b' Type="uint8" SizeX="16" SizeY="16" SizeZ="1" SizeC="1" SizeT="1"/></Image></OME>\n'
    )
    return path


BUILDERS = {
    "image": keyed_image,
    "image-no-omero": keyed_image_without_omero,
    "plate": keyed_plate,
    "bioformats2raw": keyed_bf2raw,
}


@pytest.mark.parametrize("mode", ["copy", "in-place"])
@pytest.mark.parametrize("kind", list(BUILDERS))
def test_written_store_moves(tmp_path: Path, kind: str, mode: str) -> None:
    source = BUILDERS[kind](tmp_path / "in.zarr")
    assert is_valid(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OmeconvWarning)
        out = run_upgrade(source, tmp_path, mode)
    assert_moved(source, out)
    assert is_valid(out)
    if mode == "in-place":
        assert not list(out.rglob(".z*"))


def test_the_check_fails_on_a_rewrite(tmp_path: Path) -> None:
    """The comparison sees a float for an int, a reordered key and a dropped zero."""
    source = keyed_image_without_omero(tmp_path / "in.zarr")
    out = run_upgrade(source, tmp_path, "copy")
    doc = _json(out / "zarr.json")
    scale = doc["attributes"]["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"]
    for change in (
        lambda: scale[0]["scale"].__setitem__(0, 1.0),
        lambda: scale.pop(),
        lambda: doc["attributes"].update({"x-after": doc["attributes"].pop("ome")}),
    ):
        saved = json.dumps(doc)
        change()
        (out / "zarr.json").write_text(json.dumps(doc))
        with pytest.raises(AssertionError):
            assert_moved(source, out)
        doc = json.loads(saved)
        scale = doc["attributes"]["ome"]["multiscales"][0]["datasets"][0][
            "coordinateTransformations"
        ]
        (out / "zarr.json").write_text(saved)
    assert_moved(source, out)


def test_computed_levels_are_the_only_addition(tmp_path: Path) -> None:
    """A copy computes the level a label lacks: its dataset (scale in the label's own frame)
    and a ``type``/``metadata`` naming the computed level are added; the rest of the
    label's attributes and every other group are moved exactly."""
    source = make_labelled_image(tmp_path / "in.zarr", label_levels=2)
    _keyed_image(source)
    out = run_upgrade(source, tmp_path, "copy")
    label = "labels/cells"
    got = _json(out / label / "zarr.json")["attributes"]
    multiscale = got["ome"]["multiscales"][0]
    added = multiscale["datasets"][2:]
    del multiscale["datasets"][2:]
    provenance = {k: multiscale.pop(k) for k in ("type", "metadata")}
    assert_same_json(got, expected_v05(_json(source / label / ".zattrs")), label)
    assert [d["path"] for d in added] == ["2"]
    last = _json(source / label / ".zattrs")["multiscales"][0]["datasets"][-1]
    old_scale = last["coordinateTransformations"][0]["scale"]
    shapes = [zarr.open_array(out / label / p, mode="r").shape for p in ("s1", "2")]
    factors = [-(-a // b) for a, b in zip(*shapes, strict=True)]
    transforms = added[0]["coordinateTransformations"]
    assert transforms[0] == {
        "type": "scale",
        "scale": [s * f for s, f in zip(old_scale, factors, strict=True)],
    }
    assert provenance["type"] == "mode"
    assert provenance["metadata"]["description"].startswith("levels 2:")
    for path in ("", "labels"):
        assert_same_json(
            _json(out / path / "zarr.json")["attributes"],
            expected_v05(_json(source / path / ".zattrs")),
            path or "/",
        )
    assert is_valid(out)
