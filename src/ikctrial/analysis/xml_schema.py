"""Validation of ODM 1.3.2 and Define-XML 2.1 documents against the official CDISC XSDs.

The schemas are not copied into ikctrial: they ship with the ``odmlib`` package (MIT licence),
found through ``importlib.resources`` and compiled once per process.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from lxml import etree

SchemaName = Literal["odm-1.3.2", "define-2.1"]
_LOCATIONS: dict[SchemaName, tuple[str, ...]] = {
    "odm-1.3.2": ("odm", "1.3.2", "ODM1-3-2.xsd"),
    "define-2.1": ("define", "2.1", "define2-1-0.xsd"),
}


@cache
def schema(name: SchemaName) -> etree.XMLSchema:
    """The compiled XSD (ODM 1.3.2 or Define-XML 2.1, which extends ODM 1.3.2)."""
    location = resources.files("odmlib.schemas").joinpath(*_LOCATIONS[name])
    with resources.as_file(location) as path:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.XMLSchema(etree.parse(str(path), parser))


def schema_errors(document: bytes | etree._Element, name: SchemaName) -> list[str]:
    """Every XSD violation of a document as ``line N: message`` (empty when valid)."""
    tree = (
        etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
        if isinstance(document, bytes)
        else document
    )
    validator = schema(name)
    if validator.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in validator.error_log]
