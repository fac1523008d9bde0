"""``omeconv validate`` against the spec's own examples (corpus spec-json 0.4 and 0.5)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from omeconv.cli import main
from omeconv.errors import OmeconvWarning, ValidationFailedError
from omeconv.validate import validate_document, validate_path, validate_store

CORPUS_MANIFEST = Path(__file__).resolve().parents[2] / "shared/corpus/spec-json/MANIFEST.json"
#: The 0.4 example's scale has 2 values for 3 axes: the spec's text says the lengths MUST
#: agree (the JSON schema cannot say it, so the schema suite calls it valid). We reject it.
SCALE_LENGTH_EXCEPTION = "spec-json/0.4/valid/image/mismatch_axes_units.json"


def _cases() -> list[dict[str, object]]:
    if not CORPUS_MANIFEST.is_file():
        return []
    entries = json.loads(CORPUS_MANIFEST.read_text())
    return [e for e in entries if e["version"] in ("0.4", "0.5")]


CASES = _cases()
IDS = [str(e["file"]).removeprefix("spec-json/") for e in CASES]


def _is_strict(entry: dict[str, object]) -> bool:
    return "strict" in str(entry["schema"])


@pytest.mark.parametrize("entry", CASES, ids=IDS)
def test_spec_example(corpus: Path, entry: dict[str, object]) -> None:
    path = corpus / str(entry["file"])
    strict = _is_strict(entry)
    if entry["file"] == SCALE_LENGTH_EXCEPTION:
        with pytest.raises(ValidationFailedError) as exc:
            validate_document(path)
        assert any("does not match the number of axes" in d for d in exc.value.details)
        return
    if entry["valid"]:
        with warnings.catch_warnings():
            # Examples of the non-strict schemas may miss SHOULD keys (a warning).
            warnings.simplefilter("error" if strict else "ignore", OmeconvWarning)
            assert validate_document(path, strict=strict) == entry["version"]
        return
    with pytest.raises(ValidationFailedError) as exc:
        validate_document(path, strict=strict)
    assert exc.value.details, "an invalid document must come with its reasons"
    assert str(path) in str(exc.value)


@pytest.mark.parametrize(
    "entry", [e for e in CASES if _is_strict(e) and not e["valid"]], ids=lambda e: str(e["file"])
)
def test_strict_rules_are_warnings_without_strict(corpus: Path, entry: dict[str, object]) -> None:
    with pytest.warns(OmeconvWarning, match="SHOULD"):
        validate_document(corpus / str(entry["file"]))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("invalid_version.json", "'0.3' is not 0.4"),
        ("invalid_channels_window.json", "window.end: '100' is not a number"),
    ],
)
def test_reasons_name_the_field(corpus: Path, name: str, reason: str) -> None:
    with pytest.raises(ValidationFailedError) as exc:
        validate_document(corpus / "spec-json/0.4/invalid/image" / name)
    assert any(reason in d for d in exc.value.details)


def test_cli_reports_each_reason(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus / "spec-json/0.5/invalid/plate/well_path_has_column_before_row.json"
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(path)])
    assert exc.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == f"omeconv: error: {path}: not a valid OME-Zarr 0.5 document"
    assert lines[1] == "  - plate.wells.0.path: '1/A' is not row/column A/1"


def test_cli_strict_flag(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(corpus / "spec-json/0.5/invalid/strict_label/no_colors.json")
    main(["validate", path])
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        (
            f"omeconv: warning: {path}: missing what the spec says SHOULD be given "
            "(--strict rejects it): image-label.colors"
        )
    ]
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--strict", path])
    assert exc.value.code == 1


@pytest.fixture
def store(tmp_path: Path) -> Path:
    import omeconv

    out = tmp_path / "img.ome.zarr"
    data = np.arange(4 * 32 * 32, dtype="uint16").reshape(4, 32, 32)
    omeconv.write(omeconv.read(data, axes="zyx"), out, chunks=(2, 16, 16), levels=1)
    return out


def test_written_store_is_valid(store: Path) -> None:
    assert validate_path(store) == "0.5"


def test_store_with_corrupt_json_names_the_file(store: Path) -> None:
    (store / "0" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "arr')
    with pytest.raises(ValidationFailedError, match=r"0/zarr\.json is not JSON"):
        validate_store(str(store))


def test_store_with_missing_chunks_warns(store: Path) -> None:
    chunk = next(p for p in sorted((store / "0" / "c").rglob("*")) if p.is_file())
    chunk.unlink()
    with pytest.warns(OmeconvWarning, match=r"0: 1 of 8 chunks are missing; they read as the fill"):
        assert validate_store(str(store)) == "0.5"


def test_a_version_without_known_rules_is_refused_in_one_line(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = json.loads((store / "zarr.json").read_text())
    meta["attributes"]["ome"]["version"] = "0.7"
    (store / "zarr.json").write_text(json.dumps(meta))
    document = store.parent / "doc.json"
    document.write_text(json.dumps({"ome": meta["attributes"]["ome"]}))
    for path in (store, document):
        with pytest.raises(SystemExit) as exc:
            main(["validate", str(path)])
        assert exc.value.code == 1
        assert capsys.readouterr().err.strip().splitlines() == [
            (
                f"omeconv: error: {path}: OME-Zarr 0.7 is not supported; omeconv validates "
                "0.4 and 0.5 and 0.6 and 0.6rc0"
            )
        ]
