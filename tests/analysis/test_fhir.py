"""FHIR R5 Bundle of ResearchStudy, ResearchSubject, Patient and tumor sizes (domain.md 10.6)."""

from __future__ import annotations

import datetime as dt
import json

import fhir.resources
import pytest
from fhir.resources.bundle import Bundle

from ikctrial.analysis.fhir import StudySubject, TumorSize, study_bundle
from ikctrial.errors import InputError
from ikctrial.protocol import load_protocol
from ikctrial.protocol.model import Protocol

STAMP = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


def subjects() -> list[StudySubject]:
    return [
        StudySubject(
            "IVY02-001",
            1958,
            "M",
            "IKC_TACE",
            "IKC_TACE",
            consent_date=dt.date(2025, 1, 2),
            randomization_date=dt.date(2025, 1, 6),
        ),
        StudySubject(
            "IVY02-002",
            1961,
            "F",
            "TACE",
            "IKC_TACE",
            randomization_date=dt.date(2025, 1, 9),
            off_study_date=dt.date(2025, 6, 1),
        ),
    ]


def sizes() -> list[TumorSize]:
    return [
        TumorSize("IVY02-001", "T01", dt.date(2025, 1, 3), 52.0),
        TumorSize("IVY02-001", "T01", dt.date(2025, 3, 3), 41.5),
    ]


def by_type(bundle: Bundle) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for entry in json.loads(bundle.model_dump_json())["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry)
    return out


def test_models_are_fhir_r5() -> None:
    assert fhir.resources.__fhir_version__.startswith("5.")


def test_bundle_round_trips_through_the_validator(protocol: Protocol) -> None:
    """The serialised Bundle parses back (fhir.resources validates every resource)."""
    bundle = study_bundle(protocol, subjects(), sizes(), timestamp=STAMP)
    again = Bundle.model_validate_json(bundle.model_dump_json())
    assert again.type == "collection"
    assert len(again.entry) == 1 + 2 * 2 + 2
    urls = [e.fullUrl for e in again.entry]
    assert len(set(urls)) == len(urls)
    assert all(u.startswith("urn:uuid:") for u in urls)
    # deterministic: same input, same bundle
    assert (
        study_bundle(protocol, subjects(), sizes(), timestamp=STAMP).model_dump_json()
        == bundle.model_dump_json()
    )


def test_research_study_from_protocol(protocol: Protocol) -> None:
    study = by_type(study_bundle(protocol, [], timestamp=STAMP))["ResearchStudy"][0]["resource"]
    assert isinstance(study, dict)
    assert study["identifier"][0]["value"] == "NCT03592706"
    assert study["phase"]["coding"][0]["code"] == "phase-2-phase-3"  # domain.md 10.6
    assert [g["name"] for g in study["comparisonGroup"]] == ["IKC + TACE", "TACE alone"]
    assert study["recruitment"]["targetNumber"] == 60
    assert len(study["outcomeMeasure"]) == 4  # the four registry outcomes


def test_patient_is_pseudonymous(protocol: Protocol) -> None:
    patients = by_type(study_bundle(protocol, subjects(), timestamp=STAMP))["Patient"]
    first = patients[0]["resource"]
    assert isinstance(first, dict)
    assert set(first) == {"resourceType", "identifier", "gender", "birthDate"}
    assert first["birthDate"] == "1958"
    assert first["gender"] == "male"
    assert first["identifier"][0]["value"] == "IVY02-001"


def test_research_subject_links_and_progress(protocol: Protocol) -> None:
    resources = by_type(study_bundle(protocol, subjects(), timestamp=STAMP))
    study_url = resources["ResearchStudy"][0]["fullUrl"]
    patient_urls = [p["fullUrl"] for p in resources["Patient"]]
    first, second = (e["resource"] for e in resources["ResearchSubject"])
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["study"]["reference"] == study_url
    assert [first["subject"]["reference"], second["subject"]["reference"]] == patient_urls
    assert first["assignedComparisonGroup"] == "IKC-TACE"
    assert first["status"] == "active"
    # a control patient given IKC: assigned TACE, actual IKC + TACE (domain.md 7.7)
    assert (second["assignedComparisonGroup"], second["actualComparisonGroup"]) == (
        "TACE",
        "IKC-TACE",
    )
    assert second["status"] == "retired"
    milestones = [
        p["milestone"]["coding"][0]["code"] for p in first["progress"] if "milestone" in p
    ]
    assert milestones == ["SignedUpForStudy", "Randomized"]


def test_tumor_size_observations(protocol: Protocol) -> None:
    resources = by_type(study_bundle(protocol, subjects(), sizes(), timestamp=STAMP))
    patient_url = resources["Patient"][0]["fullUrl"]
    first = resources["Observation"][0]["resource"]
    assert isinstance(first, dict)
    assert first["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "21889-1",
        "display": "Size Tumor",
    }
    assert first["valueQuantity"] == {
        "value": 52.0,
        "unit": "mm",
        "system": "http://unitsofmeasure.org",
        "code": "mm",
    }
    assert first["component"][0]["code"]["coding"][0]["code"] == "33728-7"
    assert first["subject"]["reference"] == patient_url
    assert first["effectiveDateTime"] == "2025-01-03"


@pytest.mark.parametrize(
    ("people", "measured", "field", "problem"),
    [
        ([StudySubject("S1", 1960, "M", "IKC")], [], "subjects[0].assigned_arm", "not one of"),
        ([StudySubject("S1", 1960, "X", "TACE")], [], "subjects[0].sex", "not one of"),  # type: ignore[arg-type]
        ([StudySubject("S1", 1960, "M", "TACE")] * 2, [], "subjects[1].subject_key", "repeated"),
        (
            [],
            [TumorSize("S9", "T01", dt.date(2025, 1, 1), 10.0)],
            "tumor_sizes[0].subject_key",
            "not a subject",
        ),
        (
            [StudySubject("S1", 1960, "M", "TACE")],
            [TumorSize("S1", "T01", dt.date(2025, 1, 1), -1.0)],
            "tumor_sizes[0].diameter_mm",
            ">= 0",
        ),
        (
            [StudySubject("S1", 60, "M", "TACE")],
            [],
            "subjects[0].birth_year",
            "not between 1900 and 2026",
        ),
        (
            [StudySubject("", 1960, "M", "TACE")],
            [],
            "subjects[0].identifier[0].value",
            "",
        ),  # rejected by the fhir.resources validator (FHIR strings are non-empty)
    ],
)
def test_bad_input(
    protocol: Protocol,
    people: list[StudySubject],
    measured: list[TumorSize],
    field: str,
    problem: str,
) -> None:
    with pytest.raises(InputError) as caught:
        study_bundle(protocol, people, measured, timestamp=STAMP)
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_naive_timestamp_rejected(protocol: Protocol) -> None:
    with pytest.raises(InputError, match="time zone"):
        study_bundle(protocol, [], timestamp=dt.datetime(2026, 1, 1))
