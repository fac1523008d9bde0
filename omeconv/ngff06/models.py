"""Typed models of OME-Zarr 0.6 metadata: the ``ome`` object of a group's attributes.

yaozarrs (0.3) has no 0.6 models, so the parts RFC-5 changed are modelled here: axes inside
coordinate systems, and every transformation type the 0.6 schema defines. What 0.6 keeps as
0.5 had it (omero, labels, plate, well, bioformats2raw) is modelled here too, because the
yaozarrs models drop keys they do not know. Unknown keys are kept (``extra="allow"``), so a
model dumps what it read. The spec's strict schemas (SHOULD rules) have ``Strict*`` variants.
:func:`parse_ome` picks the model for an ``ome`` object from its keys.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omeconv.ngff06 import VERSION

__all__ = [
    "Acquisition",
    "Affine",
    "Axis",
    "Bf2Raw",
    "Bijection",
    "ByDimension",
    "ByDimensionItem",
    "CoordinateSystem",
    "Coordinates",
    "Dataset",
    "Displacements",
    "FieldOfView",
    "Identity",
    "Image",
    "ImageLabel",
    "InputOutput",
    "Label",
    "LabelColor",
    "LabelImage",
    "LabelProperty",
    "LabelSource",
    "LabelsGroup",
    "MapAxis",
    "Multiscale",
    "Named",
    "Omero",
    "OmeroChannel",
    "OmeroWindow",
    "Plate",
    "PlateDef",
    "PlateWell",
    "ProjectAxis",
    "Rotation",
    "Scale",
    "Scene",
    "SceneGroup",
    "Sequence",
    "Series",
    "StrictImage",
    "StrictLabel",
    "StrictLabelImage",
    "StrictMultiscale",
    "StrictPlate",
    "Transformation",
    "Translation",
    "Well",
    "WellDef",
    "parse_ome",
]

Number = int | float
Version = Literal["0.6", "0.6rc0"]


class Model(BaseModel):
    """Base: keys the spec does not name are kept; :meth:`to_json` gives the JSON object."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object, with the spec's key names, omitting unset optional keys."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Axis(Model):
    """One dimension of a coordinate system."""

    name: str = Field(min_length=1)
    type: str | None = None
    unit: str | None = None
    discrete: bool | None = None
    longName: str | None = None


class CoordinateSystem(Model):
    """A named coordinate system; its axes are unique by name."""

    name: str = Field(min_length=1)
    axes: list[Axis] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_axes(self) -> CoordinateSystem:
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axis names of {self.name!r} are not unique: {names}")
        return self


class InputOutput(Model):
    """The ``input`` or ``output`` of a transformation: a coordinate system or an array."""

    name: str | None = None
    path: str | None = None


class _Transform(Model):
    type: str
    name: str | None = None
    input: InputOutput | None = None
    output: InputOutput | None = None


class Identity(_Transform):
    type: Literal["identity"] = "identity"


class MapAxis(_Transform):
    type: Literal["mapAxis"] = "mapAxis"
    mapAxis: list[int]


class ProjectAxis(_Transform):
    type: Literal["projectAxis"] = "projectAxis"
    droppedInputs: list[int] | None = None
    createdOutputs: list[int] | None = None


class Scale(_Transform):
    type: Literal["scale"] = "scale"
    scale: list[Number]


class Translation(_Transform):
    type: Literal["translation"] = "translation"
    translation: list[Number]


class _MatrixOrPath(_Transform):
    path: str | None = None

    def _one_of(self, matrix: object) -> None:
        if (matrix is None) == (self.path is None):
            raise ValueError(f"a {self.type} has its matrix or a path, not both or neither")


class Affine(_MatrixOrPath):
    type: Literal["affine"] = "affine"
    affine: list[list[Number]] | None = None

    @model_validator(mode="after")
    def _matrix_or_path(self) -> Affine:
        self._one_of(self.affine)
        return self


class Rotation(_MatrixOrPath):
    type: Literal["rotation"] = "rotation"
    rotation: list[list[Number]] | None = None

    @model_validator(mode="after")
    def _matrix_or_path(self) -> Rotation:
        self._one_of(self.rotation)
        return self


class Sequence(_Transform):
    type: Literal["sequence"] = "sequence"
    transformations: list[Transformation]


class ByDimensionItem(Model):
    """One lower-dimensional transformation of a ``byDimension`` and the axes it maps."""

    transformation: Transformation
    inputAxes: list[int]
    outputAxes: list[int]


class ByDimension(_Transform):
    type: Literal["byDimension"] = "byDimension"
    transformations: list[ByDimensionItem]


class Bijection(_Transform):
    type: Literal["bijection"] = "bijection"
    forward: Transformation
    inverse: Transformation


class Displacements(_Transform):
    type: Literal["displacements"] = "displacements"
    path: str
    interpolation: Literal["nearest", "linear", "cubic"] | None = None


class Coordinates(_Transform):
    type: Literal["coordinates"] = "coordinates"
    path: str
    interpolation: Literal["nearest", "linear", "cubic"] | None = None


Transformation = Annotated[
    Identity
    | MapAxis
    | ProjectAxis
    | Scale
    | Translation
    | Affine
    | Rotation
    | Sequence
    | ByDimension
    | Bijection
    | Displacements
    | Coordinates,
    Field(discriminator="type"),
]


class Dataset(Model):
    """One resolution level and its one transformation to the intrinsic coordinate system."""

    path: str
    coordinateTransformations: list[Scale | Identity | Sequence] = Field(min_length=1, max_length=1)


class Multiscale(Model):
    """One multiscale image: coordinate systems (the intrinsic one among them) and levels."""

    coordinateSystems: list[CoordinateSystem] = Field(min_length=1)
    datasets: list[Dataset] = Field(min_length=1)
    coordinateTransformations: list[Transformation] | None = Field(default=None, min_length=1)
    name: str | None = None
    type: str | None = None
    metadata: dict[str, Any] | None = None


class StrictMultiscale(Multiscale):
    """A multiscale with the name, type and metadata the spec says it SHOULD have."""

    name: str
    type: str
    metadata: dict[str, Any]


class _Versioned(Model):
    version: Version = VERSION


class OmeroWindow(Model):
    start: Number
    end: Number
    min: Number
    max: Number


class OmeroChannel(Model):
    """Display settings of one channel (transitional ``omero`` metadata)."""

    color: str | None = None
    window: OmeroWindow | None = None
    label: str | None = None
    family: str | None = None
    active: bool | None = None


class Omero(Model):
    channels: list[OmeroChannel]


class Image(_Versioned):
    """The ``ome`` object of an image group."""

    multiscales: list[Multiscale] = Field(min_length=1)
    omero: Omero | None = None


class StrictImage(Image):
    multiscales: list[StrictMultiscale] = Field(min_length=1)  # type: ignore[assignment]


class LabelColor(Model):
    label_value: Number = Field(alias="label-value")
    rgba: list[Annotated[int, Field(ge=0, le=255)]] | None = Field(
        default=None, min_length=4, max_length=4
    )


class LabelProperty(Model):
    label_value: int = Field(alias="label-value")


class LabelSource(Model):
    image: str | None = None


class ImageLabel(Model):
    """Display colours, per-value properties and the source image of a label image."""

    colors: list[LabelColor] | None = Field(default=None, min_length=1)
    properties: list[LabelProperty] | None = Field(default=None, min_length=1)
    source: LabelSource | None = None


class Label(_Versioned):
    """An ``ome`` object with an ``image-label`` (the label schema's documents)."""

    image_label: ImageLabel = Field(alias="image-label")


class StrictLabel(Label):
    @model_validator(mode="after")
    def _colors(self) -> StrictLabel:
        if not self.image_label.colors:
            raise ValueError("image-label has no colors (the spec says it SHOULD)")
        return self


class LabelImage(Label, Image):
    """The ``ome`` object of a label image: an image with its ``image-label``."""


class StrictLabelImage(StrictLabel, StrictImage):
    """A label image following the SHOULD rules of the strict image and label schemas."""


class LabelsGroup(_Versioned):
    """The ``ome`` object of a ``labels`` group: the paths of its label images."""

    labels: list[str] = Field(min_length=1)


class Acquisition(Model):
    id: int = Field(ge=0)
    name: str | None = None
    maximumfieldcount: int | None = Field(default=None, gt=0)
    description: str | None = None
    starttime: int | None = Field(default=None, ge=0)
    endtime: int | None = Field(default=None, ge=0)


class Named(Model):
    """A row or column of a plate."""

    name: str = Field(pattern=r"^[A-Za-z0-9]+$")


class PlateWell(Model):
    path: str = Field(pattern=r"^[A-Za-z0-9]+/[A-Za-z0-9]+$")
    rowIndex: int = Field(ge=0)
    columnIndex: int = Field(ge=0)


class PlateDef(Model):
    """Rows, columns, wells and acquisitions of a plate."""

    columns: list[Named] = Field(min_length=1)
    rows: list[Named] = Field(min_length=1)
    wells: list[PlateWell] = Field(min_length=1)
    acquisitions: list[Acquisition] | None = None
    field_count: int | None = Field(default=None, gt=0)
    name: str | None = None


class Plate(_Versioned):
    """The ``ome`` object of a plate group."""

    plate: PlateDef


class StrictPlate(Plate):
    @model_validator(mode="after")
    def _named(self) -> StrictPlate:
        if self.plate.name is None:
            raise ValueError("the plate has no name (the spec says it SHOULD)")
        for acq in self.plate.acquisitions or []:
            if acq.name is None or acq.maximumfieldcount is None:
                raise ValueError(f"acquisition {acq.id} lacks a name or maximumfieldcount")
        return self


class FieldOfView(Model):
    """A field of view of a well: a Zarr node name that is not ``.``/``..`` nor ``__…``."""

    path: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    acquisition: int | None = None

    @model_validator(mode="after")
    def _node_name(self) -> FieldOfView:
        if self.path.startswith("__") or not self.path.strip("."):
            raise ValueError(f"{self.path!r} is not a Zarr node name a field may have")
        return self


class WellDef(Model):
    images: list[FieldOfView] = Field(min_length=1)


class Well(_Versioned):
    """The ``ome`` object of a well group."""

    well: WellDef


class Bf2Raw(_Versioned):
    """The ``ome`` object at the root of a bioformats2raw collection."""

    bioformats2raw_layout: Literal[3] = Field(default=3, alias="bioformats2raw.layout")


class Series(_Versioned):
    """The ``ome`` object of the ``OME`` group of a collection: its image paths."""

    series: list[str]


class Scene(Model):
    """Transformations between the coordinate systems of several images."""

    coordinateTransformations: list[Transformation] = Field(min_length=1)
    coordinateSystems: list[CoordinateSystem] | None = None


class SceneGroup(_Versioned):
    """The ``ome`` object of a scene group."""

    scene: Scene


def parse_ome(ome: dict[str, Any], *, strict: bool = False) -> Model:
    """The model of a 0.6 ``ome`` object, chosen by its keys (pydantic errors if invalid)."""
    model: type[Model]
    if "multiscales" in ome and "image-label" in ome:
        model = StrictLabelImage if strict else LabelImage
    elif "multiscales" in ome:
        model = StrictImage if strict else Image
    elif "image-label" in ome:
        model = StrictLabel if strict else Label
    elif "plate" in ome:
        model = StrictPlate if strict else Plate
    else:
        model = next(
            (m for k, m in _BY_KEY.items() if k in ome),
            _Versioned,
        )
    return model.model_validate(ome)


_BY_KEY: dict[str, type[Model]] = {
    "well": Well,
    "labels": LabelsGroup,
    "bioformats2raw.layout": Bf2Raw,
    "series": Series,
    "scene": SceneGroup,
}

Sequence.model_rebuild()
ByDimensionItem.model_rebuild()
Bijection.model_rebuild()
