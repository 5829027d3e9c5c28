"""API of the IKC product: blood draw (CoI), units, custody ledger, QC and release, bedside,
infusion, reconciliation, timeline, exposure and labels (domain.md 8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from ikctrial.product.bedside import PreInfusionClinical
from ikctrial.web.product.labels import LabelFormat, unit_label
from ikctrial.web.product.selectors import (
    batch_record_document,
    event_document,
    exposure_rows,
    lot_accounting_document,
    qc_documents,
    release_document,
    subject_accounting_document,
    therapy_document,
    timeline_document,
    unit_document,
    unit_for_user,
)
from ikctrial.web.product.services import (
    EventInput,
    InfusionInput,
    ReactionInput,
    VerifierEntries,
    bedside_check,
    bedside_override,
    bedside_verify,
    blood_draw_record,
    custody_event_record,
    infusion_record,
    lot_release,
    qc_result_record,
    unit_derive,
)

router = Router(tags=["product"])

Temperature = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=5, decimal_places=1)]
Positive = Annotated[Decimal, Field(allow_inf_nan=False, gt=0, max_digits=20, decimal_places=2)]
Text = Annotated[str, Field(max_length=200)]


class EventIn(Schema):
    """Who-when-where-condition of a custody event (the user is the token's)."""

    occurred_at: dt.datetime
    location: Text
    temperature_c: Temperature | None = None
    logger_id: Annotated[str, Field(max_length=100)] = ""
    logger_min_c: Temperature | None = None
    logger_max_c: Temperature | None = None
    condition: Literal["received in acceptable condition", "received with issue"] = (
        "received in acceptable condition"
    )
    note: Annotated[str, Field(max_length=2000)] = ""
    step: Annotated[str, Field(max_length=40)] = ""
    reverses: Annotated[int, Field(gt=0, lt=2**63)] | None = None
    reason: Annotated[str, Field(max_length=2000)] = ""

    def data(self) -> EventInput:
        return EventInput(**self.dict())


class BloodDrawIn(EventIn):
    """A blood draw: the facility code of the CoI and two independent patient identifiers."""

    facility: Annotated[str, Field(max_length=5)]
    patient_identifier_1: Text
    patient_identifier_2: Text

    def data(self) -> EventInput:
        fields = self.dict(exclude={"facility", "patient_identifier_1", "patient_identifier_2"})
        return EventInput(**fields)


class CustodyEventIn(EventIn):
    """A custody event of a unit."""

    event_type: Annotated[str, Field(max_length=20)]


class DeriveIn(Schema):
    """A unit derived from a parent; a bag names its infusion, volume and viable cells."""

    infusion_number: Annotated[int, Field(ge=1, le=99)] | None = None
    bag_volume_ml: Positive | None = None
    viable_cells: Positive | None = None


class QcIn(Schema):
    """One QC result against a release test of the protocol."""

    test_code: Annotated[str, Field(max_length=40)]
    value: Text
    preliminary: bool = False


class SignIn(Schema):
    """Re-entered password (21 CFR 11.200)."""

    password: Annotated[str, Field(max_length=200)]


class VerificationIn(SignIn):
    """One verifier's independent entries: patient identifiers as read on the wristband and on
    the bag label, the bag id as scanned, and what the verifier saw."""

    wristband: Annotated[list[Text], Field(min_length=2, max_length=2)]
    bag_label_patient: Annotated[list[Text], Field(min_length=2, max_length=2)]
    bag_label: Annotated[str, Field(max_length=100)]
    bag_intact: bool
    appearance_acceptable: bool


class ClinicalIn(Schema):
    """Pre-infusion clinical checks (domain.md 8.6 check 7)."""

    body_temperature_c: Temperature | None = None
    vital_signs_acceptable: bool | None = None
    labs_drawn_on: dt.date | None = None
    labs_within_limits: bool | None = None
    safety_hold: bool = False


class CheckIn(Schema):
    """The bag issued for the infusion, both verifications, the clinical checks."""

    bag_id: Annotated[str, Field(max_length=100)]
    verification_ids: Annotated[
        list[Annotated[int, Field(gt=0, lt=2**63)]], Field(min_length=2, max_length=2)
    ]
    clinical: ClinicalIn
    override_id: Annotated[int, Field(gt=0, lt=2**63)] | None = None


class OverrideIn(SignIn):
    """The soft blocks an investigator overrides, and why."""

    checks: Annotated[
        list[Annotated[str, Field(max_length=40)]], Field(min_length=1, max_length=10)
    ]
    reason: Annotated[str, Field(max_length=2000)]


class ReactionIn(Schema):
    """An infusion reaction (becomes an adverse event of the subject)."""

    description: Text
    ctcae_term: Text = "Infusion related reaction"
    ctcae_grade: Annotated[int, Field(ge=1, le=5)]
    onset_at: dt.datetime
    outcome: Literal[
        "recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown"
    ]
    hospitalization: bool = False
    life_threatening: bool = False
    results_in_death: bool = False
    medically_important: bool = False


class InfusionIn(Schema):
    """The infusion as given."""

    started_at: dt.datetime
    stopped_at: dt.datetime
    volume_infused_ml: Positive
    location: Text
    temperature_c: Temperature | None = None
    reactions: Annotated[list[ReactionIn], Field(default_factory=list, max_length=20)]


def _verification_document(row: Any) -> dict[str, Any]:
    """A verification as its own verifier sees it (no one else's entries are returned)."""
    return {
        "verification_id": row.pk,
        "subject_id": row.subject_id,
        "verifier": row.verifier_username,
        "meaning": row.meaning,
        "signed_at": row.signed_at,
    }


def _check_document(row: Any) -> dict[str, Any]:
    return {
        "check_id": row.pk,
        "subject_id": row.subject_id,
        "bag_id": row.bag_label,
        "allowed": row.allowed,
        "infusion_number": row.infusion_number,
        "checked_at": row.checked_at,
        "failures": row.failures,
        "verifiers": [row.first.verifier_username, row.second.verifier_username],
    }


def _infusion_document(row: Any) -> dict[str, Any]:
    return {
        "infusion_id": row.pk,
        "subject_id": row.subject_id,
        "bag_id": row.bag.unit_id,
        "infusion_number": row.infusion_number,
        "started_at": row.started_at,
        "stopped_at": row.stopped_at,
        "volume_infused_ml": str(row.volume_infused_ml),
        "cells_infused": str(row.cells_infused),
        "adverse_event_ids": [r.adverse_event_id for r in row.reactions.all()],
        "recorded_by": row.recorded_by,
    }


@router.post("/subjects/{subject_id}/blood-draws", response={201: dict[str, Any]})
def blood_draw(request: HttpRequest, subject_id: int, payload: BloodDrawIn) -> dict[str, Any]:
    """Record a blood draw; the first one assigns the chain-of-identity id (IKC arm only)."""
    unit = blood_draw_record(
        actor=request.auth,
        subject_id=subject_id,
        facility=payload.facility,
        patient_identifier_1=payload.patient_identifier_1,
        patient_identifier_2=payload.patient_identifier_2,
        data=payload.data(),
    )
    return unit_document(unit)


@router.get("/subjects/{subject_id}/product", response=dict[str, Any])
def therapy(request: HttpRequest, subject_id: int) -> dict[str, Any]:
    """The subject's CoI, every unit with its state, and the custody ledger."""
    return therapy_document(request.auth, subject_id)


@router.get("/subjects/{subject_id}/product/accounting", response=dict[str, Any])
def subject_accounting(request: HttpRequest, subject_id: int) -> dict[str, Any]:
    """Every unit of the subject accounted for (infused, destroyed, expired, in stock...)."""
    return subject_accounting_document(request.auth, subject_id)


@router.get("/product/units/{unit_id}", response=dict[str, Any])
def unit(request: HttpRequest, unit_id: str) -> dict[str, Any]:
    """One unit with its custody state, release status and expiry."""
    return unit_document(unit_for_user(request.auth, unit_id))


@router.post("/product/units/{unit_id}/units", response={201: dict[str, Any]})
def derive(request: HttpRequest, unit_id: str, payload: DeriveIn) -> dict[str, Any]:
    """Derive a culture from a collection, a lot from a culture, a bag from a lot."""
    made = unit_derive(
        actor=request.auth,
        parent_id=unit_id,
        infusion_number=payload.infusion_number,
        bag_volume_ml=payload.bag_volume_ml,
        viable_cells=payload.viable_cells,
    )
    return unit_document(made)


@router.post("/product/units/{unit_id}/events", response={201: dict[str, Any]})
def custody_event(request: HttpRequest, unit_id: str, payload: CustodyEventIn) -> dict[str, Any]:
    """Append a custody event (a correction is a ``reversal`` naming the event and a reason)."""
    fields = payload.dict(exclude={"event_type"})
    row = custody_event_record(
        actor=request.auth,
        unit_id=unit_id,
        event_type=payload.event_type,
        data=EventInput(**fields),
    )
    return event_document(row)


@router.get("/product/units/{unit_id}/timeline", response=dict[str, Any])
def timeline(request: HttpRequest, unit_id: str) -> dict[str, Any]:
    """Milestones, each step's duration and the vein-to-vein time of a unit."""
    return timeline_document(request.auth, unit_id)


@router.get("/product/units/{unit_id}/label")
def label(request: HttpRequest, unit_id: str, format: LabelFormat = "png") -> HttpResponse:
    """The unit's label (QR code of the id, CoI, patient identifiers) as PNG or PDF."""
    found = unit_for_user(request.auth, unit_id)
    body, content_type = unit_label(found, format)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{found.unit_id}.{format}"'
    return response


@router.get("/product/lots/{lot_id}/qc", response=list[dict[str, Any]])
def qc_list(request: HttpRequest, lot_id: str) -> list[dict[str, Any]]:
    """The lot's QC results, out-of-specification ones flagged."""
    return qc_documents(unit_for_user(request.auth, lot_id, field="lot_id"))


@router.post("/product/lots/{lot_id}/qc", response={201: dict[str, Any]})
def qc_result(request: HttpRequest, lot_id: str, payload: QcIn) -> dict[str, Any]:
    """Enter a QC result; an out-of-specification one is recorded as a deviation."""
    row = qc_result_record(
        actor=request.auth,
        lot_id=lot_id,
        test_code=payload.test_code,
        value=payload.value,
        preliminary=payload.preliminary,
    )
    return next(d for d in qc_documents(row.lot) if d["result_id"] == row.pk)


@router.post("/product/lots/{lot_id}/release", response={201: dict[str, Any]})
def release(request: HttpRequest, lot_id: str, payload: SignIn) -> dict[str, Any]:
    """QA's e-signed release attempt; the decision (released or refused, with reasons)."""
    return release_document(
        lot_release(actor=request.auth, lot_id=lot_id, password=payload.password)
    )


@router.get("/product/lots/{lot_id}/batch-record", response=dict[str, Any])
def batch_record(request: HttpRequest, lot_id: str) -> dict[str, Any]:
    """The lot's batch record: manufacturing events by process step and day, and its QC."""
    return batch_record_document(request.auth, lot_id)


@router.get("/product/lots/{lot_id}/accounting", response=dict[str, Any])
def lot_accounting(request: HttpRequest, lot_id: str) -> dict[str, Any]:
    """Every bag of the lot accounted for."""
    return lot_accounting_document(request.auth, lot_id)


@router.post("/subjects/{subject_id}/bedside-verifications", response={201: dict[str, Any]})
def verification(request: HttpRequest, subject_id: int, payload: VerificationIn) -> dict[str, Any]:
    """One verifier's independent, e-signed entries at the bedside."""
    row = bedside_verify(
        actor=request.auth,
        subject_id=subject_id,
        password=payload.password,
        entries=VerifierEntries(
            wristband=(payload.wristband[0], payload.wristband[1]),
            bag_label_patient=(payload.bag_label_patient[0], payload.bag_label_patient[1]),
            bag_label=payload.bag_label,
            bag_intact=payload.bag_intact,
            appearance_acceptable=payload.appearance_acceptable,
        ),
    )
    return _verification_document(row)


@router.post("/subjects/{subject_id}/bedside-overrides", response={201: dict[str, Any]})
def override(request: HttpRequest, subject_id: int, payload: OverrideIn) -> dict[str, Any]:
    """An investigator's e-signed override of soft blocks (fever, TACE blackout, labs...)."""
    row = bedside_override(
        actor=request.auth,
        subject_id=subject_id,
        checks=payload.checks,
        reason=payload.reason,
        password=payload.password,
    )
    return {
        "override_id": row.pk,
        "checks": row.checks,
        "reason": row.reason,
        "signed_by": row.signer_username,
        "signed_at": row.signed_at,
    }


@router.post("/subjects/{subject_id}/bedside-checks", response={201: dict[str, Any]})
def check(request: HttpRequest, subject_id: int, payload: CheckIn) -> dict[str, Any]:
    """Run the bedside checks; the decision is recorded, allowed or blocked with reasons."""
    row = bedside_check(
        actor=request.auth,
        subject_id=subject_id,
        bag_id=payload.bag_id,
        verification_ids=payload.verification_ids,
        clinical=PreInfusionClinical(**payload.clinical.dict()),
        override_id=payload.override_id,
    )
    return _check_document(row)


@router.post("/product/bedside-checks/{check_id}/infusion", response={201: dict[str, Any]})
def infusion(request: HttpRequest, check_id: int, payload: InfusionIn) -> dict[str, Any]:
    """Record the infusion an allowed check cleared (409 when blocked or already infused)."""
    reactions = [
        ReactionInput(
            description=r.description,
            ctcae_term=r.ctcae_term,
            ctcae_grade=r.ctcae_grade,
            onset_at=r.onset_at,
            outcome=r.outcome,
            serious={
                "hospitalization": r.hospitalization,
                "life_threatening": r.life_threatening,
                "results_in_death": r.results_in_death,
                "medically_important": r.medically_important,
            },
        )
        for r in payload.reactions
    ]
    row = infusion_record(
        actor=request.auth,
        check_id=check_id,
        data=InfusionInput(
            started_at=payload.started_at,
            stopped_at=payload.stopped_at,
            volume_infused_ml=payload.volume_infused_ml,
            location=payload.location,
            temperature_c=payload.temperature_c,
            reactions=reactions,
        ),
    )
    return _infusion_document(row)


@router.get("/product/exposure", response=list[dict[str, Any]])
def exposure(request: HttpRequest) -> list[dict[str, Any]]:
    """The IKC arm's exposure per subject: infusions given of those planned, cumulative cells."""
    return exposure_rows(request.auth)
