"""Tolerant OME-XML parsing with ``ome-types``.

A document that fails schema validation, uses an older schema, or carries a few invalid
attribute values is still read, with an :class:`~omeconv.errors.OmeconvWarning` for every
value that had to be dropped.
"""

from __future__ import annotations

import logging
import re
import warnings
from enum import Enum
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import ome_types
import pydantic
from ome_types import model as ome_model

from omeconv.errors import MetadataError, OmeconvWarning
from omeconv.units import length_symbol, time_symbol

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["parse_ome_xml"]

logger = logging.getLogger(__name__)

_OME_NS_2016 = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
_OLD_NAMESPACE = re.compile(
    r"http://www\.openmicroscopy\.org/Schemas/"
    r"(?:OME|SA|SPW|BIN|ROI|CA|STD|AML|MLI|DataHistory)/\d{4}-\d{2}s?",
    re.IGNORECASE,
)
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_MAX_REPAIRS = 20


def _validator_available() -> bool:
    return find_spec("lxml") is not None or find_spec("xmlschema") is not None


def _as_bytes(xml: str | bytes) -> bytes:
    if isinstance(xml, bytes):
        return xml
    text = xml.lstrip("\ufeff")
    # the text is re-encoded as UTF-8, so its declaration must say so
    return _XML_DECL_ENCODING.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")


def _local(tag: Any) -> str | None:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else None


def _fix_units(tree: Any) -> Any:
    """Transformation: rewrite common unit spellings in ``*Unit`` attributes to OME symbols."""
    for elem in tree.getroot().iter():
        if not isinstance(elem.tag, str):
            continue
        for key, val in list(elem.attrib.items()):
            if not key.endswith("Unit"):
                continue
            symbol = time_symbol(val) if "Time" in key or key == "DeltaTUnit" else None
            symbol = symbol or length_symbol(val)
            if symbol is not None and symbol != val:
                elem.set(key, symbol)
    return tree


def _drop_attributes(drops: set[tuple[str, str, str]]) -> Callable[[Any], Any]:
    """Transformation removing attributes ``(element, attribute, value)`` found invalid."""

    def transform(tree: Any) -> Any:
        for elem in tree.getroot().iter():
            tag = _local(elem.tag)
            for t, attr, val in drops:
                if t == tag and attr in elem.attrib and _same_value(elem.attrib[attr], val):
                    del elem.attrib[attr]
        return tree

    return transform


def _same_value(text: str, value: str) -> bool:
    if text.strip() == value:
        return True
    try:
        return float(text) == float(value)
    except ValueError:
        return False


def _repairable(exc: pydantic.ValidationError) -> set[tuple[str, str, str]] | None:
    """Attributes to drop to get past ``exc``, or None when that cannot help."""
    cls = getattr(ome_model, exc.title, None)
    fields = getattr(cls, "model_fields", None)
    if fields is None:
        return None
    drops: set[tuple[str, str, str]] = set()
    for err in exc.errors():
        if err["type"] == "missing" or not err["loc"]:
            return None
        info = fields.get(str(err["loc"][0]))
        extra = getattr(info, "json_schema_extra", None)
        if not isinstance(extra, dict) or extra.get("type") != "Attribute":
            return None
        value = err.get("input")
        if isinstance(value, Enum):
            value = value.value
        drops.add((exc.title, str(extra["name"]), str(value)))
    return drops


def _from_xml(data: bytes, transformations: Sequence[Callable[[Any], Any]]) -> ome_types.OME:
    from xsdata.formats.dataclass.parsers.config import ParserConfig

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ome = ome_types.from_xml(
            data,
            validate=False,
            parser_kwargs={"config": ParserConfig(fail_on_unknown_properties=False)},
            transformations=transformations,
        )
    for w in caught:
        logger.debug("ome-types: %s", w.message)
    return ome


def _lenient_parse(data: bytes, path: str | None) -> ome_types.OME:
    transforms: list[Callable[[Any], Any]] = [_fix_units]
    dropped: set[tuple[str, str, str]] = set()
    rewritten = False
    for _ in range(_MAX_REPAIRS):
        try:
            ome = _from_xml(data, transforms)
        except ImportError as exc:
            # an older schema that ome-types can only upgrade with lxml's XSLT
            if rewritten or not _OLD_NAMESPACE.search(data.decode("utf-8", "replace")):
                raise MetadataError(f"cannot read OME-XML: {exc}", path=path) from None
            text = data.decode("utf-8", "replace")
            data = _OLD_NAMESPACE.sub(_OME_NS_2016, text).encode("utf-8")
            rewritten = True
            warnings.warn(
                "OME-XML uses an outdated schema and lxml is not installed; read it as"
                " 2016-06 by renaming its namespace, some metadata may be lost",
                OmeconvWarning,
                stacklevel=3,
            )
            continue
        except pydantic.ValidationError as exc:
            drops = _repairable(exc)
            if not drops or drops <= dropped:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                hint = " (outdated schema; install lxml to upgrade it)" if rewritten else ""
                raise MetadataError(
                    f"invalid OME-XML: {exc.title}.{where}: {first['msg']}{hint}", path=path
                ) from None
            dropped |= drops
            transforms.append(_drop_attributes(drops))
            continue
        except SyntaxError as exc:  # ElementTree's or lxml's ParseError
            raise MetadataError(f"malformed XML: {exc}", path=path) from None
        except ValueError as exc:
            reason = "not an XML document" if "Could not parse" in str(exc) else _one_line(exc)
            raise MetadataError(f"not OME-XML: {reason}", path=path) from None
        for tag, attr, val in sorted(dropped):
            warnings.warn(
                f"dropped invalid OME-XML attribute {tag}/@{attr}={val!r}",
                OmeconvWarning,
                stacklevel=3,
            )
        return ome
    raise MetadataError("invalid OME-XML: too many invalid attributes", path=path)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def parse_ome_xml(xml: str | bytes, *, path: str | None = None) -> ome_types.OME:
    """Parse an OME-XML document, tolerating what real microscopes write.

    Validation against the OME schema is tried first when ``lxml`` or ``xmlschema`` is
    installed; on failure the document is parsed without validation, unknown elements are
    skipped, unit spellings such as ``"um"`` or ``"micron"`` are fixed and attributes with
    invalid values are dropped (each with an ``OmeconvWarning``).

    Parameters
    ----------
    xml
        The document text (or its bytes).
    path
        The file it came from, for error messages.

    Raises
    ------
    MetadataError
        The text is not XML, not OME-XML, or lacks required OME elements or attributes.
    """
    data = _as_bytes(xml)
    if _validator_available():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ome_types.from_xml(data, validate=True)
        except Exception as exc:  # noqa: BLE001 - any failure: read leniently
            logger.info("OME-XML is not schema-valid, reading it leniently: %s", _one_line(exc))
    return _lenient_parse(data, path)
