"""What all vendor-format adapters share: detection by content across formats, the
one-line error naming the extra to install, tiff2zarr's pointer to convert, and info."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from omeconv.api import open_source
from omeconv.cli import main
from omeconv.converters import get_converter
from omeconv.errors import UnsupportedSourceError

if TYPE_CHECKING:
    from pathlib import Path

#: adapter name -> (library module, extra, a corpus file under vendor/)
ADAPTERS = {
    "nd2": ("nd2", "nd2", "nd2/soft-matter__pims_nd2__cluster.nd2"),
    "czi": ("pylibCZIrw", "czi", "czi/sebi06__czitools__100x100.czi"),
    "lif": ("liffile", "lif", "lif/nimne__readlif__testdata_2channel_xz.lif"),
    "dv": ("mrc", "mrc", "dv/tlambert03__mrc__toxo.dv"),
    "mrc": ("mrcfile", "mrc", "mrc/ccpem__mrcfile__EMD-3001.map"),
    "oib": ("oiffile", "oib", "oib/cgohlke__oiffile__test.oib"),
    "ndtiff": ("ndtiff", "ndtiff", "ndtiff/micro-manager__NDStorage__ndtiffv3.0_test"),
}


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_each_adapter_takes_only_its_own_files(corpus: Path, adapter: str) -> None:
    converter = get_converter(adapter)
    for other, (_, _, file) in ADAPTERS.items():
        assert converter.guess_can_open(corpus / "vendor" / file) == (other == adapter), file


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_missing_reader_names_the_extra(
    corpus: Path, adapter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, extra, file = ADAPTERS[adapter]
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(UnsupportedSourceError) as info:
        open_source(corpus / "vendor" / file)
    assert f"pip install 'omeconv[{extra}]'" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_reader_on_the_command_line(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "nd2", None)
    source = corpus / "vendor" / ADAPTERS["nd2"][2]
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(source), str(tmp_path / "out.ome.zarr")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err == (
        f"omeconv: error: {source}: reading ND2 files needs the nd2 package:"
        " pip install 'omeconv[nd2]'\n"
    )
    assert not (tmp_path / "out.ome.zarr").exists()


def test_tiff2zarr_points_vendor_files_to_convert(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = corpus / "vendor" / ADAPTERS["czi"][2]
    with pytest.raises(SystemExit) as exit_info:
        main(["tiff2zarr", str(source), str(tmp_path / "out.ome.zarr")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"omeconv: error: {source}: not a TIFF but Zeiss CZI (pylibCZIrw): use omeconv convert\n"
    )


def test_info_describes_a_vendor_file(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pylibCZIrw")
    source = corpus / "vendor" / "czi" / "sebi06__czitools__S3_1Pos_2Mosaic_T1_Z1_CH1.czi"
    main(["info", str(source)])
    out = capsys.readouterr().out
    assert out.startswith(f"{source}: 3 image(s)")
    for name in ("'TR1'", "'P1'", "'TR2'"):
        assert name in out
    assert "channel 0: DAPI color 00A1FF" in out


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_readers_survive_pickling(corpus: Path, adapter: str) -> None:
    """Level 0 still reads after a pickle round trip (dask.distributed ships it to workers)."""
    import pickle

    import numpy as np

    module, _, file = ADAPTERS[adapter]
    pytest.importorskip(module)
    image = open_source(corpus / "vendor" / file).images[0]
    copy = pickle.loads(pickle.dumps(image.data))
    np.testing.assert_array_equal(copy.compute(scheduler="synchronous"), image.data.compute())


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_series_option(corpus: Path, adapter: str) -> None:
    """``--series N`` picks one image of any vendor file; one that does not exist is a
    usage error in one line."""
    from omeconv.errors import UsageError

    module, _, file = ADAPTERS[adapter]
    pytest.importorskip(module)
    source = corpus / "vendor" / file
    assert len(open_source(source, series=0).images) == 1
    with pytest.raises(UsageError, match=r"--series 99 does not exist") as info:
        open_source(source, series=99)
    assert "\n" not in str(info.value)
