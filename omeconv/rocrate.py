"""RO-Crate metadata (``ro-crate-metadata.json``) at the root of a store, as the 2024 OME-NGFF
challenge wrote it.

The challenge's ``resave --rocrate-*`` options describe a dataset by its licence, name,
description, organism (an NCBI taxon such as ``NCBI:txid9606``) and imaging modality (an FBbi
term such as ``obo:FBbi_00000369``). Its crate is an RO-Crate 1.1 JSON-LD document: the
metadata descriptor, the root ``Dataset`` (``./``), and for the organism a ``biosample``
(``organism_classification``) inside a ``specimen``, which an ``image_acquisition``
(``fbbi_id``) the dataset is the ``resultOf`` takes. Only what the user gives is written: no
default licence, no name taken from the image; a modality without an organism is an
acquisition without a specimen. Entities have fixed ``@id`` fragments, so the same options
always write the same bytes (a resumed run agrees with the run it finishes).

The document is small and fixed, so it is built here with typed code rather than the
``rocrate`` package (whose dependencies, requests, jinja2, arcp, are not omeconv's).
The crate rides in the collection as a file node (:class:`~omeconv.model.ExtraNode`), so
it is written through the same sink as the store (staged, resumed, packed into ``.ozx``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict

from omeconv.errors import UsageError
from omeconv.model import ExtraNode

if TYPE_CHECKING:
    import os

    from omeconv.model import Collection

__all__ = ["FILENAME", "RoCrate", "crate_document", "drop_staged_crate", "with_rocrate"]

#: The name of the RO-Crate metadata file at the root of the store.
FILENAME = "ro-crate-metadata.json"
_RO_CRATE = "https://w3id.org/ro/crate/1.1"
#: The terms the challenge's crates add to the RO-Crate context, those this module writes.
_TERMS = {
    "organism_classification": "https://schema.org/taxonomicRange",
    "obo": "http://purl.obolibrary.org/obo/",
    "biosample": "http://purl.obolibrary.org/obo/OBI_0002648",
    "specimen": "http://purl.obolibrary.org/obo/HSO_0000308",
}
_BIOSAMPLE, _SPECIMEN, _ACQUISITION = "#biosample", "#specimen", "#image-acquisition"
#: The identifiers the crate links to: ``(field, CURIE pattern, example)``; an http(s) IRI
#: is taken for either too.
_IDENTIFIERS = (
    ("organism", re.compile(r"NCBI:txid[0-9]+"), "NCBI:txid9606"),
    ("modality", re.compile(r"obo:FBbi_[0-9]+"), "obo:FBbi_00000369"),
)
_IRI = re.compile(r"https?://\S+")


#: A JSON-LD reference to another entity.
Ref = TypedDict("Ref", {"@id": str})
Entity = dict[str, Any]


@dataclass(frozen=True)
class RoCrate:
    """What the RO-Crate says about the dataset; ``None`` leaves a field out.

    Attributes
    ----------
    license
        URL of the data licence (``https://creativecommons.org/licenses/by/4.0/``).
    name, description
        A short name and a longer description of the dataset.
    organism
        NCBI taxon of the specimen, ``NCBI:txid<number>`` (or an http(s) IRI).
    modality
        FBbi term of the imaging method, ``obo:FBbi_<number>`` (or an http(s) IRI).

    Raises :class:`~omeconv.errors.UsageError` for an organism or modality that is neither.
    """

    license: str | None = None
    name: str | None = None
    description: str | None = None
    organism: str | None = None
    modality: str | None = None

    def __post_init__(self) -> None:
        for field, pattern, example in _IDENTIFIERS:
            value = getattr(self, field)
            if value is not None and not (pattern.fullmatch(value) or _IRI.fullmatch(value)):
                raise UsageError(
                    f"--rocrate-{field} {value!r}: give an identifier such as {example}"
                    " (or an http(s) IRI)"
                )


def crate_document(crate: RoCrate) -> dict[str, Any]:
    """The ``ro-crate-metadata.json`` document describing the store's root as ``crate`` says."""
    root: Entity = {"@id": "./", "@type": "Dataset"}
    for key in ("name", "description", "license"):
        value = getattr(crate, key)
        if value is not None:
            root[key] = value
    graph: list[Entity] = [
        {
            "@id": FILENAME,
            "@type": "CreativeWork",
            "conformsTo": _ref(_RO_CRATE),
            "about": _ref("./"),
        },
        root,
    ]
    acquisition: Entity = {"@id": _ACQUISITION, "@type": "image_acquisition"}
    if crate.organism is not None:
        graph.append(
            {
                "@id": _BIOSAMPLE,
                "@type": "biosample",
                "organism_classification": _ref(crate.organism),
            }
        )
        graph.append({"@id": _SPECIMEN, "@type": "specimen", "biosample": _ref(_BIOSAMPLE)})
    if crate.modality is not None:
        acquisition["fbbi_id"] = _ref(crate.modality)
    if crate.organism is not None:
        acquisition["specimen"] = _ref(_SPECIMEN)
    if crate.organism is not None or crate.modality is not None:
        graph.append(acquisition)
        root["resultOf"] = _ref(_ACQUISITION)
    return {"@context": [f"{_RO_CRATE}/context", dict(_TERMS)], "@graph": graph}


def with_rocrate(collection: Collection, crate: RoCrate | None) -> Collection:
    """``collection`` with ``crate`` as its ``ro-crate-metadata.json`` (in place of the
    source's, if it has one); unchanged when ``crate`` is None."""
    if crate is None:
        return collection
    text = json.dumps(crate_document(crate), indent=2, ensure_ascii=False) + "\n"
    data = text.encode("utf-8")
    node = ExtraNode(FILENAME, "file", source=lambda: data)
    kept = tuple(n for n in collection.extra_nodes if n.path != FILENAME)
    return replace(collection, extra_nodes=(*kept, node))


def drop_staged_crate(collection: Collection, dest: str | os.PathLike[str]) -> None:
    """Before resuming the output ``dest``: remove the crate the interrupted run staged when
    ``collection`` has none, so the finished store holds the crate of the run that finished
    it or none (the crate is written near the end, after the pixels, like all metadata)."""
    from omeconv.stores import staging_path

    staging = staging_path(dest)
    if staging is not None and not any(n.path == FILENAME for n in collection.extra_nodes):
        (staging / FILENAME).unlink(missing_ok=True)


def _ref(identifier: str) -> Ref:
    return {"@id": identifier}
