"""A source group's NGFF attributes moved to the output's version: the datasets and provenance
of levels computed here added, the result validated against what the source already broke."""

from __future__ import annotations

import json
import warnings
from copy import deepcopy
from typing import TYPE_CHECKING, Any

import omeconv.emit.v05 as v05  # noqa: PLR0402 - not through the package: no import cycle
import omeconv.emit.v06 as v06  # noqa: PLR0402
from omeconv.emit.axes import shifted
from omeconv.emit.ngff import NGFF_V04_KEYS, LevelMeta, dump
from omeconv.emit.provenance import downscale_of
from omeconv.errors import MetadataError, OmeconvWarning
from omeconv.ngff06 import is_v06
from omeconv.zarr_io import join

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import ModuleType

    from omeconv.model import SourceAttrs
    from omeconv.pyramid import Method

__all__ = ["moved_attrs"]

#: pydantic errors of union members that do not apply (no tag, another document kind).
_UNION_NOISE = frozenset({"union_tag_not_found", "missing"})


def moved_attrs(
    layout: ModuleType,
    path: str,
    source: SourceAttrs,
    computed: Sequence[LevelMeta] = (),
    method: Method = "mean",
    level_scales: Mapping[str, tuple[float, ...]] | None = None,
) -> dict[str, Any]:
    """The attributes of the group at ``path`` as the source has them, moved to ``layout``'s
    version; with ``computed`` levels, their datasets (scaled from ``level_scales``, the scale
    of every level written by path) and provenance are added to the multiscale."""
    # New levels of a 0.6 source are added in its own shape; of an older source written as
    # 0.6, in 0.5's layout (its NS is yaozarrs v05) before the move to 0.6.
    from_v06 = layout is v06 and is_v06(source.version)
    edit = v05 if computed and layout is v06 and not from_v06 else layout
    try:
        attrs: dict[str, Any] = deepcopy(edit.move(source.attrs, source.version))
        if computed and from_v06:
            _add_levels_v06(path, attrs["ome"]["multiscales"][0], computed, level_scales or {})
            _add_provenance(attrs["ome"]["multiscales"][0], computed, method)
        elif computed:
            doc = attrs["ome"] if edit.ZARR_FORMAT == 3 else attrs
            _add_levels(
                layout.NS, path, doc["multiscales"][0], computed, method, level_scales or {}
            )
            attrs = layout.move(attrs, edit.VERSION)
    except MetadataError as exc:
        raise MetadataError(exc.message, path=path or "/") from exc
    _check(layout.VERSION, path, source, attrs)
    return attrs


def _add_levels(
    ns: ModuleType,
    path: str,
    multiscale: dict[str, Any],
    computed: Sequence[LevelMeta],
    method: Method,
    level_scales: Mapping[str, tuple[float, ...]],
) -> None:
    """Datasets of the ``computed`` levels after the source's, in the source dataset's
    frame, and the provenance of the computed levels when the source gives none."""
    last = multiscale["datasets"][-1]
    transforms = {t.get("type"): t for t in last.get("coordinateTransformations", [])}
    if "scale" not in transforms or "scale" not in transforms["scale"]:
        raise MetadataError(
            f"{path or 'the image'}: the last dataset has no scale to derive new levels from"
        )
    old = [float(v) for v in transforms["scale"]["scale"]]
    shift = transforms.get("translation", {}).get("translation")
    base = level_scales[join(path, str(last["path"]))]
    for name, scale, _ in computed:
        new = [o * n / b for o, n, b in zip(old, scale, base, strict=True)]
        steps: list[Any] = [ns.ScaleTransformation(scale=new)]
        moved = shifted(shift, old, new)
        if moved is not None:
            steps.append(ns.TranslationTransformation(translation=list(moved)))
        dataset = ns.Dataset(path=name, coordinateTransformations=steps)
        multiscale["datasets"].append(dump(dataset))
    _add_provenance(multiscale, computed, method)


def _add_levels_v06(
    path: str,
    multiscale: dict[str, Any],
    computed: Sequence[LevelMeta],
    level_scales: Mapping[str, tuple[float, ...]],
) -> None:
    """0.6 datasets of the ``computed`` levels, each with one transformation shaped as the
    last dataset's (a scale, or a sequence of a scale then a translation) to the same system."""
    last = multiscale["datasets"][-1]
    one, steps = _scale_steps(last.get("coordinateTransformations"))
    if one is None:
        raise MetadataError(
            f"{path or 'the image'}: the last dataset's transformation is not a scale (then a "
            "translation) to derive new levels from; keep the source's levels (--levels)"
        )
    old = [float(v) for v in steps[0]["scale"]]
    shift = steps[1]["translation"] if len(steps) == 2 else None
    base = level_scales[join(path, str(last["path"]))]
    for name, scale, _ in computed:
        new = [o * n / b for o, n, b in zip(old, scale, base, strict=True)]
        parts: list[dict[str, Any]] = [{**steps[0], "scale": new}]
        moved = shifted(shift, old, new)
        if moved is not None:
            parts.append({**steps[1], "translation": list(moved)})
        level = {**one, "transformations": parts} if one is not steps[0] else parts[0]
        source = one.get("input")
        if isinstance(source, dict) and "path" in source:
            level["input"] = {**source, "path": name}
        multiscale["datasets"].append({"path": name, "coordinateTransformations": [level]})


def _scale_steps(transforms: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A 0.6 dataset's one transformation and its steps when it is a scale, or a sequence of
    a scale then a translation; ``(None, [])`` otherwise."""
    one = transforms[0] if isinstance(transforms, list) and len(transforms) == 1 else None
    if not isinstance(one, dict):
        return None, []
    steps = one.get("transformations") if one.get("type") == "sequence" else [one]
    if not isinstance(steps, list) or not all(isinstance(t, dict) for t in steps):
        return None, []
    kinds = [t.get("type") for t in steps]
    if kinds not in (["scale"], ["scale", "translation"]) or "scale" not in steps[0]:
        return None, []
    return one, steps


def _add_provenance(
    multiscale: dict[str, Any], computed: Sequence[LevelMeta], method: Method
) -> None:
    """The provenance of the computed levels, when the source gives none."""
    if "type" not in multiscale and "metadata" not in multiscale:
        kind, metadata = downscale_of(None, method, [name for name, _, _ in computed])
        multiscale["type"], multiscale["metadata"] = kind, metadata


def _check(version: str, path: str, source: SourceAttrs, attrs: dict[str, Any]) -> None:
    """Validate moved NGFF attributes; what was already invalid in the source is kept
    with a warning naming the rule, what the move broke is refused."""
    reason = _invalid(attrs, version)
    if reason is None:
        return
    where = path or "/"
    if _invalid(source.attrs, source.version) is None:
        raise MetadataError(f"cannot express as OME-Zarr {version}: {reason}", path=where)
    warnings.warn(
        f"{where}: kept as the source has it, though OME-Zarr {version} says: {reason}",
        OmeconvWarning,
        stacklevel=3,
    )


def _invalid(attrs: dict[str, Any], version: str) -> str | None:
    """The first reason yaozarrs finds ``attrs`` of an OME-Zarr ``version`` group invalid;
    None when valid or when they hold no NGFF metadata."""
    from pydantic import ValidationError
    from yaozarrs import validate_ome_json

    from omeconv.validate import spec_problems
    from omeconv.validate_v06 import validate_v06

    if is_v06(version):
        if not isinstance(attrs.get("ome"), dict):
            return None
        problems = validate_v06({"zarr_format": 3, "node_type": "group", "attributes": attrs})
        return problems[0] if problems else None
    if version == "0.5":
        if not isinstance(attrs.get("ome"), dict):
            return None
        doc: dict[str, Any] = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
        ngff_attrs = attrs["ome"]
    else:
        if not any(k in NGFF_V04_KEYS for k in attrs):
            return None
        doc = ngff_attrs = attrs
    try:
        validate_ome_json(json.dumps(doc))
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["type"] not in _UNION_NOISE]
        error = max(errors or exc.errors(), key=lambda e: len(e["loc"]))
        return f"{'.'.join(str(p) for p in error['loc'][-3:])}: {error['msg']}"
    problems = spec_problems(ngff_attrs, version)
    return problems[0] if problems else None
