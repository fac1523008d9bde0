"""NGFF validation with yaozarrs, for ``omeconv validate`` and checks after a write."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from omeconv.errors import SourceNotFoundError, ValidationFailedError

__all__ = ["validate_document", "validate_path", "validate_store"]


def validate_path(path: str | os.PathLike[str]) -> str:
    """Validate a store (directory or URL) or a JSON document; return the NGFF version.

    Raises :class:`ValidationFailedError` listing every reason when invalid.
    """
    text = str(path)
    local = Path(text)
    if "://" not in text and not local.exists():
        raise SourceNotFoundError("no such file or directory", path=text)
    if local.is_file():
        return validate_document(local)
    return validate_store(text)


def validate_document(path: str | os.PathLike[str]) -> str:
    """Validate one NGFF JSON document (``zarr.json``, ``.zattrs`` or a bare attributes dict)."""
    from pydantic import ValidationError
    from yaozarrs import validate_ome_json

    raw = Path(path).read_bytes()
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailedError(f"not JSON: {exc}", path=path) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = validate_ome_json(raw)
    except ValidationError as exc:
        raise ValidationFailedError(
            "not a valid OME-Zarr document", path=path, details=_pydantic_reasons(exc)
        ) from exc
    return _version_of(model)


def validate_store(location: str) -> str:
    """Validate a whole OME-Zarr hierarchy (metadata and structure); return its version."""
    from pydantic import ValidationError
    from yaozarrs import open_group, validate_zarr_store
    from yaozarrs._storage import StorageValidationError

    try:
        group = open_group(location)
        version = group.ome_version()
    except (ValueError, OSError, KeyError) as exc:
        raise ValidationFailedError(f"not a Zarr group: {_first(exc)}", path=location) from exc
    if not version:
        raise ValidationFailedError("not an OME-Zarr store (no NGFF metadata)", path=location)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            validate_zarr_store(location)
    except StorageValidationError as exc:
        details = [f"{_loc(e.get('loc', ()))}{e['msg']}" for e in exc.errors]
        raise ValidationFailedError(
            f"invalid OME-Zarr {version}", path=location, details=details
        ) from exc
    except ValidationError as exc:
        raise ValidationFailedError(
            f"invalid OME-Zarr {version}", path=location, details=_pydantic_reasons(exc)
        ) from exc
    except (ValueError, NotImplementedError, OSError) as exc:
        raise ValidationFailedError(_first(exc), path=location) from exc
    return str(version)


def _version_of(model: object) -> str:
    version = getattr(model, "version", None)
    if version is None:
        ome = getattr(getattr(model, "attributes", None), "ome", None)
        version = getattr(ome, "version", None)
    if version is None:
        multiscales = getattr(model, "multiscales", None) or []
        version = getattr(multiscales[0], "version", None) if multiscales else None
    return str(version or "0.4")


def _pydantic_reasons(exc: object) -> list[str]:
    errors = exc.errors()  # type: ignore[attr-defined]
    return [f"{_loc(e.get('loc', ()))}{e.get('msg', '')}" for e in errors][:20]


def _loc(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return f"{'.'.join(parts)}: " if parts else ""


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
