"""``--verify`` and ``omeconv verify``: every level-0 chunk compared with the source."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
import zarr

import omeconv.verify as verify_module
from omeconv.cli import main
from omeconv.errors import VerificationFailedError
from omeconv.verify import verify

if TYPE_CHECKING:
    from pathlib import Path

DATA = np.random.default_rng(1).integers(0, 4000, (3, 6, 40, 48), dtype="uint16")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    import tifffile

    path = tmp_path / "in.tif"
    tifffile.imwrite(path, DATA, imagej=True, metadata={"axes": "ZCYX"})
    return path


def _convert(source: Path, out: Path, *extra: str) -> tuple[int, str]:
    try:
        main(["-q", "tiff2zarr", str(source), str(out), "--chunks", "z=2,y=16,x=16", *extra])
    except SystemExit as exc:
        return int(exc.code or 0), ""
    return 0, ""


def _verify_cli(
    source: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str], list[str]]:
    capsys.readouterr()
    try:
        main(["verify", str(source), str(out)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err.strip().splitlines()


@pytest.mark.parametrize("extra", [(), ("--ome-version", "0.4"), ("--shards",)])
def test_verify_flag_passes_on_a_good_conversion(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]
) -> None:
    out = tmp_path / "o.zarr"
    capsys.readouterr()
    main(["tiff2zarr", str(source), str(out), "--chunks", "z=2,y=16,x=16", "--verify", *extra])
    err = capsys.readouterr().err
    # 6 x 2 x 3 x 3 chunks of (1 c, 2 z, 16 y, 16 x): ZCYX becomes NGFF's CZYX order
    assert f"verified {out}: 108 level-0 chunks in 1 arrays equal the source" in err


def test_verify_command_reports_counts_and_version(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.zarr"
    _convert(source, out)
    code, stdout, _ = _verify_cli(source, out, capsys)
    assert code == 0
    assert stdout == [f"{out}: 108 level-0 chunks in 1 arrays equal the source; valid OME-Zarr 0.5"]


def test_a_changed_pixel_is_the_first_difference(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.zarr"
    _convert(source, out)
    array = zarr.open_array(out / "0", mode="r+")
    assert array.shape == (6, 3, 40, 48)
    array[4, 1, 37, 20] = array[4, 1, 37, 20] + 1
    code, _, err = _verify_cli(source, out, capsys)
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith(f"omeconv: error: {out}/0: chunk (4, 0, 2, 1) differs")
    assert "first at pixel (4, 1, 37, 20): " in err[0]
    assert err[0].endswith(f"{int(DATA[1, 4, 37, 20]) + 1} != {int(DATA[1, 4, 37, 20])})")


def test_a_missing_chunk_is_a_difference(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.zarr"
    _convert(source, out)
    (out / "0" / "c" / "5" / "1" / "2" / "2").unlink()
    with pytest.raises(VerificationFailedError, match=r"chunk \(5, 1, 2, 2\) differs"):
        verify(source, out)


def test_invalid_metadata_is_a_difference(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.zarr"
    _convert(source, out)
    meta = json.loads((out / "zarr.json").read_text())
    meta["attributes"]["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0][
        "scale"
    ] = [1.0, 1.0]
    (out / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(VerificationFailedError, match=r"metadata: invalid OME-Zarr 0\.5"):
        verify(source, out)


def test_another_source_differs_in_shape(source: Path, tmp_path: Path) -> None:
    import tifffile

    out = tmp_path / "o.zarr"
    _convert(source, out)
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, DATA[:, :, :20], imagej=True, metadata={"axes": "ZCYX"})
    with pytest.raises(VerificationFailedError, match=r"shape \(6, 3, 40, 48\) differs"):
        verify(other, out)


def test_memory_is_bounded_by_one_chunk(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o.zarr"
    _convert(source, out)
    sizes: list[int] = []
    digest = verify_module.chunk_digest

    def spy(block: np.ndarray) -> str:
        sizes.append(block.nbytes)
        return digest(block)

    monkeypatch.setattr(verify_module, "chunk_digest", spy)
    verify(source, out)
    assert len(sizes) == 2 * 108
    assert max(sizes) <= 2 * 16 * 16 * DATA.itemsize


# --- damaged or changed sources are differences -----------------------------------------

PLANES = (np.arange(4 * 32 * 32, dtype="uint16").reshape(4, 32, 32) % 997) + 1


def _planes_tiff(path: Path, data: np.ndarray = PLANES, **kw: object) -> Path:
    """Each plane in its own (zlib) IFD, as OME-TIFF writers store them."""
    import tifffile

    with tifffile.TiffWriter(path) as tw:
        for plane in data:
            tw.write(plane, metadata=None, contiguous=False, compression="zlib", **kw)  # type: ignore[arg-type]
    return path


def _truncate(src: Path) -> None:
    src.write_bytes(src.read_bytes()[: src.stat().st_size - 200])


def _zero_bytecount(src: Path) -> None:
    import struct

    import tifffile

    with tifffile.TiffFile(src) as tf:
        offset = tf.pages[1].tags[279].valueoffset
    data = bytearray(src.read_bytes())
    data[offset : offset + 4] = struct.pack("<I", 0)
    src.write_bytes(bytes(data))


def _other_pixels(src: Path) -> None:
    _planes_tiff(src, PLANES[::-1].copy())


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_truncate, r"IFD 3: strip 0 runs past the end of the file"),
        (_zero_bytecount, r"IFD 1: strip 0 has no data \(byte count 0\)"),
        (_other_pixels, r"chunk \(0, 0, 0\) differs from the source"),
    ],
    ids=["truncated", "zero-byte-count", "rewritten"],
)
def test_a_source_damaged_after_the_conversion_is_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: object, problem: str
) -> None:
    import re

    src = _planes_tiff(tmp_path / "a.tif")
    out = tmp_path / "o.zarr"
    main(["-q", "tiff2zarr", str(src), str(out), "--chunks", "1,16,16"])
    assert _verify_cli(src, out, capsys)[0] == 0
    damage(src)  # type: ignore[operator]
    code, _, err = _verify_cli(src, out, capsys)
    assert code == 1
    assert len(err) == 1, err
    assert re.search(problem, err[0]), err[0]
    named = out if "differs" in problem else src
    assert err[0].startswith(f"omeconv: error: {named}"), err[0]


def test_an_output_with_invented_planes_is_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As an older omeconv wrote it: OME-XML SizeZ=6 over 4 IFDs gave 2 zero planes."""
    import omeconv

    ns = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{ns}"><Image ID="Image:0">'
        '<Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="32" SizeY="32" '
        'SizeZ="6" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        "<TiffData/></Pixels></Image></OME>"
    )
    import tifffile

    src = tmp_path / "a.ome.tif"
    with tifffile.TiffWriter(src) as tw:
        for i, plane in enumerate(PLANES):
            tw.write(plane, description=xml if i == 0 else None, metadata=None,
                     contiguous=False, compression="zlib")  # fmt: skip
    out = tmp_path / "o.zarr"
    invented = np.concatenate([PLANES, np.zeros((2, 32, 32), "uint16")])
    omeconv.convert(invented, out, axes="zyx")
    code, _, err = _verify_cli(src, out, capsys)
    assert code == 1
    assert err == [
        (
            f"omeconv: error: {src}: the source does not read as a conversion needs: the "
            "OME-XML lists 6 planes but 2 of them have no IFD (planes 4-5); refusing to invent "
            "them as zeros"
        )
    ]


def test_verify_reads_each_plane_from_its_ifd_not_the_series_assembly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A series assembly that puts IFDs in the wrong order (simulated) is caught."""
    import tifffile

    src = _planes_tiff(tmp_path / "a.tif")
    out = tmp_path / "o.zarr"
    original = tifffile.TiffPageSeries.aszarr

    def reversed_assembly(self: tifffile.TiffPageSeries, **kw: object) -> object:
        wrong = tifffile.TiffPageSeries(
            list(reversed(self.pages)), self.shape, self.dtype, self.axes, parent=self.parent
        )
        return original(wrong, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tifffile.TiffPageSeries, "aszarr", reversed_assembly)
    main(["-q", "tiff2zarr", str(src), str(out), "--chunks", "1,16,16"])
    assert np.array_equal(zarr.open_array(out / "0", mode="r")[...], PLANES[::-1])
    with pytest.raises(VerificationFailedError, match=r"chunk \(0, 0, 0\) differs"):
        verify(src, out)
