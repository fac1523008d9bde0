"""OME-Zarr 0.5 <-> 0.6 attributes: RFC-5 coordinate systems and transformations, moved.

A 0.6 group's attributes are a 0.5 group's with the metadata moved, so this module converts
attributes between the two rather than rebuilding them (pure functions on JSON objects):

- the multiscale's ``axes`` become its intrinsic coordinate system, named ``"intrinsic"`` (as
  the spec's complete multiscales example names it), in the place ``axes`` had;
- each level's ``[scale]`` becomes that scale with ``input: {"path": <level>}`` and
  ``output: {"name": "intrinsic"}``; ``[scale, translation]`` becomes one ``sequence`` of
  them with that input and output;
- a multiscale-level ``[scale]``, ``[scale, translation]`` or ``[identity]`` (0.5 applies it
  after every level) becomes one transformation from ``"intrinsic"`` to a second coordinate system ``"world"``
  with the same axes, listed first (as in the spec's ``multiscales_transformations`` example);
- labels, plates, wells, bioformats2raw and series read the same in both versions; omero,
  unknown keys, key order and JSON number types are carried as they are; ``ome.version`` (and
  an ``image-label`` ``version``) becomes :data:`omeconv.ngff06.VERSION`.

:func:`to_v05` is the inverse. 0.6 can say what 0.5 cannot: more coordinate systems, other
transformations, links to label images, scenes, well field paths with ``_.-``. Those are
refused with a one-line :class:`MetadataError` naming them, never dropped; a reader that only
needs the model (axes, level scales) sees them through :func:`read_as_v05`, and the stored
attributes go to a 0.6 output as they are. Where 0.6 has
several spellings of one 0.5 document, :func:`to_v05` reads them all and :func:`from_v05`
writes the one above: the coordinate systems' names are not kept, and an ``identity`` level
transformation reads as a scale of ones.
"""

from __future__ import annotations

from typing import Any

from omeconv.errors import MetadataError
from omeconv.ngff06 import INTRINSIC, VERSION, WORLD, is_v06

__all__ = ["from_v05", "read_as_v05", "to_v05"]

_IO = ("input", "output")

JSON = dict[str, Any]


def from_v05(attrs: JSON) -> JSON:
    """The 0.6 attributes of a group whose attributes ``attrs`` are OME-Zarr 0.5."""
    ome = _ome(attrs, "0.5")
    moved: JSON = {}
    for key, value in ome.items():
        if key == "version":
            moved[key] = VERSION
        elif key == "multiscales":
            moved[key] = [_multiscale_from_v05(m, f"multiscales.{i}") for i, m in enumerate(value)]
        elif key == "image-label":
            moved[key] = _relabelled(value, VERSION)
        else:
            moved[key] = value
    return _with_ome(attrs, moved)


def to_v05(attrs: JSON) -> JSON:
    """The 0.5 attributes of a group whose attributes ``attrs`` are OME-Zarr 0.6.

    Raises :class:`MetadataError` naming what 0.5 cannot say.
    """
    ome = _ome(attrs, "0.6")
    moved: JSON = {}
    for key, value in ome.items():
        if key == "version":
            moved[key] = "0.5"
        elif key == "multiscales":
            moved[key] = [_multiscale_to_v05(m, f"multiscales.{i}") for i, m in enumerate(value)]
        elif key == "image-label":
            moved[key] = _relabelled(value, "0.5")
        elif key == "scene":
            raise _cannot("scene", "scene metadata (transformations between images)")
        elif key == "well":
            moved[key] = _well_to_v05(value)
        else:
            moved[key] = value
    return _with_ome(attrs, moved)


def read_as_v05(attrs: JSON) -> JSON:
    """The NGFF metadata (``ome`` object) of 0.6 ``attrs`` as a reader of 0.5 sees it.

    :func:`to_v05`'s where 0.5 can say it all. Otherwise what 0.5 can say is read and the rest
    left out: the axes of the system the levels map to, each level's scale (and
    translation) where it is one, the multiscale transformation where 0.5 has it. The
    attributes themselves stay 0.6 and are carried as stored to a 0.6 output; a 0.5 or
    0.4 output refuses them (:func:`to_v05`). Still raises :class:`MetadataError` when the
    levels map to no one defined coordinate system.
    """
    try:
        return to_v05(attrs)["ome"]  # type: ignore[no-any-return]
    except MetadataError:
        pass
    ome = _ome(attrs, "0.6")
    read: JSON = {}
    for key, value in ome.items():
        if key == "version":
            read[key] = "0.5"
        elif key == "multiscales":
            read[key] = [_multiscale_read(m, f"multiscales.{i}") for i, m in enumerate(value)]
        elif key == "image-label":
            read[key] = _relabelled(value, "0.5")
        else:
            read[key] = value
    return read


def _ome(attrs: JSON, version: str) -> JSON:
    ome = attrs.get("ome") if isinstance(attrs, dict) else None
    given = ome.get("version") if isinstance(ome, dict) else None
    same = is_v06(given) if version == "0.6" else str(given).split("-")[0] == version
    if not isinstance(ome, dict) or not same:
        raise MetadataError(f"not OME-Zarr {version} attributes (ome.version is {given!r})")
    return ome


def _with_ome(attrs: JSON, ome: JSON) -> JSON:
    """``attrs`` with ``ome`` in place of its ``ome`` object, other keys in their order."""
    return {key: ome if key == "ome" else value for key, value in attrs.items()}


def _relabelled(image_label: Any, version: str) -> Any:
    """An ``image-label`` object with its own ``version`` (if it has one) set to ``version``."""
    if isinstance(image_label, dict) and "version" in image_label:
        return {k: version if k == "version" else v for k, v in image_label.items()}
    return image_label


def _cannot(where: str, what: str) -> MetadataError:
    return MetadataError(f"{where}: OME-Zarr 0.5 cannot express {what}")


# --- 0.5 -> 0.6 ------------------------------------------------------------------------------


def _multiscale_from_v05(multiscale: JSON, where: str) -> JSON:
    axes = multiscale.get("axes")
    if not isinstance(axes, list):
        raise MetadataError(f"{where}.axes: missing (a 0.5 multiscale lists its axes)")
    top = multiscale.get("coordinateTransformations")
    systems = [{"name": INTRINSIC, "axes": axes}]
    if top:
        systems.insert(0, {"name": WORLD, "axes": axes})
    moved: JSON = {}
    for key, value in multiscale.items():
        if key == "axes":
            moved["coordinateSystems"] = systems
        elif key == "datasets":
            moved[key] = [
                _dataset_from_v05(d, f"{where}.datasets.{i}") for i, d in enumerate(value)
            ]
        elif key == "coordinateTransformations":
            if value:
                pair = ({"name": INTRINSIC}, {"name": WORLD})
                moved[key] = [_one_transform(value, *pair, f"{where}.{key}", top=True)]
        else:
            moved[key] = value
    return moved


def _dataset_from_v05(dataset: JSON, where: str) -> JSON:
    path = dataset.get("path")
    moved: JSON = {}
    for key, value in dataset.items():
        if key == "coordinateTransformations":
            pair = ({"path": path}, {"name": INTRINSIC})
            moved[key] = [_one_transform(value, *pair, f"{where}.{key}")]
        else:
            moved[key] = value
    return moved


def _one_transform(
    transforms: Any, input_: JSON, output: JSON, where: str, *, top: bool = False
) -> JSON:
    """0.5's ``[scale]`` or ``[scale, translation]`` (or, at the ``top`` of a multiscale,
    ``[identity]``) as one 0.6 transformation."""
    kinds = [t.get("type") if isinstance(t, dict) else None for t in _list(transforms)]
    if (kinds == ["scale"] and "scale" in transforms[0]) or (top and kinds == ["identity"]):
        return {**transforms[0], "input": input_, "output": output}
    if kinds == ["scale", "translation"] and "scale" in transforms[0]:
        return {
            "type": "sequence",
            "input": input_,
            "output": output,
            "transformations": transforms,
        }
    raise MetadataError(
        f"{where}: {kinds} is not a scale, or a scale then a translation, given as numbers"
    )


# --- 0.6 -> 0.5 ------------------------------------------------------------------------------


def _multiscale_to_v05(multiscale: JSON, where: str) -> JSON:
    datasets = _list(multiscale.get("datasets"))
    levels = [_level(d, f"{where}.datasets.{i}") for i, d in enumerate(datasets)]
    outputs = {name for _, name in levels}
    if len(outputs) != 1:
        raise MetadataError(f"{where}.datasets: levels map to {sorted(outputs)}, not one system")
    intrinsic = outputs.pop()
    systems = {s.get("name"): s for s in _list(multiscale.get("coordinateSystems"))}
    if intrinsic not in systems:
        raise MetadataError(f"{where}: the levels' coordinate system {intrinsic!r} is not defined")
    axes = systems[intrinsic].get("axes")
    ndim = len(_list(axes))
    top = _top_to_v05(multiscale.get("coordinateTransformations"), intrinsic, ndim, where)
    extra = [name for name in systems if name not in (intrinsic, top and top[1])]
    if extra:
        raise _cannot(f"{where}.coordinateSystems", f"coordinate system {extra[0]!r}")
    if top is not None and systems[top[1]].get("axes") != axes:
        raise _cannot(f"{where}.coordinateSystems", f"{top[1]!r} with axes unlike {intrinsic!r}")
    moved: JSON = {}
    for key, value in multiscale.items():
        if key == "coordinateSystems":
            moved["axes"] = axes
        elif key == "datasets":
            moved[key] = [
                _dataset_to_v05(d, t, ndim, f"{where}.datasets.{i}")
                for i, (d, (t, _)) in enumerate(zip(value, levels, strict=True))
            ]
        elif key == "coordinateTransformations":
            if top is not None:
                moved[key] = top[0]
        else:
            moved[key] = value
    return moved


def _multiscale_read(multiscale: JSON, where: str) -> JSON:
    """:func:`_multiscale_to_v05` without refusals: what 0.5 cannot say is left out."""
    try:
        return _multiscale_to_v05(multiscale, where)
    except MetadataError:
        pass
    datasets = _list(multiscale.get("datasets"))
    levels = [_level(d, f"{where}.datasets.{i}") for i, d in enumerate(datasets)]
    names = {name for _, name in levels}
    systems = {s.get("name"): s for s in _list(multiscale.get("coordinateSystems"))}
    if len(names) != 1 or not names <= systems.keys():
        raise MetadataError(f"{where}.datasets: the levels map to no one defined system")
    intrinsic = names.pop()
    ndim = len(_list(systems[intrinsic].get("axes")))
    try:
        top = _top_to_v05(multiscale.get("coordinateTransformations"), intrinsic, ndim, where)
    except MetadataError:
        top = None
    read: JSON = {}
    for key, value in multiscale.items():
        if key == "coordinateSystems":
            read["axes"] = systems[intrinsic].get("axes")
        elif key == "datasets":
            read[key] = [
                {**d, "coordinateTransformations": _plain_or_none(t, ndim)}
                for d, (t, _) in zip(value, levels, strict=True)
            ]
        elif key == "coordinateTransformations":
            if top is not None:
                read[key] = top[0]
        else:
            read[key] = value
    return read


def _plain_or_none(transform: JSON, ndim: int) -> list[JSON]:
    """:func:`_plain`'s list, or none where 0.5 has no such transformation."""
    try:
        return _plain(transform, ndim, "")
    except MetadataError:
        return []


def _level(dataset: Any, where: str) -> tuple[JSON, str]:
    """A level's one transformation and the name of the coordinate system it maps to."""
    given = dataset.get("coordinateTransformations") if isinstance(dataset, dict) else None
    transforms = _list(given)
    if len(transforms) != 1 or not isinstance(transforms[0], dict):
        raise MetadataError(f"{where}.coordinateTransformations: not one transformation")
    name = _ref(transforms[0].get("output"))[0]
    if not isinstance(name, str):
        raise MetadataError(f"{where}.coordinateTransformations.0.output: no system name")
    return transforms[0], name


def _dataset_to_v05(dataset: JSON, transform: JSON, ndim: int, where: str) -> JSON:
    plain = _plain(transform, ndim, f"{where}.coordinateTransformations.0")
    return {k: plain if k == "coordinateTransformations" else v for k, v in dataset.items()}


def _top_to_v05(
    transforms: Any, intrinsic: str, ndim: int, where: str
) -> tuple[list[JSON], str] | None:
    """The 0.5 multiscale transformations and the name of the system they lead to, if any."""
    if not transforms:
        return None
    where = f"{where}.coordinateTransformations"
    if len(transforms) != 1:
        raise _cannot(where, f"{len(transforms)} multiscale transformations")
    transform = transforms[0]
    source, target = (_ref(transform.get(k)) for k in _IO)
    if source != (intrinsic, None) or target[1] is not None or target[0] in (None, intrinsic):
        raise _cannot(f"{where}.0", f"a transformation from {source} to {target}")
    if transform.get("type") == "identity":  # 0.5 says [identity] here too
        return [{k: v for k, v in transform.items() if k not in _IO}], str(target[0])
    return _plain(transform, ndim, f"{where}.0"), str(target[0])


def _plain(transform: JSON, ndim: int, where: str) -> list[JSON]:
    """A 0.6 scale, identity or sequence[scale, translation] as 0.5's list of transforms."""
    kind = transform.get("type")
    if kind == "scale" and "scale" in transform:
        return [{k: v for k, v in transform.items() if k not in _IO}]
    if kind == "identity":
        return [{"type": "scale", "scale": [1.0] * ndim}]
    if kind == "sequence":
        steps = _list(transform.get("transformations"))
        kinds = [s.get("type") if isinstance(s, dict) else None for s in steps]
        if kinds != ["scale", "translation"] or "scale" not in steps[0]:
            raise _cannot(where, f"a sequence of {kinds} (0.5 has a scale then a translation)")
        extra = [k for k in transform if k not in ("type", "transformations", *_IO)]
        if extra:
            raise _cannot(where, f"the {extra[0]!r} of a sequence ({transform[extra[0]]!r})")
        return steps
    raise _cannot(where, f"a {kind!r} transformation")


def _ref(value: Any) -> tuple[Any, Any]:
    """``(name, path)`` of an ``input`` or ``output``."""
    return (value.get("name"), value.get("path")) if isinstance(value, dict) else (value, None)


def _well_to_v05(well: Any) -> Any:
    for i, image in enumerate(_list(well.get("images") if isinstance(well, dict) else None)):
        path = image.get("path") if isinstance(image, dict) else None
        if not (isinstance(path, str) and path.isascii() and path.isalnum()):
            raise _cannot(f"well.images.{i}.path", f"the field path {path!r} (0.5: [A-Za-z0-9]+)")
    return well


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
