"""OME-Zarr 0.6 validation: the corpus's 0.6 examples are its test suite.

Every file under ``spec-json/0.6rc0`` (spec examples, attribute tests and the metadata-only
``zarr-hierarchies``) is checked: ``invalid/`` ones are rejected with a reason, ``valid/``
ones accepted, except the few that break a MUST rule of the 0.6 text or schema themselves
(:data:`UPSTREAM_DEFECTS`), which are rejected for that reason. Strictness follows the
test's ``_conformance.strict`` or its ``strict`` folder.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr

from omeconv.emit.v06 import from_v05
from omeconv.validate_v06 import v06_problems, v06_store_problems, validate_v06
from tests.conftest import CORPUS

if TYPE_CHECKING:
    from pathlib import Path

ROOT = CORPUS / "spec-json" / "0.6rc0"
CASES = sorted(ROOT.rglob("*.json")) if ROOT.is_dir() else []

_SWAPPED = "is not 1/A"  # the plate names column "A" and row "1", yet its well path is "A/1"
_OLD_SPELLING = "is not of type 'object'"  # input/output as strings, as drafts before 0.6rc0
#: Examples filed as valid that break a MUST rule of the 0.6rc0 text or schema, and the
#: reason they are rejected for.
UPSTREAM_DEFECTS = {
    "valid/examples/multiscales_strict/multiscales_example_relative.json": "'ome' is a required",
    "valid/examples/transformations/byDimensionXarray.json": "'transformation' is a required",
    "valid/examples/transformations/displacements/displacement_field.json": "2 values for 3 axes",
    "valid/examples/transformations/displacements/multiscales.json": "'0.6rc0' is not of type",
    "valid/examples/transformations/mapAxis1.json": _OLD_SPELLING,
    "valid/spec-image/mismatch_axes_units.json": "2 values for 3 axes",
    "valid/spec-plate/minimal_acquisitions.json": _SWAPPED,
    "valid/spec-plate/minimal_no_acquisitions.json": _SWAPPED,
    "valid/spec-plate/non_alphanumeric_row.json": "'A/A1' is not A1/A",
    "valid/strict-image/image_omero.json": "neither input nor output is the intrinsic system",
    "valid/strict-image/multiscales_example.json": "'s1' is not the level's path",
    "valid/strict-plate/strict_acquisitions.json": _SWAPPED,
    "valid/strict-plate/strict_no_acquisitions.json": _SWAPPED,
    **{
        f"zarr-hierarchies/{level}/valid/image/{name}.ome.zarr/zarr.json": _OLD_SPELLING
        for level, names in {
            "spec": [
                "custom_type_axes",
                "invalid_axis_units",
                "mismatch_axes_units",
                "missing_name",
                "untyped_axes",
            ],
            "strict": [
                "image",
                "image_metadata",
                "image_omero",
                "multiscales_example",
                "multiscales_transformations",
            ],
        }.items()
        for name in names
    },
    **{
        f"zarr-hierarchies/{level}/valid/plate/{name}.ome.zarr/zarr.json": reason
        for level, name, reason in [
            ("spec", "minimal_acquisitions", _SWAPPED),
            ("spec", "minimal_no_acquisitions", _SWAPPED),
            ("spec", "non_alphanumeric_row", "'A/A1' is not A1/A"),
            ("strict", "strict_acquisitions", _SWAPPED),
            ("strict", "strict_no_acquisitions", _SWAPPED),
        ]
    },
}
#: Metadata files of the corpus that are not JSON (an unterminated string upstream).
NOT_JSON = {
    "zarr-hierarchies/spec/invalid/label/colors_rgba_length.ome.zarr/zarr.json",
    "zarr-hierarchies/spec/invalid/plate/zero_field_count.ome.zarr/zarr.json",
}


def _load(path: Path) -> Any:
    text = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*', lambda m: m.group(1) or "", path.read_text())
    return json.loads(text)


def _strict(rel: str, doc: Any) -> bool:
    attrs = doc.get("attributes", doc) if isinstance(doc, dict) else {}
    conformance = attrs.get("_conformance", {}) if isinstance(attrs, dict) else {}
    return bool(conformance.get("strict")) or "strict" in rel.split("/")[:2] or "/strict-" in rel


@pytest.mark.parametrize("path", CASES, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_example(path: Path, corpus: Path) -> None:
    rel = str(path.relative_to(ROOT))
    if rel in NOT_JSON:
        with pytest.raises(json.JSONDecodeError):
            _load(path)
        return
    doc = _load(path)
    reasons = validate_v06(doc, strict=_strict(rel, doc))
    assert all(isinstance(r, str) and r and "\n" not in r for r in reasons)
    if rel in UPSTREAM_DEFECTS:
        assert any(UPSTREAM_DEFECTS[rel] in r for r in reasons), reasons
    elif "invalid" in rel.split("/"):
        assert reasons, "an invalid example was accepted"
    else:
        assert reasons == []


def test_every_defect_is_in_the_corpus(corpus: Path) -> None:
    assert all((ROOT / rel).is_file() for rel in [*UPSTREAM_DEFECTS, *NOT_JSON])


# --- rules no schema expresses --------------------------------------------------------------


def _image(ndim: int = 2, **multiscale: Any) -> dict[str, Any]:
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"[-ndim:]]
    levels = [
        {"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [1.0] * ndim}]},
        {"path": "s1", "coordinateTransformations": [{"type": "scale", "scale": [2.0] * ndim}]},
    ]
    v05 = {"ome": {"version": "0.5", "multiscales": [{"axes": axes, "datasets": levels}]}}
    attrs = from_v05(v05)
    attrs["ome"]["multiscales"][0].update(multiscale)
    return attrs


def _level(attrs: dict[str, Any], i: int) -> dict[str, Any]:
    return attrs["ome"]["multiscales"][0]["datasets"][i]["coordinateTransformations"][0]  # type: ignore[no-any-return]


def test_a_moved_image_is_valid() -> None:
    must, should = v06_problems(_image())
    assert must == []
    assert should == [
        f"ome.multiscales.0: '{k}' is a required property" for k in ("metadata", "type", "name")
    ]


def test_should_rules_only_when_strict() -> None:
    attrs = _image()
    assert validate_v06(attrs) == []
    assert any("'name' is a required" in r for r in validate_v06(attrs, strict=True))


def test_scale_must_fit_the_axes() -> None:
    attrs = _image()
    _level(attrs, 1)["scale"] = [2.0, 2.0, 2.0]
    assert validate_v06(attrs) == [
        "ome.multiscales.0.datasets.1.coordinateTransformations.0.scale: 3 values for 2 axes"
    ]


def test_levels_map_their_own_path_to_one_system() -> None:
    attrs = _image()
    _level(attrs, 1)["input"] = {"path": "s0"}
    assert any("'s0' is not the level's path" in r for r in validate_v06(attrs))
    attrs = _image()
    _level(attrs, 1)["output"] = {"name": "elsewhere"}
    reasons = validate_v06(attrs)
    assert any("levels map to different systems" in r for r in reasons)
    assert any("'elsewhere' is not a coordinate system" in r for r in reasons)


def test_level_paths_and_system_names_are_unique() -> None:
    attrs = _image()
    attrs["ome"]["multiscales"][0]["datasets"][1]["path"] = "s0"
    _level(attrs, 1)["input"] = {"path": "s0"}
    assert any("path 's0' is given more than once" in r for r in validate_v06(attrs))
    system = attrs["ome"]["multiscales"][0]["coordinateSystems"][0]
    attrs = _image(coordinateSystems=[system, {**system, "axes": system["axes"][::-1]}])
    assert any("name 'intrinsic' is given more than once" in r for r in validate_v06(attrs))


def test_axes_are_time_channel_space() -> None:
    attrs = _image(3)
    system = attrs["ome"]["multiscales"][0]["coordinateSystems"][0]
    system["axes"][0] = {"name": "t", "type": "time"}
    system["axes"][:] = system["axes"][1:] + system["axes"][:1]
    assert any("are not time, then one channel" in r for r in validate_v06(attrs))


def test_extra_systems_must_be_linked_and_transforms_fit() -> None:
    attrs = _image()
    world = {
        "name": "world",
        "axes": attrs["ome"]["multiscales"][0]["coordinateSystems"][0]["axes"],
    }
    attrs["ome"]["multiscales"][0]["coordinateSystems"].append(world)
    assert validate_v06(attrs) == [
        (
            "ome.multiscales.0.coordinateSystems: 'world' is linked to the intrinsic system by no"
            " transformation"
        )
    ]
    link = {"input": {"name": "intrinsic"}, "output": {"name": "world"}}
    attrs["ome"]["multiscales"][0]["coordinateTransformations"] = [
        {"type": "affine", "affine": [[1, 0, 0], [0, 1, 0]], **link}
    ]
    assert validate_v06(attrs) == []
    attrs["ome"]["multiscales"][0]["coordinateTransformations"] = [
        {"type": "affine", "affine": [[1, 0], [0, 1]], **link}
    ]
    assert validate_v06(attrs) == [
        "ome.multiscales.0.coordinateTransformations.0.affine: a 2x2 matrix for 2 inputs, 2 outputs"
    ]
    attrs["ome"]["multiscales"][0]["coordinateTransformations"] = [
        {"type": "mapAxis", "mapAxis": [0, 2], **link}
    ]
    assert any("is not a permutation of 2 axes" in r for r in validate_v06(attrs))


def test_a_link_to_a_label_image_is_identity_scale_or_translation() -> None:
    link = {"input": {"name": "intrinsic"}, "output": {"name": "intrinsic", "path": "labels/a"}}
    attrs = _image(coordinateTransformations=[{"type": "identity", **link}])
    assert validate_v06(attrs) == []
    attrs = _image(coordinateTransformations=[{"type": "mapAxis", "mapAxis": [1, 0], **link}])
    assert any("must be identity, scale or translation" in r for r in validate_v06(attrs))


def test_plate_wells_name_their_row_and_column() -> None:
    plate = {
        "rows": [{"name": "A"}],
        "columns": [{"name": "1"}, {"name": "2"}],
        "wells": [{"path": "A/2", "rowIndex": 0, "columnIndex": 0}],
    }
    reasons = validate_v06({"ome": {"version": "0.6rc0", "plate": plate}})
    assert reasons == ["ome.plate.wells.0.path: 'A/2' is not A/1"]


def test_label_values_are_unique_integers() -> None:
    label = {"colors": [{"label-value": 1.5}, {"label-value": 2}]}
    reasons = validate_v06({"ome": {"version": "0.6rc0", "image-label": label}})
    assert reasons == [
        "ome.image-label.colors.1.label-value: 1.5 is not an integer"
    ] or reasons == ["ome.image-label.colors.0.label-value: 1.5 is not an integer"]
    label = {"colors": [{"label-value": 2, "rgba": [0, 0, 0, 0]}, {"label-value": 2}]}
    reasons = validate_v06({"ome": {"version": "0.6rc0", "image-label": label}})
    assert reasons == ["ome.image-label.colors: label-value 2 is given more than once"]


def test_not_a_document() -> None:
    assert validate_v06([1, 2]) == ["(document): not a JSON object"]


# --- whole stores ---------------------------------------------------------------------------


def _store(tmp_path: Path, *, label_version: str = "0.6rc0") -> Path:
    root = zarr.open_group(tmp_path / "img.ome.zarr", mode="w", zarr_format=3)
    root.attrs.update(_image())
    for name, shape in (("s0", (8, 8)), ("s1", (4, 4))):
        array = root.create_array(name, shape=shape, dtype="uint8", dimension_names=["y", "x"])
        array[:] = np.ones(shape, dtype="uint8")
    labels = root.create_group("labels")
    labels.attrs.update({"ome": {"version": label_version, "labels": ["cells"]}})
    cells = labels.create_group("cells")
    label_attrs = _image()
    label_attrs["ome"]["version"] = label_version
    label_attrs["ome"]["image-label"] = {"colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}]}
    cells.attrs.update(label_attrs)
    for name, shape in (("s0", (8, 8)), ("s1", (4, 4))):
        cells.create_array(name, shape=shape, dtype="uint16", dimension_names=["y", "x"])
    return tmp_path / "img.ome.zarr"


def test_a_store_is_valid(tmp_path: Path) -> None:
    must, should = v06_store_problems(str(_store(tmp_path)))
    assert must == []
    assert len(should) == 6  # name, type and metadata of both multiscales


def test_versions_are_consistent_across_the_store(tmp_path: Path) -> None:
    must, _ = v06_store_problems(str(_store(tmp_path, label_version="0.6")))
    assert "labels: ome.version: '0.6' is not the root's '0.6rc0'" in must


def test_levels_must_exist_and_fit_the_axes(tmp_path: Path) -> None:
    location = _store(tmp_path)
    root = zarr.open_group(location, mode="a")
    del root["s1"]
    root.create_array("s1", shape=(16, 4), dtype="float32", dimension_names=["x", "y"])
    del root["labels/cells/s1"]
    cells = root["labels/cells"]
    cells.attrs["ome"] = {
        **cells.attrs["ome"],
        "multiscales": [
            {
                **cells.attrs["ome"]["multiscales"][0],
                "datasets": cells.attrs["ome"]["multiscales"][0]["datasets"][:1],
            }
        ],
    }
    del root["labels/cells/s0"]
    must, _ = v06_store_problems(str(location))
    assert "labels/cells: 1 levels, the image has 2" in must
    assert "labels/cells: ome.multiscales.0.datasets.0: no array at 's0'" in must
    assert (
        "ome.multiscales.0.datasets.1: dimension_names ['x', 'y'] are not the axes ['y', 'x']"
        in must
    )
    assert "ome.multiscales.0.datasets: levels of different dtypes ['uint8', 'float32']" in must
    assert "ome.multiscales.0.datasets.1: shape (16, 4) exceeds (8, 8)" in must


def test_labels_must_exist_and_be_integers(tmp_path: Path) -> None:
    location = _store(tmp_path)
    root = zarr.open_group(location, mode="a")
    root["labels"].attrs.update({"ome": {"version": "0.6rc0", "labels": ["cells", "nuclei"]}})
    for name in ("s0", "s1"):
        shape = root[f"labels/cells/{name}"].shape
        del root[f"labels/cells/{name}"]
        root["labels/cells"].create_array(name, shape=shape, dtype="float32")
    must, _ = v06_store_problems(str(location))
    assert "labels: ome.labels.1: 'nuclei' is not a label image in this group" in must
    assert "labels/cells: ome.multiscales.0: label pixels are float32, not an integer type" in must


# --- through omeconv.validate and the CLI ----------------------------------------------------


def test_validate_path_knows_0_6_documents(tmp_path: Path) -> None:
    from omeconv.errors import ValidationFailedError
    from omeconv.validate import validate_path

    doc = tmp_path / "zarr.json"
    attrs = _image(name="m", type="mean", metadata={})
    doc.write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": attrs}))
    assert validate_path(doc, strict=True) == "0.6rc0"
    _level(attrs, 1)["scale"] = [2.0]
    doc.write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": attrs}))
    with pytest.raises(ValidationFailedError, match=r"not a valid OME-Zarr 0\.6rc0") as caught:
        validate_path(doc)
    assert caught.value.details == [
        "ome.multiscales.0.datasets.1.coordinateTransformations.0.scale: 1 values for 2 axes"
    ]


def test_validate_command_on_a_0_6_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omeconv.cli import main

    location = _store(tmp_path)
    main(["validate", str(location)])
    out, err = capsys.readouterr()
    assert out == f"{location}: valid OME-Zarr 0.6rc0\n"
    assert "SHOULD" in err
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--strict", str(location)])
    assert exc.value.code == 1
    assert "'name' is a required property" in capsys.readouterr().err
