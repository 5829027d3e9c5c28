"""Define-XML 2.1 from the ADaM metadata (domain.md 10.4), validated against the official XSD."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from ikctrial.analysis.adam.metadata import ADAM_DATASETS, ADTTE, Dataset, Variable
from ikctrial.analysis.define_xml import DEF_NS, define_xml
from ikctrial.analysis.odm import ODM_NS, to_bytes
from ikctrial.analysis.xml_schema import schema_errors
from ikctrial.errors import InputError

NS = {"odm": ODM_NS, "def": DEF_NS, "xlink": "http://www.w3.org/1999/xlink"}
CREATED = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def build(datasets: list[Dataset]) -> etree._Element:
    return define_xml(
        datasets,
        study_name="IVY02",
        study_description="IKC + TACE vs TACE alone in HCC",
        protocol_name="NCT03592706",
        created=CREATED,
    )


@pytest.fixture(scope="module")
def document() -> etree._Element:
    return etree.fromstring(to_bytes(build(list(ADAM_DATASETS.values()))))


def test_valid_against_define_21_xsd(document: etree._Element) -> None:
    assert schema_errors(document, "define-2.1") == []
    assert document.tag == f"{{{ODM_NS}}}ODM"
    assert document.get("ODMVersion") == "1.3.2"
    mdv = document.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv.get(f"{{{DEF_NS}}}DefineVersion") == "2.1.0"


def test_schema_check_is_not_vacuous(document: etree._Element) -> None:
    """The XSD rejects an origin type outside Define-XML 2.1's enumeration."""
    broken = etree.fromstring(etree.tostring(document))
    broken.find(".//def:Origin", NS).set("Type", "Guessed")
    errors = schema_errors(broken, "define-2.1")
    assert errors
    assert "Guessed" in errors[0]


def test_one_item_group_per_dataset_with_leaf(document: etree._Element) -> None:
    groups = document.findall(".//odm:ItemGroupDef", NS)
    assert [g.get("Name") for g in groups] == list(ADAM_DATASETS)
    for group in groups:
        name = group.get("Name")
        leaf = group.find("def:leaf", NS)
        assert leaf.get(f"{{{NS['xlink']}}}href") == f"{name.lower()}.xpt"
        assert leaf.get("ID") == group.get(f"{{{DEF_NS}}}ArchiveLocationID")
        assert group.find("def:Class", NS).get("Name") == ADAM_DATASETS[name].adam_class
        # one record per subject: ADSL and the sponsor's ADTACE (domain.md 10.2)
        assert group.get("Repeating") == ("No" if name in {"ADSL", "ADTACE"} else "Yes")
        refs = [r.get("ItemOID") for r in group.findall("odm:ItemRef", NS)]
        assert refs == [f"IT.{name}.{v.name}" for v in ADAM_DATASETS[name].variables]


def test_one_item_def_per_variable(document: etree._Element) -> None:
    items = {i.get("OID"): i for i in document.findall(".//odm:ItemDef", NS)}
    expected = {f"IT.{d.name}.{v.name}" for d in ADAM_DATASETS.values() for v in d.variables}
    assert set(items) == expected
    adt = items["IT.ADTTE.ADT"]
    # ADaM numeric date: integer with a SAS date display format (domain.md 10.3)
    assert (adt.get("DataType"), adt.get(f"{{{DEF_NS}}}DisplayFormat")) == ("integer", "DATE9.")
    evntdesc = items["IT.ADTTE.EVNTDESC"]
    assert evntdesc.get("Length") == str(ADTTE.variable("EVNTDESC").length)
    assert (
        evntdesc.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
        == "Event or Censoring Description"
    )
    cnsr = items["IT.ADTTE.CNSR"]
    assert cnsr.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.CNSR"
    assert cnsr.find("def:Origin", NS).get("Type") == "Derived"


def test_methods_cite_domain_sections(document: etree._Element) -> None:
    """Each derivation is a MethodDef referenced by its ItemRef (domain.md 10.4)."""
    method = document.find(".//odm:MethodDef[@OID='MT.ADTTE.AVAL']", NS)
    text = method.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
    assert "ADT - STARTDT + 1" in text
    assert "7.1" in text
    ref = document.find(".//odm:ItemRef[@ItemOID='IT.ADTTE.AVAL']", NS)
    assert ref.get("MethodOID") == "MT.ADTTE.AVAL"
    methods = {m.get("OID") for m in document.findall(".//odm:MethodDef", NS)}
    referenced = {r.get("MethodOID") for r in document.findall(".//odm:ItemRef[@MethodOID]", NS)}
    assert methods == referenced


def test_codelists_typed_and_complete(document: etree._Element) -> None:
    cnsr = document.find(".//odm:CodeList[@OID='CL.CNSR']", NS)
    assert cnsr.get("DataType") == "integer"
    assert [i.get("CodedValue") for i in cnsr.findall("odm:CodeListItem", NS)] == ["0", "1"]
    used = {r.get("CodeListOID") for r in document.findall(".//odm:CodeListRef", NS)}
    defined = {c.get("OID") for c in document.findall(".//odm:CodeList", NS)}
    assert used == defined


def test_subset_of_datasets() -> None:
    root = build([ADTTE])
    assert schema_errors(root, "define-2.1") == []
    assert [g.get("Name") for g in root.findall(".//odm:ItemGroupDef", NS)] == ["ADTTE"]


def test_codelist_type_conflict_is_an_error() -> None:
    text_cnsr = Variable("CNSRC", "Censor (C)", "text", 1, "Perm", "Derived", codelist="CNSR")
    odd = Dataset(
        "ADX", "X", "BASIC DATA STRUCTURE", "x", ("STUDYID",), (*ADTTE.variables, text_cnsr)
    )
    with pytest.raises(InputError, match="CNSR is used by integer and text"):
        build([odd])


def test_no_datasets_is_an_error() -> None:
    with pytest.raises(InputError):
        build([])
