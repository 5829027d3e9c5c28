"""FHIR R5 collection Bundle: the study, its subjects, tumor-size observations (domain.md 10.6).

Built with ``fhir.resources`` (FHIR 5.0.0 models), which validates every resource on construction;
a value it rejects becomes an ``InputError``. Patients are pseudonymous: a study identifier, the
birth year and the administrative gender, never a name, address or full birth date.

Resources reference each other inside the Bundle by ``urn:uuid:`` full URLs derived
deterministically (UUID 5) from the study and subject identifiers, so the same input always gives
the same Bundle. Tumor sizes are Observations coded LOINC 21889-1 with the required mCODE component
33728-7 (maximum dimension) in UCUM millimetres. mCODE itself is an R4 guide (domain.md 10.6): these
Observations follow its coding but are plain R5 resources and claim no mCODE profile.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from fhir.resources.bundle import Bundle
from fhir.resources.observation import Observation
from fhir.resources.patient import Patient
from fhir.resources.researchstudy import ResearchStudy
from fhir.resources.researchsubject import ResearchSubject
from fhir.resources.resource import Resource
from pydantic import ValidationError

from ikctrial.errors import InputError, input_error_from_validation
from ikctrial.protocol.model import Protocol

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
TUMOR_SIZE_LOINC = "21889-1"
MAX_DIMENSION_LOINC = "33728-7"
_PHASES = {
    "I": "phase-1",
    "I/II": "phase-1-phase-2",
    "II": "phase-2",
    "II/III": "phase-2-phase-3",
    "III": "phase-3",
    "IV": "phase-4",
}
_GENDERS = {"M": "male", "F": "female", "U": "unknown"}
_EARLIEST_BIRTH_YEAR = 1900
_NAMESPACE = uuid.UUID("6f1c3f7e-6c55-4f57-9a39-3a0f3d1b2c10")


@dataclass(frozen=True)
class StudySubject:
    """What FHIR needs of one subject; ``subject_key`` is the study's pseudonymous identifier."""

    subject_key: str
    birth_year: int
    sex: Literal["M", "F", "U"]
    assigned_arm: str
    actual_arm: str | None = None
    consent_date: dt.date | None = None
    randomization_date: dt.date | None = None
    off_study_date: dt.date | None = None


@dataclass(frozen=True)
class TumorSize:
    """One lesion's longest diameter (short axis for nodes) on one assessment date."""

    subject_key: str
    lesion_id: str
    assessment_date: dt.date
    diameter_mm: float


def _url(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(parts))}"


def _group_id(arm_code: str) -> str:
    """FHIR ``id`` values allow letters, digits, '-' and '.': IKC_TACE becomes IKC-TACE."""
    return arm_code.replace("_", "-")


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _build(model: type[Resource], data: dict[str, Any], where: str) -> Resource:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error_from_validation(exc).under(where) from None


def research_study(protocol: Protocol) -> ResearchStudy:
    """The ResearchStudy: registry identifier, phase, the arms as comparison groups, target size."""
    if protocol.phase not in _PHASES:
        raise InputError("phase", f"{protocol.phase!r} is not one of {', '.join(_PHASES)}")
    outcomes = [("primary", endpoint) for endpoint in protocol.endpoints.primary] + [
        ("secondary", endpoint) for endpoint in protocol.endpoints.secondary
    ]
    data = {
        "resourceType": "ResearchStudy",
        "identifier": [
            {"system": "https://clinicaltrials.gov", "value": protocol.nct_id},
            {"system": "urn:ikctrial:sponsor-study-id", "value": protocol.sponsor_study_id},
        ],
        "version": protocol.version,
        "title": protocol.title,
        "status": "active",
        "phase": _concept(
            "http://hl7.org/fhir/research-study-phase", _PHASES[protocol.phase], protocol.phase
        ),
        "comparisonGroup": [
            {
                "linkId": _group_id(arm.code),
                "name": arm.name,
                "type": _concept(
                    "http://hl7.org/fhir/research-study-arm-type",
                    "other-arm" if arm.type == "other" else arm.type.replace("_", "-"),
                ),
            }
            for arm in protocol.arms
        ],
        "recruitment": {"targetNumber": protocol.target_enrollment},
        "outcomeMeasure": [
            {
                "name": endpoint.name,
                "type": [
                    _concept(
                        "http://terminology.hl7.org/CodeSystem/research-study-objective-type",
                        rank,
                    )
                ],
                "description": " ".join(endpoint.definition.split()),
            }
            for rank, endpoint in outcomes
        ],
    }
    study = _build(ResearchStudy, data, "study")
    assert isinstance(study, ResearchStudy)
    return study


def _milestone(code: str, date: dt.date) -> dict[str, Any]:
    return {
        "type": _concept(
            "http://terminology.hl7.org/CodeSystem/research-subject-state-type", "Milestone"
        ),
        "milestone": _concept("http://hl7.org/fhir/research-subject-milestone", code),
        "startDate": date.isoformat(),
    }


def _state(code: str, start: dt.date, end: dt.date | None = None) -> dict[str, Any]:
    progress: dict[str, Any] = {
        "type": _concept(
            "http://terminology.hl7.org/CodeSystem/research-subject-state-type", "Enrollment"
        ),
        "subjectState": _concept(
            "http://terminology.hl7.org/CodeSystem/research-subject-state", code
        ),
        "startDate": start.isoformat(),
    }
    if end is not None:
        progress["endDate"] = end.isoformat()
    return progress


def _subject_resources(
    protocol: Protocol, subject: StudySubject, index: int, study_url: str, as_of: dt.date
) -> Iterator[tuple[str, Resource]]:
    where = f"subjects[{index}]"
    arms = set(protocol.arm_codes())
    for name, arm in (("assigned_arm", subject.assigned_arm), ("actual_arm", subject.actual_arm)):
        if arm is not None and arm not in arms:
            raise InputError(f"{where}.{name}", f"{arm!r} is not one of {', '.join(sorted(arms))}")
    if not _EARLIEST_BIRTH_YEAR <= subject.birth_year <= as_of.year:
        raise InputError(
            f"{where}.birth_year",
            f"{subject.birth_year} is not between {_EARLIEST_BIRTH_YEAR} and {as_of.year}",
        )
    if subject.sex not in _GENDERS:
        raise InputError(f"{where}.sex", f"{subject.sex!r} is not one of M, F, U")
    study_id = protocol.sponsor_study_id
    patient_url = _url(study_id, "Patient", subject.subject_key)
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": f"urn:ikctrial:{study_id}:subject", "value": subject.subject_key}
        ],
        "gender": _GENDERS[subject.sex],
        "birthDate": f"{subject.birth_year:04d}",
    }
    yield patient_url, _build(Patient, patient, where)
    progress = []
    if subject.consent_date is not None:
        progress.append(_milestone("SignedUpForStudy", subject.consent_date))
    if subject.randomization_date is not None:
        progress.append(_milestone("Randomized", subject.randomization_date))
        progress.append(_state("on-study", subject.randomization_date, subject.off_study_date))
    if subject.off_study_date is not None:
        progress.append(_state("off-study", subject.off_study_date))
    research_subject: dict[str, Any] = {
        "resourceType": "ResearchSubject",
        "identifier": [
            {"system": f"urn:ikctrial:{study_id}:subject", "value": subject.subject_key}
        ],
        "status": "retired" if subject.off_study_date is not None else "active",
        "study": {"reference": study_url},
        "subject": {"reference": patient_url},
        "assignedComparisonGroup": _group_id(subject.assigned_arm),
        "progress": progress or None,
    }
    if subject.actual_arm is not None:
        research_subject["actualComparisonGroup"] = _group_id(subject.actual_arm)
    yield (
        _url(study_id, "ResearchSubject", subject.subject_key),
        _build(
            ResearchSubject, {k: v for k, v in research_subject.items() if v is not None}, where
        ),
    )


def _tumor_size(
    study_id: str, size: TumorSize, index: int, patients: set[str]
) -> tuple[str, Resource]:
    where = f"tumor_sizes[{index}]"
    if size.subject_key not in patients:
        raise InputError(
            f"{where}.subject_key", f"{size.subject_key!r} is not a subject of the bundle"
        )
    if not size.diameter_mm >= 0:
        raise InputError(f"{where}.diameter_mm", f"{size.diameter_mm!r} is not a size in mm (>= 0)")
    quantity = {"value": size.diameter_mm, "unit": "mm", "system": UCUM, "code": "mm"}
    observation = {
        "resourceType": "Observation",
        "identifier": [
            {
                "system": f"urn:ikctrial:{study_id}:tumor-size",
                "value": f"{size.subject_key}/{size.lesion_id}/{size.assessment_date.isoformat()}",
            }
        ],
        "status": "final",
        "code": _concept(LOINC, TUMOR_SIZE_LOINC, "Size Tumor"),
        "subject": {"reference": _url(study_id, "Patient", size.subject_key)},
        "effectiveDateTime": size.assessment_date.isoformat(),
        "valueQuantity": quantity,
        "component": [
            {
                "code": _concept(LOINC, MAX_DIMENSION_LOINC, "Size.maximum dimension in Tumor"),
                "valueQuantity": quantity,
            }
        ],
        "note": [{"text": f"Lesion {size.lesion_id}"}],
    }
    url = _url(
        study_id, "Observation", size.subject_key, size.lesion_id, size.assessment_date.isoformat()
    )
    return url, _build(Observation, observation, where)


def bundle_entries(
    protocol: Protocol,
    subjects: Iterable[StudySubject],
    tumor_sizes: Iterable[TumorSize],
    *,
    as_of: dt.date,
) -> Iterator[tuple[str, Resource]]:
    """(full URL, resource) pairs: the study, each subject's Patient and ResearchSubject, then
    the tumor-size Observations (each must belong to a subject given before). ``as_of`` bounds
    plausible birth years."""
    study_id = protocol.sponsor_study_id
    study_url = _url(study_id, "ResearchStudy")
    yield study_url, research_study(protocol)
    keys: set[str] = set()
    for index, subject in enumerate(subjects):
        if subject.subject_key in keys:
            raise InputError(
                f"subjects[{index}].subject_key", f"{subject.subject_key!r} is repeated"
            )
        keys.add(subject.subject_key)
        yield from _subject_resources(protocol, subject, index, study_url, as_of)
    for index, size in enumerate(tumor_sizes):
        yield _tumor_size(study_id, size, index, keys)


def study_bundle(
    protocol: Protocol,
    subjects: Iterable[StudySubject],
    tumor_sizes: Iterable[TumorSize] = (),
    *,
    timestamp: dt.datetime,
) -> Bundle:
    """The R5 collection Bundle (validated by fhir.resources)."""
    if timestamp.tzinfo is None:
        raise InputError("timestamp", "has no time zone")
    entries = [
        {"fullUrl": url, "resource": resource}
        for url, resource in bundle_entries(protocol, subjects, tumor_sizes, as_of=timestamp.date())
    ]
    data = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timestamp.isoformat(),
        "identifier": {
            "system": "urn:ikctrial:bundle",
            "value": _url(protocol.sponsor_study_id, "Bundle", timestamp.isoformat()),
        },
        "entry": entries,
    }
    bundle = _build(Bundle, data, "bundle")
    assert isinstance(bundle, Bundle)
    return bundle
