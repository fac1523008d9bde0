"""OME-Zarr 0.6 validation: the 0.6 schemas, then the spec's rules no schema can express.

:func:`v06_problems` checks one document: a ``zarr.json``, a group's attributes, or a bare
``{"coordinateSystems", "coordinateTransformations"}`` object as in the spec's transformation
examples. Beyond the schema it checks that names of coordinate systems and axes are unique,
every ``input``/``output`` name resolves, each level maps its own ``path`` to the one
intrinsic system, parameters fit the dimensions of the systems they join, the axes of a
multiscale are in time, channel, space order, the coordinate systems are connected, plate
wells name their row and column, and label values are unique integers.
:func:`v06_store_problems` checks a whole hierarchy: every group as above, versions equal
throughout, Zarr v3, levels that exist with one dtype, the axes' dimensionality and names,
shrinking shapes, and labels, wells and fields of view that exist.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from omeconv.errors import OmeconvError
from omeconv.hierarchy import ArrayMetadata, Hierarchy, Node
from omeconv.ngff06.schema import fragment_errors, schema_errors
from omeconv.zarr_io import join

__all__ = ["v06_problems", "v06_store_problems", "validate_v06"]

JSON = dict[str, Any]
#: Transformations that keep the number of dimensions, with their parameter array.
_SAME_DIM = {"scale": "scale", "translation": "translation", "identity": None}
_LABEL_LINK_TYPES = ("identity", "scale", "translation")
_INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def validate_v06(doc: Any, *, strict: bool = False) -> list[str]:
    """Why ``doc`` is not valid OME-Zarr 0.6 (empty if it is); SHOULD rules too if ``strict``."""
    must, should = v06_problems(doc)
    return must + should if strict else must


def v06_problems(doc: Any) -> tuple[list[str], list[str]]:
    """``(MUST reasons, SHOULD reasons)`` of a 0.6 document, one line each."""
    attrs = _attributes(doc)
    if attrs is None:
        return ["(document): not a JSON object"], []
    if "ome" not in attrs and "type" in attrs:  # one transformation (spec examples)
        return _fragment_problems({"coordinateTransformations": [attrs]}, resolve=False), []
    if "ome" not in attrs and (
        "coordinateSystems" in attrs or "coordinateTransformations" in attrs
    ):
        return _fragment_problems(attrs, resolve=True), []
    must = schema_errors(attrs)
    should = [r for r in schema_errors(attrs, strict=True) if r not in must]
    if not must:
        must = _structure(attrs["ome"])
    return must, should


def _attributes(doc: Any) -> JSON | None:
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("attributes"), dict) and "node_type" in doc:
        return doc["attributes"]  # type: ignore[no-any-return]
    return doc


# --- one document ---------------------------------------------------------------------------


def _structure(ome: JSON) -> list[str]:
    problems: list[str] = []
    for i, multiscale in enumerate(ome.get("multiscales", [])):
        problems += _multiscale(multiscale, f"ome.multiscales.{i}")
    if "scene" in ome:
        scene = ome["scene"]
        systems = _systems(scene.get("coordinateSystems", []), "ome.scene.coordinateSystems")
        problems += systems.problems
        where = "ome.scene.coordinateTransformations"
        for j, transform in enumerate(scene["coordinateTransformations"]):
            problems += _transform(transform, systems.by_name, f"{where}.{j}")
    if "plate" in ome:
        problems += _plate(ome["plate"])
    if "well" in ome:
        problems += _unique([im["path"] for im in ome["well"]["images"]], "ome.well.images", "path")
    if "labels" in ome:
        labels = ome["labels"]
        if not (isinstance(labels, list) and all(isinstance(p, str) and p for p in labels)):
            problems.append("ome.labels: not a list of label image paths")
    if "image-label" in ome:
        problems += _image_label(ome["image-label"])
    return problems


@dataclass
class _Systems:
    """The coordinate systems of one document part, by name, and what is wrong with them."""

    by_name: dict[str, JSON] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _systems(systems: list[JSON], where: str) -> _Systems:
    found = _Systems()
    found.problems += _unique([s["name"] for s in systems], where, "name")
    for i, system in enumerate(systems):
        found.by_name.setdefault(system["name"], system)
        names = [axis["name"] for axis in system["axes"]]
        found.problems += _unique(names, f"{where}.{i}.axes", "name")
    return found


def _multiscale(multiscale: JSON, where: str) -> list[str]:
    systems = _systems(multiscale["coordinateSystems"], f"{where}.coordinateSystems")
    problems = list(systems.problems)
    datasets = multiscale["datasets"]
    problems += _unique([d["path"] for d in datasets], f"{where}.datasets", "path")
    outputs = []
    for i, dataset in enumerate(datasets):
        at = f"{where}.datasets.{i}.coordinateTransformations.0"
        transform = dataset["coordinateTransformations"][0]
        if transform["input"].get("path") != dataset["path"]:
            problems.append(
                f"{at}.input.path: {transform['input']['path']!r} is not the level's path"
            )
        outputs.append(transform["output"]["name"])
        problems += _transform(transform, systems.by_name, at)
    intrinsic = outputs[0]
    if len(set(outputs)) > 1:
        problems.append(f"{where}.datasets: levels map to different systems {sorted(set(outputs))}")
    if intrinsic not in systems.by_name:
        return problems
    problems += _axis_order(systems.by_name[intrinsic]["axes"], f"{where}.coordinateSystems")
    links: list[tuple[str, str]] = []
    for i, transform in enumerate(multiscale.get("coordinateTransformations", [])):
        at = f"{where}.coordinateTransformations.{i}"
        source, target = transform["input"], transform["output"]
        ends = [source, target]
        if not any(e.get("name") == intrinsic and not e.get("path") for e in ends):
            problems.append(f"{at}: neither input nor output is the intrinsic system {intrinsic!r}")
            continue
        if any(e.get("path") for e in ends):
            if transform["type"] not in _LABEL_LINK_TYPES:
                problems.append(
                    f"{at}: a link to a label image must be identity, scale or translation"
                )
            continue
        problems += _transform(transform, systems.by_name, at)
        links.append((source["name"], target["name"]))
    problems += _connected(list(systems.by_name), intrinsic, links, f"{where}.coordinateSystems")
    return problems


def _axis_order(axes: list[JSON], where: str) -> list[str]:
    """Time first, then at most one channel or custom axis, then the space axes."""
    if any(a.get("type") == "array" for a in axes):
        return []
    rank = [0 if a.get("type") == "time" else 2 if a.get("type") == "space" else 1 for a in axes]
    if rank != sorted(rank) or rank.count(0) > 1 or rank.count(1) > 1:
        names = [a["name"] for a in axes]
        return [f"{where}: axes {names} are not time, then one channel or custom axis, then space"]
    return []


def _connected(names: list[str], root: str, links: list[tuple[str, str]], where: str) -> list[str]:
    reached = {root}
    grown = True
    while grown:
        grown = False
        for a, b in links:
            if (a in reached) != (b in reached):
                reached |= {a, b}
                grown = True
    return [
        f"{where}: {n!r} is linked to the intrinsic system by no transformation"
        for n in names
        if n not in reached
    ]


def _transform(transform: JSON, systems: dict[str, JSON], where: str) -> list[str]:
    """Names resolve and parameters fit the input and output dimensions.

    An end with a ``path`` (an array, or a system in another group) has no known dimension.
    """
    dims: list[int | None] = []
    problems: list[str] = []
    for key in ("input", "output"):
        end = transform.get(key) or {}
        name = end.get("name")
        if end.get("path") or name is None:
            dims.append(None)
        elif name in systems:
            dims.append(len(systems[name]["axes"]))
        else:
            problems.append(f"{where}.{key}: {name!r} is not a coordinate system")
            dims.append(None)
    return problems + _fits(transform, dims[0], dims[1], where)


def _fits(transform: JSON, n_in: int | None, n_out: int | None, where: str) -> list[str]:
    """Whether a transformation's parameters fit ``n_in`` inputs and ``n_out`` outputs."""
    kind = transform.get("type")
    n = n_in if n_in is not None else n_out
    if kind in _SAME_DIM:
        if n_in is not None and n_out is not None and n_in != n_out:
            return [f"{where}: a {kind} joins {n_in} axes to {n_out}"]
        key = _SAME_DIM[kind]
        if key and n is not None and key in transform and len(transform[key]) != n:
            return [f"{where}.{key}: {len(transform[key])} values for {n} axes"]
        return []
    if kind == "sequence":
        if n_in is None or n_in != n_out:
            return []
        steps = transform["transformations"]
        if not all(step.get("type") in _SAME_DIM for step in steps):
            return []
        return [
            p for j, s in enumerate(steps) for p in _fits(s, n, n, f"{where}.transformations.{j}")
        ]
    if kind == "mapAxis":
        values = transform["mapAxis"]
        if n is not None and sorted(values) != list(range(n)):
            return [f"{where}.mapAxis: {values} is not a permutation of {n} axes"]
        return []
    if kind == "projectAxis":
        return _project(transform, n_in, n_out, where)
    if kind in ("affine", "rotation") and isinstance(transform.get(kind), list):
        rows = transform[kind]
        want = (n_out, None if n_in is None else n_in + (kind == "affine"))
        have = (len(rows), len(rows[0]) if rows else 0)
        if any(w is not None and w != h for w, h in zip(want, have, strict=True)):
            return [
                f"{where}.{kind}: a {have[0]}x{have[1]} matrix for {n_in} inputs, {n_out} outputs"
            ]
        return []
    if kind == "byDimension":
        return _by_dimension(transform, n_in, n_out, where)
    if kind == "bijection":
        forward = _fits(transform["forward"], n_in, n_out, f"{where}.forward")
        return forward + _fits(transform["inverse"], n_out, n_in, f"{where}.inverse")
    return []


def _project(transform: JSON, n_in: int | None, n_out: int | None, where: str) -> list[str]:
    dropped = transform.get("droppedInputs", [])
    created = transform.get("createdOutputs", [])
    problems = []
    if n_in is not None and any(i >= n_in for i in dropped):
        problems.append(f"{where}.droppedInputs: {dropped} names an axis beyond {n_in}")
    if n_out is not None and any(i >= n_out for i in created):
        problems.append(f"{where}.createdOutputs: {created} names an axis beyond {n_out}")
    if n_in is not None and n_out is not None and n_in - len(dropped) + len(created) != n_out:
        problems.append(f"{where}: {n_in} inputs, -{len(dropped)} +{len(created)}, are not {n_out}")
    return problems


def _by_dimension(transform: JSON, n_in: int | None, n_out: int | None, where: str) -> list[str]:
    problems: list[str] = []
    used: list[int] = []
    for j, item in enumerate(transform["transformations"]):
        at = f"{where}.transformations.{j}"
        ins, outs = item["inputAxes"], item["outputAxes"]
        used += outs
        if n_in is not None and any(not 0 <= i < n_in for i in ins):
            problems.append(f"{at}.inputAxes: {ins} names an axis beyond {n_in}")
        if n_out is not None and any(not 0 <= i < n_out for i in outs):
            problems.append(f"{at}.outputAxes: {outs} names an axis beyond {n_out}")
        problems += _fits(item["transformation"], len(ins), len(outs), f"{at}.transformation")
    if len(set(used)) != len(used):
        problems.append(f"{where}.transformations: output axes {used} are given more than once")
    elif n_out is not None and sorted(used) != list(range(n_out)):
        problems.append(f"{where}.transformations: output axes {sorted(used)} are not all {n_out}")
    return problems


def _fragment_problems(doc: JSON, *, resolve: bool) -> list[str]:
    """A bare ``{"coordinateSystems", "coordinateTransformations"}`` object (spec examples);
    ``resolve``: whether its ``input``/``output`` names are systems it defines."""
    problems = fragment_errors(doc)
    if problems or not resolve:
        return problems
    systems = _systems(doc.get("coordinateSystems", []), "coordinateSystems")
    problems = list(systems.problems)
    for j, transform in enumerate(doc.get("coordinateTransformations", [])):
        problems += _transform(transform, systems.by_name, f"coordinateTransformations.{j}")
    return problems


def _plate(plate: JSON) -> list[str]:
    rows = [r["name"] for r in plate["rows"]]
    cols = [c["name"] for c in plate["columns"]]
    problems = _unique([w["path"] for w in plate["wells"]], "ome.plate.wells", "path")
    problems += _unique(
        [a["id"] for a in plate.get("acquisitions", [])], "ome.plate.acquisitions", "id"
    )
    for i, well in enumerate(plate["wells"]):
        r, c = well["rowIndex"], well["columnIndex"]
        if not (0 <= r < len(rows) and 0 <= c < len(cols)):
            problems.append(f"ome.plate.wells.{i}: row {r} or column {c} is not in the plate")
        elif well["path"] != f"{rows[r]}/{cols[c]}":
            problems.append(
                f"ome.plate.wells.{i}.path: {well['path']!r} is not {rows[r]}/{cols[c]}"
            )
    return problems


def _image_label(label: JSON) -> list[str]:
    problems = []
    for key in ("colors", "properties"):
        values = [entry["label-value"] for entry in label.get(key, [])]
        problems += _unique(values, f"ome.image-label.{key}", "label-value")
        for j, value in enumerate(values):
            if not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
                problems.append(
                    f"ome.image-label.{key}.{j}.label-value: {value!r} is not an integer"
                )
    return problems


def _unique(values: list[Any], where: str, key: str) -> list[str]:
    seen: set[str] = set()
    for value in values:
        text = json.dumps(value)
        if text in seen:
            return [f"{where}: {key} {value!r} is given more than once"]
        seen.add(text)
    return []


# --- whole stores ---------------------------------------------------------------------------


def v06_store_problems(store: str | Hierarchy) -> tuple[list[str], list[str]]:
    """``(MUST reasons, SHOULD reasons)`` of a whole 0.6 hierarchy (a location or one opened),
    prefixed by group path."""
    try:
        hierarchy = Hierarchy(store) if isinstance(store, str) else store
        groups = [node for node in hierarchy.walk() if node.kind == "group"]
    except (OmeconvError, OSError) as exc:
        return [f"(store): not a Zarr group: {exc}"], []
    if not groups or groups[0].path:
        return ["(store): not a Zarr group"], []
    must: list[str] = []
    should: list[str] = []
    version = _ome(groups[0]).get("version")
    for group in groups:
        ome = _ome(group)
        if not ome:
            continue
        prefix = f"{group.path}: " if group.path else ""
        if group.zarr_format != 3:
            must.append(f"{prefix}a Zarr v{group.zarr_format} group (0.6 is Zarr v3)")
        if ome.get("version") != version:
            must.append(
                f"{prefix}ome.version: {ome.get('version')!r} is not the root's {version!r}"
            )
        m, s = v06_problems(group.attributes)
        must += [prefix + p for p in m]
        should += [prefix + p for p in s]
        if not m:
            must += [prefix + p for p in _group_structure(hierarchy, group, ome)]
    return must, should


def _group_structure(hierarchy: Hierarchy, group: Node, ome: JSON) -> list[str]:
    problems: list[str] = []
    children = _Children(hierarchy, group.path)
    for i, multiscale in enumerate(ome.get("multiscales", [])):
        problems += _levels(children, multiscale, f"ome.multiscales.{i}", "image-label" in ome)
        for j, t in enumerate(multiscale.get("coordinateTransformations", [])):
            problems += _linked(children, t, f"ome.multiscales.{i}.coordinateTransformations.{j}")
    for i, path in enumerate(ome.get("labels", [])):
        label = children.group(path)
        if label is None or "multiscales" not in _ome(label):
            problems.append(f"ome.labels.{i}: {path!r} is not a label image in this group")
    if ome.get("multiscales"):
        problems += _label_levels(children, len(ome["multiscales"][0]["datasets"]))
    for i, well in enumerate(ome.get("plate", {}).get("wells", [])):
        if children.group(well["path"]) is None:
            problems.append(f"ome.plate.wells.{i}: no group at {well['path']!r}")
    for i, image in enumerate(ome.get("well", {}).get("images", [])):
        if children.group(image["path"]) is None:
            problems.append(f"ome.well.images.{i}: no group at {image['path']!r}")
    return problems


@dataclass(frozen=True)
class _Children:
    """The nodes below the group at ``path`` of a hierarchy, by relative path."""

    hierarchy: Hierarchy
    path: str

    def node(self, relative: str, kind: str) -> Node | None:
        node = self.hierarchy.node(join(self.path, relative))
        return node if node is not None and node.kind == kind else None

    def group(self, relative: str) -> Node | None:
        return self.node(relative, "group")

    def array(self, relative: str) -> ArrayMetadata | None:
        node = self.node(relative, "array")
        return None if node is None else node.array

    def below(self, relative: str) -> _Children:
        return _Children(self.hierarchy, join(self.path, relative))


def _levels(group: _Children, multiscale: JSON, where: str, is_label: bool) -> list[str]:
    """Levels exist, have the axes' dimensionality and names, one dtype and shrinking shapes."""
    datasets = multiscale["datasets"]
    intrinsic = datasets[0]["coordinateTransformations"][0]["output"]["name"]
    system = next(s for s in multiscale["coordinateSystems"] if s["name"] == intrinsic)
    names = [axis["name"] for axis in system["axes"]]
    problems: list[str] = []
    arrays = []
    for i, dataset in enumerate(datasets):
        at = f"{where}.datasets.{i}"
        array = group.array(dataset["path"])
        if array is None:
            problems.append(f"{at}: no array at {dataset['path']!r}")
            continue
        arrays.append(array)
        if len(array.shape) != len(names):
            problems.append(f"{at}: a {len(array.shape)}-dimensional array for axes {names}")
        dimension_names = array.dimension_names
        if dimension_names is not None and list(dimension_names) != names:
            problems.append(
                f"{at}: dimension_names {list(dimension_names)} are not the axes {names}"
            )
    if len({a.dtype for a in arrays}) > 1:
        problems.append(f"{where}.datasets: levels of different dtypes {[a.dtype for a in arrays]}")
    for i, (upper, lower) in enumerate(itertools.pairwise(arrays)):
        if len(upper.shape) == len(lower.shape) and any(
            b > a for a, b in zip(upper.shape, lower.shape, strict=True)
        ):
            problems.append(f"{where}.datasets.{i + 1}: shape {lower.shape} exceeds {upper.shape}")
    if is_label and arrays and arrays[0].dtype not in _INTEGER_DTYPES:
        problems.append(f"{where}: label pixels are {arrays[0].dtype}, not an integer type")
    return problems


def _label_levels(image: _Children, levels: int) -> list[str]:
    """Each label image of ``image`` has as many levels as it."""
    labels = image.group("labels")
    problems = []
    for path in _ome(labels).get("labels", []) if labels is not None else []:
        label = image.below("labels").group(path) if isinstance(path, str) else None
        multiscales = _ome(label).get("multiscales") if label is not None else None
        if isinstance(multiscales, list) and multiscales and isinstance(multiscales[0], dict):
            count = len(multiscales[0].get("datasets", []))
            if count != levels:
                problems.append(f"labels/{path}: {count} levels, the image has {levels}")
    return problems


def _linked(group: _Children, transform: JSON, where: str) -> list[str]:
    """A multiscale transformation into a label image names a system that image has."""
    for key in ("input", "output"):
        end = transform[key]
        if end.get("path"):
            child = group.group(end["path"])
            systems = [
                s["name"]
                for m in (_ome(child).get("multiscales", []) if child is not None else [])
                for s in m.get("coordinateSystems", [])
            ]
            if end.get("name") not in systems:
                return [f"{where}.{key}: no system {end.get('name')!r} in {end['path']!r}"]
    return []


def _ome(node: Node) -> JSON:
    ome = node.attributes.get("ome")
    return ome if isinstance(ome, dict) else {}
