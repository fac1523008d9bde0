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
