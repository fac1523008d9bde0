"""A shared test suite every source adapter runs (like xarray's backend tests).

A test module subclasses :class:`AdapterSuite`, names the adapter and its inputs (files of
the corpus' ``vendor/`` folder read with a library, or inputs :meth:`AdapterSuite.make`
generates) and implements :meth:`AdapterSuite.reference`: what an independent reader
returns for an input, one :class:`Reference` per scene/series/well.
The suite then checks guessing and refusing, opening, metadata (physical sizes and channel
names), pixels (level 0 of each image equals the reference array, axes matched by name),
damaged input (a truncated copy fails in one line, leaving no output) and conversion (the
output validates and holds the reference pixels).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest

from omeconv.api import convert, open_source
from omeconv.converters import get_converter, guess_converter
from omeconv.errors import SourceError
from omeconv.validate import validate_store
from tests.factories import group_attrs, read_level

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from omeconv.model import Collection, Image

VENDOR = "vendor"


@dataclass
class Reference:
    """What the reference reader says of one image: pixels, their NGFF axis names, sizes."""

    data: np.ndarray
    axes: Sequence[str]
    """NGFF axis names of ``data`` (a string of one-letter names, or a sequence)."""
    sizes: dict[str, float] = field(default_factory=dict)
    """Physical size per NGFF axis name, in the unit the adapter writes."""
    channel_names: list[str] | None = None


def _names(labels: Iterable[str | None]) -> list[str | None] | None:
    """Channel names, None when there are none (no channels, or none named)."""
    names = list(labels)
    return names if any(names) else None


def matched(data: np.ndarray, axes: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """``data`` with axes ``axes`` transposed to ``target``; length-1 axes may differ."""
    names, target = list(axes), list(target)
    keep = [i for i, a in enumerate(names) if a in target or data.shape[i] != 1]
    assert all(names[i] in target for i in keep), f"axes {names} do not fit {target}"
    data = data.squeeze(axis=tuple(i for i in range(len(names)) if i not in keep))
    names = [names[i] for i in keep]
    for a in target:
        if a not in names:
            data, names = data[np.newaxis], [a, *names]
    return data.transpose([names.index(a) for a in target])


class AdapterSuite:
    """Subclass with ``adapter`` and ``files``, and ``folder`` and ``library`` for corpus
    files or :meth:`make` for generated inputs; implement :meth:`reference`."""

    adapter: ClassVar[str]
    folder: ClassVar[str | None] = None
    """Sub-folder of the corpus' ``vendor/``; None when :meth:`make` generates the inputs."""
    files: ClassVar[tuple[str, ...]]
    """Names in ``folder`` (or given to :meth:`make`) this adapter reads (tests get ``file``)."""
    library: ClassVar[str | None] = None
    """The module the adapter needs; tests skip when it is not installed."""
    other: ClassVar[str | None] = "svs/openslide__openslide-python__small.svs"
    """A file of another format under ``vendor/``, which the adapter must refuse."""
    options: ClassVar[dict[str, Any]] = {}
    """Options given to ``open_source`` and ``convert`` (``plate_pattern`` …)."""
    guessed: ClassVar[bool] = True
    """Whether ``guess_converter`` picks the adapter by content (else it is chosen by option)."""
    arrays: ClassVar[bool] = False
    """Whether the adapter takes in-memory arrays."""
    truncate: ClassVar[float] = 0.5
    """Fraction of the file kept by the damaged-input test."""

    @classmethod
    def pytest_generate_tests(cls, metafunc: pytest.Metafunc) -> None:
        if "file" in metafunc.fixturenames:
            metafunc.parametrize("file", cls.files)

    @pytest.fixture
    def path(self, request: pytest.FixtureRequest, file: str, tmp_path: Path) -> Path:
        if self.library is not None and importlib.util.find_spec(self.library) is None:
            pytest.skip(f"{self.library} is not installed")
        if self.folder is None:
            inputs = tmp_path / "input"
            inputs.mkdir()
            return self.make(file, inputs)
        corpus: Path = request.getfixturevalue("corpus")
        found = corpus / VENDOR / self.folder / file
        if not found.exists():
            pytest.skip(f"{found.name} is not in the corpus")
        return found

    def make(self, file: str, folder: Path) -> Path:
        """Generate the input named ``file`` in ``folder``; return what to open."""
        raise NotImplementedError

    def by_content(self, path: Path) -> bool:
        """Whether the adapter recognises the file ``path`` under any name."""
        return True

    def foreign(self, folder: Path) -> list[Path]:
        """Inputs of other formats (generated in ``folder``) the adapter must refuse."""
        return []

    def reference(self, path: Path) -> list[Reference]:
        raise NotImplementedError

    def open(self, path: Path) -> Collection:
        return open_source(path, converter=self.adapter, **self.options)

    def convert_options(self, path: Path) -> dict[str, Any]:
        """Options the conversion test passes to :func:`omeconv.api.convert` for ``path``."""
        return {}

    # -- guess / refuse ---------------------------------------------------------------

    def test_guessed_by_content(self, path: Path, tmp_path: Path) -> None:
        if not self.guessed:
            assert not get_converter(self.adapter).guess_can_open(path)
            return
        assert guess_converter(path).name == self.adapter
        renamed = tmp_path / "renamed.bin"
        if path.is_file() and self.by_content(path):
            renamed.write_bytes(path.read_bytes())  # by content, not by name
            assert get_converter(self.adapter).guess_can_open(renamed)

    def test_refuses_other_formats(self, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        adapter = get_converter(self.adapter)
        if self.other is not None:
            other = request.getfixturevalue("corpus") / VENDOR / self.other
            assert other.exists()
            assert not adapter.guess_can_open(other)
        (tmp_path / "foreign").mkdir()
        for foreign in self.foreign(tmp_path / "foreign"):
            assert not adapter.guess_can_open(foreign), foreign
        suffix = adapter.suffixes[0] if adapter.suffixes else ".bin"
        garbage = tmp_path / f"garbage{suffix}"
        garbage.write_bytes(bytes(range(256)) * 8)
        assert not adapter.guess_can_open(garbage)
        assert not adapter.guess_can_open(tmp_path / "missing.bin")
        assert adapter.guess_can_open(np.zeros((2, 2))) == self.arrays

    # -- open, metadata, pixels -------------------------------------------------------

    def test_metadata(self, path: Path) -> None:
        images = self.open(path).images
        refs = self.reference(path)
        assert len(images) == len(refs)
        for image, ref in zip(images, refs, strict=True):
            names = [a.name for a in image.axes]
            scale = dict(zip(names, image.levels[0].scale, strict=True))
            for name, size in ref.sizes.items():
                if name not in scale:  # a length-1 axis left out (more than 5 axes)
                    assert ref.data.shape[list(ref.axes).index(name)] == 1, name
                    continue
                assert math.isclose(scale[name], size, rel_tol=1e-6), (name, scale[name], size)
            units = {a.name: a.unit for a in image.axes}
            for name in ref.sizes:
                assert units.get(name, "dropped") is not None, name
            assert _names(ch.label for ch in image.channels) == _names(ref.channel_names or ())

    def test_pixels(self, path: Path) -> None:
        images = self.open(path).images
        refs = self.reference(path)
        assert len(images) == len(refs)
        for image, ref in zip(images, refs, strict=True):
            self.assert_pixels(image, ref)

    @staticmethod
    def assert_pixels(image: Image, ref: Reference) -> None:
        expected = matched(ref.data, ref.axes, [a.name for a in image.axes])
        assert image.data.shape == expected.shape
        assert image.data.dtype == expected.dtype
        np.testing.assert_array_equal(image.data.compute(), expected)

    # -- damaged input ----------------------------------------------------------------

    def test_truncated_file_fails_in_one_line(self, path: Path, tmp_path: Path) -> None:
        damaged = self.damaged_copy(path, tmp_path)
        out = tmp_path / "out.ome.zarr"
        with pytest.raises(SourceError) as info:
            convert(damaged, out, converter=self.adapter, **self.options)
        assert "\n" not in str(info.value)
        assert not out.exists()

    def damaged_copy(self, path: Path, tmp_path: Path) -> Path:
        """A copy of ``path`` cut to ``truncate`` of its length."""
        data = path.read_bytes()
        damaged = tmp_path / path.name
        damaged.write_bytes(data[: int(len(data) * self.truncate)])
        return damaged

    # -- conversion -------------------------------------------------------------------

    @pytest.mark.parametrize("version", ["0.4", "0.5"])
    def test_converts_and_validates(self, path: Path, tmp_path: Path, version: str) -> None:
        out = tmp_path / "out.ome.zarr"
        options = {**self.options, **self.convert_options(path)}
        convert(path, out, converter=self.adapter, ome_version=version, **options)
        assert validate_store(str(out)) == version
        refs = self.reference(path)
        collection = self.open(path)
        paths = collection.image_paths or [str(k) for k in range(len(refs))]
        for k, ref in enumerate(refs):
            group = out / paths[k] if len(refs) > 1 else out
            multiscale = group_attrs(group)["multiscales"][0]
            expected = matched(ref.data, ref.axes, [a["name"] for a in multiscale["axes"]])
            level0 = group / multiscale["datasets"][0]["path"]
            np.testing.assert_array_equal(read_level(level0), expected)
