"""OME-Zarr 0.6 output: every kind of store written as 0.6 validates, reads back pixel-equal,
and holds the 0.5 metadata of the same conversion moved to 0.6 (one emitter, a layout each)."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np
import pytest
import tifffile

from omeconv.api import convert, write
from omeconv.converters.numpy_ import image_from_array
from omeconv.emit.v06 import from_v05
from omeconv.errors import OmeconvWarning
from omeconv.model import Label, Level
from omeconv.ngff06 import VERSION
from omeconv.validate import validate_path
from tests.cli_runs import cli
from tests.factories import make_plate_ome_tiff, random_array, read_level

if TYPE_CHECKING:
    from pathlib import Path

MULTISERIES = "tiff/ome-tiff/galaxy__split_image__multiseries.ome.tiff"


def groups(root: Path) -> dict[str, dict[str, Any]]:
    """The attributes of every group of a Zarr v3 store, by path."""
    out = {}
    for doc_path in sorted(root.rglob("zarr.json")):
        doc = json.loads(doc_path.read_text())
        if doc["node_type"] == "group":
            path = doc_path.parent.relative_to(root).as_posix()
            out["" if path == "." else path] = doc["attributes"]
    return out


def assert_moved_from_v05(out06: Path, out05: Path) -> None:
    """Every group of ``out06`` holds the attributes of ``out05``'s, moved to 0.6."""
    v05, v06 = groups(out05), groups(out06)
    assert list(v06) == list(v05)
    for path, attrs in v05.items():
        expected = from_v05(attrs) if "ome" in attrs else attrs
        assert json.dumps(v06[path]) == json.dumps(expected), path  # keys, order, JSON types
        if "ome" in attrs:
            assert v06[path]["ome"]["version"] == VERSION


def both(write_to: Any, tmp_path: Path) -> tuple[Path, Path]:
    """``write_to(dest, version)`` as 0.6 and 0.5; the 0.6 output validates as 0.6."""
    out06, out05 = tmp_path / "v06.ome.zarr", tmp_path / "v05.ome.zarr"
    write_to(out06, "0.6")
    write_to(out05, "0.5")
    assert validate_path(out06) == VERSION
    assert_moved_from_v05(out06, out05)
    return out06, out05


@pytest.mark.parametrize("axes", ["yx", "zyx", "czyx", "tczyx"])
def test_image_2d_to_5d(tmp_path: Path, axes: str) -> None:
    shape = {"t": 2, "c": 2, "z": 3, "y": 20, "x": 24}
    data = random_array(tuple(shape[a] for a in axes), "uint16")
    image = image_from_array(data, axes=axes)
    out, _ = both(lambda d, v: write(image, d, ome_version=v, levels=1), tmp_path)
    np.testing.assert_array_equal(read_level(out / "0"), data)


def test_multi_level_with_translation(tmp_path: Path) -> None:
    data = random_array((2, 40, 48), "uint8")
    image = image_from_array(data, axes="cyx", scale={"y": 0.5, "x": 0.5})
    image = replace(
        image, levels=tuple(replace(lv, translation=(0.0, 3.0, 4.0)) for lv in image.levels)
    )
    out, _ = both(
        lambda d, v: write(image, d, ome_version=v, levels=3, chunks={"y": 16, "x": 16}),
        tmp_path,
    )
    datasets = groups(out)[""]["ome"]["multiscales"][0]["datasets"]
    assert [d["coordinateTransformations"][0]["type"] for d in datasets] == ["sequence"] * 3
    np.testing.assert_array_equal(read_level(out / "0"), data)
    np.testing.assert_array_equal(read_level(out / "1").shape, (2, 20, 24))


def test_labels(tmp_path: Path) -> None:
    data = random_array((2, 32, 32), "uint16")
    image = image_from_array(data, axes="cyx")
    mask = np.zeros((1, 32, 32), np.uint8)
    mask[0, 4:12, 5:20] = 3
    label = Label(
        name="cells", levels=(Level(data=da.from_array(mask), scale=(1.0,) * 3),), axes=image.axes
    )
    image = replace(image, labels=(label,))
    out, _ = both(
        lambda d, v: write(image, d, ome_version=v, levels=2, chunks={"y": 16, "x": 16}),
        tmp_path,
    )
    attrs = groups(out)["labels/cells"]["ome"]
    assert "image-label" in attrs
    assert len(attrs["multiscales"][0]["datasets"]) == 2
    np.testing.assert_array_equal(read_level(out / "labels" / "cells" / "0"), mask)


def test_plate(tmp_path: Path) -> None:
    src = tmp_path / "plate.ome.tif"
    images = make_plate_ome_tiff(src, {(0, 0): 2, (1, 1): 1})
    out, _ = both(lambda d, v: convert(src, d, ome_version=v), tmp_path)
    assert [w["path"] for w in groups(out)[""]["ome"]["plate"]["wells"]] == ["A/1", "B/2"]
    for path, expected in zip(["A/1/0", "A/1/1", "B/2/0"], images, strict=True):
        np.testing.assert_array_equal(read_level(out / path / "0"), expected)
    assert (out / "OME" / "METADATA.ome.xml").is_file()


def test_bioformats2raw_collection(corpus: Path, tmp_path: Path) -> None:
    src = corpus / MULTISERIES
    if not src.exists():
        pytest.skip(f"{MULTISERIES} not in corpus")
    out, _ = both(lambda d, v: convert(src, d, ome_version=v, levels=1), tmp_path)
    assert groups(out)[""]["ome"]["bioformats2raw.layout"] == 3
    with tifffile.TiffFile(src) as tf:
        assert (out / "OME" / "METADATA.ome.xml").read_text() == tf.ome_metadata
        for i, series in enumerate(tf.series):
            np.testing.assert_array_equal(read_level(out / str(i) / "0"), series.asarray())


def test_cli_tiff2zarr_and_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.tif"
    data = random_array((24, 30), "uint16")
    tifffile.imwrite(src, data)
    out = tmp_path / "a.ome.zarr"
    code, err = cli(["tiff2zarr", str(src), str(out), "--ome-version", "0.6"], capsys)
    assert code == 0, err
    assert groups(out)[""]["ome"]["version"] == VERSION
    np.testing.assert_array_equal(read_level(out / "0"), data)
    assert cli(["validate", str(out)], capsys)[0] == 0


# --- 0.6 input -------------------------------------------------------------------------------


def _labelled_image(dest: Path, version: str) -> None:
    data = random_array((2, 32, 40), "uint16")
    image = image_from_array(data, axes="cyx", scale={"y": 0.25, "x": 0.25})
    mask = (random_array((1, 32, 40), "uint8") > 200).astype(np.uint8)
    label = Label(
        name="spots", levels=(Level(data=da.from_array(mask), scale=(1.0,) * 3),), axes=image.axes
    )
    write(replace(image, labels=(label,)), dest, ome_version=version, chunks={"y": 16, "x": 16})


def _plate(dest: Path, version: str) -> None:
    src = dest.with_suffix(".tif")
    if not src.exists():
        make_plate_ome_tiff(src, {(0, 1): 2, (1, 0): 1})
    convert(src, dest, ome_version=version)


def arrays(root: Path) -> dict[str, np.ndarray]:
    return {
        p.parent.relative_to(root).as_posix(): read_level(p.parent)
        for p in sorted(root.rglob("zarr.json"))
        if json.loads(p.read_text())["node_type"] == "array"
    }


@pytest.mark.parametrize("make", [_labelled_image, _plate])
def test_v06_converts_to_v05_and_v04_and_back(tmp_path: Path, make: Any) -> None:
    out06, out05 = both(make, tmp_path)
    back05, back06 = tmp_path / "back05.ome.zarr", tmp_path / "back06.ome.zarr"
    convert(out06, back05, ome_version="0.5")
    assert validate_path(back05) == "0.5"
    assert json.dumps(groups(back05)) == json.dumps(groups(out05))
    convert(back05, back06, ome_version="0.6")
    assert json.dumps(groups(back06)) == json.dumps(groups(out06))
    pixels = arrays(out06)
    for other in (back05, back06):
        got = arrays(other)
        assert list(got) == list(pixels)
        for path, expected in pixels.items():
            np.testing.assert_array_equal(got[path], expected)
    via06, via05 = tmp_path / "via06-v04.ome.zarr", tmp_path / "via05-v04.ome.zarr"
    convert(out06, via06, ome_version="0.4")
    convert(out05, via05, ome_version="0.4")
    assert validate_path(via06) == "0.4"
    zattrs = sorted(p.relative_to(via05) for p in via05.rglob(".zattrs"))
    assert zattrs == sorted(p.relative_to(via06) for p in via06.rglob(".zattrs"))
    for rel in zattrs:
        assert (via06 / rel).read_text() == (via05 / rel).read_text()


def test_what_v05_cannot_say_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in06.ome.zarr"
    write(image_from_array(random_array((16, 16), "uint8"), axes="yx"), src, ome_version="0.6")
    doc = json.loads((src / "zarr.json").read_text())
    multiscale = doc["attributes"]["ome"]["multiscales"][0]
    multiscale["coordinateSystems"].append(
        {"name": "stage", "axes": multiscale["coordinateSystems"][0]["axes"]}
    )
    (src / "zarr.json").write_text(json.dumps(doc))
    code, lines = cli(
        ["convert", str(src), str(tmp_path / "out.ome.zarr"), "--ome-version", "0.5"], capsys
    )
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(f"omeconv: error: {src}: OME-Zarr {VERSION}: ")
    assert "0.5 cannot express coordinate system 'stage'" in lines[0]
    assert not (tmp_path / "out.ome.zarr").exists()


def test_v06_input_gains_levels(tmp_path: Path) -> None:
    """Levels computed below a 0.6 source's own get datasets in the source's frame."""
    data = random_array((64, 64), "uint16")
    image = image_from_array(data, axes="yx", scale={"y": 0.5, "x": 0.5})
    src, out = tmp_path / "one.ome.zarr", tmp_path / "three.ome.zarr"
    write(image, src, ome_version="0.6", levels=1)
    convert(src, out, ome_version="0.6", levels=3, chunks=(16, 16))
    assert validate_path(out) == VERSION
    multiscale = groups(out)[""]["ome"]["multiscales"][0]
    scales = [d["coordinateTransformations"][0]["scale"] for d in multiscale["datasets"]]
    assert scales == [[0.5, 0.5], [1.0, 1.0], [2.0, 2.0]]
    assert multiscale["type"] == "mean"
    np.testing.assert_array_equal(read_level(out / "0"), data)
    assert read_level(out / "2").shape == (16, 16)


def test_info_reads_v06_as_it_reads_v05(tmp_path: Path) -> None:
    from omeconv.info import summarize

    image = image_from_array(random_array((2, 24, 30), "uint8"), axes="cyx", scale={"y": 0.5})
    out06, out05 = both(lambda d, v: write(image, d, ome_version=v, levels=2), tmp_path)
    v06, v05 = summarize(out06), summarize(out05)
    assert v06["ome_version"] == VERSION
    for summary in (v06, v05):
        summary.pop("path")
        summary.pop("ome_version")
    assert json.dumps(v06) == json.dumps(v05).replace(str(out05), str(out06))


# --- 0.6 -> 0.6: what 0.5 cannot say is carried verbatim -------------------------------------


def _image_store(root: Path, attrs: dict[str, Any]) -> None:
    """A Zarr v3 store whose root holds ``attrs`` and, at each level's path, a small array
    with as many dimensions as the system the level maps to (zarr's API, not omeconv's)."""
    import zarr

    zarr.open_group(str(root), mode="w", attributes=attrs)
    multiscale = attrs["ome"]["multiscales"][0]
    systems = {s["name"]: s["axes"] for s in multiscale["coordinateSystems"]}
    for dataset in multiscale["datasets"]:
        axes = systems[dataset["coordinateTransformations"][0]["output"]["name"]]
        shape = (3,) * len(axes)
        array = zarr.create_array(str(root), name=dataset["path"], shape=shape, dtype="uint8")
        array[...] = np.arange(np.prod(shape), dtype="uint8").reshape(shape)


_YX = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]


def _small_image(name: str, axes: list[dict[str, Any]]) -> dict[str, Any]:
    """The attributes of a small 0.6 image with one level ``0`` mapped to the system ``name``."""
    level = {"type": "scale", "scale": [1.0] * len(axes), "input": {"path": "0"}}
    multiscale = {
        "coordinateSystems": [{"name": name, "axes": axes}],
        "datasets": [
            {"path": "0", "coordinateTransformations": [{**level, "output": {"name": name}}]}
        ],
    }
    return {"ome": {"version": VERSION, "multiscales": [multiscale]}}


def _scene_store(root: Path, attrs: dict[str, Any]) -> None:
    """A Zarr v3 store whose root holds the scene ``attrs`` and, at each image path the scene
    links, a small 0.6 image whose system (named as the link names it) has the axes of the
    scene's first coordinate system in NGFF order (``yx`` when it defines none)."""
    import zarr

    zarr.open_group(str(root), mode="w", attributes=attrs)
    scene = attrs["ome"]["scene"]
    axes = scene.get("coordinateSystems", [{"axes": _YX}])[0]["axes"]
    axes = sorted(axes, key=lambda axis: "tczyx".find(axis["name"]))
    links = [t[k] for t in scene["coordinateTransformations"] for k in ("input", "output")]
    for link in links:
        if "path" in link:
            _image_store(root / link["path"], _small_image(link.get("name", "physical"), axes))


def _well_store(root: Path, attrs: dict[str, Any]) -> None:
    """A Zarr v3 store of a one-well plate whose well ``A/1`` holds the well ``attrs`` and a
    small image at each field path."""
    import zarr

    wells = [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}]
    layout = {"rows": [{"name": "A"}], "columns": [{"name": "1"}], "wells": wells}
    zarr.open_group(str(root), mode="w", attributes={"ome": {"version": VERSION, "plate": layout}})
    zarr.open_group(str(root / "A"), mode="w")
    zarr.open_group(str(root / "A" / "1"), mode="w", attributes=attrs)
    for field in attrs["ome"]["well"]["images"]:
        _image_store(root / "A" / "1" / field["path"], _small_image("physical", _YX))


def _v06_sources() -> list[str]:
    from tests.test_ngff06 import INEXPRESSIBLE, V06

    return [p for p in INEXPRESSIBLE if (V06 / p).is_file()]


@pytest.mark.parametrize("example", _v06_sources())
def test_what_only_v06_says_is_carried_to_v06_verbatim(
    example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The corpus's 0.6 examples that 0.5 cannot express, as stores: converted to 0.6 (a
    directory and a .ozx), every group's attributes equal the source's (keys, order, JSON
    types), the pixels are equal and the output validates as the source does; converted to
    0.5 or 0.4, refused in one line."""
    import zipfile

    from tests.test_ngff06 import V06, load

    attrs = load(V06 / example)
    src, out, ozx = (tmp_path / n for n in ("in.ome.zarr", "out.ome.zarr", "out.ozx"))
    ome = attrs["ome"]
    build = _scene_store if "scene" in ome else _well_store if "well" in ome else _image_store
    build(src, attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OmeconvWarning)  # a few examples break a SHOULD
        convert(src, out, ome_version="0.6")
        convert(src, ozx, ome_version="0.6")
    assert json.dumps(groups(out)) == json.dumps(groups(src))
    with zipfile.ZipFile(ozx) as zf:
        root = json.loads(zf.read("zarr.json"))["attributes"]
    assert json.dumps(root) == json.dumps(groups(src)[""])
    # ``validate`` judges the output as it judges the source; ``info`` reads it.
    verdicts = [cli(["validate", str(p)], capsys)[0] for p in (src, out)]
    assert verdicts[1] == verdicts[0]
    assert cli(["info", str(out)], capsys)[0] == 0
    pixels = arrays(src)
    assert list(arrays(out)) == list(pixels)
    for path, expected in arrays(out).items():
        np.testing.assert_array_equal(expected, pixels[path])
    for version in ("0.5", "0.4"):
        dest = tmp_path / f"out{version}.ome.zarr"
        code, lines = cli(["convert", str(src), str(dest), "--ome-version", version], capsys)
        assert code == 1
        assert len(lines) == 1
        assert lines[0].startswith(f"omeconv: error: {src}: OME-Zarr {VERSION}: ")
        assert "OME-Zarr 0.5 cannot express" in lines[0]
        assert not dest.exists()


@pytest.mark.parametrize("sequence", [False, True], ids=["scale", "scale+translation"])
def test_v06_only_input_gains_levels_in_its_own_shape(tmp_path: Path, sequence: bool) -> None:
    """Levels computed below a 0.6 image whose metadata 0.5 cannot express (an affine from
    its intrinsic system to another) are added as the last dataset's transformation is shaped,
    to the same system; everything the source says stays as stored."""
    import zarr

    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "yx"]
    scale = {"type": "scale", "scale": [0.5, 0.25]}
    step = (
        {
            "type": "sequence",
            "transformations": [scale, {"type": "translation", "translation": [10.0, 20.0]}],
        }
        if sequence
        else scale
    )
    level0 = {**step, "input": {"path": "s0"}, "output": {"name": "intrinsic"}}
    affine = [[0.0, -1.0, 5.0], [1.0, 0.0, 0.0]]
    multiscale = {
        "coordinateSystems": [
            {"name": "physical", "axes": axes},
            {"name": "intrinsic", "axes": axes},
        ],
        "datasets": [{"path": "s0", "coordinateTransformations": [level0]}],
        "coordinateTransformations": [
            {
                "type": "affine",
                "affine": affine,
                "input": {"name": "intrinsic"},
                "output": {"name": "physical"},
            }
        ],
        "name": "rotated",
    }
    attrs = {"ome": {"version": VERSION, "multiscales": [multiscale]}}
    src, out = tmp_path / "in.ome.zarr", tmp_path / "out.ome.zarr"
    zarr.open_group(str(src), mode="w", attributes=attrs)
    data = random_array((64, 64), "uint16")
    zarr.create_array(str(src), name="s0", shape=data.shape, dtype=data.dtype)[...] = data
    convert(src, out, ome_version="0.6", levels=3, chunks=(16, 16))
    assert validate_path(out) == VERSION
    written = groups(out)[""]["ome"]["multiscales"][0]
    assert written["datasets"][0] == multiscale["datasets"][0]
    assert written["coordinateTransformations"] == multiscale["coordinateTransformations"]
    assert written["coordinateSystems"] == multiscale["coordinateSystems"]
    assert [d["path"] for d in written["datasets"]] == ["s0", "1", "2"]
    for n, dataset in enumerate(written["datasets"][1:], start=1):
        (level,) = dataset["coordinateTransformations"]
        assert level["input"] == {"path": dataset["path"]}
        assert level["output"] == {"name": "intrinsic"}
        steps = level["transformations"] if sequence else [level]
        assert steps[0]["scale"] == [0.5 * 2**n, 0.25 * 2**n]
        if sequence:
            # Pixel centres move by half the growth of the pixel.
            shift = [10.0 + (0.5 * 2**n - 0.5) / 2, 20.0 + (0.25 * 2**n - 0.25) / 2]
            assert steps[1] == {"type": "translation", "translation": shift}
    assert written["type"] == "mean"
    np.testing.assert_array_equal(read_level(out / "s0"), data)
    assert read_level(out / "2").shape == (16, 16)
