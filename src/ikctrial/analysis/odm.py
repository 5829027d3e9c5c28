"""CDISC ODM 1.3.2: study metadata from the protocol, streamed clinical data, metadata import.

domain.md 10.5. Three parts:

* ``study_metadata(protocol)`` builds the ``Study`` (GlobalVariables, MetaDataVersion with the
  protocol's study events, the screening/eligibility form, its item groups, items and codelists).
* ``write_clinical_data(subjects, out)`` writes ``ClinicalData`` for an iterator of subject records
  with their audit records, one subject at a time through ``lxml.etree.xmlfile``, so memory stays
  bounded whatever the number of subjects.
* ``read_metadata(document)`` imports another system's ``MetaDataVersion`` into plain dataclasses,
  with an ``InputError`` naming the element path for anything missing or dangling.

Documents validate against the ODM 1.3.2 XSD (``ikctrial.analysis.xml_schema``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, get_args

from lxml import etree

from ikctrial.analysis.files import replaced_atomically
from ikctrial.analysis.sdtm.trial_design import ie_test_code, trial_visits
from ikctrial.clinical.bclc import BclcStage
from ikctrial.clinical.child_pugh import ChildPughClass
from ikctrial.errors import InputError
from ikctrial.protocol.model import Protocol

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ODM_VERSION = "1.3.2"
_O = f"{{{ODM_NS}}}"

TransactionType = Literal["Insert", "Update", "Remove", "Upsert", "Context"]
_OID = re.compile(r"\S+")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)

ELIGIBILITY_FORM = "F.ELIGIBILITY"
_EVERY_SUBJECT = {"SE.SCREENING", "SE.RANDOMIZATION"}
RESULT_CODELIST = "CL.IE_RESULT"


def _el(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    """Append an ODM element with attributes and optional text."""
    element = etree.SubElement(parent, _O + tag, attributes)
    if text is not None:
        element.text = text
    return element


def _translated(parent: etree._Element, tag: str, text: str) -> None:
    holder = _el(parent, tag)
    _el(holder, "TranslatedText", text).set(f"{{{XML_NS}}}lang", "en")


def odm_root(
    *,
    file_oid: str,
    file_type: str,
    created: dt.datetime,
    prefixes: dict[str, str] | None = None,
) -> etree._Element:
    """An empty ``ODM`` root element with the attributes ODM 1.3.2 requires.

    ``prefixes`` declares extension namespaces (Define-XML's ``def`` and ``xlink``) on the root.
    """
    nsmap: dict[str | None, str] = {None: ODM_NS}
    nsmap.update(prefixes or {})
    return etree.Element(_O + "ODM", _root_attributes(file_oid, file_type, created), nsmap=nsmap)


def _root_attributes(file_oid: str, file_type: str, created: dt.datetime) -> dict[str, str]:
    return {
        "FileOID": _oid(file_oid, "file_oid"),
        "FileType": file_type,
        "CreationDateTime": _timestamp(created, "created"),
        "ODMVersion": ODM_VERSION,
        "Originator": "ikctrial",
    }


def _oid(value: str, field_name: str) -> str:
    if not _OID.fullmatch(value):
        raise InputError(field_name, f"{value!r} is not an OID (non-empty, no blanks)")
    return value


def _timestamp(moment: dt.datetime, field_name: str) -> str:
    """ISO 8601 with its UTC offset: an audit trail without a time zone is ambiguous."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field_name, f"{moment.isoformat()} has no time zone")
    return moment.isoformat()


# --- metadata export -------------------------------------------------------------------------


@dataclass(frozen=True)
class _ItemSpec:
    oid: str
    name: str
    data_type: str
    question: str
    codelist: str | None = None
    length: int | None = None
    ranges: tuple[tuple[str, int], ...] = ()
    """Hard range checks as (ODM comparator, value), e.g. ("GE", 0)."""


def _codelists(protocol: Protocol) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """CodeList OID -> (name, [(coded value, decode)]) for the eligibility form."""
    eligibility = protocol.eligibility
    return {
        RESULT_CODELIST: (
            "Criterion result",
            [("pass", "Criterion passed"), ("fail", "Criterion failed"), ("unknown", "Unknown")],
        ),
        "CL.HCC_METHOD": (
            "HCC diagnostic method",
            [(m, m) for m in eligibility.hcc_diagnosis.accepted_methods],
        ),
        "CL.BCLC": ("BCLC stage", [(s, f"BCLC stage {s}") for s in get_args(BclcStage)]),
        "CL.CHILD_PUGH": (
            "Child-Pugh class",
            [(c, f"Child-Pugh class {c}") for c in get_args(ChildPughClass)],
        ),
        "CL.SEX": ("Sex", [("M", "Male"), ("F", "Female")]),
        "CL.NY": ("No/Yes", [("N", "No"), ("Y", "Yes")]),
    }


def _screening_items(protocol: Protocol) -> list[_ItemSpec]:
    methods = protocol.eligibility.hcc_diagnosis.accepted_methods
    return [
        _ItemSpec("IT.SCREENDT", "SCREENDT", "date", "Screening date"),
        _ItemSpec("IT.CONSDT", "CONSDT", "date", "Date informed consent signed"),
        _ItemSpec("IT.BRTHDT", "BRTHDT", "date", "Date of birth"),
        _ItemSpec("IT.SEX", "SEX", "text", "Sex", "CL.SEX", 1),
        _ItemSpec(
            "IT.HCCMETH",
            "HCCMETH",
            "text",
            "HCC diagnosed by",
            "CL.HCC_METHOD",
            max(map(len, methods)),
        ),
        _ItemSpec("IT.BCLC", "BCLC", "text", "BCLC stage", "CL.BCLC", 1),
        _ItemSpec("IT.CPCLASS", "CPCLASS", "text", "Child-Pugh class", "CL.CHILD_PUGH", 1),
        _ItemSpec(
            "IT.ECOG", "ECOG", "integer", "ECOG performance status", None, 1, (("GE", 0), ("LE", 5))
        ),
        _ItemSpec("IT.PRTACE", "PRTACE", "text", "Any previous TACE?", "CL.NY", 1),
    ]


def _criterion_items(protocol: Protocol) -> list[_ItemSpec]:
    return [
        _ItemSpec(
            f"IT.{ie_test_code(c.id)}",
            ie_test_code(c.id),
            "text",
            " ".join(c.text.split()),
            RESULT_CODELIST,
            7,
        )
        for c in protocol.eligibility.criteria
    ]


def _add_item_def(mdv: etree._Element, item: _ItemSpec) -> None:
    attributes = {"OID": item.oid, "Name": item.name, "DataType": item.data_type}
    if item.length is not None:
        attributes["Length"] = str(item.length)
    attributes["SASFieldName"] = item.name
    element = _el(mdv, "ItemDef", **attributes)
    _translated(element, "Question", item.question)
    for comparator, value in item.ranges:
        check = _el(element, "RangeCheck", Comparator=comparator, SoftHard="Hard")
        _el(check, "CheckValue", str(value))
    if item.codelist is not None:
        _el(element, "CodeListRef", CodeListOID=item.codelist)


def study_metadata(protocol: Protocol, *, created: dt.datetime) -> etree._Element:
    """An ODM 1.3.2 Snapshot document holding the study metadata derived from the protocol."""
    study_id = protocol.sponsor_study_id
    root = odm_root(file_oid=f"ODM.{study_id}.METADATA", file_type="Snapshot", created=created)
    study = _el(root, "Study", OID=f"ST.{study_id}")
    globals_ = _el(study, "GlobalVariables")
    _el(globals_, "StudyName", study_id)
    _el(globals_, "StudyDescription", protocol.title)
    _el(globals_, "ProtocolName", f"{protocol.nct_id} version {protocol.version}")
    mdv = _el(
        study, "MetaDataVersion", OID=f"MDV.{protocol.version}", Name=f"Protocol {protocol.version}"
    )

    visits = trial_visits(protocol).drop_duplicates("VISITNUM")
    event_oids = [f"SE.{str(v).replace(' ', '_')}" for v in visits["VISIT"]]
    protocol_el = _el(mdv, "Protocol")
    for order, oid in enumerate(event_oids, start=1):
        _el(
            protocol_el,
            "StudyEventRef",
            StudyEventOID=oid,
            OrderNumber=str(order),
            Mandatory="Yes" if oid in _EVERY_SUBJECT else "No",
        )
    for oid, (_, visit) in zip(event_oids, visits.iterrows(), strict=True):
        event = _el(
            mdv,
            "StudyEventDef",
            OID=oid,
            Name=str(visit["VISIT"]),
            Repeating="No",
            Type="Scheduled",
        )
        _translated(event, "Description", str(visit["TVSTRL"]))
        if oid == "SE.SCREENING":
            _el(event, "FormRef", FormOID=ELIGIBILITY_FORM, OrderNumber="1", Mandatory="Yes")

    form = _el(
        mdv, "FormDef", OID=ELIGIBILITY_FORM, Name="Screening and eligibility", Repeating="No"
    )
    _el(form, "ItemGroupRef", ItemGroupOID="IG.SCREENING", OrderNumber="1", Mandatory="Yes")
    _el(form, "ItemGroupRef", ItemGroupOID="IG.IE", OrderNumber="2", Mandatory="Yes")
    groups = {
        "IG.SCREENING": ("Screening data", None, _screening_items(protocol)),
        "IG.IE": ("Inclusion and exclusion criteria", "IE", _criterion_items(protocol)),
    }
    for oid, (name, domain, items) in groups.items():
        attributes = {"OID": oid, "Name": name, "Repeating": "No"}
        if domain is not None:
            attributes["Domain"] = domain
        group = _el(mdv, "ItemGroupDef", **attributes)
        for order, item in enumerate(items, start=1):
            _el(group, "ItemRef", ItemOID=item.oid, OrderNumber=str(order), Mandatory="Yes")
    for _, _, items in groups.values():
        for item in items:
            _add_item_def(mdv, item)
    for oid, (name, entries) in _codelists(protocol).items():
        codelist = _el(mdv, "CodeList", OID=oid, Name=name, DataType="text")
        for coded, decode in entries:
            entry = _el(codelist, "CodeListItem", CodedValue=coded)
            _translated(entry, "Decode", decode)
    return root


def to_bytes(root: etree._Element) -> bytes:
    """An element as an indented UTF-8 XML document with declaration."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@dataclass(frozen=True)
class FormDefinition:
    """A case report form as ODM metadata: one repeating item group of typed items."""

    oid: str
    name: str
    items: Sequence[tuple[str, str, str]]
    """(ItemOID, Name, ODM DataType) of each item, in order."""

    @property
    def item_group_oid(self) -> str:
        """The OID of the form's item group (``F.X`` -> ``IG.X``)."""
        return "IG." + self.oid.removeprefix("F.")


def add_forms(
    root: etree._Element, *, event_oid: str, event_name: str, forms: Sequence[FormDefinition]
) -> etree._Element:
    """Add a repeating study event holding ``forms`` to a ``study_metadata`` document, each
    definition placed after the last one of its kind (the ODM 1.3.2 element order)."""
    mdv = root.find(f"{_O}Study/{_O}MetaDataVersion")
    if mdv is None:
        raise InputError("ODM.Study.MetaDataVersion", "not a study metadata document")
    protocol_el = mdv.find(_O + "Protocol")
    assert protocol_el is not None
    order = len(protocol_el) + 1
    _el(
        protocol_el,
        "StudyEventRef",
        StudyEventOID=_oid(event_oid, "event_oid"),
        OrderNumber=str(order),
        Mandatory="No",
    )
    event = etree.Element(
        _O + "StudyEventDef", OID=event_oid, Name=event_name, Repeating="Yes", Type="Common"
    )
    for number, form in enumerate(forms, start=1):
        _el(
            event,
            "FormRef",
            FormOID=_oid(form.oid, f"forms[{number - 1}].oid"),
            OrderNumber=str(number),
            Mandatory="No",
        )
    definitions: dict[str, list[etree._Element]] = {
        "StudyEventDef": [event],
        "FormDef": [],
        "ItemGroupDef": [],
        "ItemDef": [],
    }
    for form in forms:
        form_el = etree.Element(_O + "FormDef", OID=form.oid, Name=form.name, Repeating="Yes")
        _el(
            form_el,
            "ItemGroupRef",
            ItemGroupOID=form.item_group_oid,
            OrderNumber="1",
            Mandatory="Yes",
        )
        group = etree.Element(
            _O + "ItemGroupDef", OID=form.item_group_oid, Name=form.name, Repeating="Yes"
        )
        for number, (item_oid, name, data_type) in enumerate(form.items, start=1):
            _el(
                group,
                "ItemRef",
                ItemOID=_oid(item_oid, f"{form.oid}.items[{number - 1}]"),
                OrderNumber=str(number),
                Mandatory="No",
            )
            definitions["ItemDef"].append(
                etree.Element(_O + "ItemDef", OID=item_oid, Name=name, DataType=data_type)
            )
        definitions["FormDef"].append(form_el)
        definitions["ItemGroupDef"].append(group)
    for tag, elements in definitions.items():
        last = mdv.findall(_O + tag)[-1]
        for element in elements:
            last.addnext(element)
            last = element
    return root


# --- clinical data (streamed) ----------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """Who changed a value, where, when and why (domain.md 9.2 and 10.5)."""

    user_oid: str
    location_oid: str
    timestamp: dt.datetime
    reason: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class ItemValue:
    """One item value; ``None`` is written as ``IsNull="Yes"`` (a value removed or not known)."""

    item_oid: str
    value: str | None
    audit: AuditRecord | None = None
    transaction_type: TransactionType | None = None


@dataclass(frozen=True)
class ItemGroupRecord:
    item_group_oid: str
    items: Sequence[ItemValue]
    repeat_key: str | None = None


@dataclass(frozen=True)
class FormRecord:
    form_oid: str
    item_groups: Sequence[ItemGroupRecord]
    repeat_key: str | None = None


@dataclass(frozen=True)
class StudyEventRecord:
    study_event_oid: str
    forms: Sequence[FormRecord]
    repeat_key: str | None = None


@dataclass(frozen=True)
class SubjectRecord:
    """Everything recorded for one subject; the writer handles one at a time."""

    subject_key: str
    events: Sequence[StudyEventRecord]
    transaction_type: TransactionType | None = None


def _audit(parent: etree._Element, audit: AuditRecord, where: str) -> None:
    record = _el(parent, "AuditRecord")
    _el(record, "UserRef", UserOID=_oid(audit.user_oid, f"{where}.audit.user_oid"))
    _el(record, "LocationRef", LocationOID=_oid(audit.location_oid, f"{where}.audit.location_oid"))
    _el(record, "DateTimeStamp", _timestamp(audit.timestamp, f"{where}.audit.timestamp"))
    if audit.reason is not None:
        _el(record, "ReasonForChange", audit.reason)
    if audit.source_id is not None:
        _el(record, "SourceID", audit.source_id)


def _with_key(attributes: dict[str, str], key: str | None, name: str) -> dict[str, str]:
    if key is not None:
        attributes[name] = key
    return attributes


def subject_element(subject: SubjectRecord, index: int = 0) -> etree._Element:
    """The ``SubjectData`` element of one subject record (checked; errors name the path)."""
    where = f"subjects[{index}]"
    if not subject.subject_key.strip():
        raise InputError(f"{where}.subject_key", "empty")
    attributes = {"SubjectKey": subject.subject_key}
    if subject.transaction_type is not None:
        attributes["TransactionType"] = subject.transaction_type
    element = etree.Element(_O + "SubjectData", attributes, nsmap={None: ODM_NS})
    for e, event in enumerate(subject.events):
        event_where = f"{where}.events[{e}]"
        event_el = _el(
            element,
            "StudyEventData",
            **_with_key(
                {"StudyEventOID": _oid(event.study_event_oid, event_where)},
                event.repeat_key,
                "StudyEventRepeatKey",
            ),
        )
        for f, form in enumerate(event.forms):
            form_where = f"{event_where}.forms[{f}]"
            form_el = _el(
                event_el,
                "FormData",
                **_with_key(
                    {"FormOID": _oid(form.form_oid, form_where)}, form.repeat_key, "FormRepeatKey"
                ),
            )
            for g, group in enumerate(form.item_groups):
                group_where = f"{form_where}.item_groups[{g}]"
                group_el = _el(
                    form_el,
                    "ItemGroupData",
                    **_with_key(
                        {"ItemGroupOID": _oid(group.item_group_oid, group_where)},
                        group.repeat_key,
                        "ItemGroupRepeatKey",
                    ),
                )
                for i, item in enumerate(group.items):
                    _item(group_el, item, f"{group_where}.items[{i}]")
    return element


def _item(parent: etree._Element, item: ItemValue, where: str) -> None:
    attributes = {"ItemOID": _oid(item.item_oid, f"{where}.item_oid")}
    if item.transaction_type is not None:
        attributes["TransactionType"] = item.transaction_type
    if item.value is None:
        attributes["IsNull"] = "Yes"
    else:
        attributes["Value"] = item.value
    element = _el(parent, "ItemData", **attributes)
    if item.audit is not None:
        _audit(element, item.audit, where)


def write_clinical_data(
    subjects: Iterable[SubjectRecord],
    out: str | Path | IO[bytes],
    *,
    study_oid: str,
    metadata_version_oid: str,
    created: dt.datetime,
    file_oid: str | None = None,
) -> int:
    """Stream a Transactional ODM file of the subjects' clinical data; returns the subject count.

    Each subject is built, written and dropped before the next is read from ``subjects``, so a
    generator of any length is written in bounded memory. A path is written all or nothing; a
    stream receives the bytes as they are produced.
    """
    attributes = _root_attributes(file_oid or f"ODM.{study_oid}.DATA", "Transactional", created)
    clinical = {
        "StudyOID": _oid(study_oid, "study_oid"),
        "MetaDataVersionOID": _oid(metadata_version_oid, "metadata_version_oid"),
    }
    if not isinstance(out, (str, Path)):
        return _stream_subjects(subjects, out, attributes, clinical)
    with replaced_atomically(out) as temporary:
        return _stream_subjects(subjects, str(temporary), attributes, clinical)


def _stream_subjects(
    subjects: Iterable[SubjectRecord],
    out: str | IO[bytes],
    attributes: dict[str, str],
    clinical: dict[str, str],
) -> int:
    count = 0
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with (
            xf.element(_O + "ODM", attributes, nsmap={None: ODM_NS}),
            xf.element(_O + "ClinicalData", clinical),
        ):
            for subject in subjects:
                xf.write(subject_element(subject, count))
                count += 1
                if count % 1000 == 0:
                    xf.flush()
    return count


# --- metadata import -------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeListItem:
    coded_value: str
    decode: str | None


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    data_type: str
    items: tuple[CodeListItem, ...]


@dataclass(frozen=True)
class Item:
    oid: str
    name: str
    data_type: str
    length: int | None
    question: str | None
    codelist_oid: str | None


@dataclass(frozen=True)
class Ref:
    """A reference from a parent definition to a child (ItemRef, ItemGroupRef, FormRef...)."""

    oid: str
    mandatory: bool
    order: int | None


@dataclass(frozen=True)
class ItemGroup:
    oid: str
    name: str
    repeating: bool
    domain: str | None
    items: tuple[Ref, ...]


@dataclass(frozen=True)
class Form:
    oid: str
    name: str
    repeating: bool
    item_groups: tuple[Ref, ...]


@dataclass(frozen=True)
class StudyEvent:
    oid: str
    name: str
    repeating: bool
    type: str
    forms: tuple[Ref, ...]


@dataclass(frozen=True)
class OdmMetadata:
    """One imported MetaDataVersion with the Study it belongs to."""

    study_oid: str
    study_name: str | None
    metadata_version_oid: str
    name: str
    events: tuple[StudyEvent, ...]
    forms: tuple[Form, ...]
    item_groups: tuple[ItemGroup, ...]
    items: tuple[Item, ...]
    codelists: tuple[CodeList, ...] = field(default=())

    def item(self, oid: str) -> Item:
        """An item definition by OID (KeyError if absent)."""
        for item in self.items:
            if item.oid == oid:
                return item
        raise KeyError(oid)


def _path_of(element: etree._Element) -> str:
    """``Study[0].MetaDataVersion[0].ItemDef[3]``: where an element is, for error messages."""
    parts: list[str] = []
    current: etree._Element | None = element
    while current is not None and current.getparent() is not None:
        parent = current.getparent()
        assert parent is not None
        siblings = [c for c in parent if c.tag == current.tag]
        parts.append(f"{etree.QName(current).localname}[{siblings.index(current)}]")
        current = parent
    return ".".join(reversed(parts))


def _attr(element: etree._Element, name: str) -> str:
    value: str | None = element.get(name)
    if value is None or not value.strip():
        raise InputError(f"{_path_of(element)}.{name}", "required attribute is missing")
    return value


def _yes(element: etree._Element, name: str, default: bool = False) -> bool:
    value: str | None = element.get(name)
    if value is None:
        return default
    if value not in {"Yes", "No"}:
        raise InputError(f"{_path_of(element)}.{name}", f"{value!r} is not Yes or No")
    return value == "Yes"


def _children(element: etree._Element, tag: str) -> Iterator[etree._Element]:
    return iter(element.iterfind(_O + tag))


def _text_of(element: etree._Element, tag: str) -> str | None:
    found = element.find(f"{_O}{tag}/{_O}TranslatedText")
    return found.text if found is not None else None


def _refs(element: etree._Element, tag: str, oid_attribute: str) -> tuple[Ref, ...]:
    refs = []
    for ref in _children(element, tag):
        order = ref.get("OrderNumber")
        if order is not None and not order.isdigit():
            raise InputError(f"{_path_of(ref)}.OrderNumber", f"{order!r} is not a whole number")
        refs.append(
            Ref(_attr(ref, oid_attribute), _yes(ref, "Mandatory"), int(order) if order else None)
        )
    return tuple(refs)


def _parse(document: bytes | str | Path) -> etree._Element:
    try:
        if isinstance(document, bytes):
            return etree.fromstring(document, _SAFE_PARSER)
        return etree.parse(str(document), _SAFE_PARSER).getroot()
    except OSError as exc:
        raise InputError("", f"cannot read file ({exc})") from None
    except etree.XMLSyntaxError as exc:
        raise InputError("", f"not well-formed XML ({exc})") from None


def read_metadata(
    document: bytes | str | Path, *, metadata_version_oid: str | None = None
) -> OdmMetadata:
    """Import the MetaDataVersion (the first, or the one named) of an ODM 1.3.x document."""
    root = _parse(document)
    if root.tag != _O + "ODM":
        raise InputError("ODM", f"root element is {root.tag!r}, not ODM in namespace {ODM_NS}")
    study = root.find(_O + "Study")
    if study is None:
        raise InputError("ODM.Study", "no Study element (not a metadata document)")
    versions = list(_children(study, "MetaDataVersion"))
    chosen = [v for v in versions if metadata_version_oid in (None, v.get("OID"))]
    if not chosen:
        wanted = f" with OID {metadata_version_oid!r}" if metadata_version_oid else ""
        raise InputError("Study[0].MetaDataVersion", f"no MetaDataVersion{wanted}")
    mdv = chosen[0]
    codelists = tuple(
        CodeList(
            _attr(c, "OID"),
            _attr(c, "Name"),
            _attr(c, "DataType"),
            tuple(
                CodeListItem(_attr(i, "CodedValue"), _text_of(i, "Decode"))
                for i in (*_children(c, "CodeListItem"), *_children(c, "EnumeratedItem"))
            ),
        )
        for c in _children(mdv, "CodeList")
    )
    items = tuple(_item_def(i) for i in _children(mdv, "ItemDef"))
    groups = tuple(
        ItemGroup(
            _attr(g, "OID"),
            _attr(g, "Name"),
            _yes(g, "Repeating"),
            g.get("Domain"),
            _refs(g, "ItemRef", "ItemOID"),
        )
        for g in _children(mdv, "ItemGroupDef")
    )
    forms = tuple(
        Form(
            _attr(f, "OID"),
            _attr(f, "Name"),
            _yes(f, "Repeating"),
            _refs(f, "ItemGroupRef", "ItemGroupOID"),
        )
        for f in _children(mdv, "FormDef")
    )
    events = tuple(
        StudyEvent(
            _attr(e, "OID"),
            _attr(e, "Name"),
            _yes(e, "Repeating"),
            _attr(e, "Type"),
            _refs(e, "FormRef", "FormOID"),
        )
        for e in _children(mdv, "StudyEventDef")
    )
    metadata = OdmMetadata(
        study_oid=_attr(study, "OID"),
        study_name=study.findtext(f"{_O}GlobalVariables/{_O}StudyName"),
        metadata_version_oid=_attr(mdv, "OID"),
        name=_attr(mdv, "Name"),
        events=events,
        forms=forms,
        item_groups=groups,
        items=items,
        codelists=codelists,
    )
    _check_references(metadata)
    return metadata


def _item_def(element: etree._Element) -> Item:
    length = element.get("Length")
    if length is not None and not length.isdigit():
        raise InputError(f"{_path_of(element)}.Length", f"{length!r} is not a whole number")
    codelist = element.find(_O + "CodeListRef")
    return Item(
        oid=_attr(element, "OID"),
        name=_attr(element, "Name"),
        data_type=_attr(element, "DataType"),
        length=int(length) if length else None,
        question=_text_of(element, "Question"),
        codelist_oid=_attr(codelist, "CodeListOID") if codelist is not None else None,
    )


def _check_references(metadata: OdmMetadata) -> None:
    """Every reference points at a definition of the same MetaDataVersion."""
    defined = {
        "FormOID": {f.oid for f in metadata.forms},
        "ItemGroupOID": {g.oid for g in metadata.item_groups},
        "ItemOID": {i.oid for i in metadata.items},
        "CodeListOID": {c.oid for c in metadata.codelists},
    }
    links: list[tuple[str, str, Iterable[str]]] = [
        *(
            (f"StudyEventDef[{e.oid}]", "FormOID", (r.oid for r in e.forms))
            for e in metadata.events
        ),
        *(
            (f"FormDef[{f.oid}]", "ItemGroupOID", (r.oid for r in f.item_groups))
            for f in metadata.forms
        ),
        *(
            (f"ItemGroupDef[{g.oid}]", "ItemOID", (r.oid for r in g.items))
            for g in metadata.item_groups
        ),
        *(
            (f"ItemDef[{i.oid}]", "CodeListOID", [i.codelist_oid] if i.codelist_oid else [])
            for i in metadata.items
        ),
    ]
    for owner, kind, oids in links:
        for oid in oids:
            if oid not in defined[kind]:
                raise InputError(
                    f"{owner}.{kind}", f"{oid!r} is not defined in the MetaDataVersion"
                )
