"""Damaged or inconsistent input is refused in one line, never turned into plausible output.

Each case writes a good file with tifffile, then damages it (truncates it, patches a tag's
bytes, makes the IFD chain loop, gives it OME-XML or ImageJ metadata that disagrees with
its IFDs). The conversion must exit 1 with one line naming the file and the problem, and
leave nothing behind: no OUTPUT, no ``OUTPUT.partial``.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from omeconv.cli import main

if TYPE_CHECKING:
    from collections.abc import Callable

PLANES = (np.arange(4 * 32 * 32, dtype="uint16").reshape(4, 32, 32) % 997) + 1
OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def write_planes(
    path: Path, data: np.ndarray = PLANES, description: str | None = None, **kw: object
) -> Path:
    """``data`` with each plane in its own IFD (as OME-TIFF writers store them)."""
    bigtiff = bool(kw.pop("bigtiff", False))
    with tifffile.TiffWriter(path, bigtiff=bigtiff) as tw:
        for i, plane in enumerate(data):
            tw.write(
                plane,
                description=description if i == 0 else None,
                metadata=None,
                contiguous=False,
                **kw,  # type: ignore[arg-type]
            )
    return path


def ome_xml(size_z: int, tiff_data: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{OME_NS}"><Image ID="Image:0">'
        '<Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="32" SizeY="32" '
        f'SizeZ="{size_z}" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f"{tiff_data}</Pixels></Image></OME>"
    )


def patch(path: Path, offset: int, value: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))


def tag_value_offset(path: Path, page: int, code: int) -> int:
    """Where the (inline) value of tag ``code`` of IFD ``page`` is stored in the file."""
    with tifffile.TiffFile(path) as tf:
        return int(tf.pages[page].tags[code].valueoffset)


def truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


# --- the cases: each makes a damaged file and returns it --------------------------------


def _truncated_plain(t: Path) -> Path:
    tifffile.imwrite(t / "a.tif", PLANES, photometric="minisblack")
    return truncate(t / "a.tif", 0.75)


def _truncated_one_ifd(t: Path) -> Path:
    """All planes stored after one IFD (as ImageJ writes files over 4 GB), cut short."""
    tifffile.imwrite(t / "a.tif", PLANES, photometric="minisblack", truncate=True)
    return truncate(t / "a.tif", 0.75)


def _truncated_ome_lzw_bigtiff(t: Path) -> Path:
    write_planes(
        t / "a.ome.tif", description=ome_xml(4, "<TiffData/>"), bigtiff=True, compression="lzw"
    )
    return truncate(t / "a.ome.tif", 0.9)


def _truncated_tiled(t: Path) -> Path:
    write_planes(t / "a.tif", tile=(16, 16))
    return truncate(t / "a.tif", 0.95)


def _zero_bytecount(t: Path) -> Path:
    path = write_planes(t / "a.tif")
    patch(path, tag_value_offset(path, 2, 279), struct.pack("<I", 0))  # StripByteCounts
    return path


def _strip_past_end(t: Path) -> Path:
    path = write_planes(t / "a.tif")
    patch(path, tag_value_offset(path, 3, 273), struct.pack("<I", path.stat().st_size - 100))
    return path


def _undecodable_strip(t: Path) -> Path:
    path = write_planes(t / "a.tif", compression="zlib")
    with tifffile.TiffFile(path) as tf:
        offset, count = tf.pages[2].dataoffsets[0], tf.pages[2].databytecounts[0]
    patch(path, offset, b"\xff" * count)  # same length, not a zlib stream
    return path


def _ifd_loop(t: Path) -> Path:
    path = write_planes(t / "a.tif")
    with tifffile.TiffFile(path) as tf:
        last = tf.pages[3]
        next_pointer = last.offset + 2 + 12 * len(last.tags)
        second = tf.pages[1].offset
    patch(path, next_pointer, struct.pack("<I", second))
    return path


def _huge_header(t: Path) -> Path:
    """A 0.3 MB file whose IFD claims 4194304 x 4194304 pixels (17.6 TB)."""
    path = t / "a.tif"
    tifffile.imwrite(path, np.ones((512, 512), "uint8"), tile=(256, 256), compression="zlib")
    for code in (256, 257):
        offset = tag_value_offset(path, 0, code)
        with tifffile.TiffFile(path) as tf:
            tag = tf.pages[0].tags[code]
            patch(path, tag.offset + 2, struct.pack("<H", 4))  # SHORT -> LONG
        patch(path, offset, struct.pack("<I", 2**22))
    return path


def _huge_tile(t: Path) -> Path:
    """One zlib tile of a few hundred bytes whose tags claim 65536 x 65536 pixels (4 GiB)."""
    path = t / "a.tif"
    tifffile.imwrite(path, np.ones((256, 256), "uint8"), tile=(256, 256), compression="zlib")
    for code in (256, 257, 322, 323):  # image width, length; tile width, length
        with tifffile.TiffFile(path) as tf:
            tag = tf.pages[0].tags[code]
            offset, dtype = tag.valueoffset, tag.dtype
        if dtype == 3:  # SHORT -> LONG, the value stays inline
            patch(path, tag.offset + 2, struct.pack("<H", 4))
        patch(path, offset, struct.pack("<I", 65536))
    return path


def _ome(size_z: int, tiff_data: str) -> Callable[[Path], Path]:
    def make(t: Path) -> Path:
        return write_planes(
            t / "a.ome.tif", description=ome_xml(size_z, tiff_data), compression="zlib"
        )

    return make


def _imagej_fewer_images(t: Path) -> Path:
    return write_planes(t / "a.tif", description="ImageJ=1.11a\nimages=2\nslices=2\n")


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Path]
    problem: str


CASES = {
    "truncated-uncompressed": Case(
        _truncated_plain, r"damaged TIFF: the IFD chain points past the end of the file"
    ),
    "truncated-planes-after-one-ifd": Case(
        _truncated_one_ifd,
        r"holds 8192 bytes of pixels from offset \d+, past the end of the file \(\d+ bytes",
    ),
    "truncated-bigtiff-lzw-ome": Case(
        _truncated_ome_lzw_bigtiff,
        r"IFD 3: strip 0 runs past the end of the file \(\d+ bytes; truncated\?\)",
    ),
    "truncated-tiled": Case(_truncated_tiled, r"IFD 3: tile 3 runs past the end of the file"),
    "zero-byte-count": Case(_zero_bytecount, r"IFD 2: strip 0 has no data \(byte count 0\)"),
    "strip-past-the-end": Case(_strip_past_end, "IFD 3: strip 0 runs past the end of the file"),
    "undecodable-strip": Case(_undecodable_strip, "IFD 2: cannot decode its pixels"),
    "ifd-chain-loops": Case(_ifd_loop, "the IFD chain loops back to IFD"),
    "header-claims-20-TB": Case(_huge_header, "need 268435456 tiles but it lists 4"),
    "tile-claims-4-GiB": Case(
        _huge_tile,
        r"IFD 0: tile 0 claims 4294967296 bytes of pixels from \d+ compressed bytes, more "
        r"than ADOBE_DEFLATE can hold",
    ),
    "ome-size-z-larger": Case(
        _ome(6, "<TiffData/>"), r"lists 6 planes but 2 of them have no IFD \(planes 4-5\)"
    ),
    "ome-size-z-smaller": Case(
        _ome(2, "<TiffData/>"), r"leaves 2 IFDs .* \(IFDs 2-3 of 4\); refusing to drop them"
    ),
    "ome-tiffdata-gap": Case(
        _ome(
            4,
            '<TiffData IFD="0" FirstZ="0" PlaneCount="1"/>'
            '<TiffData IFD="2" FirstZ="2" PlaneCount="2"/>',
        ),
        r"1 of them have no IFD \(planes 1\); refusing to invent them as zeros",
    ),
    "ome-tiffdata-duplicate": Case(
        _ome(
            4,
            '<TiffData IFD="0" FirstZ="0" PlaneCount="2"/>'
            '<TiffData IFD="1" FirstZ="2" PlaneCount="2"/>',
        ),
        "maps planes 1 and 2 to the same IFD 1; refusing to duplicate a plane",
    ),
    "imagej-fewer-images": Case(
        _imagej_fewer_images, "ImageJ metadata holds 2 planes but the image has 4 IFDs"
    ),
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("name", list(CASES))
def test_damaged_tiff_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]
    src = case.make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    out = tmp_path / "o.zarr"
    code, err = run(["tiff2zarr", str(src), str(out)], capsys)
    assert code == 1, err
    assert len(err) == 1, err
    assert err[0].startswith(f"omeconv: error: {src}: "), err[0]
    assert re.search(case.problem, err[0]), err[0]
    assert sorted(os.listdir(tmp_path)) == before  # no OUTPUT, nothing beside it


def test_undamaged_files_of_the_cases_convert(tmp_path: Path) -> None:
    """The writers the cases start from make files that convert to the exact planes."""
    import zarr

    from omeconv.api import convert

    for i, src in enumerate(
        [
            write_planes(tmp_path / "a.tif"),
            write_planes(
                tmp_path / "b.ome.tif",
                description=ome_xml(4, "<TiffData/>"),
                compression="lzw",
                bigtiff=True,
            ),
            write_planes(tmp_path / "c.tif", tile=(16, 16)),
            write_planes(tmp_path / "d.tif", description="ImageJ=1.11a\nimages=4\nslices=4\n"),
        ]
    ):
        out = tmp_path / f"{i}.zarr"
        convert(src, out)
        np.testing.assert_array_equal(zarr.open_array(out / "0", mode="r")[...], PLANES)


def test_imagej_claiming_more_images_warns_that_the_ifds_win(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is lost or invented when the IFDs are read as they are: a warning says so."""
    import zarr

    src = write_planes(tmp_path / "a.tif", description="ImageJ=1.11a\nimages=6\nslices=6\n")
    out = tmp_path / "o.zarr"
    code, err = run(["tiff2zarr", str(src), str(out)], capsys)
    assert code == 0, err
    assert (
        f"omeconv: warning: {src}: its ImageJ metadata disagrees with the IFDs; the IFDs win"
        in (" ".join(err))
    )
    np.testing.assert_array_equal(zarr.open_array(out / "0", mode="r")[...], PLANES)


def _rewrite_on_first_read(monkeypatch: pytest.MonkeyPatch, src: Path, then: object) -> None:
    """The first region read rewrites ``src`` (other pixels), then does ``then``.

    The new file replaces the old one whole (written beside it, then renamed), so the regions
    other threads are reading at that moment are never half-written bytes: what the run must
    notice is the change of identity, not damage.
    """
    import threading

    import omeconv.emit.write as write_module

    original = write_module._read
    first = threading.Lock()

    def read(source: object, region: tuple[slice, ...]) -> np.ndarray:
        if first.acquire(blocking=False):
            new = src.with_name(src.name + ".new")
            tifffile.imwrite(new, PLANES[::-1], photometric="minisblack")  # same layout
            os.replace(new, src)
            if isinstance(then, BaseException):
                raise then
        return original(source, region)

    monkeypatch.setattr(write_module, "_read", read)


def test_an_input_rewritten_during_the_conversion_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "a.tif"
    tifffile.imwrite(src, PLANES, photometric="minisblack")
    _rewrite_on_first_read(monkeypatch, src, None)
    out = tmp_path / "o.zarr"
    code, err = run(["tiff2zarr", str(src), str(out), "--chunks", "1,16,16"], capsys)
    assert code == 1, err
    assert err == [
        (
            f"omeconv: error: {src.resolve()}: changed while it was converted (its size or "
            "modification time differs), so the output could mix old and new pixels; it is "
            "discarded: convert again"
        )
    ]
    assert sorted(os.listdir(tmp_path)) == ["a.tif"]


def test_resume_refuses_an_input_changed_since_the_interrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "a.tif"
    tifffile.imwrite(src, PLANES, photometric="minisblack")
    _rewrite_on_first_read(monkeypatch, src, KeyboardInterrupt())
    out = tmp_path / "o.zarr"
    code, err = run(["tiff2zarr", str(src), str(out), "--chunks", "1,16,16"], capsys)
    assert code == 130, err
    monkeypatch.undo()
    code, err = run(["tiff2zarr", str(src), str(out), "--chunks", "1,16,16", "--resume"], capsys)
    assert code == 2, err
    assert len(err) == 1
    assert (
        "cannot resume: the unfinished output was begun with other options or inputs (inputs)"
        in (err[0])
    )
    assert not out.exists()


def test_every_file_of_a_multi_file_set_is_part_of_the_identity(corpus: Path) -> None:
    from omeconv.journal import source_identity

    folder = corpus / "tiff" / "ome-tiff-multifile"
    companion = next(folder.rglob("*.companion.ome"))
    tiffs = sorted(p.resolve() for p in companion.parent.glob("*.ome.tif*"))
    assert len(tiffs) > 1
    for source in (companion, tiffs[1]):
        named = {Path(p) for p, _, _ in source_identity([source])}
        assert set(tiffs) <= named, source
        assert all(size is not None for _, size, _ in source_identity([source]))


# --- resources: absurd requests are refused, memory stays bounded ------------------------


def test_chunks_of_one_pixel_on_a_large_image_are_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import omeconv.emit.write as write_module

    src = tmp_path / "big.tif"
    tifffile.imwrite(src, np.zeros((2048, 2048), "uint16"))
    reads: list[object] = []
    monkeypatch.setattr(write_module, "_read", lambda *a: reads.append(a))
    out = tmp_path / "o.zarr"
    code, err = run(["tiff2zarr", str(src), str(out), "--chunks", "1,1"], capsys)
    assert code == 2, err
    assert err == [
        (
            "omeconv: error: chunks (1, 1) of 2 bytes make 4194304 chunks at level 0; use "
            "--chunks of at least 64 KiB for an image this large (the default is about 2 MiB)"
        )
    ]
    assert not reads
    assert sorted(os.listdir(tmp_path)) == ["big.tif"]


def test_tiny_chunks_are_stored_in_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes and region tasks go in batches (here of 3 chunks, 2 tasks): the same store."""
    import zarr

    import omeconv.emit.write as write_module
    from omeconv.api import convert

    src = write_planes(tmp_path / "a.tif")
    convert(src, tmp_path / "ref.zarr", chunks=(1, 8, 8), levels=2)
    monkeypatch.setattr(write_module, "PUT_BATCH", 3)
    monkeypatch.setattr(write_module, "TASK_BATCH", 2)
    sizes: list[int] = []
    put = write_module.ChunkWriter._put

    def spy(self: write_module.ChunkWriter, items: list[tuple[str, bytes]]) -> None:
        sizes.append(len(items))
        put(self, items)

    monkeypatch.setattr(write_module.ChunkWriter, "_put", spy)
    convert(src, tmp_path / "o.zarr", chunks=(1, 8, 8), levels=2)
    assert max(sizes) == 3
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "o.zarr/0", mode="r")[...], PLANES)
    for level in ("0", "1"):
        np.testing.assert_array_equal(
            zarr.open_array(tmp_path / "o.zarr" / level, mode="r")[...],
            zarr.open_array(tmp_path / "ref.zarr" / level, mode="r")[...],
        )


@pytest.mark.parametrize("name", list(CASES))
def test_verify_reports_each_damaged_case_as_a_difference(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output holding the good planes, verified against the damaged file: exit 1."""
    import omeconv

    src = CASES[name].make(tmp_path)
    out = tmp_path / "o.zarr"
    omeconv.convert(PLANES, out, axes="zyx")
    code, err = run(["verify", str(src), str(out)], capsys)
    assert code == 1, err
    assert len(err) == 1, err
    assert err[0].startswith(f"omeconv: error: {src}: the source does not read as a conversion"), (
        err[0]
    )
    assert re.search(CASES[name].problem, err[0]), err[0]
