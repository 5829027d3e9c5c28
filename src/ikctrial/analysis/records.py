"""The trial record of one subject as plain values: what the analysis datasets are derived from.

The web layer reads its stored forms into these dataclasses (one per form, in chunks); the SDTM
and ADaM builders, the endpoint helpers and the FHIR export read only these. Nothing here knows a
database. ``check_subject`` rejects records that cannot be true (no randomization date, a date
before randomization where there cannot be one, a tumor response after death, the site's or
the central reader's) with an
``InputError`` naming the subject and the field, so bad data is reported, never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ikctrial.errors import InputError


@dataclass(frozen=True)
class Criterion:
    """One eligibility criterion's result at screening (``pass``, ``fail`` or ``unknown``)."""

    id: str
    kind: str
    text: str
    result: str


@dataclass(frozen=True)
class Baseline:
    """Baseline disease and liver function as derived at screening (domain.md 4)."""

    bclc: str | None = None
    child_pugh_score: int | None = None
    child_pugh_class: str | None = None
    albi: float | None = None
    ecog: int | None = None


@dataclass(frozen=True)
class Infusion:
    """One IKC infusion as given (domain.md 8; SDTM EX)."""

    number: int
    started_at: dt.datetime
    stopped_at: dt.datetime
    cells_infused: float
    lot_id: str
    volume_ml: float | None = None


@dataclass(frozen=True)
class Tace:
    """One TACE session (SDTM PR)."""

    performed_on: dt.date
    technique: str
    chemotherapy_agent: str = ""
    dose_mg: float | None = None


@dataclass(frozen=True)
class Lesion:
    """One lesion row of an imaging time point: target rows carry diameters, others a status."""

    id: str
    role: str
    """``TARGET``, ``NON-TARGET`` or ``NEW``."""
    organ: str
    nodal: bool = False
    diameter_mm: float | None = None
    viable_diameter_mm: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class CriterionResponse:
    """The response engine's call at one time point under one criterion (domain.md 2.8, 3.6)."""

    criteria: str
    """``RECIST1.1`` or ``mRECIST`` (the protocol's criterion names)."""
    overall_response: str
    sum_mm: float | None = None
    target_response: str = ""
    non_target_response: str = ""
    new_lesions: str = ""


@dataclass(frozen=True)
class TumorAssessment:
    """One imaging time point: its lesions and the derived responses under each criterion."""

    assessed_on: dt.date
    lesions: Sequence[Lesion] = ()
    responses: Sequence[CriterionResponse] = ()
    modality: str = ""

    def response(self, criteria: str) -> CriterionResponse | None:
        """The call under one criterion, if it was derived."""
        return next((r for r in self.responses if r.criteria == criteria), None)


@dataclass(frozen=True)
class ResponseSummary:
    """The series under one criterion: best overall response and progression date (2.9)."""

    criteria: str
    best_overall_response: str
    progression_date: dt.date | None = None


@dataclass(frozen=True)
class LabValue:
    """A lab value with its range and CTCAE v5.0 grade (SDTM LB, ADaM ADLB)."""

    collected_on: dt.date
    test: str
    value: float | None
    unit: str = ""
    lln: float | None = None
    uln: float | None = None
    grade: int | None = None
    category: str = "CHEMISTRY"
    """``HEMATOLOGY``, ``CHEMISTRY``, ``COAGULATION``, ``TUMOR MARKER`` or ``IMMUNE PANEL``."""
    below_lloq: bool = False
    lloq: float | None = None


@dataclass(frozen=True)
class VitalSigns:
    """Vital signs at one time point (SDTM VS)."""

    measured_at: dt.datetime
    timepoint: str = ""
    values: Mapping[str, float] = field(default_factory=dict)
    """By test: SYSBP, DIABP, PULSE, RESP, TEMP, OXYSAT, WEIGHT."""


@dataclass(frozen=True)
class Medication:
    """A concomitant medication; anticancer ones censor PFS (domain.md 7.1 rule 3)."""

    name: str
    indication: str
    start_date: dt.date
    end_date: dt.date | None = None
    dose: str = ""
    route: str = ""
    anticancer_therapy: bool = False


@dataclass(frozen=True)
class AdverseEvent:
    """An adverse event with the fields of domain.md 6.7."""

    verbatim_term: str
    ctcae_term: str
    grade: int
    onset_date: dt.date
    end_date: dt.date | None = None
    serious: bool = False
    results_in_death: bool = False
    life_threatening: bool = False
    hospitalization: bool = False
    disability: bool = False
    congenital_anomaly: bool = False
    medically_important: bool = False
    related_ikc: bool = False
    outcome: str = ""


@dataclass(frozen=True)
class Visit:
    """A visit of the calendar as done (SDTM SV)."""

    code: str
    done_on: dt.date
    study_day: int
    out_of_window: bool = False


@dataclass(frozen=True)
class StudyExit:
    """End of study (SDTM DS disposition)."""

    status: str
    """``completed`` or ``withdrawn``."""
    exit_date: dt.date
    reason: str = ""
    death_date: dt.date | None = None
    last_contact_date: dt.date | None = None


@dataclass(frozen=True)
class TrialSubject:
    """Everything recorded for one subject, as plain values."""

    subject_key: str
    """The study's pseudonymous identifier (screening number): SUBJID."""
    site: str
    sex: str
    """``M``, ``F`` or ``U``."""
    age: int | None = None
    birth_date: dt.date | None = None
    screening_date: dt.date | None = None
    consent_date: dt.date | None = None
    randomization_date: dt.date | None = None
    randomization_number: int | None = None
    arm: str | None = None
    strata: Mapping[str, str] = field(default_factory=dict)
    criteria: Sequence[Criterion] = ()
    baseline: Baseline = field(default_factory=Baseline)
    infusions: Sequence[Infusion] = ()
    tace: Sequence[Tace] = ()
    assessments: Sequence[TumorAssessment] = ()
    """The investigator's (site's) imaging time points with the engine's calls."""
    central_assessments: Sequence[TumorAssessment] = ()
    """The blinded central reader's time points, the engine's calls derived over the reader's
    own series (domain.md 7.1 PFSBICR); empty when no central review read this subject."""
    summaries: Sequence[ResponseSummary] = ()
    labs: Sequence[LabValue] = ()
    vitals: Sequence[VitalSigns] = ()
    medications: Sequence[Medication] = ()
    adverse_events: Sequence[AdverseEvent] = ()
    visits: Sequence[Visit] = ()
    exit: StudyExit | None = None

    @property
    def death_date(self) -> dt.date | None:
        """Date of death from the end-of-study form."""
        return self.exit.death_date if self.exit is not None else None

    def where(self, name: str) -> str:
        """The field path of an error about this subject: ``subjects[S-001].name``."""
        return f"subjects[{self.subject_key}].{name}" if name else f"subjects[{self.subject_key}]"


def randomization_date(subject: TrialSubject) -> dt.date:
    """RANDDT, or an ``InputError`` naming the subject: every analysed subject is randomized."""
    if subject.randomization_date is None or subject.arm is None:
        raise InputError(
            subject.where("randomization_date"),
            "missing: the subject has no randomization, so it cannot be analysed (ITT)",
        )
    return subject.randomization_date


def check_subject(subject: TrialSubject) -> None:
    """Reject a record that cannot be true; the error names the subject and the field."""
    start = randomization_date(subject)
    death = subject.death_date
    series = {
        "assessments": subject.assessments,
        "central_assessments": subject.central_assessments,
    }
    for name, assessments in series.items():
        for index, assessment in enumerate(assessments):
            if death is not None and assessment.assessed_on > death and assessment.responses:
                raise InputError(
                    subject.where(f"{name}[{index}].assessed_on"),
                    f"a tumor response on {assessment.assessed_on} is after the death on {death}",
                )
    dated: list[tuple[str, dt.date]] = [
        *((f"tace[{i}].performed_on", t.performed_on) for i, t in enumerate(subject.tace)),
        *(
            (f"infusions[{i}].started_at", infusion.started_at.date())
            for i, infusion in enumerate(subject.infusions)
        ),
    ]
    if death is not None:
        dated.append(("exit.death_date", death))
    for name, day in dated:
        if day < start:
            raise InputError(subject.where(name), f"{day} is before randomization on {start}")
    if death is not None:
        for name, day in dated:
            if name != "exit.death_date" and day > death:
                raise InputError(subject.where(name), f"{day} is after the death on {death}")
