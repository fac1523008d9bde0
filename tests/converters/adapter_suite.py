"""A shared test suite every vendor-format adapter runs (like xarray's backend tests).

A test module subclasses :class:`AdapterSuite`, names the adapter, the corpus files it
reads and the library it wraps, and implements :meth:`AdapterSuite.reference`: what the
format's reference reader returns for a file, one :class:`Reference` per scene/series.
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
    """Subclass with ``adapter``, ``folder``, ``files``, ``library``; implement ``reference``."""

    adapter: ClassVar[str]
    folder: ClassVar[str]
    """Sub-folder of the corpus' ``vendor/``."""
    files: ClassVar[tuple[str, ...]]
    """Names in ``folder`` this adapter reads (parametrize tests with ``file``)."""
    library: ClassVar[str]
    other: ClassVar[str] = "svs/openslide__openslide-python__small.svs"
    """A file of another format under ``vendor/``, which the adapter must refuse."""
    truncate: ClassVar[float] = 0.5
    """Fraction of the file kept by the damaged-input test."""

    @classmethod
    def pytest_generate_tests(cls, metafunc: pytest.Metafunc) -> None:
        if "file" in metafunc.fixturenames:
            metafunc.parametrize("file", cls.files)

    @pytest.fixture
    def path(self, corpus: Path, file: str) -> Path:
        if importlib.util.find_spec(self.library) is None:
            pytest.skip(f"{self.library} is not installed")
        found = corpus / VENDOR / self.folder / file
        if not found.exists():
            pytest.skip(f"{found.name} is not in the corpus")
        return found

    def reference(self, path: Path) -> list[Reference]:
        raise NotImplementedError

    def open(self, path: Path) -> Collection:
        return open_source(path, converter=self.adapter)

    def convert_options(self, path: Path) -> dict[str, Any]:
        """Options the conversion test passes to :func:`omeconv.api.convert` for ``path``."""
        return {}

    # -- guess / refuse ---------------------------------------------------------------

    def test_guessed_by_content(self, path: Path, tmp_path: Path) -> None:
        assert guess_converter(path).name == self.adapter
        renamed = tmp_path / "renamed.bin"
        if path.is_file():
            renamed.write_bytes(path.read_bytes())  # by content, not by name
            assert get_converter(self.adapter).guess_can_open(renamed)

    def test_refuses_other_formats(self, corpus: Path, tmp_path: Path) -> None:
        adapter = get_converter(self.adapter)
        other = corpus / VENDOR / self.other
        assert other.exists()
        assert not adapter.guess_can_open(other)
        garbage = tmp_path / f"garbage{adapter.suffixes[0]}"
        garbage.write_bytes(bytes(range(256)) * 8)
        assert not adapter.guess_can_open(garbage)
        assert not adapter.guess_can_open(tmp_path / "missing.bin")
        assert not adapter.guess_can_open(np.zeros((2, 2)))

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
            convert(damaged, out, converter=self.adapter)
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
        convert(
            path, out, converter=self.adapter, ome_version=version, **self.convert_options(path)
        )
        assert validate_store(str(out)) == version
        refs = self.reference(path)
        collection = self.open(path)
        paths = collection.image_paths or [str(k) for k in range(len(refs))]
        for k, ref in enumerate(refs):
            group = out / paths[k] if len(refs) > 1 else out
            axes = group_attrs(group)["multiscales"][0]["axes"]
            expected = matched(ref.data, ref.axes, [a["name"] for a in axes])
            np.testing.assert_array_equal(read_level(group / "0"), expected)
