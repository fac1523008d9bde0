"""``--layout per-series``: each series of a file as its own image store in a folder."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile

from omeconv.api import convert, series_store_names
from omeconv.cli import main
from omeconv.model import Axis, Collection, Image, Level
from omeconv.validate import validate_path
from tests.cli_runs import info_json
from tests.factories import group_attrs, read_level

if TYPE_CHECKING:
    from pathlib import Path

NAMES = ["cells a.ome.tif", "b/c", None]


def _multi(tmp_path: Path) -> tuple[Path, list[np.ndarray]]:
    src = tmp_path / "multi.ome.tif"
    rng = np.random.default_rng(3)
    images = [
        rng.integers(0, 4000, (2, 24, 30), dtype="uint16"),
        rng.integers(0, 255, (20, 20), dtype="uint8"),
        rng.integers(0, 9, (3, 18, 16), dtype="uint16"),
    ]
    with tifffile.TiffWriter(src, ome=True) as tif:
        for image, name, axes in zip(images, NAMES, ["CYX", "YX", "ZYX"], strict=True):
            meta: dict[str, Any] = {"axes": axes, "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5}
            if name is not None:
                meta["Name"] = name
            tif.write(image, metadata=meta)
    return src, images


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_per_series_stores_match_the_collection(
    tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src, images = _multi(tmp_path)
    folder = tmp_path / "series"
    collection = tmp_path / "all.ome.zarr"
    main(
        ["-q", "convert", str(src), str(folder), "--layout", "per-series", "--ome-version", version]
    )
    main(["-q", "convert", str(src), str(collection), "--ome-version", version])
    names = ["0_cells_a.ome.zarr", "1_b_c.ome.zarr", "2_Image2.ome.zarr"]
    assert sorted(p.name for p in folder.iterdir()) == names
    xml = (collection / "OME" / "METADATA.ome.xml").read_bytes()
    for i, name in enumerate(names):
        store = folder / name
        assert validate_path(str(store)) == version
        np.testing.assert_array_equal(read_level(store / "0"), images[i])
        assert group_attrs(store) == group_attrs(collection / str(i))  # parsed JSON, in order
        assert list(group_attrs(store)) == list(group_attrs(collection / str(i)))
        assert (store / "OME" / "METADATA.ome.xml").read_bytes() == xml
        assert "bioformats2raw.layout" not in group_attrs(store)
        info = info_json(store, capsys)
        assert info["ome_version"] == version
        assert info["root"]["kind"] == "image"
        assert info["root"]["levels"][0]["array"]["shape"] == list(images[i].shape)


def test_per_series_equals_series_option(tmp_path: Path) -> None:
    """Each store is what ``--series N`` writes for that series, byte for byte in metadata."""
    src, _ = _multi(tmp_path)
    folder = tmp_path / "series"
    convert(src, folder, layout="per-series", series=[0, 2])
    assert sorted(p.name for p in folder.iterdir()) == ["0_cells_a.ome.zarr", "2_Image2.ome.zarr"]
    one = tmp_path / "one.ome.zarr"
    convert(src, one, series=2)
    expected = (one / "zarr.json").read_bytes()
    assert (folder / "2_Image2.ome.zarr" / "zarr.json").read_bytes() == expected
    picked = tmp_path / "picked"
    convert(src, picked, layout="per-series", series=2)  # named by its series, not 0
    assert [p.name for p in picked.iterdir()] == ["2_Image2.ome.zarr"]
    assert (picked / "2_Image2.ome.zarr" / "zarr.json").read_bytes() == expected


def test_per_series_overwrite_resume_and_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _ = _multi(tmp_path)
    folder = tmp_path / "series"
    args = ["convert", str(src), str(folder), "--layout", "per-series"]
    main(["-q", *args])
    stamp = (folder / "1_b_c.ome.zarr" / "zarr.json").stat().st_mtime_ns
    with pytest.raises(SystemExit) as exc:
        main(["-q", *args])
    assert exc.value.code == 2
    first = folder / "0_cells_a.ome.zarr"
    assert f"{first}: output exists; pass --overwrite" in capsys.readouterr().err
    main(["-q", *args, "--resume"])  # finished stores are left alone
    assert (folder / "1_b_c.ome.zarr" / "zarr.json").stat().st_mtime_ns == stamp
    main(["-q", *args, "--overwrite"])
    assert (folder / "1_b_c.ome.zarr" / "zarr.json").stat().st_mtime_ns != stamp
    # a store as OUTPUT, or a file, is never turned into a folder of stores
    for target in (first, tmp_path / "note.txt"):
        if not target.exists():
            target.write_text("mine")
        before = sorted(p.name for p in target.iterdir()) if target.is_dir() else None
        with pytest.raises(SystemExit) as exc:
            main(["-q", "convert", str(src), str(target), "--layout", "per-series", "--overwrite"])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"omeconv: error: {target}: output exists and is ")
        assert "--layout per-series writes a folder of stores" in err
        after = sorted(p.name for p in target.iterdir()) if target.is_dir() else None
        assert before == after
    assert (tmp_path / "note.txt").read_text() == "mine"


def test_per_series_keeps_unknown_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A store name taken by something that is no store is refused, and nothing is lost."""
    src, _ = _multi(tmp_path)
    folder = tmp_path / "series"
    folder.mkdir()
    (folder / "0_cells_a.ome.zarr").write_text("not a store")
    with pytest.raises(SystemExit) as exc:
        main(["-q", "convert", str(src), str(folder), "--layout", "per-series", "--overwrite"])
    assert exc.value.code == 2
    assert "is a file, not a Zarr store" in capsys.readouterr().err
    assert (folder / "0_cells_a.ome.zarr").read_text() == "not a store"


def test_failed_first_store_leaves_no_folder(tmp_path: Path) -> None:
    src = tmp_path / "empty.tif"
    src.write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["-q", "convert", str(src), str(tmp_path / "out"), "--layout", "per-series"])
    assert not (tmp_path / "out").exists()


def test_per_series_of_a_store_keeps_its_attributes(tmp_path: Path) -> None:
    """A bioformats2raw collection read back: each image's attributes arrive as stored."""
    src, images = _multi(tmp_path)
    collection = tmp_path / "all.ome.zarr"
    convert(src, collection)
    doc = json.loads((collection / "1" / "zarr.json").read_text())
    doc["attributes"]["lab"] = {"scope": 7}
    (collection / "1" / "zarr.json").write_text(json.dumps(doc))
    folder = tmp_path / "series"
    assert convert(collection, folder, layout="per-series") == str(folder)
    store = folder / "1_b_c.ome.zarr"
    attrs = json.loads((store / "zarr.json").read_text())["attributes"]
    assert attrs == doc["attributes"]
    np.testing.assert_array_equal(read_level(store / "0"), images[1])
    assert validate_path(str(store)) == "0.5"


def test_store_names_are_safe_and_unique() -> None:
    import dask.array as da

    level = Level(da.zeros((4, 4), dtype="uint8"), (1.0, 1.0))
    axes = (Axis.named("y"), Axis.named("x"))
    names = ["../A b.CZI", "a b", None, "ü" * 300]
    collection = Collection(
        images=tuple(Image(name, axes, (level,)) for name in names),
        image_paths=("A", "a", "x/y", "3"),
        layout="bioformats2raw",
    )
    # unsafe characters and format suffixes go; names differing in case only get a number
    assert series_store_names(collection) == [
        "A_A_b.ome.zarr",
        "a_a_b-2.ome.zarr",
        "x_y.ome.zarr",
        "3.ome.zarr",
    ]


def test_plate_is_refused(tmp_path: Path) -> None:
    from omeconv.errors import UsageError
    from tests.factories import make_plate_ome_tiff

    src = tmp_path / "plate.ome.tif"
    make_plate_ome_tiff(src, {(0, 0): 1, (1, 2): 1})
    with pytest.raises(UsageError, match="a plate is written as one store"):
        convert(src, tmp_path / "wells", layout="per-series")
    assert not (tmp_path / "wells").exists()


def test_info_and_validate_on_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, images = _multi(tmp_path)
    folder = tmp_path / "series"
    convert(src, folder, layout="per-series")
    (folder / "notes.txt").write_text("not a store")
    stores = [
        str(folder / n) for n in ("0_cells_a.ome.zarr", "1_b_c.ome.zarr", "2_Image2.ome.zarr")
    ]
    summary = info_json(folder, capsys)
    assert summary["kind"] == "folder"
    assert [s["path"] for s in summary["stores"]] == stores
    shapes = [s["root"]["levels"][0]["array"]["shape"] for s in summary["stores"]]
    assert shapes == [list(image.shape) for image in images]
    main(["info", str(folder)])
    text = capsys.readouterr().out
    assert text.startswith(f"{folder}: a folder of 3 OME-Zarr stores\n")
    assert all(f"\n{store}: OME-Zarr 0.5" in text for store in stores)
    main(["validate", str(folder)])
    assert capsys.readouterr().out.splitlines() == [f"{s}: valid OME-Zarr 0.5" for s in stores]


def test_nodes_beside_the_image_go_with_it(tmp_path: Path) -> None:
    """A store's groups that NGFF does not define (fractal's ``tables``) stay with their
    image; with several images, those of no image are left out with a warning."""
    import zarr

    from omeconv.errors import OmeconvWarning

    src, _ = _multi(tmp_path)
    one = tmp_path / "one.ome.zarr"
    convert(src, one, series=1)
    zarr.open_group(str(one / "tables"), mode="w").attrs["lab"] = "root image"
    folder = tmp_path / "series"
    convert(one, folder, layout="per-series")
    [store] = list(folder.iterdir())
    assert dict(zarr.open_group(str(store / "tables"), mode="r").attrs) == {"lab": "root image"}

    collection = tmp_path / "all.ome.zarr"
    convert(src, collection)
    zarr.open_group(str(collection / "1" / "tables"), mode="w").attrs["lab"] = "series 1"
    zarr.open_group(str(collection / "notes"), mode="w").attrs["lab"] = "no series"
    with pytest.warns(OmeconvWarning, match="notes belong.s. to no series; not written"):
        convert(collection, tmp_path / "split", layout="per-series")
    tables = zarr.open_group(str(tmp_path / "split" / "1_b_c.ome.zarr" / "tables"), mode="r")
    assert dict(tables.attrs) == {"lab": "series 1"}
    stores = list((tmp_path / "split").iterdir())
    assert len(stores) == 3
    assert not any((store / "notes").exists() for store in stores)


def test_verify_is_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _ = _multi(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(src), str(tmp_path / "s"), "--layout", "per-series", "--verify"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "omeconv: error: --verify checks one store: verify each with omeconv verify INPUT STORE"
        " --series N\n"
    )
    assert not (tmp_path / "s").exists()
