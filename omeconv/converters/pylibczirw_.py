"""Zeiss CZI files as a source, read with Zeiss's `pylibCZIrw <https://github.com/ZEISS/pylibczirw>`_.

pylibCZIrw (libCZI) reads every CZI compression (JPEG XR, zstd) and composes mosaics: each
region is read as ``CziReader.read`` returns it, tiles placed at their stage positions and
pixels no tile covers left at the reader's background, 0. Regions are read plane by plane
and tile by tile (at most 2048 x 2048 pixels), never a whole file at once. Each scene
(``S``) is an image of a bioformats2raw collection; dimensions other than T, C, Z of
length > 1 (Airyscan detector elements ``H``, rotations ``R`` …) are custom axes. BGR pixels
become R, G, B channels. Physical sizes, the time step (when the T offsets are regular),
channel names, colours and wavelengths come from the CZI's XML metadata.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from omeconv.converters._vendor import (
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
    from collections.abc import Sequence

    import dask.array as da

__all__ = ["CziConverter"]

_MAGIC = b"ZISRAWFILE"
_TILE = 2048
#: libCZI pixel types: numpy dtype and samples per pixel.
_PIXEL_TYPES = {
    "Gray8": ("uint8", 1),
    "Gray16": ("uint16", 1),
    "Gray32Float": ("float32", 1),
    "Bgr24": ("uint8", 3),
    "Bgr48": ("uint16", 3),
    "Bgr96Float": ("float32", 3),
}
_RGB = (("R", "FF0000"), ("G", "00FF00"), ("B", "0000FF"))


class CziConverter:
    """Zeiss CZI files (pylibCZIrw)."""

    name: ClassVar[str] = "czi"
    description: ClassVar[str] = "Zeiss CZI (pylibCZIrw)"
    suffixes: ClassVar[tuple[str, ...]] = (".czi",)

    def guess_can_open(self, source: Any) -> bool:
        return head(source, len(_MAGIC)) == _MAGIC

    def open(self, source: Any, *, series: int | None = None) -> Collection:
        """Read ``source`` lazily: every scene (a collection) or the one numbered ``series``."""
        require("pylibCZIrw", "czi", "CZI", source)
        from pylibCZIrw import czi as pyczi

        path = Path(source)
        check_file(path, "CZI")
        with damaged(path, "not a readable CZI file"), pyczi.open_czi(str(path)) as czi:
            layout = _Layout.of(czi, path)
            metadata = czi.metadata
        metadata_errors = (KeyError, TypeError, ValueError, AttributeError)
        with damaged(path, "cannot read the CZI metadata", metadata_errors):
            return _collection(path, layout, metadata, series)


class _Layout:
    """Dimensions, scenes and pixel type of a CZI file, as libCZI reports them."""

    def __init__(
        self,
        dims: dict[str, tuple[int, int]],
        scenes: list[tuple[int | None, tuple[int, int, int, int]]],
        pixel_type: str,
    ) -> None:
        self.dims, self.scenes, self.pixel_type = dims, scenes, pixel_type

    @classmethod
    def of(cls, czi: Any, path: Path) -> _Layout:
        box = dict(czi.total_bounding_box)
        x0, x1 = box.pop("X")
        y0, y1 = box.pop("Y")
        rects = czi.scenes_bounding_rectangle
        scenes: list[tuple[int | None, tuple[int, int, int, int]]]
        if rects:
            scenes = [(k, (r.x, r.y, r.w, r.h)) for k, r in sorted(rects.items())]
        else:
            scenes = [(None, (x0, y0, x1 - x0, y1 - y0))]
        types = set(czi.pixel_types.values())
        if len(types) != 1:
            raise UnsupportedSourceError(
                f"channels of different pixel types ({', '.join(sorted(types))})", path=path
            )
        pixel_type = types.pop()
        if pixel_type not in _PIXEL_TYPES:
            raise UnsupportedSourceError(f"unsupported CZI pixel type {pixel_type}", path=path)
        return cls(box, scenes, pixel_type)


def _collection(
    path: Path, layout: _Layout, metadata: dict[str, Any], series: int | None
) -> Collection:
    info = metadata["ImageDocument"]["Metadata"]
    dims = info.get("Information", {}).get("Image", {}).get("Dimensions") or {}
    names = _scene_names(dims)
    images = []
    for k in series_indices(len(layout.scenes), series, path, noun="scenes"):
        scene, roi = layout.scenes[k]
        name = names.get(scene) if scene is not None else None
        if len(layout.scenes) == 1 and name is None:
            name = path.stem
        images.append(_image(path, layout, scene, roi, name or f"scene {scene}", info, dims))
    if len(layout.scenes) > 1 and series is None:
        wells = _wells(dims, [scene for scene, _ in layout.scenes])
        if wells is not None:
            return _plate(images, wells, info, path)
        return Collection(images=tuple(images), layout="bioformats2raw")
    return Collection(images=tuple(images))


def _wells(dims: dict[str, Any], scenes: Sequence[int | None]) -> list[tuple[str, str]] | None:
    """The (row, column) of each scene's well, from the scenes' ``Shape`` names (``"D6"``);
    None unless every scene names a well."""
    import re

    shapes = {}
    for k, scene in enumerate(_listed(((dims.get("S") or {}).get("Scenes") or {}).get("Scene"))):
        name = str((scene.get("Shape") or {}).get("@Name") or "")
        match = re.fullmatch(r"([A-Za-z]{1,2})(\d{1,3})", name)
        if match is not None:
            shapes[int(scene.get("@Index", k))] = (match.group(1).upper(), match.group(2))
    if any(scene not in shapes for scene in scenes):
        return None
    return [shapes[scene] for scene in scenes if scene is not None]


def _plate(
    images: list[Image], wells: list[tuple[str, str]], info: dict[str, Any], path: Path
) -> Collection:
    """The scenes as the fields of their wells, in scene order within each well; the plate
    is named as the document, else as the file."""
    from omeconv.model import Plate, Well, WellField

    fields: dict[tuple[str, str], list[WellField]] = {}
    paths = []
    for image, well in zip(images, wells, strict=True):
        listed = fields.setdefault(well, [])
        listed.append(WellField(path=str(len(listed)), image=image))
        paths.append(f"{well[0]}/{well[1]}/{listed[-1].path}")
    rows = tuple(sorted({r for r, _ in wells}, key=lambda r: (len(r), r)))
    columns = tuple(sorted({c for _, c in wells}, key=int))
    name = (info.get("Information", {}).get("Document") or {}).get("Name")
    plate = Plate(
        name=str(name) if name else path.stem,
        rows=rows,
        columns=columns,
        wells=tuple(Well(row=r, column=c, fields=tuple(f)) for (r, c), f in fields.items()),
        field_count=max(len(f) for f in fields.values()),
    )
    return Collection(images=tuple(images), plate=plate, layout="plate", image_paths=tuple(paths))


def _image(
    path: Path,
    layout: _Layout,
    scene: int | None,
    roi: tuple[int, int, int, int],
    name: str,
    info: dict[str, Any],
    dims: dict[str, Any],
) -> Image:
    """One scene; its pyramid layers (``PyramidInfo``) as the coarser levels, read by
    libCZI at their zoom."""
    dtype, samples = _PIXEL_TYPES[layout.pixel_type]
    letters = "".join(layout.dims) + "YX" + ("S" if samples > 1 else "")
    pyramid = _pyramid(dims, scene)
    factors = [1]
    if pyramid is not None:
        minification, count = pyramid[1]["MinificationFactor"], pyramid[1]["PyramidLayersCount"]
        factors += [int(minification) ** k for k in range(1, int(count) + 1)]
    arrays = [
        (_level(path, layout, scene, roi, factor, dtype, samples), factor)
        for factor in factors
        if roi[2] // factor > 0 and roi[3] // factor > 0
    ]
    sizes = _sizes(info, dims, letters)
    channels = _channels(dims, info, samples)
    return make_image(
        name,
        arrays[0][0],
        letters,
        path,
        sizes=sizes,
        channels=channels,
        lower=arrays[1:],
        downscale=pyramid if len(arrays) > 1 else None,
        translation=_scene_origin(scene, roi, sizes),
    )


def _scene_origin(
    scene: int | None, roi: tuple[int, int, int, int], sizes: dict[str, tuple[float, str | None]]
) -> dict[str, float] | None:
    """Where libCZI places a scene: its bounding rectangle's corner (pixels of the CZI's
    coordinate system) in the unit of the pixel size; None without scenes or pixel sizes."""
    if scene is None or "x" not in sizes or "y" not in sizes:
        return None
    return {
        "x": float(f"{roi[0] * sizes['x'][0]:.12g}"),
        "y": float(f"{roi[1] * sizes['y'][0]:.12g}"),
    }


def _level(
    path: Path,
    layout: _Layout,
    scene: int | None,
    roi: tuple[int, int, int, int],
    factor: int,
    dtype: str,
    samples: int,
) -> da.Array:
    """The scene at ``1 / factor`` of its size, whole pixels only (``size // factor``)."""
    import numpy as np

    height, width = roi[3] // factor, roi[2] // factor
    shape = (*(stop - start for start, stop in layout.dims.values()), height, width)
    shape += (samples,) if samples > 1 else ()
    reader = _Regions(path, layout, scene, roi, factor, shape, np.dtype(dtype))
    chunks = (1,) * len(layout.dims) + (min(height, _TILE), min(width, _TILE))
    chunks += (samples,) if samples > 1 else ()
    return guarded(reader, path, "CZI", chunks)


def _pyramid(dims: dict[str, Any], scene: int | None) -> tuple[str, dict[str, Any]] | None:
    """The scene's ``PyramidInfo`` as NGFF ``type`` and ``metadata``: None without layers."""
    if scene is None:
        return None
    for k, item in enumerate(_listed(((dims.get("S") or {}).get("Scenes") or {}).get("Scene"))):
        if int(item.get("@Index", k)) != scene:
            continue
        info = item.get("PyramidInfo") or {}
        try:
            count, factor = int(info["PyramidLayersCount"]), int(info["MinificationFactor"])
        except (KeyError, TypeError, ValueError):
            return None
        if count < 1 or factor < 2:
            return None
        method = str(info.get("MinificationMethod") or "unknown").lower()
        return method, {"description": "pyramid layers of the CZI file, read by libCZI", **info}
    return None


class _Regions:
    """Regions of one scene as libCZI composes them; one reader per thread, opened at the
    first read; picklable (reopens where unpickled)."""

    def __init__(
        self,
        path: Path,
        layout: _Layout,
        scene: int | None,
        roi: tuple[int, int, int, int],
        factor: int,
        shape: tuple[int, ...],
        dtype: Any,
    ) -> None:
        self.path, self.layout, self.scene, self.roi = path, layout, scene, roi
        self.factor, self.shape, self.dtype = factor, shape, dtype
        self._local = threading.local()

    def _reader(self) -> Any:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            from pylibCZIrw import czi as pyczi

            reader = self._local.reader = pyczi.CziReader(str(self.path))
        return reader

    def __getitem__(self, region: tuple[slice, ...]) -> Any:
        import itertools

        import numpy as np

        reader = self._reader()
        n = len(self.layout.dims)
        ys, xs = region[n], region[n + 1]
        f = self.factor  # level-0 pixels per pixel of this level
        x0, y0 = self.roi[0] + xs.start * f, self.roi[1] + ys.start * f
        w, h = xs.stop - xs.start, ys.stop - ys.start
        # Exact multiples of f: libCZI then maps f x f level-0 pixels to each pixel here
        # (the scene's last partial block, under f pixels, is no pixel of this level).
        w0, h0 = w * f, h * f
        zoom = None if f == 1 else 1.0 / f
        outer = [range(s.start, s.stop) for s in region[:n]]
        out = np.empty((*tuple(len(r) for r in outer), h, w, *self.shape[n + 2 :]), self.dtype)
        for index in itertools.product(*outer):
            plane = {
                d: start + i
                for (d, (start, _)), i in zip(self.layout.dims.items(), index, strict=True)
            }
            pixels = reader.read(roi=(x0, y0, w0, h0), plane=plane, scene=self.scene, zoom=zoom)
            # one sample (gray) or three in libCZI's B, G, R order
            pixels = pixels[..., 0] if len(self.shape) == n + 2 else pixels[..., ::-1]
            out[tuple(i - r.start for i, r in zip(index, outer, strict=True))] = pixels
        return out[..., region[n + 2]] if len(region) > n + 2 else out

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_local"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()


def _listed(value: Any) -> list[Any]:
    """A metadata node that holds one item (a dict) or several (a list) as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _scene_names(dims: dict[str, Any]) -> dict[int, str]:
    scenes = _listed(((dims.get("S") or {}).get("Scenes") or {}).get("Scene"))
    out = {}
    for k, scene in enumerate(scenes):
        index = int(scene.get("@Index", k))
        if scene.get("@Name"):
            out[index] = str(scene["@Name"])
    return out


def _sizes(
    info: dict[str, Any], dims: dict[str, Any], letters: str
) -> dict[str, tuple[float, str | None]]:
    """Pixel sizes (metres in the file, micrometres here) and the time step in seconds."""
    sizes: dict[str, tuple[float, str | None]] = {}
    items = ((info.get("Scaling") or {}).get("Items") or {}).get("Distance")
    for distance in _listed(items):
        axis = str(distance.get("@Id", "")).lower()
        value = distance.get("Value")
        if axis in ("x", "y", "z") and axis.upper() in letters and value:
            metres = float(value)
            if metres > 0:  # 12 digits: 1E-07 m is 0.1 um, not 0.09999999999999999
                sizes[axis] = (float(f"{metres * 1e6:.12g}"), "micrometer")
    if "T" in letters:
        step = _time_step(dims.get("T") or {})
        if step is not None:
            sizes["t"] = (step, "second")
    return sizes


def _time_step(t: dict[str, Any]) -> float | None:
    """The T interval in seconds: ``Interval/Increment``, or the step of regular offsets."""
    positions = t.get("Positions") or {}
    increment = (positions.get("Interval") or {}).get("Increment")
    if increment is not None and float(increment) > 0:
        return float(increment)
    offsets = (positions.get("List") or {}).get("Offsets")
    if not offsets:
        return None
    values = [float(v) for v in str(offsets).split()]
    steps = [b - a for a, b in itertools.pairwise(values)]
    if not steps or steps[0] <= 0:
        return None
    if any(abs(s - steps[0]) > 1e-6 * steps[0] for s in steps):
        return None
    return steps[0]


def _channels(dims: dict[str, Any], info: dict[str, Any], samples: int) -> Sequence[Channel]:
    """Name, colour and wavelengths of each channel (R, G, B per channel for BGR pixels)."""
    listed = _listed((dims.get("Channels") or {}).get("Channel"))
    display = {
        ch.get("@Id"): ch
        for ch in _listed(((info.get("DisplaySetting") or {}).get("Channels") or {}).get("Channel"))
    }
    out: list[Channel] = []
    for ch in listed:
        shown = display.get(ch.get("@Id"), {})
        name = ch.get("@Name") or shown.get("@Name")
        if samples > 1:
            prefix = f"{name} " if name and len(listed) > 1 else ""
            out.extend(Channel(label=f"{prefix}{s}", color=c) for s, c in _RGB)
            continue
        out.append(
            Channel(
                label=str(name) if name else None,
                color=_color(ch.get("Color") or shown.get("Color")),
                emission_wavelength=_number(ch.get("EmissionWavelength")),
                excitation_wavelength=_number(ch.get("ExcitationWavelength")),
            )
        )
    return out


def _color(value: Any) -> str | None:
    """``#AARRGGBB`` (or ``#RRGGBB``) as ``RRGGBB``."""
    if not value:
        return None
    text = str(value).lstrip("#")
    if len(text) in (6, 8) and all(c in "0123456789abcdefABCDEF" for c in text):
        return text[-6:].upper()
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
