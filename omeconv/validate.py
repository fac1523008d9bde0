"""NGFF validation, for ``omeconv validate`` and checks after a write.

yaozarrs checks the models; a few spec rules it lets pass are checked here too (versions,
numeric channel windows, integer acquisition ids, 0.5 well paths that are ``row/column``).
The spec's "strict" schemas hold SHOULD rules (plate and multiscale names, label colours,
acquisition names …): they are warnings, or reasons to reject with ``strict=True``.
Spec examples may carry ``//`` comments; they are ignored.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

from fsspec import FSMap

from omeconv.errors import (
    CorruptSourceError,
    OmeconvError,
    OmeconvWarning,
    SourceNotFoundError,
    UnsupportedSourceError,
    ValidationFailedError,
)
from omeconv.hierarchy import Hierarchy, Node
from omeconv.ngff06 import VERSIONS as V06_VERSIONS
from omeconv.ngff06 import is_v06
from omeconv.ozx import is_ozx
from omeconv.validate_v06 import v06_problems, v06_store_problems

__all__ = [
    "missing_chunks",
    "spec_problems",
    "strict_problems",
    "validate_document",
    "validate_path",
    "validate_store",
    "warn_missing_chunks",
]

#: The NGFF versions whose rules are checked here.
SUPPORTED_VERSIONS = ("0.4", "0.5", *V06_VERSIONS)

#: Keys the spec's strict schemas require (SHOULD rules), per version and object.
STRICT_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "0.4": {
        "multiscales": ("version", "metadata", "type", "name"),
        "image-label": ("version", "colors"),
        "plate": ("name", "version"),
        "acquisitions": ("name", "maximumfieldcount"),
        "well": ("version",),
    },
    "0.5": {
        "multiscales": ("metadata", "type", "name"),
        "image-label": ("colors",),
        "plate": ("name",),
        "acquisitions": ("name", "maximumfieldcount"),
    },
}
_METADATA_FILES = ("zarr.json", ".zattrs", ".zgroup", ".zarray")


def validate_path(path: str | os.PathLike[str], *, strict: bool = False) -> str:
    """Validate a store (directory or URL) or a JSON document; return the NGFF version.

    Raises :class:`ValidationFailedError` listing every reason when invalid.
    """
    text = str(path)
    local = Path(text)
    if "://" not in text and not local.exists():
        raise SourceNotFoundError("no such file or directory", path=text)
    if local.is_file() and not is_ozx(local):
        return validate_document(local, strict=strict)
    return validate_store(text, strict=strict)


def validate_document(path: str | os.PathLike[str], *, strict: bool = False) -> str:
    """Validate one NGFF JSON document (``zarr.json``, ``.zattrs`` or a bare attributes dict)."""
    doc = _load_json(Path(path))
    attrs, version = _ngff_attrs(doc)
    _check_supported(version, str(path))
    if is_v06(version):  # the 0.6 schemas and rules (yaozarrs has no 0.6 models)
        must, should = v06_problems(doc)
        _verdict(str(path), f"not a valid OME-Zarr {version} document", must, should, strict=strict)
        return version
    reasons = _model_reasons(doc, attrs, version) + spec_problems(attrs, version)
    _verdict(
        str(path),
        f"not a valid OME-Zarr {version} document",
        reasons,
        strict_problems(attrs, version),
        strict=strict,
    )
    return version


def validate_store(location: str, *, strict: bool = False) -> str:
    """Validate a whole OME-Zarr hierarchy (metadata and structure); return its version.

    Metadata files that are not JSON are reported by name; arrays with missing chunks
    (which read as the fill value) give a warning.
    """
    from pydantic import ValidationError
    from yaozarrs import validate_zarr_store
    from yaozarrs._storage import StorageValidationError

    if is_ozx(location):
        _check_zipped_json_files(Path(location))
    elif "://" not in location:
        _check_json_files(Path(location))
    try:
        group = _open_group(location)
        hierarchy = Hierarchy(location)
        version = hierarchy.store_version()
    except (ValueError, OSError, KeyError) as exc:
        raise ValidationFailedError(f"not a Zarr group: {_first(exc)}", path=location) from exc
    if not version:
        raise ValidationFailedError("not an OME-Zarr store (no NGFF metadata)", path=location)
    _check_supported(str(version), location)
    if is_v06(version):  # the 0.6 schemas and rules (yaozarrs has no 0.6 models)
        must, should = v06_store_problems(hierarchy)
        _verdict(location, f"invalid OME-Zarr {version}", must, should, strict=strict)
        for array_path, missing, total in _missing_chunks(hierarchy):
            _warn_missing(hierarchy.where(array_path), missing, total)
        return str(version)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            validate_zarr_store(group)
    except StorageValidationError as exc:
        details = [f"{_loc(e.get('loc', ()))}{e['msg']}" for e in exc.errors()]
        raise ValidationFailedError(
            f"invalid OME-Zarr {version}", path=location, details=details
        ) from exc
    except ValidationError as exc:
        raise ValidationFailedError(
            f"invalid OME-Zarr {version}", path=location, details=_pydantic_reasons(exc)
        ) from exc
    except (ValueError, NotImplementedError, OSError) as exc:
        raise ValidationFailedError(_first(exc), path=location) from exc
    reasons, should = _store_problems(hierarchy, str(version))
    _verdict(location, f"invalid OME-Zarr {version}", reasons, should, strict=strict)
    for array_path, missing, total in _missing_chunks(hierarchy):
        _warn_missing(hierarchy.where(array_path), missing, total)
    return str(version)


def _open_group(location: str) -> Any:
    """yaozarrs' view of the group at ``location``.

    A local path is read key by key as it is: fsspec's batch read would take ``[``, ``]``,
    ``*`` or ``?`` in it for a glob pattern and find nothing.
    """
    from yaozarrs import ZarrGroup, open_group

    if is_ozx(location):
        from fsspec.implementations.zip import ZipFileSystem

        return ZarrGroup(FSMap("", ZipFileSystem(fo=location)))
    if "://" in location:
        return open_group(location)
    from fsspec.implementations.local import LocalFileSystem

    group = ZarrGroup(_LiteralMap(os.path.abspath(location), LocalFileSystem()))
    if group.metadata.node_type != "group":
        raise ValueError(f"the root node is {group.metadata.node_type!r}, not a group")
    return group


class _LiteralMap(FSMap):  # type: ignore[misc]
    """An fsspec mapper that reads each key as a file name, never as a glob pattern."""

    def __getitem__(self, key: str, default: bytes | None = None) -> bytes:
        try:
            return bytes(self.fs.cat_file(f"{self.root}/{key}"))
        except self.missing_exceptions as exc:
            if default is not None:
                return default
            raise KeyError(key) from exc

    def getitems(self, keys: list[str], on_error: str = "raise") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in keys:
            try:
                out[key] = self[key]
            except KeyError as exc:
                if on_error == "raise":
                    raise
                if on_error == "return":
                    out[key] = exc
        return out


def _check_supported(version: str, where: str) -> None:
    """Refuse, in one line, an NGFF version whose rules omeconv does not know."""
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedSourceError(
            f"OME-Zarr {version} is not supported; omeconv validates "
            + " and ".join(SUPPORTED_VERSIONS),
            path=where,
        )


def _verdict(
    where: str, message: str, reasons: list[str], should: list[str], *, strict: bool
) -> None:
    """Raise with every MUST reason (and SHOULD ones when ``strict``); else warn of SHOULDs."""
    if strict:
        reasons = reasons + should
    if reasons:
        raise ValidationFailedError(message, path=where, details=reasons[:20])
    if should:
        _warn_should(where, should)


def _warn_should(where: str, problems: list[str]) -> None:
    """One warning listing the SHOULD rules not followed (``strict=True`` rejects them)."""
    keys = [p.rsplit(": ", 1)[0] for p in problems]
    warnings.warn(
        f"{where}: missing what the spec says SHOULD be given (--strict rejects it): "
        + ", ".join(keys),
        OmeconvWarning,
        stacklevel=3,
    )


def warn_missing_chunks(array: Any, where: str) -> None:
    """Warn if ``array`` (a zarr array at ``where``) misses chunks, which read as fill value."""
    total, written = array.nchunks, array.nchunks_initialized
    if written < total:
        _warn_missing(where, total - written, total)


def _warn_missing(where: str, missing: int, total: int) -> None:
    warnings.warn(
        f"{where}: {missing} of {total} chunks are missing; they read as the fill value",
        OmeconvWarning,
        stacklevel=3,
    )


def missing_chunks(location: str) -> list[tuple[str, int, int]]:
    """``(array path, chunks missing, chunks in all)`` for each array of a store that has gaps."""
    try:
        return _missing_chunks(Hierarchy(location))
    except (OmeconvError, OSError):
        return []


def _missing_chunks(hierarchy: Hierarchy) -> list[tuple[str, int, int]]:
    """:func:`missing_chunks` of the arrays below the root group of ``hierarchy``."""
    out: list[tuple[str, int, int]] = []
    if hierarchy.kind("") != "group":
        return out
    for node in hierarchy.walk():
        if node.kind != "array":
            continue
        try:
            array = hierarchy.open_array(node.path)
            total, written = array.nchunks, array.nchunks_initialized
        except (OmeconvError, OSError):
            continue
        if written < total:
            out.append((node.path, total - written, total))
    return out


def spec_problems(attrs: dict[str, Any], version: str) -> list[str]:
    """MUST rules of the spec that the yaozarrs models let pass, one reason each."""
    problems: list[str] = []
    if version == "0.4":
        for where, obj in _versioned(attrs):
            given = obj.get("version")
            if given is not None and given != "0.4":
                problems.append(f"{where}.version: {given!r} is not 0.4")
    omero = attrs.get("omero")
    channels = omero.get("channels") if isinstance(omero, dict) else None
    for i, channel in enumerate(channels if isinstance(channels, list) else []):
        window = channel.get("window") if isinstance(channel, dict) else None
        for key, value in (window or {}).items():
            if key in ("start", "end", "min", "max") and not _is_number(value):
                problems.append(f"omero.channels.{i}.window.{key}: {value!r} is not a number")
    plate = attrs.get("plate")
    if isinstance(plate, dict):
        for i, acq in enumerate(_list(plate.get("acquisitions"))):
            if isinstance(acq, dict) and "id" in acq and not _is_int(acq["id"]):
                problems.append(f"plate.acquisitions.{i}.id: {acq['id']!r} is not an integer")
        if version != "0.4":  # 0.4 said nothing of the path's order (its examples mix it)
            problems += _well_path_problems(plate)
    well = attrs.get("well")
    if isinstance(well, dict):
        for i, image in enumerate(_list(well.get("images"))):
            acquisition = image.get("acquisition", 0) if isinstance(image, dict) else 0
            if not _is_int(acquisition):
                problems.append(f"well.images.{i}.acquisition: {acquisition!r} is not an integer")
    return problems


def strict_problems(attrs: dict[str, Any], version: str) -> list[str]:
    """SHOULD rules of the spec's strict schemas that ``attrs`` does not follow."""
    keys = STRICT_KEYS.get(version, {})
    problems = []
    for i, multiscale in enumerate(_list(attrs.get("multiscales"))):
        problems += _missing(multiscale, keys.get("multiscales", ()), f"multiscales.{i}")
    for name in ("image-label", "plate", "well"):
        if isinstance(attrs.get(name), dict):
            problems += _missing(attrs[name], keys.get(name, ()), name)
    plate = attrs.get("plate")
    if isinstance(plate, dict):
        for i, acq in enumerate(_list(plate.get("acquisitions"))):
            problems += _missing(acq, keys.get("acquisitions", ()), f"plate.acquisitions.{i}")
    return problems


def _missing(obj: Any, required: tuple[str, ...], where: str) -> list[str]:
    if not isinstance(obj, dict):
        return []
    return [
        f"{where}.{key}: missing (the spec says it SHOULD be given)"
        for key in required
        if key not in obj
    ]


def _well_path_problems(plate: dict[str, Any]) -> list[str]:
    rows = [r.get("name") if isinstance(r, dict) else None for r in _list(plate.get("rows"))]
    cols = [c.get("name") if isinstance(c, dict) else None for c in _list(plate.get("columns"))]
    problems = []
    for i, well in enumerate(_list(plate.get("wells"))):
        if not isinstance(well, dict):
            continue
        r, c, path = well.get("rowIndex"), well.get("columnIndex"), well.get("path")
        if not (isinstance(r, int) and isinstance(c, int) and isinstance(path, str)):
            continue
        if 0 <= r < len(rows) and 0 <= c < len(cols) and path != f"{rows[r]}/{cols[c]}":
            problems.append(
                f"plate.wells.{i}.path: {path!r} is not row/column {rows[r]}/{cols[c]!s}"
            )
    return problems


def _versioned(attrs: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(f"multiscales.{i}", m) for i, m in enumerate(_list(attrs.get("multiscales")))]
    found += [(k, attrs[k]) for k in ("plate", "well", "image-label") if k in attrs]
    return [(w, o) for w, o in found if isinstance(o, dict)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _load_json(path: Path) -> Any:
    """Parse ``path`` as JSON, allowing ``//`` comments (as in the spec's examples)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailedError(f"not JSON: {exc}", path=path) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        try:
            return json.loads(_strip_comments(text))
        except ValueError:
            raise ValidationFailedError(f"not JSON: {exc}", path=path) from exc


def _strip_comments(text: str) -> str:
    """``text`` without ``//`` comments outside strings."""
    return re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*', lambda m: m.group(1) or "", text)


def _ngff_attrs(doc: Any) -> tuple[dict[str, Any], str]:
    """The NGFF attributes of a document (zarr.json, .zattrs or ``{"ome": …}``) and version."""
    if not isinstance(doc, dict):
        return {}, "0.4"
    if isinstance(doc.get("attributes"), dict):
        doc = doc["attributes"]
    ome = doc.get("ome")
    if isinstance(ome, dict):
        return ome, str(ome.get("version", "0.5"))
    return doc, "0.4"


def _model_reasons(doc: Any, attrs: dict[str, Any], version: str) -> list[str]:
    """What the yaozarrs models reject in ``doc``."""
    from pydantic import ValidationError
    from yaozarrs import v04, v05, validate_ome_json

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if "image-label" in attrs and "multiscales" not in attrs:
                # A bare image-label document (the label schema's examples).
                model = v05.ImageLabel if version == "0.5" else v04.ImageLabel
                model.model_validate(attrs["image-label"])
            else:
                validate_ome_json(json.dumps(doc))
    except ValidationError as exc:
        return _pydantic_reasons(exc)
    return []


def _check_json_files(root: Path) -> None:
    """Raise naming the first metadata file of a local store that is not JSON."""
    for name in _METADATA_FILES:
        for file in sorted(root.rglob(name)):
            try:
                json.loads(file.read_bytes())
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValidationFailedError(
                    f"corrupt metadata: {file.relative_to(root)} is not JSON ({exc})",
                    path=root,
                ) from exc


def _check_zipped_json_files(path: Path) -> None:
    """Raise naming the first metadata file of a ``.ozx`` file that is not JSON."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.rpartition("/")[2] in _METADATA_FILES:
                    try:
                        json.loads(zf.read(name))
                    except (ValueError, UnicodeDecodeError) as exc:
                        raise ValidationFailedError(
                            f"corrupt metadata: {name} is not JSON ({exc})", path=path
                        ) from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationFailedError(f"not a readable zip file: {exc}", path=path) from exc


def _store_problems(hierarchy: Hierarchy, version: str) -> tuple[list[str], list[str]]:
    """Spec and strict problems of every group's NGFF attributes in a store."""
    reasons: list[str] = []
    should: list[str] = []
    for node in _groups(hierarchy):
        attrs, _ = _ngff_attrs(node.attributes)
        prefix = f"{node.path}: " if node.path else ""
        reasons += [prefix + p for p in spec_problems(attrs, version)]
        should += [prefix + p for p in strict_problems(attrs, version)]
    return reasons, should


def _groups(hierarchy: Hierarchy) -> list[Node]:
    """The root group of ``hierarchy`` and every group below it (none if the root is none)."""
    try:
        if hierarchy.kind("") != "group":
            return []
        return [node for node in hierarchy.walk() if node.kind == "group"]
    except CorruptSourceError as exc:
        raise ValidationFailedError(
            f"corrupt metadata: {exc.message}", path=hierarchy.location
        ) from exc


def _pydantic_reasons(exc: object) -> list[str]:
    errors = exc.errors()  # type: ignore[attr-defined]
    return [f"{_loc(e.get('loc', ()))}{e.get('msg', '')}" for e in errors][:20]


def _loc(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return f"{'.'.join(parts)}: " if parts else ""


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
