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
    "Downscale",
    "LevelMeta",
    "bf2raw_model",
    "dump",
    "image_model",
    "label_model",
    "labels_group_model",
    "plate_model",
    "restore_label_values",
    "restore_omero",
    "series_model",
    "well_model",
]

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
        lo, hi, start, end = ch.window or (0.0, 0.0, 0.0, 0.0)
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


def restore_omero(doc: dict[str, Any], image: Image, channels: Sequence[Channel]) -> None:
    """In a dumped image document, put back the ``omero`` keys NGFF models leave out.

    ``rdefs``, ``id``, ``name``, ``version`` and unknown keys come from ``image.omero_extra``,
    unknown per-channel keys from each channel's ``extra`` (yaozarrs' channel model drops them).
    """
    omero = doc.get("omero")
    if omero is None:
        return
    omero.update(image.omero_extra)
    for out, channel in zip(omero["channels"], channels, strict=True):
        out.update(channel.extra)


def label_model(
    ns: ModuleType, label: Label, levels: Sequence[LevelMeta], downscale: Downscale
) -> Any:
    """``ns.LabelImage`` (multiscales plus ``image-label``) for one label image.

    yaozarrs keeps only ``label-value`` of each property and stores label values as
    floats: :func:`restore_label_values` puts the rest back after dumping.
    """
    colors = [ns.LabelColor(label_value=c.value, rgba=list(c.rgba)) for c in label.colors]
    properties = [ns.LabelProperty(**p) for p in label.properties]
    image_label = ns.ImageLabel(
        colors=colors or None,
        properties=properties or None,
        source=ns.LabelSource(image=label.source_image) if label.source_image else None,
    )
    multiscale = _multiscale(ns, label.name, label.axes, levels, downscale)
    return ns.LabelImage(multiscales=[multiscale], image_label=image_label)


def restore_label_values(doc: dict[str, Any], label: Label) -> None:
    """In a dumped label document, give properties all their keys and values as integers."""
    image_label = doc.get("image-label", {})
    if label.properties:
        image_label["properties"] = [dict(p) for p in label.properties]
    for color in image_label.get("colors", []):
        value = color.get("label-value")
        if isinstance(value, float) and value.is_integer():
            color["label-value"] = int(value)


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
