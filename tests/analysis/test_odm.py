"""CDISC ODM 1.3.2 export, streamed clinical data and metadata import (domain.md 10.5).

Every exported document is validated against the official ODM 1.3.2 XSD (shipped by odmlib).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from ikctrial.analysis.odm import (
    ODM_NS,
    AuditRecord,
    FormRecord,
    ItemGroupRecord,
    ItemValue,
    StudyEventRecord,
    SubjectRecord,
    read_metadata,
    study_metadata,
    to_bytes,
    write_clinical_data,
)
from ikctrial.analysis.sdtm.trial_design import trial_visits
from ikctrial.analysis.xml_schema import schema_errors
from ikctrial.errors import InputError
from ikctrial.protocol import load_protocol
from ikctrial.protocol.model import Protocol

UTC = dt.UTC
CREATED = dt.datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
NS = {"odm": ODM_NS}


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


@pytest.fixture(scope="module")
def metadata_bytes(protocol: Protocol) -> bytes:
    return to_bytes(study_metadata(protocol, created=CREATED))


def test_metadata_is_valid_odm_132(metadata_bytes: bytes) -> None:
    assert schema_errors(metadata_bytes, "odm-1.3.2") == []


def test_schema_check_is_not_vacuous(metadata_bytes: bytes) -> None:
    """The XSD check rejects a broken document (a required attribute removed)."""
    root = etree.fromstring(metadata_bytes)
    root.find("odm:Study/odm:MetaDataVersion/odm:ItemDef", NS).attrib.pop("DataType")
    errors = schema_errors(root, "odm-1.3.2")
    assert errors
    assert "DataType" in errors[0]


def test_metadata_content_from_protocol(protocol: Protocol, metadata_bytes: bytes) -> None:
    """Events from the schedule, the twelve criteria as items, codelists from the protocol."""
    imported = read_metadata(metadata_bytes)
    assert imported.study_oid == "ST.IVY02"
    assert imported.study_name == "IVY02"
    assert imported.metadata_version_oid == "MDV.1.0"
    visits = trial_visits(protocol).drop_duplicates("VISITNUM")["VISIT"].tolist()
    assert [e.name for e in imported.events] == visits
    screening = imported.events[0]
    assert [r.oid for r in screening.forms] == ["F.ELIGIBILITY"]
    ie = next(g for g in imported.item_groups if g.oid == "IG.IE")
    assert [r.oid for r in ie.items] == [
        f"IT.{c}" for c in ["IN01", "IN02", "IN03", "IN04", "IN05", "IN06", "IN07"]
    ] + [f"IT.EX0{n}" for n in range(1, 6)]
    assert imported.item("IT.IN01").question == protocol.eligibility.criteria[0].text
    result = next(c for c in imported.codelists if c.oid == "CL.IE_RESULT")
    assert [i.coded_value for i in result.items] == ["pass", "fail", "unknown"]  # interfaces.md
    methods = next(c for c in imported.codelists if c.oid == "CL.HCC_METHOD")
    assert [i.coded_value for i in methods.items] == list(
        protocol.eligibility.hcc_diagnosis.accepted_methods
    )
    assert imported.item("IT.ECOG").data_type == "integer"
    ecog = etree.fromstring(metadata_bytes).find(".//odm:ItemDef[@OID='IT.ECOG']", NS)
    checks = [
        (c.get("Comparator"), c.findtext("odm:CheckValue", namespaces=NS))
        for c in ecog.findall("odm:RangeCheck", NS)
    ]
    assert checks == [("GE", "0"), ("LE", "5")]  # ECOG 0..5 (interfaces.md, domain.md 4.4)


def audit(minute: int, reason: str | None = None) -> AuditRecord:
    return AuditRecord(
        user_oid="USR.CRA1",
        location_oid="LOC.SITE01",
        timestamp=dt.datetime(2026, 1, 5, 10, minute, tzinfo=UTC),
        reason=reason,
        source_id="CRF-17",
    )


def subject(key: str, *, ecog: str | None = "1") -> SubjectRecord:
    group = ItemGroupRecord(
        "IG.SCREENING",
        [
            ItemValue("IT.SEX", "F", audit(0), "Insert"),
            ItemValue("IT.ECOG", ecog, audit(5, "transcription error corrected"), "Update"),
        ],
    )
    event = StudyEventRecord("SE.SCREENING", [FormRecord("F.ELIGIBILITY", [group])])
    return SubjectRecord(key, [event], "Insert")


def test_clinical_data_with_audit_records(tmp_path: Path) -> None:
    target = tmp_path / "data.xml"
    count = write_clinical_data(
        [subject("IVY02-001"), subject("IVY02-002", ecog=None)],
        target,
        study_oid="ST.IVY02",
        metadata_version_oid="MDV.1.0",
        created=CREATED,
    )
    assert count == 2
    document = target.read_bytes()
    assert schema_errors(document, "odm-1.3.2") == []
    root = etree.fromstring(document)
    assert root.get("FileType") == "Transactional"
    subjects = root.findall("odm:ClinicalData/odm:SubjectData", NS)
    assert [s.get("SubjectKey") for s in subjects] == ["IVY02-001", "IVY02-002"]
    ecog = subjects[0].find(".//odm:ItemData[@ItemOID='IT.ECOG']", NS)
    assert ecog.get("Value") == "1"
    assert ecog.get("TransactionType") == "Update"
    record = ecog.find("odm:AuditRecord", NS)
    assert record.find("odm:UserRef", NS).get("UserOID") == "USR.CRA1"
    assert record.find("odm:LocationRef", NS).get("LocationOID") == "LOC.SITE01"
    assert record.findtext("odm:DateTimeStamp", namespaces=NS) == "2026-01-05T10:05:00+00:00"
    assert record.findtext("odm:ReasonForChange", namespaces=NS) == "transcription error corrected"
    assert record.findtext("odm:SourceID", namespaces=NS) == "CRF-17"
    missing = subjects[1].find(".//odm:ItemData[@ItemOID='IT.ECOG']", NS)
    assert missing.get("IsNull") == "Yes"
    assert missing.get("Value") is None


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        (subject(" "), "subjects[1].subject_key", "empty"),
        (
            SubjectRecord("S", [StudyEventRecord("SE X", [])]),
            "subjects[1].events[0]",
            "not an OID",
        ),
        (
            SubjectRecord(
                "S",
                [
                    StudyEventRecord(
                        "SE.A",
                        [
                            FormRecord(
                                "F.A",
                                [
                                    ItemGroupRecord(
                                        "IG.A",
                                        [
                                            ItemValue(
                                                "IT.A",
                                                "1",
                                                AuditRecord("U", "L", dt.datetime(2026, 1, 1)),
                                            )
                                        ],
                                    )
                                ],
                            )
                        ],
                    )
                ],
            ),
            "subjects[1].events[0].forms[0].item_groups[0].items[0].audit.timestamp",
            "no time zone",
        ),
    ],
)
def test_clinical_data_errors(record: SubjectRecord, field: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        write_clinical_data(
            [subject("OK"), record],
            io.BytesIO(),
            study_oid="ST.IVY02",
            metadata_version_oid="MDV.1.0",
            created=CREATED,
        )
    assert caught.value.field == field
    assert problem in caught.value.problem


FOREIGN = b"""<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F1" FileType="Snapshot"
     CreationDateTime="2025-03-01T08:00:00Z" ODMVersion="1.3.2">
  <Study OID="S.OTHER">
    <GlobalVariables><StudyName>OTHER</StudyName><StudyDescription>x</StudyDescription>
      <ProtocolName>P</ProtocolName></GlobalVariables>
    <MetaDataVersion OID="v1" Name="Draft"/>
    <MetaDataVersion OID="v2" Name="Final">
      <StudyEventDef OID="SE.BASE" Name="Baseline" Repeating="No" Type="Scheduled">
        <FormRef FormOID="F.VS" Mandatory="Yes"/>
      </StudyEventDef>
      <FormDef OID="F.VS" Name="Vital signs" Repeating="Yes">
        <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes" OrderNumber="1"/>
      </FormDef>
      <ItemGroupDef OID="IG.VS" Name="Vitals" Repeating="No" Domain="VS">
        <ItemRef ItemOID="I.TEMP" Mandatory="No" OrderNumber="1"/>
        <ItemRef ItemOID="I.POS" Mandatory="No" OrderNumber="2"/>
      </ItemGroupDef>
      <ItemDef OID="I.TEMP" Name="Temperature" DataType="float" Length="4">
        <Question><TranslatedText xml:lang="en">Body temperature (C)</TranslatedText></Question>
      </ItemDef>
      <ItemDef OID="I.POS" Name="Position" DataType="text">
        <CodeListRef CodeListOID="CL.POS"/>
      </ItemDef>
      <CodeList OID="CL.POS" Name="Position" DataType="text">
        <CodeListItem CodedValue="SITTING"><Decode><TranslatedText>Sitting</TranslatedText>
        </Decode></CodeListItem>
        <CodeListItem CodedValue="SUPINE"><Decode><TranslatedText>Lying</TranslatedText></Decode>
        </CodeListItem>
      </CodeList>
      <CodeList OID="CL.YN" Name="Yes/no" DataType="text">
        <EnumeratedItem CodedValue="Y"/><EnumeratedItem CodedValue="N"/>
      </CodeList>
    </MetaDataVersion>
  </Study>
</ODM>"""


def test_import_foreign_metadata() -> None:
    """Another system's ODM, choosing one of two MetaDataVersions by OID."""
    assert schema_errors(FOREIGN, "odm-1.3.2") == []
    imported = read_metadata(FOREIGN, metadata_version_oid="v2")
    assert imported.name == "Final"
    assert [(e.oid, [f.oid for f in e.forms]) for e in imported.events] == [("SE.BASE", ["F.VS"])]
    assert imported.forms[0].repeating is True
    assert imported.item_groups[0].domain == "VS"
    assert [(r.oid, r.mandatory, r.order) for r in imported.item_groups[0].items] == [
        ("I.TEMP", False, 1),
        ("I.POS", False, 2),
    ]
    temp = imported.item("I.TEMP")
    assert (temp.data_type, temp.length, temp.question) == ("float", 4, "Body temperature (C)")
    assert imported.item("I.POS").codelist_oid == "CL.POS"
    assert [(i.coded_value, i.decode) for i in imported.codelists[0].items] == [
        ("SITTING", "Sitting"),
        ("SUPINE", "Lying"),
    ]
    assert [(i.coded_value, i.decode) for i in imported.codelists[1].items] == [
        ("Y", None),
        ("N", None),
    ]
    assert read_metadata(FOREIGN).name == "Draft"  # first version by default


@pytest.mark.parametrize(
    ("document", "field", "problem"),
    [
        (b"<ODM", "", "not well-formed"),
        (b"<ODM/>", "ODM", "not ODM in namespace"),
        (
            FOREIGN.replace(b'<Study OID="S.OTHER">', b"<Other>").replace(b"</Study>", b"</Other>"),
            "ODM.Study",
            "no Study",
        ),
        (
            FOREIGN.replace(b'ItemDef OID="I.TEMP" ', b"ItemDef "),
            "Study[0].MetaDataVersion[1].ItemDef[0].OID",
            "required",
        ),
        (
            FOREIGN.replace(b'CodeListOID="CL.POS"', b'CodeListOID="CL.NONE"'),
            "ItemDef[I.POS].CodeListOID",
            "'CL.NONE' is not defined",
        ),
        (
            FOREIGN.replace(b'ItemOID="I.TEMP" Mandatory', b'ItemOID="I.GONE" Mandatory'),
            "ItemGroupDef[IG.VS].ItemOID",
            "not defined",
        ),
        (
            FOREIGN.replace(b'Repeating="Yes"', b'Repeating="maybe"'),
            "Study[0].MetaDataVersion[1].FormDef[0].Repeating",
            "not Yes or No",
        ),
    ],
)
def test_import_errors(document: bytes, field: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        read_metadata(document, metadata_version_oid="v2" if b"v2" in document else None)
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_import_rejects_external_entities(tmp_path: Path) -> None:
    """No XXE: an external entity is not resolved into the imported metadata."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    document = FOREIGN.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(),
    ).replace(b"Body temperature (C)", b"&x;")
    imported = read_metadata(document, metadata_version_oid="v2")
    assert "TOPSECRET" not in (imported.item("I.TEMP").question or "")


def test_import_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_metadata(tmp_path / "absent.xml")


def synthetic_subjects(n: int) -> Iterator[SubjectRecord]:
    """n one-item subjects with an audit record, made one at a time (never a list)."""
    stamp = audit(0)
    for k in range(n):
        group = ItemGroupRecord("IG.SCREENING", [ItemValue("IT.ECOG", str(k % 3), stamp)])
        event = StudyEventRecord("SE.SCREENING", [FormRecord("F.ELIGIBILITY", [group])])
        yield SubjectRecord(f"SYN-{k:06d}", [event])


class CountingSink(io.RawIOBase):
    """A write-only stream that keeps only the byte count (the file itself is not the point)."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.size += len(data)
        return len(data)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def _write_synthetic(n: int) -> int:
    sink = CountingSink()
    count = write_clinical_data(
        synthetic_subjects(n),
        sink,
        study_oid="ST.IVY02",
        metadata_version_oid="MDV.1.0",
        created=CREATED,
    )
    assert count == n
    return sink.size


def test_streamed_export_process_memory_is_bounded() -> None:
    """100,000 subjects from a generator: the process (lxml's C memory included) grows by less
    than 40 MB, whereas one tree holding them all would need several hundred MB."""
    rss_before = _rss_bytes()
    size = _write_synthetic(100_000)
    growth = _rss_bytes() - rss_before
    assert size > 100_000 * 300  # the data really was written
    assert growth < 40 * 2**20, f"RSS grew {growth / 2**20:.1f} MB"


def test_streamed_export_python_memory_does_not_grow_with_subjects() -> None:
    """tracemalloc peak of the Python heap: 8,000 subjects need no more than 2,000 do (+25%),
    and both stay under 2 MB; a writer that kept subjects would grow fourfold."""
    import tracemalloc

    peaks = []
    for n in (2_000, 8_000):
        tracemalloc.start()
        try:
            _write_synthetic(n)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < 1.25 * peaks[0] + 64 * 2**10, f"peaks {peaks}"
    assert max(peaks) < 2 * 2**20, f"peaks {peaks}"
