"""``upgrade`` to OME-Zarr 0.6: 0.4 → 0.6 and 0.5 → 0.6, copy and in place.

Every group's attributes equal the 0.5 upgrade's expectation (written by hand in
:func:`tests.test_upgrade_moves.expected_v05`) moved by :func:`omeconv.emit.v06.from_v05`
(itself checked against the spec's examples in ``tests/test_ngff06.py``), compared as parsed
JSON with types and key order; every array reads back equal; 0.5 → 0.6 in place touches only
group ``zarr.json`` files, and a run killed before any of its file operations is finished by
running it again.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr

from omeconv.cli import main
from omeconv.emit import sinks
from omeconv.emit.v06 import from_v05
from omeconv.errors import OmeconvError, UpgradeError, UsageError
from omeconv.ngff06 import VERSION
from omeconv.upgrade import upgrade
from omeconv.validate import validate_store
from tests.conftest import CORPUS
from tests.test_upgrade import make_labelled_image, tree_hash
from tests.test_upgrade_moves import (
    REFUSED,
    assert_same_json,
    corpus_stores,
    expected_v05,
    is_valid,
    v2_tree,
)

if TYPE_CHECKING:
    from pathlib import Path


def expected_v06(attrs: dict[str, Any]) -> dict[str, Any]:
    """A 0.5 group's attributes in 0.6 (groups without ``ome`` stay as they are)."""
    return from_v05(attrs) if isinstance(attrs.get("ome"), dict) else attrs


def v3_nodes(root: Path) -> dict[str, dict[str, Any]]:
    """Every ``zarr.json`` document of a Zarr v3 store, by node path."""
    out = {}
    for doc in sorted(root.rglob("zarr.json")):
        path = doc.parent.relative_to(root).as_posix()
        out["" if path == "." else path] = json.loads(doc.read_text())
    return out


def assert_same_pixels(source: Path, out: Path, paths: list[str]) -> None:
    for path in paths:
        before = zarr.open_array(source / path, mode="r")
        after = zarr.open_array(out / path, mode="r", zarr_format=3)
        if before.dtype.kind in "OT":
            assert after[...].tolist() == before[...].tolist(), path
        else:
            np.testing.assert_array_equal(after[...], before[...], err_msg=path)


def run(source: Path, tmp_path: Path, mode: str, from_version: str) -> Path:
    """``source`` upgraded to 0.6 by ``mode`` ("copy" or "in-place", on a copy of it)."""
    if mode == "copy":
        out = tmp_path / "out.zarr"
        upgrade(source, out, from_version=from_version, to_version="0.6")
        return out
    store = tmp_path / "store.zarr"
    shutil.copytree(source, store, symlinks=True)
    upgrade(store, in_place=True, from_version=from_version, to_version="0.6")
    return store


def _upgraded(source: Path, tmp_path: Path, mode: str, from_version: str) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run(source, tmp_path, mode, from_version)


def _check_valid_as_source(source: Path, out: Path) -> None:
    """Valid 0.6 where the source is valid (0.6 lets pass some of what 0.4 and 0.5 refuse,
    such as an empty ``labels`` list)."""
    if is_valid(source):
        assert validate_store(str(out)) == VERSION


# -- 0.4 -> 0.6 ---------------------------------------------------------------------------------

#: Refused as in the 0.5 upgrade, in 0.6's words.
REFUSED_V04 = {"ome-zarr-examples/valid/plate-01.zarr": r"'A/2' is not B/1"}


@pytest.mark.parametrize("mode", ["copy", "in-place"])
@pytest.mark.parametrize("name", corpus_stores())
def test_corpus_v04_store(corpus: Path, tmp_path: Path, name: str, mode: str) -> None:
    source = corpus / "zarr-v04" / name
    before = tree_hash(source)
    if name in REFUSED:
        with pytest.raises(OmeconvError, match=REFUSED_V04.get(name, REFUSED[name])):
            run(source, tmp_path, mode, "0.4")
        assert not (tmp_path / "out.zarr").exists()
        return
    out = _upgraded(source, tmp_path, mode, "0.4")
    assert tree_hash(source) == before
    nodes, files = v2_tree(source)
    docs = v3_nodes(out)
    for path, kind in nodes.items():
        assert docs[path]["node_type"] == kind, path
        zattrs = source / path / ".zattrs"
        attrs = json.loads(zattrs.read_text()) if zattrs.exists() else {}
        want = attrs if kind == "array" else expected_v06(expected_v05(attrs))
        assert_same_json(docs[path].get("attributes", {}), want, path or "/")
    for path in set(docs) - set(nodes):  # folders between nodes become plain groups
        assert docs[path]["attributes"] == {}, path
    assert_same_pixels(source, out, [p for p, k in nodes.items() if k == "array"])
    for path in files:
        assert (out / path).read_bytes() == (source / path).read_bytes(), path
    _check_valid_as_source(source, out)


# -- 0.5 -> 0.6 ---------------------------------------------------------------------------------


def v05_corpus_stores() -> list[str]:
    """The corpus's 0.5 stores with arrays."""
    manifest = CORPUS / "zarr-v05" / "MANIFEST.json"
    if not manifest.is_file():
        return []
    return [
        e["file"].removeprefix("zarr-v05/")
        for e in json.loads(manifest.read_text())
        if any(n.get("node") == "array" for n in e.get("nodes", ()))
    ]


#: 0.5 corpus stores that are refused, and why (one line, nothing written).
REFUSED_V05 = {"yaozarrs-broken/broken_v05.ome.zarr": "cannot open array"}


@pytest.mark.parametrize("mode", ["copy", "in-place"])
@pytest.mark.parametrize("name", v05_corpus_stores())
def test_corpus_v05_store(corpus: Path, tmp_path: Path, name: str, mode: str) -> None:
    source = corpus / "zarr-v05" / name
    before = tree_hash(source)
    if name in REFUSED_V05:
        with pytest.raises(OmeconvError, match=REFUSED_V05[name]) as info:
            run(source, tmp_path, mode, "0.5")
        assert "\n" not in str(info.value)
        assert not (tmp_path / "out.zarr").exists()
        if mode == "in-place":
            assert tree_hash(tmp_path / "store.zarr") == before
        return
    old = v3_nodes(source)
    out = _upgraded(source, tmp_path, mode, "0.5")
    assert tree_hash(source) == before
    new = v3_nodes(out)
    assert list(new) == list(old)
    arrays = [p for p, d in old.items() if d["node_type"] == "array"]
    for path, doc in old.items():
        if doc["node_type"] == "group":
            assert_same_json(new[path]["attributes"], expected_v06(doc["attributes"]), path)
        if mode == "in-place" and (doc["node_type"] == "array" or new[path] == doc):
            # untouched: arrays, and groups without NGFF metadata
            assert (out / path / "zarr.json").read_bytes() == (
                source / path / "zarr.json"
            ).read_bytes(), path
        elif doc["node_type"] == "array":
            assert new[path]["attributes"] == doc["attributes"], path
    assert_same_pixels(source, out, arrays)
    if mode == "in-place":  # no chunk or other file changed
        for file in source.rglob("*"):
            if file.is_file() and file.name != "zarr.json":
                assert (out / file.relative_to(source)).read_bytes() == file.read_bytes()
    _check_valid_as_source(source, out)


def v05_labelled_image(tmp_path: Path) -> Path:
    """A 0.5 image with a pyramid and a label, upgraded from ome-zarr-py's 0.4."""
    v04 = make_labelled_image(tmp_path / "v04.zarr", label_levels=2, levels=2)
    v05 = tmp_path / "v05.zarr"
    upgrade(v04, v05)
    return v05


def test_0_5_to_0_6_then_back_to_0_5(tmp_path: Path) -> None:
    from omeconv.api import convert

    source = v05_labelled_image(tmp_path)
    out = tmp_path / "v06.zarr"
    upgrade(source, out, from_version="v0.5", to_version="v0.6")
    back = tmp_path / "back.zarr"
    convert(out, back, ome_version="0.5")
    old, new = v3_nodes(source), v3_nodes(back)
    for path, doc in old.items():
        if doc["node_type"] == "group":
            assert_same_json(new[path]["attributes"], doc["attributes"], path)


def test_versions_and_refusals(tmp_path: Path) -> None:
    source = v05_labelled_image(tmp_path)
    before = tree_hash(source)
    with pytest.raises(UsageError, match=r"cannot upgrade OME-Zarr 0\.5 to 0\.5"):
        upgrade(source, tmp_path / "x.zarr", from_version="0.5", to_version="0.5")
    with pytest.raises(UpgradeError, match=r"nothing to upgrade from 0\.4"):
        upgrade(source, tmp_path / "x.zarr", from_version="0.4", to_version="0.6")
    out = tmp_path / "v06.zarr"
    upgrade(source, out, from_version="0.5", to_version="0.6")
    for kwargs in ({"dest": tmp_path / "again.zarr"}, {"in_place": True}):
        with pytest.raises(UpgradeError, match=r"already OME-Zarr 0\.6"):
            upgrade(out, from_version="0.5", to_version="0.6", **kwargs)  # type: ignore[arg-type]
    v04 = tmp_path / "v04.zarr"
    with pytest.raises(UpgradeError, match="not a Zarr v3 store"):
        upgrade(v04, tmp_path / "y.zarr", from_version="0.5", to_version="0.6")
    assert tree_hash(source) == before
    assert not (tmp_path / "x.zarr").exists()


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v04 = make_labelled_image(tmp_path / "v04.zarr", label_levels=2, levels=2)
    store = tmp_path / "store.zarr"
    shutil.copytree(v04, store)
    main(["upgrade", "v0.4", "v0.6", str(v04), str(tmp_path / "copy.zarr")])
    main(["upgrade", "0.4", "0.6", str(store), "--in-place"])
    assert "to OME-Zarr 0.6" in capsys.readouterr().err
    copy = v3_nodes(tmp_path / "copy.zarr")
    in_place = v3_nodes(store)
    assert copy[""]["attributes"]["ome"]["version"] == VERSION
    assert {p: d["attributes"] for p, d in copy.items()} == {
        p: d["attributes"] for p, d in in_place.items()
    }
    with pytest.raises(SystemExit) as info:
        main(["upgrade", "0.5", "0.5", str(store), "--in-place"])
    assert info.value.code == 2


# -- in place, killed ---------------------------------------------------------------------------

SCRIPT = """
import os, signal, sys
from omeconv.emit import sinks
from omeconv.upgrade import upgrade

kill_at = int(sys.argv[2])
count = sinks.Ops.step

def step(self):
    if self.count == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    count(self)

sinks.Ops.step = step
upgrade(sys.argv[1], in_place=True, from_version="0.5", to_version="0.6")
"""


@pytest.mark.parametrize("stride", [pytest.param(1, marks=pytest.mark.slow), 4])
def test_0_5_to_0_6_in_place_killed_at_every_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stride: int
) -> None:
    """Kill points 0, stride, 2*stride … and the last (every one when ``stride`` is 1)."""
    reference = v05_labelled_image(tmp_path)
    probe = tmp_path / "probe.zarr"
    shutil.copytree(reference, probe)
    counts: list[int] = []
    real = sinks.Ops.step

    def step(self: sinks.Ops) -> None:
        real(self)
        counts.append(self.count)

    monkeypatch.setattr(sinks.Ops, "step", step)
    upgrade(probe, in_place=True, from_version="0.5", to_version="0.6")
    monkeypatch.undo()
    total = len(counts)
    assert total > 5
    done = v3_nodes(probe)
    arrays = [p for p, d in done.items() if d["node_type"] == "array"]
    points = sorted({*range(0, total, stride), total - 1})
    versions = set()
    for batch in range(0, len(points), 3):  # a few processes at a time
        runs = {}
        for n in points[batch : batch + 3]:
            store = tmp_path / f"kill-{n}.zarr"
            shutil.copytree(reference, store)
            runs[store] = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, str(store), str(n)], stderr=subprocess.PIPE
            )
        for store, process in runs.items():
            _, stderr = process.communicate(timeout=300)
            assert process.returncode == -signal.SIGKILL, stderr.decode()
            root = json.loads((store / "zarr.json").read_text())["attributes"]["ome"]
            versions.add(root["version"])  # 0.5 until the root is written last, then 0.6
            if not (store / sinks.JOURNAL).exists():  # not begun: valid as it was
                assert validate_store(str(store)) == "0.5"
            assert_same_pixels(reference, store, arrays)
            upgrade(store, in_place=True, from_version="0.5", to_version="0.6")  # finishes
            assert v3_nodes(store) == done
            assert not (store / sinks.JOURNAL).exists()
            shutil.rmtree(store)
    assert versions == {"0.5", VERSION}


class _Killed(Exception):
    """Stands for a kill at one file operation of an in-place run."""


def _interrupt_in_place(
    store: Path, monkeypatch: pytest.MonkeyPatch, at: int, from_version: str, to_version: str
) -> None:
    """Run ``upgrade --in-place`` on ``store`` and stop it before file operation ``at``."""

    def step(self: sinks.Ops) -> None:
        if self.count == at:
            raise _Killed
        self.count += 1

    monkeypatch.setattr(sinks.Ops, "step", step)
    with pytest.raises(_Killed):
        upgrade(store, in_place=True, from_version=from_version, to_version=to_version)
    monkeypatch.undo()
    assert (store / sinks.JOURNAL).exists()


def test_a_journal_to_0_5_is_finished_then_upgraded_to_0_6(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v04 = make_labelled_image(tmp_path / "v04.zarr", label_levels=2, levels=2)
    store = tmp_path / "store.zarr"
    shutil.copytree(v04, store)
    _interrupt_in_place(store, monkeypatch, 5, "0.4", "0.5")
    upgrade(store, in_place=True, from_version="0.4", to_version="0.6")
    assert validate_store(str(store)) == VERSION
    copy = tmp_path / "copy.zarr"
    upgrade(v04, copy, from_version="0.4", to_version="0.6")
    assert {p: d["attributes"] for p, d in v3_nodes(store).items()} == {
        p: d["attributes"] for p, d in v3_nodes(copy).items()
    }


def test_a_journal_to_0_6_is_not_finished_as_0_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_labelled_image(tmp_path / "v04.zarr", label_levels=2, levels=2)
    _interrupt_in_place(store, monkeypatch, 5, "0.4", "0.6")
    with pytest.raises(UpgradeError, match=r"upgrade to OME-Zarr 0\.6 is unfinished"):
        upgrade(store, in_place=True, from_version="0.4", to_version="0.5")
    upgrade(store, in_place=True, from_version="0.4", to_version="0.6")
    assert validate_store(str(store)) == VERSION
