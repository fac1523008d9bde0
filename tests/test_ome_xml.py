"""Tests of omeconv.ome_xml: OME-XML parsing, units, colours, image and plate metadata."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import tifffile
from ome_types import model as ome_model

from omeconv.errors import MetadataError, OmeconvWarning
from omeconv.model import Axis
from omeconv.ome_xml import (
    ImageMetadata,
    image_metadata,
    length_to_nanometers,
    length_unit,
    ome_color_to_hex,
    parse_ome_xml,
    plate_metadata,
    time_unit,
)

if TYPE_CHECKING:
    from pathlib import Path

NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def _read(corpus: Path, name: str) -> str:
    path = corpus / "ome-xml" / name
    if not path.is_file():
        pytest.skip(f"{name} not in the corpus")
    return path.read_text(encoding="utf-8")


def _pixels_xml(attrs: str = "", body: str = "", *, sizes: str = "") -> str:
    sizes = sizes or "SizeX='4' SizeY='3' SizeZ='2' SizeC='1' SizeT='1'"
    return (
        f"<OME xmlns='{NS}'><Image ID='Image:0' Name='img'>"
        f"<Pixels ID='Pixels:0' DimensionOrder='XYZCT' Type='uint8' {sizes} {attrs}>"
        f"{body}</Pixels></Image></OME>"
    )


# ----------------------------------------------------------------------------- units

NGFF_SPACE = {
    "angstrom", "attometer", "centimeter", "decimeter", "exameter", "femtometer", "foot",
    "gigameter", "hectometer", "inch", "kilometer", "megameter", "meter", "micrometer", "mile",
    "millimeter", "nanometer", "parsec", "petameter", "picometer", "terameter", "yard",
    "yoctometer", "yottameter", "zeptometer", "zettameter",
}  # fmt: skip
NGFF_TIME = {
    "attosecond", "centisecond", "day", "decisecond", "exasecond", "femtosecond", "gigasecond",
    "hectosecond", "hour", "kilosecond", "megasecond", "microsecond", "millisecond", "minute",
    "nanosecond", "petasecond", "picosecond", "second", "terasecond", "yoctosecond",
    "yottasecond", "zeptosecond", "zettasecond",
}  # fmt: skip
NO_NGFF_LENGTH = {
    ome_model.UnitsLength.DECAMETER,
    ome_model.UnitsLength.THOU,
    ome_model.UnitsLength.LINE,
    ome_model.UnitsLength.ASTRONOMICALUNIT,
    ome_model.UnitsLength.LIGHTYEAR,
    ome_model.UnitsLength.POINT,
    ome_model.UnitsLength.PIXEL,
    ome_model.UnitsLength.REFERENCEFRAME,
}


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        (ome_model.UnitsLength.YOTTAMETER, "yottameter"),
        (ome_model.UnitsLength.ZETTAMETER, "zettameter"),
        (ome_model.UnitsLength.EXAMETER, "exameter"),
        (ome_model.UnitsLength.PETAMETER, "petameter"),
        (ome_model.UnitsLength.TERAMETER, "terameter"),
        (ome_model.UnitsLength.GIGAMETER, "gigameter"),
        (ome_model.UnitsLength.MEGAMETER, "megameter"),
        (ome_model.UnitsLength.KILOMETER, "kilometer"),
        (ome_model.UnitsLength.HECTOMETER, "hectometer"),
        (ome_model.UnitsLength.METER, "meter"),
        (ome_model.UnitsLength.DECIMETER, "decimeter"),
        (ome_model.UnitsLength.CENTIMETER, "centimeter"),
        (ome_model.UnitsLength.MILLIMETER, "millimeter"),
        (ome_model.UnitsLength.MICROMETER, "micrometer"),
        (ome_model.UnitsLength.NANOMETER, "nanometer"),
        (ome_model.UnitsLength.PICOMETER, "picometer"),
        (ome_model.UnitsLength.FEMTOMETER, "femtometer"),
        (ome_model.UnitsLength.ATTOMETER, "attometer"),
        (ome_model.UnitsLength.ZEPTOMETER, "zeptometer"),
        (ome_model.UnitsLength.YOCTOMETER, "yoctometer"),
        (ome_model.UnitsLength.ANGSTROM, "angstrom"),
        (ome_model.UnitsLength.INCH, "inch"),
        (ome_model.UnitsLength.FOOT, "foot"),
        (ome_model.UnitsLength.YARD, "yard"),
        (ome_model.UnitsLength.MILE, "mile"),
        (ome_model.UnitsLength.PARSEC, "parsec"),
    ],
)
def test_length_unit_enum(unit: ome_model.UnitsLength, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert length_unit(unit) == expected
        assert length_unit(unit.value) == expected


def test_length_unit_covers_every_ome_unit() -> None:
    for unit in ome_model.UnitsLength:
        if unit in NO_NGFF_LENGTH:
            with pytest.warns(OmeconvWarning, match="no NGFF equivalent"):
                assert length_unit(unit) is None
        else:
            assert length_unit(unit) in NGFF_SPACE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("µm", "micrometer"),  # MICRO SIGN, as OME writes it
        ("\u03bcm", "micrometer"),  # GREEK SMALL LETTER MU
        ("\\u00B5m", "micrometer"),  # ImageJ's escaped spelling
        ("um", "micrometer"),
        ("micron", "micrometer"),
        ("microns", "micrometer"),
        ("micrometer", "micrometer"),
        ("Micrometre", "micrometer"),
        ("nm", "nanometer"),
        ("nanometers", "nanometer"),
        ("mm", "millimeter"),
        ("Mm", "megameter"),
        ("Å", "angstrom"),
        ("\u212b", "angstrom"),  # ANGSTROM SIGN
        ("inch", "inch"),
    ],
)
def test_length_unit_strings(text: str, expected: str) -> None:
    assert length_unit(text) == expected


@pytest.mark.parametrize("text", ["pixel", "px", "reference frame", "thou", "ly", "furlong"])
def test_length_unit_without_ngff_name_warns(text: str) -> None:
    with pytest.warns(OmeconvWarning):
        assert length_unit(text) is None


def test_length_unit_none() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert length_unit(None) is None
        assert time_unit(None) is None


def test_time_unit_covers_every_ome_unit() -> None:
    for unit in ome_model.UnitsTime:
        if unit is ome_model.UnitsTime.DECASECOND:
            with pytest.warns(OmeconvWarning):
                assert time_unit(unit) is None
        else:
            name = time_unit(unit)
            assert name in NGFF_TIME
            assert time_unit(unit.value) == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s", "second"),
        ("ms", "millisecond"),
        ("Ms", "megasecond"),
        ("µs", "microsecond"),
        ("us", "microsecond"),
        ("ns", "nanosecond"),
        ("min", "minute"),
        ("h", "hour"),
        ("d", "day"),
        ("sec", "second"),
        ("seconds", "second"),
        ("msec", "millisecond"),
        ("Minutes", "minute"),
    ],
)
def test_time_unit_strings(text: str, expected: str) -> None:
    assert time_unit(text) == expected


def test_time_unit_unknown_warns() -> None:
    with pytest.warns(OmeconvWarning):
        assert time_unit("fortnight") is None


@pytest.mark.parametrize(
    ("value", "unit", "nm"),
    [
        (488.0, ome_model.UnitsLength.NANOMETER, 488.0),
        (0.5, "µm", 500.0),
        (488600, "pm", 488.6),
        (5000, "Å", 500.0),
        (510, None, 510.0),
    ],
)
def test_length_to_nanometers(value: float, unit: str | None, nm: float) -> None:
    assert length_to_nanometers(value, unit) == pytest.approx(nm)


def test_length_to_nanometers_pixel_warns() -> None:
    assert length_to_nanometers(None, "nm") is None
    with pytest.warns(OmeconvWarning):
        assert length_to_nanometers(3.0, "pixel") is None


# ----------------------------------------------------------------------------- colours


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-1, "FFFFFF"),
        (0xFF0000FF - 2**32, "FF0000"),
        (0xFF0000FF, "FF0000"),
        (65535, "0000FF"),
        (16711935, "00FF00"),
        (-16776961, "FF0000"),
        (-65281, "FFFF00"),
        (-2147483648, "800000"),
        (255, "000000"),
        (0, "000000"),
        ("-1", "FFFFFF"),
    ],
)
def test_ome_color_to_hex(value: int | str, expected: str) -> None:
    assert ome_color_to_hex(value) == expected


def test_ome_color_to_hex_color_object() -> None:
    assert ome_color_to_hex(ome_model.Color(-1)) == "FFFFFF"
    assert ome_color_to_hex(ome_model.Color(65535)) == "0000FF"
    assert ome_color_to_hex(ome_model.Color(-16776961)) == "FF0000"
    assert ome_color_to_hex(ome_model.Color("lime")) == "00FF00"


def test_ome_color_to_hex_rejects_junk() -> None:
    with pytest.raises(ValueError, match="not an OME colour"):
        ome_color_to_hex("red-ish")


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text",
    ["not xml at all", "", "\x00\x01\x02", '{"multiscales": []}', "<OME><Image"],
)
def test_parse_non_xml_raises(text: str) -> None:
    with pytest.raises(MetadataError, match=r"^f\.tif: ") as info:
        parse_ome_xml(text, path="f.tif")
    assert "\n" not in str(info.value)
    assert info.value.path == "f.tif"
    assert info.value.exit_code == 1


def test_parse_non_ome_xml_raises() -> None:
    with pytest.raises(MetadataError, match="not OME-XML"):
        parse_ome_xml("<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>")


def test_parse_missing_required_attribute_raises() -> None:
    xml = _pixels_xml(sizes="SizeY='3' SizeZ='2' SizeC='1' SizeT='1'")
    with pytest.raises(MetadataError, match="size_x"):
        parse_ome_xml(xml)


def test_parse_repairs_unit_spellings() -> None:
    xml = _pixels_xml(
        "PhysicalSizeX='0.5' PhysicalSizeXUnit='um' PhysicalSizeY='0.5' "
        "PhysicalSizeYUnit='micron' PhysicalSizeZ='2' PhysicalSizeZUnit='\\u00B5m' "
        "TimeIncrement='3' TimeIncrementUnit='sec'"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", OmeconvWarning)
        ome = parse_ome_xml(xml)
    pixels = ome.images[0].pixels
    assert pixels.physical_size_x_unit is ome_model.UnitsLength.MICROMETER
    assert pixels.physical_size_y_unit is ome_model.UnitsLength.MICROMETER
    assert pixels.physical_size_z_unit is ome_model.UnitsLength.MICROMETER
    assert pixels.time_increment_unit is ome_model.UnitsTime.SECOND


def test_parse_drops_invalid_attributes_with_warning() -> None:
    xml = _pixels_xml("PhysicalSizeX='0' PhysicalSizeY='0.25' PhysicalSizeYUnit='furlong'")
    with pytest.warns(OmeconvWarning, match="PhysicalSize") as record:
        ome = parse_ome_xml(xml)
    messages = " ".join(str(w.message) for w in record)
    assert "PhysicalSizeX" in messages
    assert "PhysicalSizeYUnit" in messages
    pixels = ome.images[0].pixels
    assert pixels.physical_size_x is None
    assert pixels.physical_size_y == 0.25
    assert pixels.size_x == 4


def test_parse_skips_unknown_elements() -> None:
    xml = _pixels_xml(body="<Vendor xmlns='urn:x'>1</Vendor><Bogus/>")
    assert parse_ome_xml(xml).images[0].pixels.size_y == 3


def test_parse_declared_encoding_of_text() -> None:
    xml = "<?xml version='1.0' encoding='ISO-8859-1'?>" + _pixels_xml(
        "PhysicalSizeX='1' PhysicalSizeXUnit='µm'"
    ).replace("Name='img'", "Name='µ-scan'")
    ome = parse_ome_xml(xml)
    assert ome.images[0].name == "µ-scan"
    assert ome.images[0].pixels.physical_size_x_unit is ome_model.UnitsLength.MICROMETER
    assert parse_ome_xml(xml.encode("latin-1")).images[0].name == "µ-scan"


def test_parse_every_corpus_file(corpus: Path) -> None:
    files = sorted((corpus / "ome-xml").glob("*/*.ome.xml"))
    assert len(files) > 40
    failures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OmeconvWarning)
        for path in files:
            try:
                parse_ome_xml(path.read_text(encoding="utf-8"), path=str(path))
            except MetadataError as exc:
                failures[path.name] = str(exc)
    # only the 2008-09 schema document needs lxml's XSLT upgrade to be readable
    assert set(failures) <= {"2008_instrument.ome.xml"}, failures


def test_parse_old_schema(corpus: Path) -> None:
    # 2013-06 with a lower-case "ome" namespace
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OmeconvWarning)
        ome = parse_ome_xml(_read(corpus, "ome-types-aics/s_1_t_1_c_10_z_1.ome.xml"))
    md = image_metadata(ome, 0, "CYX")
    assert len(md.channels) == 10
    assert md.channels[0].label == "C:0"


# ----------------------------------------------------------------------------- images


def test_image_metadata_from_tifffile_omexml() -> None:
    omexml = tifffile.OmeXml()
    omexml.addimage(
        "uint16",
        (2, 3, 4, 32, 32),
        (24, 1, 1, 32, 32, 1),
        axes="TCZYX",
        Name="test image",
        PhysicalSizeX=0.5,
        PhysicalSizeXUnit="nm",
        PhysicalSizeY=0.25,
        PhysicalSizeYUnit="nm",
        PhysicalSizeZ=2.0,
        TimeIncrement=30,
        TimeIncrementUnit="ms",
        Channel={"Name": ["DAPI", "GFP", "RFP"], "Color": [65535, 16711935, -16776961]},
    )
    ome = parse_ome_xml(omexml.tostring())
    md = image_metadata(ome, 0, "TCZYX", shape=(2, 3, 4, 32, 32))
    assert isinstance(md, ImageMetadata)
    assert md.name == "test image"
    assert md.axes == (
        Axis("t", "time", "millisecond"),
        Axis("c", "channel", None),
        Axis("z", "space", "micrometer"),  # no PhysicalSizeZUnit: OME's default
        Axis("y", "space", "nanometer"),
        Axis("x", "space", "nanometer"),
    )
    assert md.scale == (30.0, 1.0, 2.0, 0.25, 0.5)
    assert [c.label for c in md.channels] == ["DAPI", "GFP", "RFP"]
    assert [c.color for c in md.channels] == ["0000FF", "00FF00", "FF0000"]


def test_image_metadata_axes_subset_and_order() -> None:
    xml = _pixels_xml("PhysicalSizeX='0.1' PhysicalSizeY='0.2' PhysicalSizeZ='3'")
    ome = parse_ome_xml(xml)
    md = image_metadata(ome, 0, "ZYX")
    assert [a.name for a in md.axes] == ["z", "y", "x"]
    assert [a.unit for a in md.axes] == ["micrometer"] * 3
    assert md.scale == (3.0, 0.2, 0.1)
    md = image_metadata(ome, 0, "QYX")
    assert md.axes[0] == Axis("q", "custom", None)
    assert md.scale == (1.0, 0.2, 0.1)


def test_image_metadata_missing_sizes_and_colors() -> None:
    body = "<Channel ID='Channel:0:0' Name='only'/>"
    ome = parse_ome_xml(
        _pixels_xml(body=body, sizes="SizeX='4' SizeY='3' SizeZ='1' SizeC='1' SizeT='5'")
    )
    md = image_metadata(ome, 0, "TCYX")
    assert md.scale == (1.0, 1.0, 1.0, 1.0)
    assert all(a.unit is None for a in md.axes)
    assert md.channels[0].label == "only"
    assert md.channels[0].color is None  # no Color attribute: the emitter picks one


def test_image_metadata_zero_time_increment_is_unknown() -> None:
    ome = parse_ome_xml(_pixels_xml("TimeIncrement='0' TimeIncrementUnit='s'"))
    md = image_metadata(ome, 0, "TYX")
    assert md.scale[0] == 1.0
    assert md.axes[0].unit is None


def test_image_metadata_time_from_plane_delta_t() -> None:
    planes = "".join(
        f"<Plane TheC='0' TheZ='0' TheT='{t}' DeltaT='{0.5 + 2.5 * t}' DeltaTUnit='min'/>"
        for t in range(4)
    )
    sizes = "SizeX='4' SizeY='3' SizeZ='1' SizeC='1' SizeT='4'"
    ome = parse_ome_xml(_pixels_xml(body=planes, sizes=sizes))
    md = image_metadata(ome, 0, "TYX")
    assert md.axes[0] == Axis("t", "time", "minute")
    assert md.scale[0] == pytest.approx(2.5)


def test_image_metadata_rgb_samples() -> None:
    omexml = tifffile.OmeXml()
    omexml.addimage("uint8", (32, 32, 3), (1, 1, 1, 32, 32, 3), axes="YXS", Name="rgb")
    ome = parse_ome_xml(omexml.tostring())
    md = image_metadata(ome, 0, "YXS", shape=(32, 32, 3))
    assert [a.name for a in md.axes] == ["y", "x", "c"]
    assert md.axes[2].type == "channel"
    assert [c.label for c in md.channels] == ["R", "G", "B"]
    assert [c.color for c in md.channels] == ["FF0000", "00FF00", "0000FF"]
    assert image_metadata(ome, 0, "YXS").channels == md.channels


def test_image_metadata_two_rgb_channels(corpus: Path) -> None:
    ome = parse_ome_xml(_read(corpus, "ome-types-aics/s_1_t_1_c_2_z_1_RGB.ome.xml"))
    # SizeC=6: two Channel elements with SamplesPerPixel=3
    md = image_metadata(ome, 0, "CYX", shape=(6, 32, 32))
    assert len(md.channels) == 6
    assert [c.color for c in md.channels] == ["FF0000", "00FF00", "0000FF"] * 2
    assert len({c.label for c in md.channels}) == 6
    md = image_metadata(ome, 0, "CYXS", shape=(2, 32, 32, 3))
    assert [a.name for a in md.axes] == ["c", "y", "x", "s"]
    assert len(md.channels) == 6


def test_image_metadata_channel_count_mismatch_warns() -> None:
    body = "".join(f"<Channel ID='Channel:0:{i}' Name='ch{i}'/>" for i in range(2))
    sizes = "SizeX='4' SizeY='3' SizeZ='1' SizeC='2' SizeT='1'"
    ome = parse_ome_xml(_pixels_xml(body=body, sizes=sizes))
    with pytest.warns(OmeconvWarning, match="channels"):
        md = image_metadata(ome, 0, "CYX", shape=(3, 3, 4))
    assert [c.label for c in md.channels] == ["ch0", "ch1", None]


def test_image_metadata_bad_index() -> None:
    ome = parse_ome_xml(_pixels_xml())
    with pytest.raises(MetadataError, match="no image number 3"):
        image_metadata(ome, 3, "YX")


def test_image_metadata_nanometer_corpus_units(corpus: Path) -> None:
    # 3d-cell-viewer (CZI export): µm sizes, colours and emission wavelengths in nm
    ome = parse_ome_xml(_read(corpus, "ome-types-aics/3d-cell-viewer.ome.xml"))
    md = image_metadata(ome, 0, "CZYX")
    assert [a.unit for a in md.axes] == [None, "micrometer", "micrometer", "micrometer"]
    assert md.scale == pytest.approx((1.0, 0.29, 0.065, 0.065))
    assert len(md.channels) == 9
    assert md.channels[0].label == "DRAQ5"
    assert md.channels[0].color == "FF0016"
    assert md.channels[0].emission_wavelength == pytest.approx(683.0)


def test_image_metadata_centimeter_and_picometer_corpus(corpus: Path) -> None:
    ome = parse_ome_xml(_read(corpus, "ome-types/instrument-units-alternate.ome.xml"))
    md = image_metadata(ome, 0, "YX")
    assert [a.unit for a in md.axes] == ["centimeter", "centimeter"]
    # Channel Color -2147483648 = 0x80000000; wavelengths given in pm
    assert md.channels[0].color == "800000"
    assert md.channels[0].emission_wavelength == pytest.approx(488.6)
    assert md.channels[0].excitation_wavelength == pytest.approx(610.5)


def test_image_metadata_time_increment_corpus(corpus: Path) -> None:
    ome = parse_ome_xml(_read(corpus, "ome-types/hcs.ome.xml"))
    md = image_metadata(ome, 0, "TCYX")
    assert md.axes[0] == Axis("t", "time", "second")
    assert md.scale == pytest.approx((120.1302, 1.0, 0.207, 0.207))
    assert [c.label for c in md.channels] == ["CH1", "CH3", "TD1"]
    assert [c.emission_wavelength for c in md.channels] == [523.0, 578.0, None]


def test_image_metadata_millisecond_corpus(corpus: Path) -> None:
    ome = parse_ome_xml(_read(corpus, "ome-types/MMStack.ome.xml"))
    md = image_metadata(ome, 1, "TZCYX")
    assert md.axes[0].unit == "millisecond"
    assert md.scale == pytest.approx((1.0, 1.75, 1.0, 2.0, 2.0))
    assert [c.label for c in md.channels] == ["Cy5", "DAPI", "FITC"]


# ----------------------------------------------------------------------------- plates


def test_plate_metadata_fake_plate(corpus: Path) -> None:
    ome = parse_ome_xml(_read(corpus, "ome-types/fake-plate-rows-2.ome.xml"))
    (plate,) = plate_metadata(ome)
    assert plate.name == "Plate Name 0"
    assert plate.rows == ("A", "B")
    assert plate.columns == ("1",)
    assert [(w.row, w.column) for w in plate.wells] == [(0, 0), (1, 0)]
    assert [w.samples for w in plate.wells] == [((0, 0),), ((1, 0),)]
    assert plate.field_count == 1
    (acq,) = plate.acquisitions
    assert acq.id == 0
    assert acq.name == "PlateAcquisition Name 0"
    expected_ms = int(datetime(2006, 5, 4, 18, 13, 51, tzinfo=UTC).timestamp() * 1000)
    assert acq.start_time == acq.end_time == expected_ms


def test_plate_metadata_two_plates(corpus: Path) -> None:
    ome = parse_ome_xml(_read(corpus, "ome-types/two-screens-two-plates-four-wells.ome.xml"))
    plates = plate_metadata(ome)
    assert len(plates) == 2
    first, second = plates
    assert len(first.wells) == 4
    assert sum(len(w.samples) for w in first.wells) == 11
    assert sum(len(w.samples) for w in second.wells) == 11
    # OME rows/columns are 0-based; the wells sit in rows 1-2, columns 1-2
    assert first.rows == ("A", "B", "C")
    assert first.columns == ("1", "2", "3")
    assert first.field_count == 5
    assert [a.id for a in first.acquisitions] == [1, 2]
    assert first.wells[0].samples == ((0, 1), (1, 2))
    assert second.name == "twoName"
    images = [i for w in second.wells for i, _ in w.samples]
    assert images == list(range(11, 22))


def test_plate_metadata_naming_conventions(corpus: Path) -> None:
    ome = parse_ome_xml(_read(corpus, "ome-types/hcs.ome.xml"))
    (plate,) = plate_metadata(ome)
    assert plate.name == "Control Plate"
    # RowNamingConvention="number", ColumnNamingConvention="letter", 8 x 12
    assert plate.rows == tuple(str(i) for i in range(1, 9))
    assert plate.columns == tuple("ABCDEFGHIJKL")
    assert len(plate.wells) == 1
    assert plate.wells[0].samples == ((0, None),)


def test_plate_metadata_letters_past_z() -> None:
    wells = "<Well ID='Well:0' Row='27' Column='0'/>"
    xml = (
        f"<OME xmlns='{NS}'><Plate ID='Plate:0' RowNamingConvention='letter'>{wells}</Plate></OME>"
    )
    (plate,) = plate_metadata(parse_ome_xml(xml))
    assert plate.rows[25:] == ("Z", "AA", "AB")
    assert plate.columns == ("1",)
    assert plate.wells[0].samples == ()
    assert plate.field_count == 0


def test_plate_metadata_dangling_image_ref_warns() -> None:
    xml = (
        f"<OME xmlns='{NS}'><Plate ID='Plate:0' Rows='1' Columns='1'>"
        "<Well ID='Well:0' Row='0' Column='0'>"
        "<WellSample ID='WellSample:0' Index='0'><ImageRef ID='Image:9'/></WellSample>"
        "</Well></Plate></OME>"
    )
    with pytest.warns(OmeconvWarning, match="refers to no image"):
        (plate,) = plate_metadata(parse_ome_xml(xml))
    assert plate.wells[0].samples == ()


def test_plate_metadata_no_plates() -> None:
    assert plate_metadata(parse_ome_xml(_pixels_xml())) == []
