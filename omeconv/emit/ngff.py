"""Model → yaozarrs NGFF models, shared by both versions.

``yaozarrs.v04`` and ``yaozarrs.v05`` name their classes alike, so one builder serves both;
:mod:`omeconv.emit.v04` and :mod:`omeconv.emit.v05` only lay the result out in a group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

    from omeconv.model import Axis, Channel, Image, Label, Plate, Well

__all__ = [
    "DEFAULT_COLORS",
    "NGFF_V04_KEYS",
    "Downscale",
    "LevelMeta",
    "bf2raw_model",
    "dump",
    "image_model",
    "label_doc",
    "labels_group_model",
    "plate_model",
    "series_model",
    "unversioned",
    "versioned",
    "well_model",
]

#: Group attributes that OME-Zarr 0.4 defines, at the top of ``.zattrs`` (0.5: under ``ome``).
#: A top-level ``version`` (some writers put one beside ``multiscales``) is a version key too.
NGFF_V04_KEYS = (
    "multiscales",
    "omero",
    "labels",
    "image-label",
    "plate",
    "well",
    "bioformats2raw.layout",
    "series",
    "version",
)
#: NGFF objects that carry their own ``version`` in 0.4 (0.5 has one ``ome.version``).
_VERSIONED_OBJECTS = ("plate", "well", "image-label")


def unversioned(key: str, value: Any) -> Any:
    """The value of NGFF key ``key`` without the per-object ``version`` keys of 0.4."""
    if key == "multiscales" and isinstance(value, list):
        return [_without_version(ms) for ms in value]
    if key in _VERSIONED_OBJECTS:
        return _without_version(value)
    return value


def versioned(key: str, value: Any, version: str) -> Any:
    """The value of NGFF key ``key`` with the per-object ``version`` keys 0.4 wants."""
    if key == "multiscales" and isinstance(value, list):
        return [_with_version(ms, version) for ms in value]
    if key in _VERSIONED_OBJECTS:
        return _with_version(value, version)
    return value


def _without_version(obj: Any) -> Any:
    return {k: v for k, v in obj.items() if k != "version"} if isinstance(obj, dict) else obj


def _with_version(obj: Any, version: str) -> Any:
    return {**obj, "version": version} if isinstance(obj, dict) else obj


#: Colours given to channels that carry none: one channel grey, several a distinct set.
DEFAULT_COLORS = ("FF0000", "00FF00", "0000FF", "FF00FF", "00FFFF", "FFFF00", "FFFFFF")

LevelMeta = tuple[str, tuple[float, ...], tuple[float, ...] | None]
"""``(path, scale, translation)`` of one written level."""

Downscale = tuple[str | None, dict[str, Any] | None]
"""``(type, metadata)`` of a multiscale: how its lower levels were made."""


def dump(model: Any) -> dict[str, Any]:
    """JSON-ready dict of a yaozarrs model, without unset optional fields."""
    result: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result


def _axis(ns: ModuleType, axis: Axis) -> Any:
    cls = {
        "space": ns.SpaceAxis,
        "time": ns.TimeAxis,
        "channel": ns.ChannelAxis,
    }.get(axis.type or "", ns.CustomAxis)
    kwargs: dict[str, Any] = {"name": axis.name}
    if axis.unit is not None:
        kwargs["unit"] = axis.unit
    if cls is ns.CustomAxis and axis.type is not None:
        kwargs["type"] = axis.type
    return cls(**kwargs)


def _multiscale(
    ns: ModuleType,
    name: str | None,
    axes: Sequence[Axis],
    levels: Sequence[LevelMeta],
    downscale: Downscale,
) -> Any:
    datasets = []
    for path, scale, translation in levels:
        transforms: list[Any] = [ns.ScaleTransformation(scale=list(scale))]
        if translation is not None and any(translation):
            transforms.append(ns.TranslationTransformation(translation=list(translation)))
        datasets.append(ns.Dataset(path=path, coordinateTransformations=transforms))
    kwargs: dict[str, Any] = {"axes": [_axis(ns, a) for a in axes], "datasets": datasets}
    if name:
        kwargs["name"] = name
    kind, metadata = downscale
    if kind:
        kwargs["type"] = kind
    if metadata:
        kwargs["metadata"] = metadata
    return ns.Multiscale(**kwargs)


def _omero(ns: ModuleType, channels: Sequence[Channel]) -> Any:
    out = []
    for i, ch in enumerate(channels):
        color = ch.color or (
            "FFFFFF" if len(channels) == 1 else DEFAULT_COLORS[i % len(DEFAULT_COLORS)]
        )
        lo, hi, start, end = ch.window or (0.0, 1.0, 0.0, 1.0)
        kwargs: dict[str, Any] = {
            "color": color,
            "window": ns.OmeroWindow(min=lo, max=hi, start=start, end=end),
        }
        for attr in ("label", "active", "inverted", "coefficient", "family"):
            value = getattr(ch, attr)
            if value is not None:
                kwargs[attr] = value
        kwargs.setdefault("active", True)
        kwargs.setdefault("family", "linear")
        kwargs.setdefault("coefficient", 1.0)
        kwargs.setdefault("inverted", False)
        out.append(ns.OmeroChannel(**kwargs))
    return ns.Omero(channels=out)


def image_model(
    ns: ModuleType,
    image: Image,
    levels: Sequence[LevelMeta],
    channels: Sequence[Channel],
    name: str,
    downscale: Downscale,
) -> Any:
    """``ns.Image`` for an image written at ``levels`` with the final ``channels``."""
    multiscale = _multiscale(ns, image.name or name, image.axes, levels, downscale)
    return ns.Image(multiscales=[multiscale], omero=_omero(ns, channels) if channels else None)


def label_doc(
    ns: ModuleType, label: Label, levels: Sequence[LevelMeta], downscale: Downscale
) -> dict[str, Any]:
    """``multiscales`` plus ``image-label`` of one label image, validated as ``ns.LabelImage``.

    ``image-label`` is written from the model itself: yaozarrs would turn label values
    into floats and keep only ``label-value`` of each property.
    """
    image_label: dict[str, Any] = {}
    if label.colors:
        image_label["colors"] = [
            {"label-value": c.value, "rgba": list(c.rgba)} for c in label.colors
        ]
    if label.properties:
        image_label["properties"] = [dict(p) for p in label.properties]
    if label.source_image:
        image_label["source"] = {"image": label.source_image}
    multiscale = _multiscale(ns, label.name, label.axes, levels, downscale)
    doc = dump(ns.LabelImage(multiscales=[multiscale], image_label=ns.ImageLabel(**image_label)))
    version = doc["image-label"].get("version")
    doc["image-label"] = image_label if version is None else {**image_label, "version": version}
    return doc


def labels_group_model(ns: ModuleType, names: Sequence[str]) -> Any:
    """``ns.LabelsGroup`` listing the label images of an image."""
    return ns.LabelsGroup(labels=list(names))


def plate_model(ns: ModuleType, plate: Plate) -> Any:
    """``ns.Plate`` for a plate and the wells present."""
    rows = {name: i for i, name in enumerate(plate.rows)}
    columns = {name: i for i, name in enumerate(plate.columns)}
    definition: dict[str, Any] = {
        "rows": [ns.Row(name=r) for r in plate.rows],
        "columns": [ns.Column(name=c) for c in plate.columns],
        "wells": [
            ns.PlateWell(path=w.path, rowIndex=rows[w.row], columnIndex=columns[w.column])
            for w in plate.wells
        ],
    }
    if plate.name:
        definition["name"] = plate.name
    if plate.acquisitions:
        definition["acquisitions"] = [
            ns.Acquisition(
                **{k: v for k, v in vars(a).items() if v is not None},
            )
            for a in plate.acquisitions
        ]
    field_count = plate.field_count or max((len(w.fields) for w in plate.wells), default=0)
    if field_count:
        definition["field_count"] = field_count
    return ns.Plate(plate=ns.PlateDef(**definition))


def well_model(ns: ModuleType, well: Well) -> Any:
    """``ns.Well`` listing the fields of one well."""
    images = []
    for f in well.fields:
        kwargs: dict[str, Any] = {"path": f.path}
        if f.acquisition is not None:
            kwargs["acquisition"] = f.acquisition
        images.append(ns.FieldOfView(**kwargs))
    return ns.Well(well=ns.WellDef(images=images))


def bf2raw_model(ns: ModuleType) -> Any:
    """``ns.Bf2Raw``: the root of a bioformats2raw collection."""
    return ns.Bf2Raw(bioformats2raw_layout=3)


def series_model(ns: ModuleType, paths: Sequence[str]) -> Any:
    """``ns.Series``: the ``OME`` group listing the series' image paths."""
    return ns.Series(series=list(paths))
