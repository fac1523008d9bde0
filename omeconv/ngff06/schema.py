"""The OME-Zarr 0.6 JSON schemas shipped with omeconv, and what they reject in a document."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from omeconv.ngff06 import VERSIONS

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = ["SCHEMA_KEYS", "fragment_errors", "schema_errors"]

_BASE = "https://ngff.openmicroscopy.org/0.6rc0/schemas/"
#: Which schema checks which key of the ``ome`` object (and its strict variant, if any).
SCHEMA_KEYS: dict[str, tuple[str, str]] = {
    "multiscales": ("image", "strict_image"),
    "image-label": ("label", "strict_label"),
    "plate": ("plate", "strict_plate"),
    "well": ("well", "strict_well"),
    "bioformats2raw.layout": ("bf2raw", "bf2raw"),
    "series": ("ome", "ome"),
    "scene": ("scene", "scene"),
}


@cache
def _registry() -> Any:
    """Every shipped schema by ``$id``; the version schema also accepts ``"0.6"``."""
    from referencing import Registry, Resource

    resources = []
    for entry in files("omeconv").joinpath("schemas", "0.6rc0").iterdir():
        if entry.name.endswith(".schema"):
            contents = json.loads(entry.read_text(encoding="utf-8"))
            if entry.name == "_version.schema":
                contents = {**contents, "enum": list(VERSIONS)}
            resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


_END = {"type": "object", "properties": {"name": {"type": "string"}, "path": {"type": "string"}}}
_FRAGMENT = {
    "type": "object",
    "properties": {
        "coordinateSystems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "axes": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": f"{_BASE}axes.schema#/$defs/axis"},
                    },
                },
                "required": ["name", "axes"],
            },
        },
        "coordinateTransformations": {
            "type": "array",
            "minItems": 1,
            "items": {
                "allOf": [
                    {
                        "$ref": f"{_BASE}coordinate_transformations.schema#/$defs/coordinateTransformation"
                    },
                    {
                        "properties": {"input": _END, "output": _END},
                        "required": ["input", "output"],
                    },
                ]
            },
        },
    },
}


@cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = _FRAGMENT if name == "(fragment)" else _registry().contents(f"{_BASE}{name}.schema")
    return Draft202012Validator(schema, registry=_registry())


def schema_errors(attrs: dict[str, Any], *, strict: bool = False) -> list[str]:
    """What the 0.6 schemas reject in a group's attributes (``{"ome": {...}}``), one line each.

    Each key of ``ome`` that a schema describes is checked by that schema (the strict one
    when ``strict``); ``ome`` with none of them is checked against ``ome_zarr.schema``.
    """
    ome = attrs.get("ome")
    keys = ome if isinstance(ome, dict) else {}
    names = [pair[strict] for key, pair in SCHEMA_KEYS.items() if key in keys]
    if not names and "labels" not in keys:  # a labels group has no schema
        names = ["strict_ome_zarr" if strict else "ome_zarr"]
    reasons = [_reason(e) for name in names for e in _validator(name).iter_errors(attrs)]
    return list(dict.fromkeys(reasons))


def fragment_errors(doc: dict[str, Any]) -> list[str]:
    """What the 0.6 schemas reject in a bare ``{"coordinateSystems", "coordinateTransformations"}``
    object (the spec's transformation examples): each transformation with an ``input`` and
    ``output``, and the systems' axes, without the rules 0.6 sets for multiscales only (two or
    three space axes, at most five)."""
    return list(dict.fromkeys(_reason(e) for e in _validator("(fragment)").iter_errors(doc)))


def _reason(error: Any) -> str:
    """One line: where in the document, and the most specific message jsonschema gives.

    Of the alternatives of a ``oneOf``/``anyOf``, those whose ``type`` differs from the
    document's are left out, so a scale with a bad field is reported as such.
    """
    from jsonschema.exceptions import best_match

    while error.context:
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [e for errs in branches.values() if not any(map(_wrong_type, errs)) for e in errs]
        error = best_match(fitting or error.context)
    where = ".".join(str(p) for p in error.absolute_path) or "(document)"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"{where}: {message}"


def _wrong_type(error: Any) -> bool:
    """Whether ``error`` says an object's ``type`` is not the one this alternative wants."""
    return bool(error.validator == "const" and list(error.path)[-1:] == ["type"])
