"""omeconv upgrade 0.4 -> 0.5: stores from other tools, copy and in place, errors, CLI.

v0.4 inputs come from the corpus (bioformats2raw, ome-zarr-py, fractal, ome-zarr-examples)
or are written here with ome-zarr-py and zarr-python, never with omeconv's own emitter.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr

from omeconv.cli import main
from omeconv.errors import DestinationExistsError, UpgradeError, UsageError
from omeconv.upgrade import JOURNAL, upgrade
from omeconv.validate import validate_store

if TYPE_CHECKING:
    from pathlib import Path

# -- v0.4 stores written by other tools --------------------------------------------------------

OMERO = {
    "channels": [
        {
            "color": "FF0000",
            "label": "dapi",
            "window": {"start": 10.0, "end": 900.0, "min": 0.0, "max": 1000.0},
            "active": True,
            "family": "linear",
            "coefficient": 1.0,
            "inverted": False,
        },
        {
            "color": "00FF00",
            "label": "gfp",
            "window": {"start": 5.0, "end": 800.0, "min": 0.0, "max": 1000.0},
            "active": False,
            "family": "linear",
            "coefficient": 1.0,
            "inverted": False,
        },
    ],
}


def make_labelled_image(path: Path, label_levels: int = 3, levels: int = 3) -> Path:
    """A czyx uint16 image with a pyramid, ``omero`` and a label (ome-zarr-py's v0.4 writer)."""
    from ome_zarr.format import FormatV04
    from ome_zarr.scale import Scaler
    from ome_zarr.writer import write_image, write_labels

    rng = np.random.default_rng(0)
    data = rng.integers(0, 1000, (2, 4, 64, 64), dtype=np.uint16)
    group = zarr.open_group(path, mode="w", zarr_format=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_image(data, group, axes="czyx", fmt=FormatV04(), scaler=Scaler(max_layer=levels - 1))
        write_labels(
            (data[0] > 500).astype(np.uint8),
            group,
            name="cells",
            axes="zyx",
            fmt=FormatV04(),
            scaler=Scaler(max_layer=label_levels - 1),
            label_metadata={
                "colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}],
                "properties": [{"label-value": 1, "class": "cell"}],
            },
        )
    group.attrs["omero"] = OMERO
    group.attrs["my-tool"] = {"kept": True}
    return path


def make_plate(path: Path) -> Path:
    """A 2x2 plate with two wells, two fields each, one acquisition (ome-zarr-py)."""
    from ome_zarr.format import FormatV04
    from ome_zarr.scale import Scaler
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    rng = np.random.default_rng(1)
    root = zarr.open_group(path, mode="w", zarr_format=2)
    write_plate_metadata(
        root,
        ["A", "B"],
        ["1", "2"],
        ["A/1", "B/2"],
        fmt=FormatV04(),
        acquisitions=[{"id": 0, "name": "run"}],
        field_count=2,
        name="plate",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for well in ("A/1", "B/2"):
            group = root.require_group(well)
            write_well_metadata(
                group,
                [{"path": "0", "acquisition": 0}, {"path": "1", "acquisition": 0}],
                fmt=FormatV04(),
            )
            for field in "01":
                write_image(
                    rng.integers(0, 255, (1, 32, 32), dtype=np.uint8),
                    group.require_group(field),
                    axes="cyx",
                    fmt=FormatV04(),
                    scaler=Scaler(max_layer=1),
                )
    return path


def make_encoded(
    path: Path,
    *,
    compressor: Any,
    filters: Any = None,
    order: str = "C",
    separator: str = ".",
    dtype: str = "<u2",
    fill_value: Any = None,
) -> Path:
    """A one-level zyx image with the given v2 encoding, written with zarr-python directly."""
    group = zarr.open_group(path, mode="w", zarr_format=2)
    rng = np.random.default_rng(2)
    data = rng.integers(0, 3000, (3, 50, 70)).astype(dtype)
    array = group.create_array(
        "0",
        shape=data.shape,
        dtype=np.dtype(dtype),
        chunks=(2, 16, 32),
        compressors=compressor,
        filters=filters,
        order=order,
        fill_value=fill_value,
        chunk_key_encoding={"name": "v2", "separator": separator},
    )
    array[:] = data
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [
                {"name": "z", "type": "space", "unit": "micrometer"},
                {"name": "y", "type": "space", "unit": "micrometer"},
                {"name": "x", "type": "space", "unit": "micrometer"},
            ],
            "datasets": [
                {
                    "path": "0",
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [2.0, 0.5, 0.5]},
                        {"type": "translation", "translation": [1.0, 3.0, 4.0]},
                    ],
                }
            ],
        }
    ]
    return path


# -- checks ------------------------------------------------------------------------------------


def tree_hash(root: Path) -> str:
    """Digest of every file's path and bytes under ``root``."""
    digest = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        digest.update(p.relative_to(root).as_posix().encode())
        if p.is_file():
            digest.update(p.read_bytes())
    return digest.hexdigest()


def v2_arrays(root: Path) -> dict[str, Path]:
    """Every v2 array below ``root`` by path."""
    return {p.parent.relative_to(root).as_posix(): p.parent for p in root.rglob(".zarray")}


def assert_same_pixels(original: Path, upgraded: Path, arrays: dict[str, Path]) -> None:
    """Every array of ``original`` (v0.4 paths ``arrays``) reads the same from ``upgraded``."""
    assert arrays
    for path in arrays:
        before = zarr.open_array(original / path, mode="r", zarr_format=2)
        after = zarr.open_array(upgraded / path, mode="r", zarr_format=3)
        assert after.shape == before.shape, path
        if before.dtype.kind in "OT":  # strings: object or numpy StringDType
            assert after[...].tolist() == before[...].tolist(), path
            continue
        assert after.dtype == before.dtype.newbyteorder("="), path
        np.testing.assert_array_equal(after[...], before[...], err_msg=path)


def ome(path: Path) -> dict[str, Any]:
    return json.loads((path / "zarr.json").read_text())["attributes"]["ome"]


def zattrs(path: Path) -> dict[str, Any]:
    return json.loads((path / ".zattrs").read_text())


def assert_multiscales_survive(before: dict[str, Any], after: dict[str, Any]) -> None:
    old, new = before["multiscales"][0], after["multiscales"][0]
    assert [a["name"] for a in new["axes"]] == [a["name"] for a in old["axes"]]
    assert [a.get("unit") for a in new["axes"]] == [a.get("unit") for a in old["axes"]]
    for o, n in zip(old["datasets"], new["datasets"], strict=True):
        assert n["path"] == o["path"]
        otf = {t["type"]: t[t["type"]] for t in o["coordinateTransformations"]}
        ntf = {t["type"]: t[t["type"]] for t in n["coordinateTransformations"]}
        assert ntf["scale"] == pytest.approx(otf["scale"])
        if any(otf.get("translation", [])):
            assert ntf["translation"] == pytest.approx(otf["translation"])


def assert_all_v3(root: Path) -> None:
    """No v2 metadata left beside the OME-Zarr nodes, no journal."""
    assert not (root / JOURNAL).exists()
    assert list(root.rglob(".z*")) == []


# -- corpus ------------------------------------------------------------------------------------

CORPUS_STORES = [
    "galaxy-bioformats2raw/camera.ome.zarr",
    "galaxy-bioformats2raw/xyz_8bit__mitotic_plate_calibrated.ome.zarr",
    "ome-zarr-py-bf2raw/fake-series-2.zarr",
    "ome-zarr-py-bf2raw/plate-rows-2.zarr",
    "fractal/plate_ones.zarr",
    "ome-zarr-examples/valid/image-02.zarr",
    "ome-zarr-examples/valid/image-04.zarr",
    "ome-zarr-examples/warning/image-01.zarr",
    "viv/blobs_image_v04.ome.zarr",
]


def _validate_images(source: Path, root: Path) -> None:
    """The 0.5 ``root`` (or each image of a plain group of images) is valid where the v0.4
    ``source`` is: what the source breaks is kept as it is."""
    from tests.test_upgrade_moves import is_valid

    if "ome" in json.loads((root / "zarr.json").read_text())["attributes"]:
        assert is_valid(root) == is_valid(source)
        return
    for child in root.iterdir():
        if (child / "zarr.json").exists():
            assert is_valid(child) == is_valid(source / child.name)


@pytest.mark.parametrize("name", CORPUS_STORES)
@pytest.mark.parametrize("in_place", [False, True], ids=["copy", "in-place"])
def test_corpus_store_upgrades(corpus: Path, tmp_path: Path, name: str, in_place: bool) -> None:
    source = corpus / "zarr-v04" / name
    before = tree_hash(source)
    arrays = v2_arrays(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if in_place:
            out = tmp_path / "store.zarr"
            shutil.copytree(source, out)
            assert upgrade(out, in_place=True) == str(out)
        else:
            out = tmp_path / "out.zarr"
            assert upgrade(source, out) == str(out)
    assert tree_hash(source) == before
    _validate_images(source, out)
    assert_same_pixels(source, out, arrays)
    if (source / "OME" / "METADATA.ome.xml").exists():
        xml = (source / "OME" / "METADATA.ome.xml").read_bytes()
        assert (out / "OME" / "METADATA.ome.xml").read_bytes() == xml
    root = zattrs(source)
    if "multiscales" in root:
        assert_multiscales_survive(root, ome(out))
    if "plate" in root:
        old, new = root["plate"], ome(out)["plate"]
        assert [w["path"] for w in new["wells"]] == [w["path"] for w in old["wells"]]
        assert [r["name"] for r in new["rows"]] == [r["name"] for r in old["rows"]]
        for well in old["wells"]:
            paths = [i["path"] for i in zattrs(source / well["path"])["well"]["images"]]
            assert [i["path"] for i in ome(out / well["path"])["well"]["images"]] == paths
    if in_place:
        assert_all_v3(out)


def test_fractal_omero_and_extra_attrs_survive(corpus: Path, tmp_path: Path) -> None:
    source = corpus / "zarr-v04/fractal/plate_ones.zarr"
    upgrade(source, tmp_path / "out.zarr")
    image = "B/03/0"
    old = zattrs(source / image)
    new = ome(tmp_path / "out.zarr" / image)
    assert [c["label"] for c in new["omero"]["channels"]] == [
        c["label"] for c in old["omero"]["channels"]
    ]
    # Carried as it is: fractal's windows are strings of digits and stay so.
    assert new["omero"] == old["omero"]
    assert [type(v) for v in new["omero"]["channels"][0]["window"].values()] == [
        type(v) for v in old["omero"]["channels"][0]["window"].values()
    ]


# -- stores written by ome-zarr-py -------------------------------------------------------------


@pytest.mark.parametrize("in_place", [False, True], ids=["copy", "in-place"])
def test_labelled_image(tmp_path: Path, in_place: bool) -> None:
    source = make_labelled_image(tmp_path / "in.zarr")
    reference = tmp_path / "reference.zarr"
    shutil.copytree(source, reference)
    arrays = v2_arrays(source)
    out = source if in_place else tmp_path / "out.zarr"
    upgrade(source, None if in_place else out, in_place=in_place)
    assert validate_store(str(out)) == "0.5"
    assert_same_pixels(reference, out, arrays)
    attrs = json.loads((out / "zarr.json").read_text())["attributes"]
    assert attrs["my-tool"] == {"kept": True}
    new = attrs["ome"]
    assert_multiscales_survive(zattrs(reference), new)
    channels = new["omero"]["channels"]
    assert [c["label"] for c in channels] == ["dapi", "gfp"]
    assert [c["color"] for c in channels] == ["FF0000", "00FF00"]
    assert channels[1]["window"] == {"start": 5.0, "end": 800.0, "min": 0.0, "max": 1000.0}
    assert channels[1]["active"] is False
    assert ome(out / "labels") == {"version": "0.5", "labels": ["cells"]}
    label = ome(out / "labels" / "cells")
    assert_multiscales_survive(zattrs(reference / "labels" / "cells"), label)
    assert label["image-label"]["colors"] == [{"label-value": 1, "rgba": [255, 0, 0, 255]}]
    # yaozarrs' LabelProperty keeps only "label-value" (extra keys are dropped: known gap)
    assert label["image-label"]["properties"][0]["label-value"] == 1
    level0 = json.loads((out / "s0" / "zarr.json").read_text())
    assert level0["dimension_names"] == ["c", "z", "y", "x"]
    if in_place:
        assert_all_v3(out)
        assert level0["chunk_key_encoding"] == {"name": "v2", "configuration": {"separator": "/"}}


def test_label_with_fewer_levels(tmp_path: Path) -> None:
    """v0.5 wants as many label levels as image levels: a copy computes them, in place refuses."""
    source = make_labelled_image(tmp_path / "in.zarr", label_levels=2)
    before = tree_hash(source)
    with pytest.raises(UpgradeError, match="needs as many"):
        upgrade(source, in_place=True)
    assert tree_hash(source) == before
    out = tmp_path / "out.zarr"
    upgrade(source, out)
    assert validate_store(str(out)) == "0.5"
    assert_same_pixels(source, out, v2_arrays(source))
    label = ome(out / "labels" / "cells")
    assert [d["path"] for d in label["multiscales"][0]["datasets"]] == ["s0", "s1", "2"]
    level = zarr.open_array(out / "labels/cells/2", mode="r")
    assert level.shape == (4, 16, 16)
    assert set(np.unique(level[:])) <= {0, 1}
    assert level[:].any()


@pytest.mark.parametrize("in_place", [False, True], ids=["copy", "in-place"])
def test_plate(tmp_path: Path, in_place: bool) -> None:
    source = make_plate(tmp_path / "plate.zarr")
    reference = tmp_path / "reference.zarr"
    shutil.copytree(source, reference)
    out = source if in_place else tmp_path / "out.zarr"
    upgrade(source, None if in_place else out, in_place=in_place)
    assert validate_store(str(out)) == "0.5"
    assert_same_pixels(reference, out, v2_arrays(reference))
    plate = ome(out)["plate"]
    assert plate["name"] == "plate"
    assert plate["field_count"] == 2
    assert plate["acquisitions"] == [{"id": 0, "name": "run"}]
    assert [w["path"] for w in plate["wells"]] == ["A/1", "B/2"]
    assert [(w["rowIndex"], w["columnIndex"]) for w in plate["wells"]] == [(0, 0), (1, 1)]
    assert ome(out / "A/1")["well"]["images"] == [
        {"path": "0", "acquisition": 0},
        {"path": "1", "acquisition": 0},
    ]
    assert_multiscales_survive(zattrs(reference / "B/2/1"), ome(out / "B/2/1"))


# -- codecs: chunk bytes copied as they are ------------------------------------------------------


def _codec_cases() -> dict[str, dict[str, Any]]:
    import numcodecs

    return {
        "blosc-lz4": {"compressor": numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE)},
        "blosc-zstd-bitshuffle": {"compressor": numcodecs.Blosc("zstd", 3, 2)},
        "zstd": {"compressor": numcodecs.Zstd(level=3)},
        "gzip": {"compressor": numcodecs.GZip(level=4)},
        "zlib": {"compressor": numcodecs.Zlib(level=2)},
        "lz4": {"compressor": numcodecs.LZ4()},
        "none-order-F": {"compressor": None, "order": "F"},
        "delta-filter-nested": {
            "compressor": numcodecs.Zstd(),
            "filters": [numcodecs.Delta(dtype="<u2")],
            "separator": "/",
        },
        "big-endian-F-fill": {
            "compressor": numcodecs.Zlib(),
            "dtype": ">u2",
            "order": "F",
            "fill_value": 7,
        },
        "float-null-fill": {"compressor": numcodecs.GZip(), "dtype": "<f4", "fill_value": None},
    }


@pytest.mark.parametrize("case", list(_codec_cases()))
def test_codecs_copy_bytes_unchanged(tmp_path: Path, case: str) -> None:
    source = make_encoded(tmp_path / "in.zarr", **_codec_cases()[case])
    sep = _codec_cases()[case].get("separator", ".")
    upgrade(source, tmp_path / "out.zarr")
    assert validate_store(str(tmp_path / "out.zarr")) == "0.5"
    assert_same_pixels(source, tmp_path / "out.zarr", {"0": source / "0"})
    chunks = sorted(p for p in (source / "0").rglob("*") if p.is_file() and p.name[0] != ".")
    assert chunks
    for chunk in chunks:
        key = chunk.relative_to(source / "0").as_posix().replace(sep, "/")
        assert (tmp_path / "out.zarr" / "0" / "c" / key).read_bytes() == chunk.read_bytes()
    reference = tmp_path / "reference.zarr"
    shutil.copytree(source, reference)
    upgrade(source, in_place=True)
    assert validate_store(str(source)) == "0.5"
    assert_same_pixels(reference, source, {"0": source / "0"})
    assert_all_v3(source)


def test_rechunk_reencodes(tmp_path: Path) -> None:
    import numcodecs

    source = make_encoded(tmp_path / "in.zarr", compressor=numcodecs.Zlib())
    out = tmp_path / "out.zarr"
    upgrade(source, out, chunks=(1, 25, 35), shards=True, compression="zstd")
    assert validate_store(str(out)) == "0.5"
    assert_same_pixels(source, out, {"0": source / "0"})
    array = zarr.open_array(out / "0", mode="r")
    assert array.chunks == (1, 25, 35)
    assert array.shards is not None
    assert_multiscales_survive(zattrs(source), ome(out))


def test_empty_filter_list_of_old_writers_upgrades_quietly(tmp_path: Path) -> None:
    """Old writers wrote ``"filters": []``; it means no filters and needs no warning."""
    import warnings

    source = make_encoded(tmp_path / "in.zarr", compressor=None)
    zarray = json.loads((source / "0" / ".zarray").read_text())
    (source / "0" / ".zarray").write_text(json.dumps({**zarray, "filters": []}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        upgrade(source, tmp_path / "out.zarr")
    assert not [w for w in caught if "filters" in str(w.message)]
    assert_same_pixels(source, tmp_path / "out.zarr", {"0": source / "0"})


# -- errors: one line, nothing touched ---------------------------------------------------------


def test_unmappable_codec_fails_before_writing(tmp_path: Path) -> None:
    import numcodecs

    source = make_encoded(tmp_path / "in.zarr", compressor=numcodecs.Zstd())
    meta = json.loads((source / "0" / ".zarray").read_text())
    meta["compressor"] = {"id": "base64"}
    (source / "0" / ".zarray").write_text(json.dumps(meta))
    before = tree_hash(tmp_path)
    with pytest.raises(UpgradeError, match="base64"):
        upgrade(source, tmp_path / "out.zarr")
    with pytest.raises(UpgradeError, match="base64"):
        upgrade(source, in_place=True)
    assert tree_hash(tmp_path) == before


def test_chunk_size_zero_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numcodecs

    source = make_encoded(tmp_path / "in.zarr", compressor=numcodecs.Zstd())
    meta = json.loads((source / "0" / ".zarray").read_text())
    meta["chunks"][1] = 0
    (source / "0" / ".zarray").write_text(json.dumps(meta))
    before = tree_hash(tmp_path)
    for args in ([str(tmp_path / "out.zarr")], ["--in-place"]):
        code, _, err = _run(capsys, "upgrade", "0.4", "0.5", str(source), *args)
        assert code == 1
        assert err.count("\n") == 1
        assert err.startswith(f"omeconv: error: {source}: array '0': chunk shape [2, 0, 32]")
        assert "unexpected" not in err
    assert tree_hash(tmp_path) == before


def test_in_place_never_writes_through_a_link_out_of_the_store(tmp_path: Path) -> None:
    """A level that is a symbolic link to a folder outside: in place refuses, nothing moves;
    a copy reads through it."""
    import numcodecs

    source = make_encoded(tmp_path / "in.zarr", compressor=numcodecs.Zstd())
    outside = tmp_path / "elsewhere"
    (source / "0").rename(outside)
    (source / "0").symlink_to(outside, target_is_directory=True)
    before = tree_hash(tmp_path)
    with pytest.raises(UpgradeError, match="leads out of the store") as info:
        upgrade(source, in_place=True)
    assert "\n" not in str(info.value)
    assert tree_hash(tmp_path) == before
    assert not (source / JOURNAL).exists()
    upgrade(source, tmp_path / "out.zarr")
    assert_same_pixels(source, tmp_path / "out.zarr", {"0": outside})
    assert not (tmp_path / "out.zarr" / "0").is_symlink()


def test_already_v05_and_not_ome(tmp_path: Path) -> None:
    v3 = zarr.open_group(tmp_path / "v3.zarr", mode="w", zarr_format=3)
    v3.attrs["ome"] = {"version": "0.5"}
    plain = zarr.open_group(tmp_path / "plain.zarr", mode="w", zarr_format=2)
    plain.create_array("x", shape=(4,), dtype="u1")
    before = tree_hash(tmp_path)
    for store in ("v3.zarr", "plain.zarr"):
        for kwargs in ({"dest": tmp_path / "out.zarr"}, {"in_place": True}):
            with pytest.raises(UpgradeError):
                upgrade(tmp_path / store, **kwargs)  # type: ignore[arg-type]
    assert tree_hash(tmp_path) == before


def test_output_exists_and_usage(tmp_path: Path) -> None:
    source = make_labelled_image(tmp_path / "in.zarr")
    (tmp_path / "out.zarr").mkdir()
    (tmp_path / "out.zarr" / "keep").write_text("x")
    before = tree_hash(tmp_path)
    with pytest.raises(DestinationExistsError):
        upgrade(source, tmp_path / "out.zarr")
    with pytest.raises(UsageError):
        upgrade(source)
    with pytest.raises(UsageError):
        upgrade(source, tmp_path / "o2.zarr", in_place=True)
    with pytest.raises(UsageError):
        upgrade(source, in_place=True, compression="zstd")
    with pytest.raises(UsageError):
        upgrade(source, source / "inside.zarr")
    with pytest.raises(DestinationExistsError, match="folder of other files"):
        upgrade(source, tmp_path / "out.zarr", overwrite=True)  # not a store: never replaced
    assert tree_hash(tmp_path) == before
    (tmp_path / "out.zarr" / "keep").unlink()
    upgrade(source, tmp_path / "out.zarr", overwrite=True)
    assert validate_store(str(tmp_path / "out.zarr")) == "0.5"


def test_in_place_twice_is_harmless(tmp_path: Path) -> None:
    source = make_plate(tmp_path / "plate.zarr")
    upgrade(source, in_place=True)
    done = tree_hash(source)
    with pytest.raises(UpgradeError, match="already"):
        upgrade(source, in_place=True)
    assert tree_hash(source) == done
    assert validate_store(str(source)) == "0.5"


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    source = make_labelled_image(tmp_path / "in.zarr")
    before = tree_hash(tmp_path)
    text = upgrade(source, in_place=True, dry_run=True)
    assert "labels/cells/s0" in text
    assert "zstd" in text
    text = upgrade(source, tmp_path / "out.zarr", dry_run=True)
    assert "copied as they are" in text
    assert tree_hash(tmp_path) == before


# -- CLI ---------------------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main([*args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_labelled_image(tmp_path / "in.zarr")
    out = str(tmp_path / "out.zarr")
    code, _, err = _run(capsys, "-q", "upgrade", "v0.4", "v0.5", str(source), out)
    assert code == 0, err
    assert validate_store(out) == "0.5"
    code, _, err = _run(capsys, "upgrade", "0.4", "0.5", str(source), out)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("omeconv: error: ")
    assert "exists" in err
    code, _, err = _run(capsys, "upgrade", "0.4", "0.5", out, str(tmp_path / "o2"))
    assert code == 1
    assert err.count("\n") == 1
    assert "already" in err
    code, text, _ = _run(capsys, "upgrade", "0.4", "0.5", str(source), "--in-place", "--dry-run")
    assert code == 0
    assert "would rewrite metadata in place" in text
    code, _, err = _run(capsys, "-q", "upgrade", "0.4", "0.5", str(source), "--in-place")
    assert code == 0, err
    assert validate_store(str(source)) == "0.5"
    assert not os.path.exists(source / ".zattrs")


def test_interrupted_copy_resumes_without_copying_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C in the middle of a copy keeps OUTPUT.partial; ``--resume`` copies only the chunk
    files not already copied in full and gives what an uninterrupted copy gives."""
    from pathlib import Path

    import omeconv.emit.chunk_copy as copy_module

    source = make_labelled_image(tmp_path / "in.zarr")
    reference = tmp_path / "reference.zarr"
    upgrade(source, reference)
    total = sum(1 for p in reference.rglob("*") if p.is_file() and p.name != "zarr.json")
    assert total > 4
    copied: list[Path] = []
    real = copy_module._copy_file

    def interrupting(src: str, dst: str, refused: set[str]) -> os.stat_result:
        if len(copied) == total // 2:
            raise KeyboardInterrupt
        copied.append(Path(dst))
        return real(src, dst, refused)

    monkeypatch.setattr(copy_module, "_copy_file", interrupting)
    out = tmp_path / "out.zarr"
    code, _, err = _run(capsys, "-q", "upgrade", "0.4", "0.5", str(source), str(out))
    assert code == 130
    assert "--resume" in err
    assert not out.exists()
    copied[0].write_bytes(copied[0].read_bytes()[:-1])  # as a kill mid-copy leaves it
    recopied: list[Path] = []

    def recording(src: str, dst: str, refused: set[str]) -> os.stat_result:
        recopied.append(Path(dst))
        return real(src, dst, refused)

    monkeypatch.setattr(copy_module, "_copy_file", recording)
    code, _, err = _run(capsys, "-q", "upgrade", "0.4", "0.5", str(source), str(out), "--resume")
    assert code == 0, err
    assert copied[0] in recopied
    assert not set(copied[1:]) & set(recopied)
    assert tree_hash(out) == tree_hash(reference)


def test_resume_copies_again_the_chunks_whose_source_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source chunk file changed (same size, root folder untouched) between the stopped
    copy and ``--resume``: its copy is made again, so the output is the source as it is now,
    never a mix of old and new chunks."""
    from pathlib import Path

    import omeconv.emit.chunk_copy as copy_module

    source = make_labelled_image(tmp_path / "in.zarr")
    out = tmp_path / "out.zarr"
    copied: list[tuple[Path, Path]] = []
    real = copy_module._copy_file

    def interrupting(src: str, dst: str, refused: set[str]) -> os.stat_result:
        if len(copied) == 3:
            raise KeyboardInterrupt
        copied.append((Path(src), Path(dst)))
        return real(src, dst, refused)

    monkeypatch.setattr(copy_module, "_copy_file", interrupting)
    code, _, err = _run(capsys, "-q", "upgrade", "0.4", "0.5", str(source), str(out))
    assert code == 130, err
    monkeypatch.undo()
    src_chunk, dst_chunk = copied[0]
    root_stat = source.stat()
    old = src_chunk.read_bytes()
    src_chunk.write_bytes(bytes(b ^ 0xFF for b in old))  # same size, other bytes
    os.utime(source, ns=(root_stat.st_atime_ns, root_stat.st_mtime_ns))
    code, _, err = _run(capsys, "-q", "upgrade", "0.4", "0.5", str(source), str(out), "--resume")
    assert code == 0, err
    rel = dst_chunk.relative_to(tmp_path / "out.zarr.partial")
    assert (out / rel).read_bytes() == src_chunk.read_bytes() != old
    fresh = tmp_path / "fresh.zarr"
    upgrade(source, fresh)
    assert tree_hash(out) == tree_hash(fresh)


@pytest.mark.parametrize("refuse", [(), ("copy_file_range",), ("copy_file_range", "sendfile")])
def test_chunk_files_copy_when_the_kernel_refuses_a_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refuse: tuple[str, ...]
) -> None:
    """Where the filesystem refuses reflinks, ``copy_file_range`` or ``sendfile`` (another
    filesystem, an old kernel), the next way copies the file byte for byte, and the refused
    ways are not tried again."""
    import errno

    import omeconv.emit.chunk_copy as copy_module

    def refused(*_args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    for name in refuse:
        monkeypatch.setattr(copy_module.os, name, refused)
    data = np.random.default_rng(0).bytes(3 * 2**20 + 17)
    (tmp_path / "src").write_bytes(data)
    ways: set[str] = set()
    for n in range(2):
        st = copy_module._copy_file(str(tmp_path / "src"), str(tmp_path / f"dst{n}"), ways)
        assert (tmp_path / f"dst{n}").read_bytes() == data
        assert st.st_size == len(data)
    expected = {"range": "copy_file_range", "sendfile": "sendfile"}
    assert {expected[w] for w in ways - {"clone"}} == set(refuse)


def test_copy_needs_no_dask_and_levels_read_lazily(tmp_path: Path) -> None:
    """A fresh ``omeconv upgrade`` copies chunks without importing dask.array; the adapter's
    levels still read the source's pixels when asked."""
    import subprocess
    import sys

    from omeconv.converters.ome_zarr_ import OmeZarrConverter

    source = make_labelled_image(tmp_path / "in.zarr")
    out = tmp_path / "out.zarr"
    code = (
        "import sys; from omeconv.cli import main; main(sys.argv[1:]);"
        " print('dask.array' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "-q", "upgrade", "0.4", "0.5", str(source), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False"]
    assert_same_pixels(source, out, v2_arrays(source))
    level = OmeZarrConverter().open(source).images[0].levels[1]
    assert "data" not in vars(level)
    stored = zarr.open_array(source / str(level.path))
    assert level.shape == stored.shape
    np.testing.assert_array_equal(level.data.compute(), stored[:])
