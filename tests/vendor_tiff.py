"""Small vendor-flavoured TIFFs written with tifffile: the private tags and file headers of
Zeiss LSM, MetaMorph STK, Micro-Manager, FluoView, NIH Image, ScanImage and Andor files.

Structures that hold absolute file offsets (LSM sub-records) are written once, their tag's
position read back with tifffile, and written again with the offsets filled in. File headers
that sit right after the TIFF header (Micro-Manager, ScanImage) are inserted by moving the
whole TIFF down and shifting every offset in it (:func:`_insert_after_header`).
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

import numpy as np
import tifffile

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

LSM_MAGIC = 67127628
#: Tags whose values are offsets into the file.
_OFFSET_TAGS = (273, 324)


def write_lsm(
    path: Path,
    data: np.ndarray,
    *,
    voxel_m: tuple[float, float, float],
    interval_s: float,
    channels: Sequence[tuple[str, tuple[int, int, int]]],
) -> None:
    """A time series stack (scan type 6, ``TZCYX``), a thumbnail after every data page."""
    t, z, c, y, x = data.shape
    info = np.zeros(1, np.dtype(tifffile.TIFF.CZ_LSMINFO))
    values = {
        "MagicNumber": LSM_MAGIC,
        "StructureSize": info.itemsize,
        "DimensionX": x,
        "DimensionY": y,
        "DimensionZ": z,
        "DimensionChannels": c,
        "DimensionTime": t,
        "VoxelSizeX": voxel_m[0],
        "VoxelSizeY": voxel_m[1],
        "VoxelSizeZ": voxel_m[2],
        "ScanType": 6,
        "TimeIntervall": interval_s,
    }
    for key, value in values.items():
        info[key] = value
    colors = _lsm_channel_colors(channels)

    def blob(offset: int) -> bytes:
        info["OffsetChannelColors"] = offset + info.itemsize if offset else 0
        return info.tobytes() + colors

    _write_lsm_pages(path, data, blob(0))
    with tifffile.TiffFile(path) as tf:
        offset = tf.pages.first.tags[34412].valueoffset
    _write_lsm_pages(path, data, blob(offset))


def _lsm_channel_colors(channels: Sequence[tuple[str, tuple[int, int, int]]]) -> bytes:
    colors = b"".join(bytes([*rgb, 0]) for _, rgb in channels)
    names = b"".join(struct.pack("<I", len(n) + 1) + n.encode() + b"\0" for n, _ in channels)
    head = 24
    size = head + len(colors) + len(names)
    header = struct.pack("<6I", size, len(channels), len(channels), head, head + len(colors), 0)
    return header + colors + names


def _write_lsm_pages(path: Path, data: np.ndarray, info: bytes) -> None:
    extratags = [(34412, "B", len(info), info, True)]
    with tifffile.TiffWriter(path) as tw:
        for plane in data.reshape(-1, *data.shape[2:]):
            tw.write(
                plane,
                photometric="minisblack",
                planarconfig="separate",
                extratags=extratags,
                metadata=None,
            )
            tw.write(plane[0, ::2, ::2].astype(np.uint8), subfiletype=1, metadata=None)
            extratags = []


def write_stk(
    path: Path,
    planes: np.ndarray,
    *,
    calibration: tuple[float, float],
    units: str,
    z_distance: float,
    name: str,
) -> None:
    """One IFD with all planes' data after it (at least 2); calibration and name in UIC4,
    Z in UIC2."""
    n = len(planes)
    uic4 = b"".join(
        [
            _uic_fraction(4, calibration[0]),  # XCalibration
            _uic_fraction(5, calibration[1]),  # YCalibration
            _uic_string(6, units),  # CalibrationUnits
            _uic_string(7, name),  # Name
            b"\0\0",
        ]
    )
    uic4 += b"\0" * (-len(uic4) % 4)
    num = round(z_distance * 1000)
    day = 2460000  # julian day, 2023
    uic2 = np.array([[num, 1000, day, 1000 * i, day, 0] for i in range(n)], "<u4").tobytes()
    uic1 = struct.pack("<4I", 0, 0, 1, 0)  # AutoScale = 0, MinScale = 0
    tifffile.imwrite(
        path,
        planes[0],
        metadata=None,
        extratags=[(code, "I", 0, value, True) for code, value in
                   ((33628, uic1), (33629, uic2), (33631, uic4))],
    )  # fmt: skip
    with path.open("ab") as f:
        f.write(planes[1:].tobytes())
    _patch_entries(path, {33628: (4, 2), 33629: (5, n), 33631: (4, n)})


def _uic_fraction(tag: int, value: float) -> bytes:
    return struct.pack("<HII", tag, round(value * 10**6), 10**6)


def _uic_string(tag: int, text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<HI", tag, len(raw)) + raw


def _patch_entries(path: Path, entries: dict[int, tuple[int, int]]) -> None:
    """Set the ``(type, count)`` of first-page tags, as STK writers declare them."""
    raw = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tf:
        for code, (dtype, count) in entries.items():
            struct.pack_into("<HI", raw, tf.pages.first.tags[code].offset + 2, dtype, count)
    path.write_bytes(bytes(raw))


def write_micromanager(
    path: Path, data: np.ndarray, *, summary: dict[str, Any], image: dict[str, Any], axes: str
) -> None:
    """An ImageJ hyperstack with the per-image JSON tag and the Micro-Manager file header
    (summary only; no index map, so tifffile reads it as an ImageJ file)."""
    tag = json.dumps(image).encode()
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        metadata={"axes": axes},
        extratags=[(51123, "s", 0, tag, True)],
    )
    text = json.dumps(summary).encode()
    display = json.dumps([{"Color": c} for c in summary.get("ChColors", [])]).encode()
    at = 8 + 32 + len(text)  # where the display settings start
    header = struct.pack("<8I", 0, 0, 483765892, at, 0, 0, 2355492, len(text)) + text
    header += struct.pack("<2I", 347834724, len(display)) + display
    _insert_after_header(path, header)


def write_scanimage(path: Path, data: np.ndarray, *, frame_data: str) -> None:
    """A ScanImage BigTIFF (v3 header) with the frame data in its header and Software tag."""
    tifffile.imwrite(path, data, bigtiff=True, software=frame_data, metadata=None)
    frame = frame_data.encode() + b"\0"
    roi = b"{}"
    header = struct.pack("<4I", 0x07030301, 3, len(frame), len(roi)) + frame + roi
    _insert_after_header(path, header)


def write_fluoview(
    path: Path, data: np.ndarray, *, name: str, dims: Sequence[tuple[str, int, float, str]]
) -> None:
    """``MM_Header`` with up to 10 ``(name, size, resolution, unit)`` dimensions, X first."""
    header = np.zeros(1, np.dtype(tifffile.TIFF.MM_HEADER))
    header["ImageName"] = name.encode()
    table = header["Dimensions"][0]
    for i in range(10):
        table[i]["Size"] = 1
    for i, (dim, size, resolution, unit) in enumerate(dims):
        table[i] = (dim.encode(), size, 0.0, resolution, unit.encode())
    header["Dimensions"][0] = table
    raw = header.tobytes()
    tifffile.imwrite(
        path,
        data,
        photometric="minisblack",
        metadata=None,
        extratags=[(34361, "B", len(raw), raw, True), (34362, "d", 8, (0.0,) * 8, True)],
    )


def write_nih(path: Path, data: np.ndarray, **fields: Any) -> None:
    """An ``NIHImageHeader`` tag with the given fields (``XScale``, ``UnitsID`` …)."""
    header = np.zeros(1, np.dtype(tifffile.TIFF.NIH_IMAGE_HEADER))
    header["FileID"] = b"IPICIMAG"
    for key, value in fields.items():
        header[key] = value
    raw = header.tobytes()
    tifffile.imwrite(
        path,
        data,
        photometric="minisblack",
        metadata=None,
        extratags=[(43314, "B", len(raw), raw, True)],
    )


def write_andor(path: Path, data: np.ndarray, *, cycle_time_s: float) -> None:
    """Andor Id and KineticCycleTime tags on a ``TYX`` stack."""
    tifffile.imwrite(
        path,
        data,
        photometric="minisblack",
        metadata={"axes": "TYX"},
        extratags=[(4864, "I", 1, 1, True), (4878, "f", 1, cycle_time_s, True)],
    )


def _insert_after_header(path: Path, block: bytes) -> None:
    """Put ``block`` right after the TIFF header, moving the rest and fixing its offsets."""
    raw = path.read_bytes()
    with tifffile.TiffFile(path) as tf:
        tiff = tf.tiff
        start = 16 if tiff.is_bigtiff else 8
        offset = tiff.offsetformat
        pointers = [start - tiff.offsetsize]  # the first IFD
        values: list[tuple[int, str]] = []
        for page in tf.pages:
            ntags = len(page.tags)
            pointers.append(page.offset + tiff.tagnosize + ntags * tiff.tagsize)
            for tag in page.tags:
                field = tag.offset + tiff.tagsize - tiff.offsetsize
                if tag.valueoffset != field:
                    pointers.append(field)
                if tag.code in _OFFSET_TAGS:
                    fmt = "<I" if tag.dtype == 4 else "<Q"
                    size = struct.calcsize(fmt)
                    values += [(tag.valueoffset + i * size, fmt) for i in range(tag.count)]
    out = bytearray(raw[:start] + block + raw[start:])
    shift = len(block)
    for at, fmt in [(p, offset) for p in pointers] + values:
        pos = at + shift if at >= start else at
        (old,) = struct.unpack_from(fmt, out, pos)
        if old:
            struct.pack_into(fmt, out, pos, old + shift)
    path.write_bytes(bytes(out))
