"""Zeiss CZI through the pylibCZIrw adapter, checked against pylibCZIrw and czifile."""

from __future__ import annotations

import importlib.util
import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from tests.converters.adapter_suite import AdapterSuite, Reference, matched

if TYPE_CHECKING:
    from pathlib import Path

FILES = (
    "AllenCellModeling__aicspylibczi__RGB-8bit.czi",
    "AllenCellModeling__aicspylibczi__RGB-multichannel.czi",
    "AllenCellModeling__aicspylibczi__s_1_t_1_c_1_z_1.czi",
    "AllenCellModeling__aicspylibczi__tiles.czi",
    "sebi06__czitools__100x100.czi",
    "sebi06__czitools__Airyscan.czi",
    "sebi06__czitools__CH_1_16bit.czi",
    "sebi06__czitools__CellDivision_T3_Z5_CH2_X240_Y170.czi",
    "sebi06__czitools__CellDivision_T3_Z6_CH1_X300_Y200_DCV_ZSTD.czi",
    "sebi06__czitools__FOV7_HV110_P0500510000.czi",
    "sebi06__czitools__Fluorescence_RGB.czi",
    "sebi06__czitools__LLS7_small.czi",
    "sebi06__czitools__LSM880_AiryScan.czi",
    "sebi06__czitools__S3_1Pos_2Mosaic_T1_Z1_CH1.czi",
    "sebi06__czitools__WellD6-7_S2.czi",
    "sebi06__czitools__newCZI_compressed.czi",
    "sebi06__czitools__nuc_small_new_red.czi",
)


def _listed(node: Any) -> list[Any]:
    return [] if node is None else node if isinstance(node, list) else [node]


class TestCzi(AdapterSuite):
    adapter = "czi"
    folder = "czi"
    files = FILES
    library = "pylibCZIrw"

    def reference(self, path: Path) -> list[Reference]:
        """Each scene read whole, plane by plane, with ``CziReader.read`` (which gives BGR)."""
        from pylibCZIrw import czi as pyczi

        refs = []
        with pyczi.open_czi(str(path)) as czi:
            box = dict(czi.total_bounding_box)
            (x0, x1), (y0, y1) = box.pop("X"), box.pop("Y")
            rects = czi.scenes_bounding_rectangle
            scenes = {k: (r.x, r.y, r.w, r.h) for k, r in rects.items()} or {
                None: (x0, y0, x1 - x0, y1 - y0)
            }
            info = czi.metadata["ImageDocument"]["Metadata"]
            rgb = next(iter(czi.pixel_types.values())).startswith("Bgr")
            for scene, roi in sorted(scenes.items(), key=lambda kv: kv[0] or 0):
                planes = [
                    czi.read(roi=roi, plane=dict(zip(box, index, strict=True)), scene=scene)
                    for index in itertools.product(*(range(a, b) for a, b in box.values()))
                ]
                data = np.stack(planes).reshape(
                    tuple(b - a for a, b in box.values()) + planes[0].shape
                )
                axes = [d.lower() for d in box] + ["y", "x"]
                if rgb:
                    data = np.moveaxis(data[..., ::-1], -1, axes.index("c") + 1)
                    shape = list(data.shape)
                    k = axes.index("c")
                    data = data.reshape([*shape[:k], shape[k] * 3, *shape[k + 2 :]])
                else:
                    data = data[..., 0]
                refs.append(Reference(data, axes, _sizes(info, axes), _names(info, rgb)))
        return refs

    def test_agrees_with_czifile(self, path: Path) -> None:
        """Where czifile (cgohlke) reads a file too, its array is the same, axis by axis."""
        if importlib.util.find_spec("czifile") is None:
            pytest.skip("czifile is not installed")
        if "LSM880_AiryScan" in path.name:
            # 132 subblocks over 8 C x 32 H: czifile's array for it was seen to change
            # within one process (after other reads), so it is no reference here.
            pytest.skip("czifile is not reproducible on this sparse H x C file")
        import czifile

        try:
            with czifile.CziFile(path) as f:
                data, letters = f.asarray(), f.axes
        except KeyError:
            pytest.skip("czifile cannot decode this compression")
        images = self.open(path).images
        if len(images) > 1:
            pytest.skip("czifile places all scenes on one canvas")
        image = images[0]
        # czifile's S is the scene (one here); its 0 the samples, RGB for BGR pixels.
        names = [{"S": "_", "0": "_"}.get(c, c.lower()) for c in letters]
        if data.shape[-1] == 3:
            if "c" in names:
                if data.shape[names.index("c")] > 1:
                    pytest.skip("czifile keeps channels and samples apart")
                names[names.index("c")] = "_"
            names[-1] = "c"
        keep = [i for i, a in enumerate(names) if a != "_" or data.shape[i] > 1]
        assert all(names[i] != "_" for i in keep)
        data = data.reshape([data.shape[i] for i in keep])
        names = [names[i] for i in keep]
        expected = matched(data, names, [a.name for a in image.axes])
        np.testing.assert_array_equal(image.data.compute(), expected)


def _sizes(info: dict[str, Any], axes: list[str]) -> dict[str, float]:
    sizes = {}
    for d in _listed(info["Scaling"]["Items"]["Distance"] if "Scaling" in info else None):
        name = d["@Id"].lower()
        if name in axes and d.get("Value") and float(d["Value"]) > 0:
            sizes[name] = float(d["Value"]) * 1e6
    return sizes


def _names(info: dict[str, Any], rgb: bool) -> list[str | None] | None:
    dims = info["Information"]["Image"].get("Dimensions") or {}
    channels = _listed((dims.get("Channels") or {}).get("Channel"))
    if not channels:
        return None
    names = [ch.get("@Name") or None for ch in channels]  # "" is no name
    if rgb:
        prefix = [f"{n} " if n and len(names) > 1 else "" for n in names]
        return [f"{p}{s}" for p in prefix for s in "RGB"]
    return names


def test_scenes_are_a_collection(corpus: Path) -> None:
    from omeconv.api import open_source

    pytest.importorskip("pylibCZIrw")
    path = corpus / "vendor" / "czi" / "sebi06__czitools__S3_1Pos_2Mosaic_T1_Z1_CH1.czi"
    collection = open_source(path)
    assert collection.layout == "bioformats2raw"
    assert [im.name for im in collection.images] == ["TR1", "P1", "TR2"]
    # The scenes' bounding rectangles as libCZI reports them: (x, y, w, h)
    # (145, 0, 295, 122), (0, 213, 64, 64), (293, 277, 352, 237).
    assert [im.data.shape[-2:] for im in collection.images] == [(122, 295), (64, 64), (237, 352)]
    one = open_source(path, series=2)
    assert [im.name for im in one.images] == ["TR2"]


def test_scenes_in_wells_are_a_plate(corpus: Path, tmp_path: Path) -> None:
    """WellD6-7_S2.czi: two scenes whose shapes are the wells D6 and D7."""
    from omeconv.api import convert, open_source
    from tests.factories import group_attrs

    pytest.importorskip("pylibCZIrw")
    path = corpus / "vendor" / "czi" / "sebi06__czitools__WellD6-7_S2.czi"
    collection = open_source(path)
    assert collection.layout == "plate"
    assert collection.image_paths == ("D/6/0", "D/7/0")
    assert [im.name for im in collection.images] == ["D6", "D7"]
    out = tmp_path / "plate.ome.zarr"
    convert(path, out)
    plate = group_attrs(out)["plate"]
    assert plate["rows"] == [{"name": "D"}]
    assert plate["columns"] == [{"name": "6"}, {"name": "7"}]
    assert [w["path"] for w in plate["wells"]] == ["D/6", "D/7"]
    assert plate["name"] == path.stem  # the file names no plate
    assert group_attrs(out / "D" / "6")["well"]["images"] == [{"path": "0"}]
    single = open_source(path, series=1)
    assert single.layout == "image"
    assert [im.name for im in single.images] == ["D7"]


def test_pyramid_layers_are_reused(corpus: Path, tmp_path: Path) -> None:
    """Scenes with ``PyramidInfo`` keep the file's 1/2 layer as level 1, as libCZI reads it
    at zoom 0.5, tile by tile; a scene without one has a single level."""
    from pylibCZIrw import czi as pyczi

    from omeconv.api import convert, open_source
    from tests.factories import group_attrs, read_level

    pytest.importorskip("pylibCZIrw")
    path = corpus / "vendor" / "czi" / "sebi06__czitools__S3_1Pos_2Mosaic_T1_Z1_CH1.czi"
    images = open_source(path).images
    assert [len(im.levels) for im in images] == [2, 1, 2]
    with pyczi.open_czi(str(path)) as czi:
        rect = czi.scenes_bounding_rectangle[2]
        # whole 2 x 2 blocks: 352 x 237 -> 176 x 118
        roi = (rect.x, rect.y, rect.w // 2 * 2, rect.h // 2 * 2)
        expected = czi.read(roi=roi, scene=2, zoom=0.5)[..., 0]
    level = images[2].levels[1]
    assert level.data.shape[-2:] == (rect.h // 2, rect.w // 2)
    np.testing.assert_array_equal(level.data.compute()[0, 0, 0], expected)
    assert level.scale[-2:] == tuple(2 * s for s in images[2].levels[0].scale[-2:])
    out = tmp_path / "s3.ome.zarr"
    convert(path, out)
    multiscale = group_attrs(out / "2")["multiscales"][0]
    assert multiscale["type"] == "gaussian"
    assert multiscale["metadata"]["MinificationFactor"] == "2"
    np.testing.assert_array_equal(read_level(out / "2" / "1")[0, 0, 0], expected)


def test_tiles_read_like_one_region(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in 50 x 50 tiles, both levels of a mosaic scene equal one whole read."""
    from pylibCZIrw import czi as pyczi

    from omeconv.api import open_source
    from omeconv.converters import pylibczirw_

    pytest.importorskip("pylibCZIrw")
    monkeypatch.setattr(pylibczirw_, "_TILE", 50)
    path = corpus / "vendor" / "czi" / "sebi06__czitools__S3_1Pos_2Mosaic_T1_Z1_CH1.czi"
    image = open_source(path).images[0]
    assert len(image.levels[0].data.chunks[-1]) > 1
    with pyczi.open_czi(str(path)) as czi:
        r = czi.scenes_bounding_rectangle[0]
        whole = czi.read(roi=(r.x, r.y, r.w, r.h), scene=0)[..., 0]
        half = czi.read(roi=(r.x, r.y, r.w // 2 * 2, r.h // 2 * 2), scene=0, zoom=0.5)[..., 0]
    np.testing.assert_array_equal(image.levels[0].data.compute()[0, 0, 0], whole)
    np.testing.assert_array_equal(image.levels[1].data.compute()[0, 0, 0], half)


@pytest.mark.parametrize(
    "file", ["sebi06__czitools__S3_1Pos_2Mosaic_T1_Z1_CH1.czi", "sebi06__czitools__WellD6-7_S2.czi"]
)
def test_scenes_are_placed_at_their_bounding_rectangles(
    corpus: Path, tmp_path: Path, file: str
) -> None:
    """Each scene's translation is the corner of its bounding rectangle (libCZI's pixels)
    times the pixel size; the file's coarser layers move by half their pixel's growth."""
    from pylibCZIrw import czi as pyczi

    from omeconv.api import convert, open_source
    from tests.factories import group_attrs

    pytest.importorskip("pylibCZIrw")
    path = corpus / "vendor" / "czi" / file
    with pyczi.open_czi(str(path)) as czi:
        rects = czi.scenes_bounding_rectangle
        info = czi.metadata["ImageDocument"]["Metadata"]
    metres = {d["@Id"]: float(d["Value"]) for d in _listed(info["Scaling"]["Items"]["Distance"])}
    collection = open_source(path)
    out = tmp_path / "out.ome.zarr"
    convert(path, out)
    paths = collection.image_paths or [str(k) for k in range(len(rects))]
    for k, (scene, rect) in enumerate(sorted(rects.items())):
        expected = [rect.y * metres["Y"] * 1e6, rect.x * metres["X"] * 1e6]
        datasets = group_attrs(out / paths[k])["multiscales"][0]["datasets"]
        transforms = datasets[0]["coordinateTransformations"]
        assert transforms[0]["type"] == "scale"
        if not any(expected):
            assert len(transforms) == 1, scene  # at the origin: no translation
            continue
        assert transforms[1]["type"] == "translation"
        assert transforms[1]["translation"][:-2] == [0.0, 0.0, 0.0]
        assert transforms[1]["translation"][-2:] == pytest.approx(expected, rel=1e-9)
        scale0 = transforms[0]["scale"]
        for ds in datasets[1:]:
            scale, shift = (t[t["type"]] for t in ds["coordinateTransformations"])
            moved = [e + (s - s0) / 2 for e, s, s0 in zip(expected, scale[-2:], scale0[-2:])]
            assert shift[-2:] == pytest.approx(moved, rel=1e-9)
