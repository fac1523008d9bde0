"""The adapter registry: entry points, guessing order, explicit options, adapters that fail to load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import omeconv
from omeconv.api import convert, open_source
from omeconv.cli import main
from omeconv.converters import BUILTINS, GROUP, check_options, get_converter
from omeconv.errors import UsageError
from tests.factories import random_array

ROOT = Path(omeconv.__file__).resolve().parents[1]


def test_pyproject_declares_the_builtins_in_guessing_order() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"][GROUP]
    assert list(declared.items()) == list(BUILTINS)


def test_every_builtin_loads_and_lists_its_options() -> None:
    import inspect

    for name, _ in BUILTINS:
        adapter = get_converter(name)
        assert adapter.name == name
        params = inspect.signature(adapter.open).parameters.values()
        assert not [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD], name
        assert [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD] == [
            "source"
        ], name


def _store(tmp_path: Path) -> Path:
    out = tmp_path / "store.ome.zarr"
    convert(random_array((2, 16, 16), "uint8"), out, axes="cyx")
    return out


def test_api_refuses_an_option_the_adapter_does_not_take(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(UsageError, match=r"the ome_zarr adapter does not take series") as info:
        convert(store, tmp_path / "out.ome.zarr", series=1)
    assert "storage_options" in str(info.value)
    assert not (tmp_path / "out.ome.zarr").exists()
    with pytest.raises(UsageError, match=r"the numpy adapter does not take axis \("):
        open_source(np.zeros((4, 4), "uint8"), axis="yx")  # a typo does not vanish


def test_options_left_at_none_count_as_not_given(tmp_path: Path) -> None:
    store = _store(tmp_path)
    collection = open_source(store, series=None, axes=None, plate_pattern=None)
    assert [a.name for a in collection.images[0].axes] == ["c", "y", "x"]


def test_cli_refuses_series_on_a_store_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store(tmp_path)
    out = tmp_path / "out.ome.zarr"
    with pytest.raises(SystemExit) as info:
        main(["-q", "convert", str(store), str(out), "--series", "1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"omeconv: error: {store}: the ome_zarr adapter does not take series")
    assert err.count("\n") == 1
    assert not out.exists()


def test_cli_refuses_axes_on_a_tiff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tifffile

    src = tmp_path / "a.tif"
    tifffile.imwrite(src, random_array((16, 16), "uint16"))
    with pytest.raises(SystemExit) as info:
        main(["-q", "convert", str(src), str(tmp_path / "o.ome.zarr"), "--axes", "yx"])
    assert info.value.code == 2
    assert "the tiff adapter does not take axes" in capsys.readouterr().err


ADAPTER = '''
"""A third-party adapter: FAKE files (magic, height, width as uint16, then uint8 pixels)."""

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from omeconv.converters.numpy_ import image_from_array
from omeconv.model import Collection


class FakeConverter:
    name: ClassVar[str] = "fake"
    description: ClassVar[str] = "FAKE test files"
    suffixes: ClassVar[tuple[str, ...]] = (".fake",)

    def guess_can_open(self, source: Any) -> bool:
        try:
            return Path(source).read_bytes()[:4] == b"FAKE"
        except (OSError, TypeError):
            return False

    def open(self, source: Any, *, pixel_size: float | None = None) -> Collection:
        raw = Path(source).read_bytes()
        h, w = np.frombuffer(raw[4:8], "<u2")
        data = np.frombuffer(raw[8:], "u1").reshape(int(h), int(w))
        scale = {"y": pixel_size, "x": pixel_size} if pixel_size else None
        units = {"y": "micrometer", "x": "micrometer"} if pixel_size else None
        return Collection(images=(image_from_array(data, axes="yx", scale=scale, units=units),))
'''

SCRIPT = """
import json, sys
import numpy as np
import omeconv
from omeconv.converters import CONVERTERS, guess_converter
from omeconv.validate import validate_store
from tests.factories import group_attrs, read_level

src, out = sys.argv[1], sys.argv[2]
omeconv.convert(src, out, pixel_size=0.5)
print(json.dumps({
    "order": list(CONVERTERS),
    "guessed": guess_converter(src).name,
    "version": validate_store(out),
    "pixels": read_level(__import__("pathlib").Path(out) / "0").tolist(),
    "axes": group_attrs(__import__("pathlib").Path(out))["multiscales"][0]["axes"],
}))
"""


def _third_party(site: Path, entries: str) -> None:
    """A package installed in ``site`` the way pip would: a module and its dist-info."""
    site.mkdir()
    (site / "omeconv_fake.py").write_text(ADAPTER)
    info = site / "omeconv_fake-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: omeconv-fake\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{textwrap.dedent(entries)}")


def test_third_party_adapter_converts_through_the_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _third_party(
        site,
        """\
        fake = omeconv_fake:FakeConverter
        broken = omeconv_missing:Nothing
        tiff = omeconv_fake:FakeConverter
        """,
    )
    data = random_array((6, 5), "uint8")
    src = tmp_path / "image.fake"
    src.write_bytes(b"FAKE" + np.array([6, 5], "<u2").tobytes() + data.tobytes())
    out = tmp_path / "image.ome.zarr"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(src), str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "adapter 'tiff' (omeconv_fake:FakeConverter) ignored" in result.stderr
    found = json.loads(result.stdout)
    assert found["order"] == [name for name, _ in BUILTINS] + ["broken", "fake"]
    assert found["guessed"] == "fake"
    assert found["version"] == "0.5"
    assert found["pixels"] == data.tolist()
    assert found["axes"] == [
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"},
    ]
    args = [str(src), str(tmp_path / "cli.ome.zarr"), "--series", "0"]
    cli = subprocess.run(
        [sys.executable, "-c", "from omeconv.cli import main; main()", "-q", "convert", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert cli.returncode == 2
    assert cli.stderr == (
        f"omeconv: error: {src}: the fake adapter does not take series (its options: pixel_size)\n"
    )


def test_adapter_that_fails_to_import_stays_listed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _third_party(site, "broken = omeconv_missing:Nothing\n")
    code = """
from omeconv.converters import CONVERTERS, get_converter
from omeconv.errors import UnsupportedSourceError
assert not get_converter("broken").guess_can_open("x")
assert "broken" in CONVERTERS
try:
    get_converter("broken").open("x.bin", series=0)
except UnsupportedSourceError as exc:
    print(exc)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "x.bin: the broken adapter (omeconv_missing:Nothing) cannot be loaded:"
        " No module named 'omeconv_missing'\n"
    )


def test_check_options_reads_the_signature() -> None:
    class Plain:
        name = "plain"

        def open(self, source: Any, series: int | None = None) -> None: ...

    class Bare:
        name = "bare"

        def open(self, source: Any) -> None: ...

    check_options(Plain(), "x.bin", {"series": 1})  # type: ignore[arg-type]
    with pytest.raises(UsageError) as info:
        check_options(Bare(), "x.bin", {"series": 1, "axes": "yx"})  # type: ignore[arg-type]
    assert (
        str(info.value) == "x.bin: the bare adapter does not take series, axes (it takes no option)"
    )
    with pytest.raises(UsageError, match=r"does not take source \(its options: series\)"):
        check_options(Plain(), "x.bin", {"source": "y"})  # type: ignore[arg-type]
