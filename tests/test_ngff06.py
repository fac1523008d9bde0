"""OME-Zarr 0.6: the typed models, the shipped schemas and the 0.5 <-> 0.6 layout moves.

Parametrized over the spec's own examples in the corpus (``spec-json/0.5/valid`` and
``spec-json/0.6rc0/valid``); ids are paths relative to those folders.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from omeconv.emit.v06 import from_v05, to_v05
from omeconv.errors import MetadataError
from omeconv.ngff06 import INTRINSIC, VERSION, WORLD
from omeconv.ngff06.models import (
    Image,
    Multiscale,
    Scale,
    Sequence,
    StrictPlate,
    parse_ome,
)
from omeconv.ngff06.schema import schema_errors
from tests.conftest import CORPUS

if TYPE_CHECKING:
    from pathlib import Path

V05 = CORPUS / "spec-json" / "0.5" / "valid"
V06 = CORPUS / "spec-json" / "0.6rc0" / "valid"


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.json")) if root.is_dir() else []


def _id(root: Path) -> Any:
    return lambda p: str(p.relative_to(root))


def load(path: Path) -> dict[str, Any]:
    """The group attributes of a spec example (``//`` comments and ``_conformance`` removed)."""
    text = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*', lambda m: m.group(1) or "", path.read_text())
    doc = json.loads(text)
    doc = doc.get("attributes", doc)
    doc.pop("_conformance", None)
    return doc


def _is_ome_v06(doc: dict[str, Any]) -> bool:
    return isinstance(doc.get("ome"), dict)


# --- 0.5 -> 0.6 -> 0.5 ---------------------------------------------------------------------


@pytest.mark.parametrize("path", _files(V05), ids=_id(V05))
def test_v05_examples_move_to_valid_v06_and_back_unchanged(path: Path, corpus: Path) -> None:
    v05 = load(path)
    kept = copy.deepcopy(v05)
    v06 = from_v05(v05)
    assert v05 == kept, "from_v05 must not change its input"
    assert v06["ome"]["version"] == VERSION
    assert schema_errors(v06) == []
    parse_ome(v06["ome"])  # the typed models read it
    back = to_v05(v06)
    assert back == v05
    assert json.dumps(back) == json.dumps(v05), "key order and number types are kept"


@pytest.mark.parametrize("path", _files(V05), ids=_id(V05))
def test_v05_axes_become_the_intrinsic_system(path: Path, corpus: Path) -> None:
    v05 = load(path)
    v06 = from_v05(v05)
    for old, new in zip(v05["ome"].get("multiscales", []), v06["ome"].get("multiscales", [])):
        assert "axes" not in new
        names = [s["name"] for s in new["coordinateSystems"]]
        assert names == (
            [WORLD, INTRINSIC] if old.get("coordinateTransformations") else [INTRINSIC]
        )
        assert all(s["axes"] == old["axes"] for s in new["coordinateSystems"])
        assert list(new)[: list(old).index("axes") + 1][-1] == "coordinateSystems"
        for dataset in new["datasets"]:
            (transform,) = dataset["coordinateTransformations"]
            assert transform["input"] == {"path": dataset["path"]}
            assert transform["output"] == {"name": INTRINSIC}


def test_scale_and_translation_become_one_sequence() -> None:
    scale = {"type": "scale", "scale": [1, 0.5, 0.5]}
    shift = {"type": "translation", "translation": [0, 0.25, 0.25]}
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
    level = {"path": "s1", "coordinateTransformations": [scale, shift]}
    attrs = {
        "other": 1,
        "ome": {
            "version": "0.5",
            "multiscales": [
                {
                    "name": "m",
                    "axes": axes,
                    "datasets": [level],
                    "coordinateTransformations": [{"type": "scale", "scale": [2, 2, 2]}],
                }
            ],
        },
    }
    moved = from_v05(attrs)
    assert list(moved) == ["other", "ome"]
    multiscale = moved["ome"]["multiscales"][0]
    assert list(multiscale) == [
        "name",
        "coordinateSystems",
        "datasets",
        "coordinateTransformations",
    ]
    assert multiscale["datasets"][0]["coordinateTransformations"] == [
        {
            "type": "sequence",
            "input": {"path": "s1"},
            "output": {"name": INTRINSIC},
            "transformations": [scale, shift],
        }
    ]
    assert multiscale["coordinateTransformations"] == [
        {
            "type": "scale",
            "scale": [2, 2, 2],
            "input": {"name": INTRINSIC},
            "output": {"name": WORLD},
        }
    ]
    assert schema_errors(moved) == []
    assert to_v05(moved) == attrs


@pytest.mark.parametrize(
    "transforms",
    [
        [{"type": "translation", "translation": [0, 0]}],
        [{"type": "scale", "path": "s"}],
        [{"type": "translation", "translation": [0, 0]}, {"type": "scale", "scale": [1, 1]}],
    ],
)
def test_v05_transforms_0_6_cannot_hold_are_refused(transforms: list[Any]) -> None:
    attrs = {"ome": {"version": "0.5", "multiscales": [_v05_multiscale(transforms)]}}
    with pytest.raises(MetadataError, match=r"datasets\.0\.coordinateTransformations"):
        from_v05(attrs)


def test_wrong_version_is_refused() -> None:
    with pytest.raises(MetadataError, match=r"not OME-Zarr 0\.5"):
        from_v05({"ome": {"version": "0.4", "multiscales": []}})
    with pytest.raises(MetadataError, match=r"not OME-Zarr 0\.6"):
        to_v05({"ome": {"version": "0.5", "multiscales": []}})


def _v05_multiscale(transforms: list[Any]) -> dict[str, Any]:
    axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    return {"axes": axes, "datasets": [{"path": "0", "coordinateTransformations": transforms}]}


# --- 0.6 -> 0.5 -> 0.6 ---------------------------------------------------------------------

#: Valid 0.6 examples that 0.5 cannot express, and the part named in the refusal.
INEXPRESSIBLE = {
    "examples/multiscales_strict/multiscales_reference_to_label.json": "labels/cell_segmentation",
    "examples/scene/scene_registration.json": "scene",
    "examples/scene/scene_stitching.json": "scene",
    "examples/subspace/subspacePermute.json": "'mapAxis'",
    "spec-image/multiscales_transform_additional_transforms.json": "sequence of ['rotation'",
    "spec-image/multiscales_transform_additional_transforms_path.json": "sequence of ['rotation'",
    "spec-scene/scene.json": "scene",
    "spec-scene/tile_stitching.json": "scene",
    "spec-image/multiscales_transform_sequence.json": "the 'name' of a sequence",
    "spec-transforms/affine.json": "'affine'",
    "spec-transforms/affineParams.json": "'affine'",
    "spec-transforms/byDimension.json": "'byDimension'",
    "spec-transforms/mapAxis.json": "'mapAxis'",
    "spec-transforms/projectAxis.json": "'projectAxis'",
    "spec-transforms/projectAxis2.json": "'projectAxis'",
    "spec-transforms/rotation.json": "'rotation'",
    "spec-well/minimal_path_special_char.json": "'0_a-b.image'",
    # The multiscale transformation runs into the intrinsic system (0.5 would need its inverse).
    "strict-image/multiscales_example.json": "from ('world', None) to ('intrinsic', None)",
}


def canonical(attrs: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` in the spelling :func:`from_v05` writes: systems named "intrinsic" and
    "world", and a level's ``identity`` as a scale of ones."""
    attrs = copy.deepcopy(attrs)
    for multiscale in attrs["ome"].get("multiscales", []):
        ndim = len(multiscale["coordinateSystems"][0]["axes"])
        levels = [d["coordinateTransformations"][0] for d in multiscale["datasets"]]
        names = {levels[0]["output"]["name"]: INTRINSIC}
        for top in multiscale.get("coordinateTransformations", []):
            names[top["output"]["name"]] = WORLD
        for system in multiscale["coordinateSystems"]:
            system["name"] = names[system["name"]]
        for transform in levels + multiscale.get("coordinateTransformations", []):
            for key in ("input", "output"):
                if "name" in transform[key]:
                    transform[key]["name"] = names[transform[key]["name"]]
            if transform["type"] == "identity":
                io = {"input": transform["input"], "output": transform["output"]}
                transform.clear()
                transform.update(type="scale", scale=[1.0] * ndim, **io)
    return attrs


#: Examples filed as valid that break a MUST rule of the 0.6 text or schema, and why
#: (``tests/test_validate_v06.py`` checks each is rejected for that reason).
UPSTREAM_DEFECTS = {
    "examples/multiscales_strict/multiscales_example_relative.json": "'ome' is a required",
    "examples/transformations/displacements/multiscales.json": "'0.6rc0' is not of type 'object'",
    "examples/transformations/displacements/displacement_field.json": "2 values for 3 axes",
    "spec-image/mismatch_axes_units.json": "2 values for 3 axes",
    "strict-image/image_omero.json": "'intrinsic' is not a coordinate system",
}
V06_DOCS = [p for p in _files(V06) if _is_ome_v06(load(p))]


@pytest.mark.parametrize("path", V06_DOCS, ids=_id(V06))
def test_v06_examples_round_trip_through_v05(path: Path, corpus: Path) -> None:
    from yaozarrs import validate_ome_json

    v06 = load(path)
    if str(path.relative_to(V06)) in UPSTREAM_DEFECTS:
        pytest.skip("the example breaks a MUST rule of 0.6 (see UPSTREAM_DEFECTS)")
    refusal = INEXPRESSIBLE.get(str(path.relative_to(V06)))
    if refusal is not None:
        with pytest.raises(MetadataError, match=re.escape(refusal)) as caught:
            to_v05(v06)
        assert "OME-Zarr 0.5 cannot express" in str(caught.value)
        assert "\n" not in str(caught.value)
        return
    v05 = to_v05(v06)
    assert v05["ome"]["version"] == "0.5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "multiscales" in v05["ome"] or "image-label" not in v05["ome"]:
            validate_ome_json(json.dumps(v05))
    assert from_v05(v05) == canonical(v06)


def test_identity_level_reads_as_a_scale_of_ones() -> None:
    v06 = load(V06 / "spec-image" / "multiscales_transform_identity.json") if V06.is_dir() else None
    if v06 is None:
        pytest.skip("corpus not found")
    v05 = to_v05(v06)
    levels = [d["coordinateTransformations"] for d in v05["ome"]["multiscales"][0]["datasets"]]
    assert any(t == [{"type": "scale", "scale": [1.0, 1.0]}] for t in levels)


# --- models and schemas --------------------------------------------------------------------


@pytest.mark.parametrize("path", V06_DOCS, ids=_id(V06))
def test_models_read_and_dump_every_valid_example(path: Path, corpus: Path) -> None:
    ome = load(path)["ome"]
    assert parse_ome(ome).to_json() == ome


def test_models_build_what_the_layout_writes() -> None:
    level = Sequence(
        input={"path": "s1"},
        output={"name": INTRINSIC},
        transformations=[Scale(scale=[2, 2]), {"type": "translation", "translation": [0.5, 0.5]}],
    )
    yx = {"name": "y", "type": "space"}
    image = Image(
        multiscales=[
            Multiscale(
                coordinateSystems=[
                    {"name": INTRINSIC, "axes": [yx, {"name": "x", "type": "space"}]}
                ],
                datasets=[{"path": "s1", "coordinateTransformations": [level]}],
            )
        ]
    )
    doc = image.to_json()
    assert doc["version"] == VERSION
    assert list(doc["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]) == [
        "type",
        "input",
        "output",
        "transformations",
    ]
    assert schema_errors({"ome": doc}) == []


def test_strict_models_want_the_should_keys() -> None:
    plate = {
        "version": VERSION,
        "plate": {
            "columns": [{"name": "1"}],
            "rows": [{"name": "A"}],
            "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}],
        },
    }
    parse_ome(plate)
    with pytest.raises(ValueError, match="no name"):
        StrictPlate.model_validate(plate)


def test_axis_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="not unique"):
        parse_ome(
            {
                "version": VERSION,
                "multiscales": [
                    {
                        "coordinateSystems": [
                            {"name": "c", "axes": [{"name": "x"}, {"name": "x"}]}
                        ],
                        "datasets": [],
                    }
                ],
            }
        )


def test_schema_accepts_both_spellings_of_the_version() -> None:
    doc = {"ome": {"version": "0.6", "series": ["0"]}}
    assert schema_errors(doc) == []
    doc["ome"]["version"] = "0.5"
    assert schema_errors(doc) == ["ome.version: '0.5' is not one of ['0.6', '0.6rc0']"]


def test_schema_reason_names_the_field_of_the_transformation_type_given() -> None:
    attrs = from_v05(
        {
            "ome": {
                "version": "0.5",
                "multiscales": [_v05_multiscale([{"type": "scale", "scale": [1, 1]}])],
            }
        }
    )
    attrs["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [1, 0]
    (reason,) = schema_errors(attrs)
    assert reason.startswith("ome.multiscales.0.datasets.0.coordinateTransformations.0.scale.1:")


# --- whole stores of the corpus --------------------------------------------------------------

GALAXY = CORPUS / "zarr-v05" / "galaxy"


@pytest.mark.parametrize(
    "store",
    sorted(GALAXY.glob("*.zarr")) if GALAXY.is_dir() else [],
    ids=lambda p: p.name,
)
def test_corpus_v05_stores_move_to_valid_v06_stores(
    store: Path, tmp_path: Path, corpus: Path
) -> None:
    import shutil

    moved = tmp_path / store.name
    shutil.copytree(store, moved)
    _move_store_and_back(moved)


@pytest.mark.parametrize("kind", ["image", "plate"])
def test_omeconv_v05_stores_move_to_valid_v06_stores(kind: str, tmp_path: Path) -> None:
    from tests.test_ome_zarr_v05_source import v05_store

    _move_store_and_back(v05_store(tmp_path, kind))


def _move_store_and_back(store: Path) -> None:
    """Move every group of a 0.5 store to 0.6 in place; it must validate, and move back."""
    from omeconv.validate_v06 import v06_store_problems

    originals = {}
    for meta in store.rglob("zarr.json"):
        doc = json.loads(meta.read_text())
        if doc.get("node_type") == "group" and "ome" in doc.get("attributes", {}):
            originals[meta] = doc["attributes"]
            doc["attributes"] = from_v05(doc["attributes"])
            meta.write_text(json.dumps(doc))
    assert originals
    must, _ = v06_store_problems(str(store))
    assert must == []
    for meta, attrs in originals.items():
        assert to_v05(json.loads(meta.read_text())["attributes"]) == attrs


def test_read_as_v05_leaves_out_what_v05_cannot_say() -> None:
    """The model's view of a rotated image: the levels' axes and scale, no rotation."""
    from omeconv.ngff06.moves import read_as_v05

    if not V06.is_dir():
        pytest.skip("corpus not found")
    v06 = load(V06 / "spec-transforms" / "rotation.json")
    multiscale = read_as_v05(v06)["multiscales"][0]
    assert multiscale["axes"] == v06["ome"]["multiscales"][0]["coordinateSystems"][1]["axes"]
    assert multiscale["datasets"] == [
        {
            "path": "array",
            "coordinateTransformations": [
                {"type": "scale", "scale": [1, 1], "name": "array to physical"}
            ],
        }
    ]
    assert "coordinateTransformations" not in multiscale
    plain = load(V06 / "strict-image" / "image.json")
    assert read_as_v05(plain) == to_v05(plain)["ome"]
