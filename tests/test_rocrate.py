"""``--rocrate``: ``ro-crate-metadata.json`` at the root of a store, as the 2024 OME-NGFF
challenge wrote it, holding only what the user gave; the store still validates and reads."""

from __future__ import annotations

import json
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from omeconv.api import convert, write
from omeconv.converters.numpy_ import image_from_array
from omeconv.info import summarize
from omeconv.rocrate import FILENAME, RoCrate, crate_document
from omeconv.upgrade import upgrade
from omeconv.validate import validate_path
from tests.cli_runs import cli
from tests.factories import random_array, read_level

if TYPE_CHECKING:
    from pathlib import Path

CC_BY = "https://creativecommons.org/licenses/by/4.0/"
FULL = RoCrate(
    license=CC_BY,
    name="HeLa, SPIM",
    description="Nuclei of HeLa cells — light-sheet",
    organism="NCBI:txid9606",
    modality="obo:FBbi_00000369",
)
CONTEXT = [
    "https://w3id.org/ro/crate/1.1/context",
    {
        "organism_classification": "https://schema.org/taxonomicRange",
        "obo": "http://purl.obolibrary.org/obo/",
        "biosample": "http://purl.obolibrary.org/obo/OBI_0002648",
        "specimen": "http://purl.obolibrary.org/obo/HSO_0000308",
    },
]
DESCRIPTOR = {
    "@id": "ro-crate-metadata.json",
    "@type": "CreativeWork",
    "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"},
    "about": {"@id": "./"},
}
FULL_GRAPH = [
    DESCRIPTOR,
    {
        "@id": "./",
        "@type": "Dataset",
        "name": "HeLa, SPIM",
        "description": "Nuclei of HeLa cells — light-sheet",
        "license": CC_BY,
        "resultOf": {"@id": "#image-acquisition"},
    },
    {
        "@id": "#biosample",
        "@type": "biosample",
        "organism_classification": {"@id": "NCBI:txid9606"},
    },
    {"@id": "#specimen", "@type": "specimen", "biosample": {"@id": "#biosample"}},
    {
        "@id": "#image-acquisition",
        "@type": "image_acquisition",
        "fbbi_id": {"@id": "obo:FBbi_00000369"},
        "specimen": {"@id": "#specimen"},
    },
]
FULL_ARGS = [
    "--rocrate-license",
    CC_BY,
    "--rocrate-name",
    "HeLa, SPIM",
    "--rocrate-description",
    "Nuclei of HeLa cells — light-sheet",
    "--rocrate-organism",
    "NCBI:txid9606",
    "--rocrate-modality",
    "obo:FBbi_00000369",
]


def test_document_holds_what_was_given() -> None:
    doc = crate_document(FULL)
    assert json.dumps(doc) == json.dumps({"@context": CONTEXT, "@graph": FULL_GRAPH})


@pytest.mark.parametrize(
    ("crate", "graph"),
    [
        (RoCrate(), [DESCRIPTOR, {"@id": "./", "@type": "Dataset"}]),
        (
            RoCrate(license=CC_BY),
            [DESCRIPTOR, {"@id": "./", "@type": "Dataset", "license": CC_BY}],
        ),
        (  # a modality without an organism: an acquisition without a specimen
            RoCrate(modality="obo:FBbi_00000243"),
            [
                DESCRIPTOR,
                {"@id": "./", "@type": "Dataset", "resultOf": {"@id": "#image-acquisition"}},
                {
                    "@id": "#image-acquisition",
                    "@type": "image_acquisition",
                    "fbbi_id": {"@id": "obo:FBbi_00000243"},
                },
            ],
        ),
        (  # an organism without a modality: the specimen is what the acquisition took
            RoCrate(organism="NCBI:txid7227"),
            [
                DESCRIPTOR,
                {"@id": "./", "@type": "Dataset", "resultOf": {"@id": "#image-acquisition"}},
                {
                    "@id": "#biosample",
                    "@type": "biosample",
                    "organism_classification": {"@id": "NCBI:txid7227"},
                },
                {"@id": "#specimen", "@type": "specimen", "biosample": {"@id": "#biosample"}},
                {
                    "@id": "#image-acquisition",
                    "@type": "image_acquisition",
                    "specimen": {"@id": "#specimen"},
                },
            ],
        ),
    ],
    ids=["nothing", "license", "modality", "organism"],
)
def test_nothing_is_invented(crate: RoCrate, graph: list[dict[str, Any]]) -> None:
    assert crate_document(crate) == {"@context": CONTEXT, "@graph": graph}


def crate_of(out: Path) -> Any:
    """The parsed crate of a store directory or ``.ozx`` file (None when there is none)."""
    if out.is_file():
        with zipfile.ZipFile(out) as zf:
            names = zf.namelist()
            return json.loads(zf.read(FILENAME)) if FILENAME in names else None
    path = out / FILENAME
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


@pytest.fixture
def npy(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = random_array((2, 40, 48), "uint16")
    path = tmp_path / "in.npy"
    np.save(path, data)
    return path, data


@pytest.mark.parametrize(
    ("version", "name"),
    [("0.4", "out.ome.zarr"), ("0.5", "out.ome.zarr"), ("0.6", "out.ozx")],
)
def test_cli_writes_the_crate_and_the_store_still_validates(
    npy: tuple[Path, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    version: str,
    name: str,
) -> None:
    src, data = npy
    out = tmp_path / name
    args = ["convert", str(src), str(out), "--axes", "cyx", "--ome-version", version]
    code, err = cli(["-q", *args, "--rocrate", *FULL_ARGS], capsys)
    assert code == 0, err
    assert crate_of(out) == {"@context": CONTEXT, "@graph": FULL_GRAPH}
    assert validate_path(out).startswith(version)
    assert cli(["-q", "validate", str(out)], capsys)[0] == 0
    code, err = cli(["-q", "info", str(out)], capsys)
    assert code == 0, err
    assert summarize(out)["root"]["levels"][0]["array"]["shape"] == [2, 40, 48]
    if out.is_dir():
        np.testing.assert_array_equal(read_level(out / "0"), data)


def test_no_crate_unless_asked(npy: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    out = tmp_path / "out.ome.zarr"
    convert(npy[0], out, axes="cyx")
    assert crate_of(out) is None


def test_an_option_alone_writes_the_crate(
    npy: tuple[Path, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.ome.zarr"
    code, err = cli(
        ["-q", "convert", str(npy[0]), str(out), "--axes", "cyx", "--rocrate-name", "a"], capsys
    )
    assert code == 0, err
    assert crate_of(out) == crate_document(RoCrate(name="a"))


def test_python_api(tmp_path: Path) -> None:
    image = image_from_array(random_array((32, 32), "uint8"), axes="yx")
    out = tmp_path / "api.ome.zarr"
    write(image, out, ome_version="0.6", rocrate=FULL)
    assert crate_of(out) == crate_document(FULL)
    assert validate_path(out) == "0.6rc0"


def test_overwrite_replaces_or_removes_the_crate(
    npy: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    out = tmp_path / "out.ome.zarr"
    convert(npy[0], out, axes="cyx", rocrate=FULL)
    convert(npy[0], out, axes="cyx", rocrate=RoCrate(license=CC_BY), overwrite=True)
    assert crate_of(out) == crate_document(RoCrate(license=CC_BY))
    convert(npy[0], out, axes="cyx", overwrite=True)
    assert crate_of(out) is None


def _interrupted_before_the_root(
    src: Path, out: Path, crate: RoCrate | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped by Ctrl-C once everything but the collection's groups is staged (the
    crate among it)."""
    import omeconv.emit.writer
    from omeconv.errors import ConversionInterruptedError

    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(omeconv.emit.writer.Writer, "collection", interrupt)
        with pytest.raises(ConversionInterruptedError):
            convert(src, out, axes="cyx", rocrate=crate)


@pytest.mark.parametrize(
    "resumed_with", [FULL, RoCrate(license=CC_BY), None], ids=["same", "other", "none"]
)
def test_resume_writes_the_crate_of_the_run_that_finishes(
    npy: tuple[Path, np.ndarray],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    resumed_with: RoCrate | None,
) -> None:
    from omeconv.stores import staging_path

    out = tmp_path / "out.ome.zarr"
    _interrupted_before_the_root(npy[0], out, FULL, monkeypatch)
    staging = staging_path(out)
    assert staging is not None
    assert json.loads((staging / FILENAME).read_text()) == crate_document(FULL)
    convert(npy[0], out, axes="cyx", rocrate=resumed_with, resume=True)
    expected = None if resumed_with is None else crate_document(resumed_with)
    assert crate_of(out) == expected
    assert validate_path(out) == "0.5"
    np.testing.assert_array_equal(read_level(out / "0"), npy[1])


def test_a_source_crate_is_carried_or_replaced(tmp_path: Path) -> None:
    """Converting an OME-Zarr store keeps its crate byte for byte, unless --rocrate replaces it."""
    src = tmp_path / "src.ome.zarr"
    write(image_from_array(random_array((16, 16), "uint8"), axes="yx"), src, rocrate=FULL)
    kept, replaced = tmp_path / "kept.ome.zarr", tmp_path / "replaced.ozx"
    convert(src, kept, ome_version="0.6")
    assert (kept / FILENAME).read_bytes() == (src / FILENAME).read_bytes()
    convert(src, replaced, ome_version="0.6", rocrate=RoCrate(name="b"))
    assert crate_of(replaced) == crate_document(RoCrate(name="b"))


def test_upgrade_copy_writes_the_crate_in_place_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "v04.ome.zarr"
    write(image_from_array(random_array((16, 16), "uint8"), axes="yx"), src, ome_version="0.4")
    out = tmp_path / "v06.ome.zarr"
    upgrade(src, out, from_version="0.4", to_version="0.6", rocrate=FULL)
    assert crate_of(out) == crate_document(FULL)
    assert validate_path(out) == "0.6rc0"
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    args = ["upgrade", "0.4", "0.5", str(src), "--in-place", "--rocrate-license", CC_BY]
    code, lines = cli(["-q", *args], capsys)
    assert code == 2
    assert len(lines) == 1
    assert "--rocrate needs an OUTPUT" in lines[0]
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before


@pytest.mark.parametrize(
    ("option", "value", "example"),
    [
        ("--rocrate-organism", "human", "NCBI:txid9606"),
        ("--rocrate-modality", "FBbi:00000369", "obo:FBbi_00000369"),
    ],
)
def test_an_identifier_that_is_none_is_refused(
    npy: tuple[Path, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    example: str,
) -> None:
    out = tmp_path / "out.ome.zarr"
    code, lines = cli(
        ["-q", "convert", str(npy[0]), str(out), "--axes", "cyx", option, value], capsys
    )
    assert code == 2
    expected = f"{option} {value!r}: give an identifier such as {example} (or an http(s) IRI)"
    assert lines == [f"omeconv: error: {expected}"]
    assert not out.exists()
    iri = "http://purl.obolibrary.org/obo/NCBITaxon_9606"
    assert RoCrate(organism=iri).organism == iri


def test_tiff2zarr_writes_the_crate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tifffile

    src, out = tmp_path / "in.tif", tmp_path / "out.ome.zarr"
    data = random_array((24, 30), "uint8")
    tifffile.imwrite(src, data)
    code, err = cli(["-q", "tiff2zarr", str(src), str(out), "--rocrate-license", CC_BY], capsys)
    assert code == 0, err
    assert crate_of(out) == crate_document(RoCrate(license=CC_BY))
    np.testing.assert_array_equal(read_level(out / "0"), data)
