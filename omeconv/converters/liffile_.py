"""Leica LIF files as a source, read with cgohlke's `liffile <https://github.com/cgohlke/liffile>`_.

Each image of the file is an image of a bioformats2raw collection (one image: written at the
root); pixels are read frame by frame (``LifImage.frames``). Pixel sizes, Z step and frame
interval come from liffile's coordinates (metres and seconds in the file); a wavelength
sweep (``λ`` emission, ``Λ`` excitation) becomes the channel axis with each channel's
wavelength; channel colours come from the LUT names (Red, Green, Blue, Cyan, Magenta,
Yellow, Gray). XZ scans keep their axes (``z``, ``x``), as the file has no Y.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.converters._vendor import (
    Reopened,
    check_file,
    damaged,
    guarded,
    head,
    make_image,
    require,
    series_indices,
)
from omeconv.errors import UnsupportedSourceError
from omeconv.model import Channel, Collection, Image

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LifConverter"]

_LUT_COLORS = {
    "red": "FF0000",
    "green": "00FF00",
    "blue": "0000FF",
    "cyan": "00FFFF",
    "magenta": "FF00FF",
    "yellow": "FFFF00",
    "gray": "FFFFFF",
    "grey": "FFFFFF",
}
#: liffile dimension codes of wavelength sweeps: emission (λ) and excitation (Λ).
_SWEEPS = "λΛ"


class LifConverter:
    """Leica LAS X LIF files (liffile)."""

    name: ClassVar[str] = "lif"
    description: ClassVar[str] = "Leica LIF (liffile)"
    suffixes: ClassVar[tuple[str, ...]] = (".lif",)

    def guess_can_open(self, source: Any) -> bool:
        # int32 0x70 at 0, then the XML block size and the byte 0x2A at 8.
        magic = head(source, 9)
        return len(magic) == 9 and magic[:4] == b"\x70\x00\x00\x00" and magic[8] == 0x2A

    def open(self, source: Any, *, series: int | None = None) -> Collection:
        """Read ``source`` lazily: every image (a collection) or the one numbered ``series``."""
        liffile = require("liffile", "lif", "LIF", source)
        path = Path(source)
        check_file(path, "LIF")
        with damaged(path, "not a readable LIF file"):
            lif = liffile.LifFile(path)
        try:
            with damaged(path, "cannot read the LIF file"):
                chosen = series_indices(len(lif.images), series, path, noun="images")
                images = tuple(_image(lif.images[k], k, path) for k in chosen)
        finally:
            lif.close()  # each image's reader reopens the file at its first read
        if len(images) > 1:
            return Collection(images=images, layout="bioformats2raw")
        return Collection(images=images)


def _image(image: Any, index: int, path: Path) -> Image:
    frames = image.frames
    if getattr(image, "is_flim", False):
        raise UnsupportedSourceError(f"image {image.name!r} is FLIM data, not supported", path=path)
    dims = "".join(frames.dims)
    sweep = next((d for d in dims if d in _SWEEPS), None)
    letters = dims.replace(sweep, "C") if sweep and "C" not in dims else dims
    chunks = (1,) * (len(dims) - len(frames.frame_dims)) + tuple(frames.frame_shape)
    reader = Reopened(path, _Opener(index), frames.shape, frames.dtype)
    data = guarded(reader, path, "LIF", chunks)
    coords = image.coords
    sizes: dict[str, tuple[float, str | None]] = {}
    for dim, unit, factor in (("X", "micrometer", 1e6), ("Y", "micrometer", 1e6),
                              ("Z", "micrometer", 1e6), ("T", "second", 1.0)):  # fmt: skip
        step = _step(coords.get(dim))
        if dim in dims and step is not None:
            sizes[dim.lower()] = (step * factor, unit)
    channels = _channels(image, dims, sweep, coords)
    return make_image(image.name or None, data, letters, path, sizes=sizes, channels=channels)


def _step(values: np.ndarray | None) -> float | None:
    """The spacing of evenly spaced coordinates (``(last - first) / (n - 1)``), if positive."""
    if values is None or len(values) < 2:
        return None
    step = float(values[-1] - values[0]) / (len(values) - 1)
    return abs(step) if step != 0 else None


def _channels(image: Any, dims: str, sweep: str | None, coords: dict[str, Any]) -> list[Channel]:
    """One channel per index of C: colours from LUT names, or the wavelengths of a sweep."""
    if sweep is not None and "C" not in dims:
        nanometres = [round(float(w) * 1e9, 6) for w in coords.get(sweep, ())]
        if sweep == "λ":
            return [Channel(emission_wavelength=w) for w in nanometres]
        return [Channel(excitation_wavelength=w) for w in nanometres]
    luts = [
        element.attrib.get("LUTName", "")
        for element in image.xml_element.findall(
            "./Data/Image/ImageDescription/Channels/ChannelDescription"
        )
    ]
    return [Channel(color=_LUT_COLORS.get(lut.lower())) for lut in luts]


class _FrameArray:
    """Regions of one LIF image, read frame by frame (``LifImage.frames``)."""

    def __init__(self, frames: Any) -> None:
        self.frames = frames
        self.outer = len(frames.shape) - len(frames.frame_shape)

    def __getitem__(self, region: tuple[slice, ...]) -> Any:
        import itertools

        import numpy as np

        n = self.outer
        outer = [range(s.start, s.stop) for s in region[:n]]
        inner = tuple(region[n:])
        shape = tuple(len(r) for r in outer) + tuple(
            len(range(*s.indices(size)))
            for s, size in zip(inner, self.frames.frame_shape, strict=True)
        )
        out = np.empty(shape, self.frames.dtype)
        for index in itertools.product(*outer):
            frame = self.frames[tuple(index)][inner]
            out[tuple(i - r.start for i, r in zip(index, outer, strict=True))] = frame
        return out


class _Opener:
    """Opens a LIF file and its image number ``index`` (picklable, for :class:`Reopened`)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __call__(self, path: Path) -> tuple[Any, Any]:
        import liffile

        lif = liffile.LifFile(path)
        return lif, _FrameArray(lif.images[self.index].frames)
