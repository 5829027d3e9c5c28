"""What a user may enter on each form: strict input schemas (unknown keys and bad values are 422).

Controlled vocabularies are those of domain.md 6.6/6.7 (seriousness, relatedness, outcome), 7.4
(immune panel) and interfaces.md (lesion rows, non-target status, new lesions).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from ikctrial.clinical.ctcae import LabTest
from ikctrial.protocol.validation import FieldRuleError

Text = Annotated[str, Field(min_length=1, max_length=200)]
Number = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=14, decimal_places=4)]
NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=14, decimal_places=4)]
Relatedness = Literal["related", "probably", "possibly", "unlikely", "not_related"]
REASONABLE_POSSIBILITY: frozenset[str] = frozenset({"related", "probably", "possibly"})
"""Relatedness levels that count as "related" (domain.md 6.7 ``relatedness_map``)."""


class Entry(BaseModel):
    """Base of every form entry: strict, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class VisitEntry(Entry):
    """A calendar visit done on a date."""

    code: Text
    done_on: dt.date


class LabEntry(Entry):
    """A lab value with its unit and the sample's normal range."""

    collected_on: dt.date
    test: LabTest | Literal["afp"]
    value: NonNegative
    unit: Annotated[str, Field(max_length=16)] = ""
    lln: NonNegative | None = None
    uln: NonNegative | None = None
    on_anticoagulants: StrictBool = False


class VitalSignsEntry(Entry):
    """Vital signs at one time point."""

    measured_at: dt.datetime
    timepoint: Literal["", "pre_infusion", "end_infusion", "post_infusion_1h", "visit"] = ""
    systolic_mmhg: Annotated[int, Field(ge=0, le=400)] | None = None
    diastolic_mmhg: Annotated[int, Field(ge=0, le=300)] | None = None
    heart_rate_bpm: Annotated[int, Field(ge=0, le=400)] | None = None
    respiratory_rate_per_min: Annotated[int, Field(ge=0, le=150)] | None = None
    temperature_c: Annotated[Decimal, Field(ge=20, le=46, decimal_places=2)] | None = None
    spo2_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=1)] | None = None
    weight_kg: Annotated[Decimal, Field(gt=0, le=500, decimal_places=2)] | None = None


class ImmunePanelEntry(Entry):
    """One analyte of the immune panel; a value below LLOQ is stored as reported with the LLOQ."""

    collected_on: dt.date
    analyte: Literal[
        "CD3",
        "CD4",
        "CD8",
        "CD4_CD8_ratio",
        "NK",
        "NKT",
        "Treg",
        "CD19",
        "IFN_gamma",
        "TNF_alpha",
        "IL2",
        "IL6",
        "IL10",
    ]
    value: NonNegative | None = None
    unit: Literal["percent_lymphocytes", "percent_cd4", "cells_per_ul", "ratio", "pg_ml"]
    below_lloq: StrictBool = False
    lloq: NonNegative | None = None

    @model_validator(mode="after")
    def _lloq(self) -> ImmunePanelEntry:
        if self.below_lloq and self.lloq is None:
            raise FieldRuleError("lloq", "required when below_lloq")
        if not self.below_lloq and self.value is None:
            raise FieldRuleError("value", "required unless below_lloq")
        return self


class TaceEntry(Entry):
    """One TACE session."""

    performed_on: dt.date
    technique: Literal["cTACE", "DEB-TACE", "bland_TAE"]
    chemotherapy_agent: Annotated[str, Field(max_length=100)] = ""
    dose_mg: NonNegative | None = None
    embolic_agent: Annotated[str, Field(max_length=100)] = ""
    complete: StrictBool = True
    notes: str = ""


class ConMedEntry(Entry):
    """A concomitant medication."""

    name: Text
    indication: Text
    dose: Annotated[str, Field(max_length=100)] = ""
    route: Annotated[str, Field(max_length=50)] = ""
    start_date: dt.date
    end_date: dt.date | None = None
    ongoing: StrictBool = False
    anticancer_therapy: StrictBool = False

    @model_validator(mode="after")
    def _end(self) -> ConMedEntry:
        if self.ongoing and self.end_date is not None:
            raise FieldRuleError("end_date", "an ongoing medication has no end date")
        return self


class AdverseEventEntry(Entry):
    """An adverse event (domain.md 6.7); seriousness is the six ICH E2A criteria (6.6)."""

    verbatim_term: Text
    ctcae_term: Text
    grade: Annotated[int, Field(ge=1, le=5)]
    onset_date: dt.date
    end_date: dt.date | None = None
    ongoing: StrictBool = True
    results_in_death: StrictBool = False
    life_threatening: StrictBool = False
    hospitalization: StrictBool = False
    disability: StrictBool = False
    congenital_anomaly: StrictBool = False
    medically_important: StrictBool = False
    relatedness_ikc: Relatedness
    relatedness_tace: Relatedness
    expectedness_ikc: Literal["", "expected", "unexpected"] = ""
    action_taken_ikc: Literal[
        "", "none", "delayed", "interrupted", "dose_not_given", "permanently_discontinued"
    ] = ""
    outcome: Literal[
        "recovered",
        "recovering",
        "not_recovered",
        "recovered_with_sequelae",
        "fatal",
        "unknown",
    ]
    site_aware_at: dt.datetime | None = None
    sae_reported_at: dt.datetime | None = None

    def is_serious(self) -> bool:
        """Serious when any of the six ICH E2A criteria holds (6.6)."""
        return any(
            (
                self.results_in_death,
                self.life_threatening,
                self.hospitalization,
                self.disability,
                self.congenital_anomaly,
                self.medically_important,
            )
        )

    @model_validator(mode="after")
    def _consistent(self) -> AdverseEventEntry:
        if self.is_serious() and self.site_aware_at is None:
            raise FieldRuleError(
                "site_aware_at", "required for a serious event (it starts the 24 h clock)"
            )
        if self.grade == 5 and not (self.results_in_death and self.outcome == "fatal"):
            raise FieldRuleError("grade", "grade 5 needs results_in_death and outcome fatal")
        if self.ongoing and self.end_date is not None:
            raise FieldRuleError("end_date", "an ongoing event has no end date")
        if self.end_date is not None and self.end_date < self.onset_date:
            raise FieldRuleError("end_date", "is before onset_date")
        return self


class TargetRow(Entry):
    """A target lesion row: RECIST 1.1 and mRECIST (viable) diameters; None: not evaluated."""

    id: Text
    organ: Text
    nodal: StrictBool
    diameter_mm: NonNegative | None
    viable_diameter_mm: NonNegative | None = None


class NonTargetRow(Entry):
    """A non-target lesion row."""

    id: Text
    organ: Text
    status: Literal["absent", "present", "unequivocal_progression", "not_evaluated"]
    nodal: StrictBool = False


class TumorAssessmentEntry(Entry):
    """One imaging time point (the subject's first one is the baseline)."""

    assessed_on: dt.date
    modality: Literal["", "CT", "MRI"] = ""
    target: list[TargetRow] = Field(default_factory=list)
    non_target: list[NonTargetRow] = Field(default_factory=list)
    new_lesions: Literal["none", "equivocal", "unequivocal"] = "none"
    afp_within_normal_limits: StrictBool | None = None


class StudyExitEntry(Entry):
    """End of study: completed, or withdrawn with a reason."""

    status: Literal["completed", "withdrawn"]
    exit_date: dt.date
    reason: Literal[
        "",
        "consent_withdrawn",
        "adverse_event",
        "progression",
        "death",
        "lost_to_follow_up",
        "investigator_decision",
        "protocol_deviation",
        "other",
    ] = ""
    reason_detail: str = ""
    last_contact_date: dt.date | None = None
    death_date: dt.date | None = None

    @model_validator(mode="after")
    def _reason(self) -> StudyExitEntry:
        if self.status == "withdrawn" and not self.reason:
            raise FieldRuleError("reason", "required for a withdrawal")
        if self.reason == "death" and self.death_date is None:
            raise FieldRuleError("death_date", "required when the reason is death")
        return self


class DisagreementEntry(Entry):
    """The investigator's own call at a time point, with the reason (kept next to the derived)."""

    investigator_response: Literal["CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"]
    reason: Annotated[str, Field(min_length=1)]
