"""Reads of the product records: site scoping, the ledger as core events, documents for the API.

Product records belong to a subject through its therapy (CoI), so site scoping is the subjects'
(``subjects_for_user``): a unit of another site's subject answers 404. The rules live in the core
(``ikctrial.product``); here the stored rows become its inputs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from ikctrial.errors import InputError
from ikctrial.product import custody as core_custody
from ikctrial.product.bedside import PatientIdentifiers
from ikctrial.product.identifiers import (
    ChainOfIdentityId,
    UnitId,
    UnitKind,
    parse_chain_of_identity_id,
    parse_unit_id,
)
from ikctrial.product.infusion_record import InfusionReaction, InfusionRecord
from ikctrial.product.infusion_schedule import planned_infusions
from ikctrial.product.reconciliation import (
    Accounting,
    exposure_summary,
    lot_accounting,
    product_timeline,
    subject_accounting,
)
from ikctrial.product.release import (
    INFUSIBLE,
    ReleaseDecision,
    ReleaseStatus,
    evaluate_qc,
    lot_status_at,
)
from ikctrial.product.release import (
    QcResult as CoreQcResult,
)
from ikctrial.product.signature import ESignature
from ikctrial.web.crf.models import AdverseEvent, StudyExit, TaceProcedure
from ikctrial.web.errors import NotFoundError
from ikctrial.web.product import clock
from ikctrial.web.product.models import (
    CustodyEvent,
    Infusion,
    LotRelease,
    ProductUnit,
    QcResult,
    Therapy,
)
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_user, subjects_for_user

MAX_UNIT_TEXT = 60


def product_subject(actor: Actor, subject_id: int) -> Subject:
    """A visible subject whose product records the actor may read."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.PRODUCT_VIEW)
    return subject


def units_for_user(actor: Actor) -> QuerySet[ProductUnit]:
    """The units of the subjects the actor sees."""
    return ProductUnit.objects.filter(therapy__subject__in=subjects_for_user(actor)).select_related(
        "therapy__subject__site", "parent"
    )


def parse_unit(text: str, *, field: str = "unit_id") -> UnitId:
    """A unit id as scanned or typed (422 when malformed or its check character is wrong)."""
    if len(text) > MAX_UNIT_TEXT or "\x00" in text:
        raise InputError(field, "is not a unit id")
    return parse_unit_id(text, field=field)


def unit_for_user(actor: Actor, unit_id: str, *, field: str = "unit_id") -> ProductUnit:
    """One visible unit by its id; another site's unit, or none, is ``NotFoundError``."""
    parsed = parse_unit(unit_id, field=field)
    unit: ProductUnit | None = units_for_user(actor).filter(unit_id=str(parsed)).first()
    if unit is None:
        raise NotFoundError(f"unit {parsed} not found")
    authorize(actor, Action.PRODUCT_VIEW)
    return unit


def therapy_coi(therapy: Therapy) -> ChainOfIdentityId:
    """The stored CoI as the core's identifier."""
    return parse_chain_of_identity_id(therapy.coi_id)


def core_unit(unit: ProductUnit) -> UnitId:
    """The stored unit as the core's identifier."""
    return parse_unit_id(unit.unit_id)


def patient_identifiers(therapy: Therapy) -> PatientIdentifiers:
    """The two patient identifiers recorded with the CoI."""
    return PatientIdentifiers(therapy.patient_identifier_1, therapy.patient_identifier_2)


def _optional(text: str) -> str | None:
    return text or None


def core_event(row: CustodyEvent, unit_ids: dict[int, UnitId]) -> core_custody.CustodyEvent:
    """One ledger row as the core's custody event (its id is the row id)."""
    return core_custody.CustodyEvent(
        event_id=str(row.pk),
        type=core_custody.CustodyEventType(row.event_type),
        unit=unit_ids[row.unit_id],
        occurred_at=row.occurred_at,
        user_id=row.recorded_by,
        role=row.role,
        location=row.location,
        temperature_c=row.temperature_c,
        logger_id=_optional(row.logger_id),
        logger_min_c=row.logger_min_c,
        logger_max_c=row.logger_max_c,
        condition=core_custody.CustodyCondition(row.condition),
        note=_optional(row.note),
        step=_optional(row.step),
        reverses=None if row.reverses_id is None else str(row.reverses_id),
        reason=_optional(row.reason),
    )


def ledger(therapy: Therapy) -> list[core_custody.CustodyEvent]:
    """The therapy's whole custody ledger, in recording order, as core events."""
    unit_ids = {u.pk: core_unit(u) for u in therapy.units.all()}
    return [core_event(row, unit_ids) for row in therapy.custody.order_by("id")]


def custody_limits() -> core_custody.CustodyLimits:
    """The cold-chain range of the protocol's product section."""
    return core_custody.custody_limits(clock.protocol().product)


def unit_state(unit: ProductUnit, *, now: dt.datetime | None = None) -> core_custody.UnitState:
    """The custody state of a unit from the ledger of its CoI."""
    return core_custody.custody_state(
        ledger(unit.therapy), core_unit(unit), custody_limits(), now=now
    )


def lot_of(unit: ProductUnit) -> ProductUnit | None:
    """The lot a unit belongs to (itself for a lot; None above the lot level)."""
    current: ProductUnit | None = unit
    while current is not None and current.kind != UnitKind.LOT:
        current = current.parent
    return current


def core_qc_results(lot: ProductUnit, *, until: dt.datetime | None = None) -> list[CoreQcResult]:
    """The lot's QC results (those recorded up to ``until``) as core results."""
    rows = lot.qc_results.order_by("id")
    if until is not None:
        rows = rows.filter(recorded_at__lte=until)
    return [
        CoreQcResult(r.test_code, r.value, r.recorded_by, r.recorded_at, preliminary=r.preliminary)
        for r in rows
    ]


def release_in_force(lot: ProductUnit) -> LotRelease | None:
    """The latest release decision of a lot."""
    row: LotRelease | None = lot.releases.order_by("-signed_at", "-id").first()
    return row


def core_release(lot: ProductUnit) -> ReleaseDecision | None:
    """The lot's release decision in force as the core's decision (None: never attempted)."""
    row = release_in_force(lot)
    if row is None:
        return None
    tests = clock.protocol().product.release_tests
    return ReleaseDecision(
        lot_id=core_unit(lot),
        status=ReleaseStatus(row.status),
        refusals=tuple(row.refusals),
        evaluation=evaluate_qc(tests, core_qc_results(lot, until=row.signed_at)),
        expiry_at=row.expiry_at,
        signature=ESignature(
            row.signer_username, row.signer_name, row.signer_role, row.meaning, row.signed_at
        ),
    )


def lot_status(lot: ProductUnit, now: dt.datetime) -> ReleaseStatus:
    """The lot's status now: destroyed, expired, or as decided (QUARANTINE before release)."""
    state = unit_state(lot)
    destroyed = state.status is core_custody.CustodyStatus.DESTROYED
    return lot_status_at(core_release(lot), now, destroyed=destroyed)


def tace_dates(subject: Subject) -> tuple[dt.date, ...]:
    """The subject's TACE sessions (for the infusion calendar's blackouts)."""
    rows = TaceProcedure.objects.filter(subject=subject).order_by("performed_on")
    return tuple(rows.values_list("performed_on", flat=True))


def consent_active(subject: Subject) -> bool:
    """Consent signed and the subject not out of the study (an exit ends every infusion)."""
    exited = StudyExit.objects.filter(subject=subject).exists()
    return bool(subject.consents.exists() and not exited)


def ikc_discontinued(subject: Subject) -> bool:
    """True when an adverse event led to permanent discontinuation of IKC."""
    return bool(
        AdverseEvent.objects.filter(
            subject=subject, action_taken_ikc="permanently_discontinued"
        ).exists()
    )


def site_zone(subject: Subject) -> ZoneInfo:
    """The subject's site time zone (calendar dates are local, domain.md 1.3)."""
    return ZoneInfo(subject.site.timezone)


def infusions_given(subject: Subject) -> dict[int, dt.date]:
    """Infusion number -> local date given."""
    zone = site_zone(subject)
    return {
        i.infusion_number: i.started_at.astimezone(zone).date()
        for i in Infusion.objects.filter(subject=subject)
    }


def randomization_date(subject: Subject) -> dt.date | None:
    """RANDDT in the site's time zone."""
    randomization = getattr(subject, "randomization", None)
    if randomization is None:
        return None
    day: dt.date = randomization.randomized_at.astimezone(site_zone(subject)).date()
    return day


def core_infusion(row: Infusion) -> InfusionRecord:
    """A stored infusion as the core's record."""
    return InfusionRecord(
        subject_id=str(row.subject_id),
        infusion_number=row.infusion_number,
        bag_id=parse_unit_id(row.bag.unit_id),
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        volume_infused_ml=row.volume_infused_ml,
        cells_infused=row.cells_infused,
        reactions=tuple(
            InfusionReaction(r.description, r.ctcae_grade, r.onset_at) for r in row.reactions.all()
        ),
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def event_document(row: CustodyEvent) -> dict[str, Any]:
    """One ledger entry as the API shows it."""
    return {
        "event_id": row.pk,
        "unit_id": row.unit.unit_id,
        "event_type": row.event_type,
        "occurred_at": row.occurred_at,
        "recorded_at": row.recorded_at,
        "recorded_by": row.recorded_by,
        "role": row.role,
        "location": row.location,
        "temperature_c": _number(row.temperature_c),
        "logger_id": row.logger_id or None,
        "logger_min_c": _number(row.logger_min_c),
        "logger_max_c": _number(row.logger_max_c),
        "condition": row.condition,
        "note": row.note or None,
        "step": row.step or None,
        "reverses": row.reverses_id,
        "reason": row.reason or None,
    }


def unit_document(unit: ProductUnit, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A unit with its custody state (and, for a lot or bag, its release status and expiry)."""
    moment = now or clock.now()
    state = unit_state(unit, now=moment)
    lot = lot_of(unit)
    release = None if lot is None else release_in_force(lot)
    return {
        "unit_id": unit.unit_id,
        "coi_id": unit.therapy.coi_id,
        "subject_id": unit.therapy.subject_id,
        "kind": UnitKind(unit.kind).name.lower(),
        "parent_id": None if unit.parent is None else unit.parent.unit_id,
        "infusion_number": unit.infusion_number,
        "bag_volume_ml": _number(unit.bag_volume_ml),
        "viable_cells": _number(unit.viable_cells),
        "custody_status": state.status.value,
        "location": state.location,
        "quarantined": state.quarantined,
        "quarantine_reasons": list(state.quarantine_reasons),
        "release_status": None if lot is None else lot_status(lot, moment).value,
        "expiry_at": None if release is None else _iso(release.expiry_at),
        "created_by": unit.created_by,
        "created_at": unit.created_at,
    }


def therapy_document(actor: Actor, subject_id: int) -> dict[str, Any]:
    """A subject's CoI, units and ledger."""
    subject = product_subject(actor, subject_id)
    therapy = Therapy.objects.filter(subject=subject).first()
    if therapy is None:
        raise NotFoundError(f"subject {subject_id} has no chain-of-identity id")
    now = clock.now()
    coi = therapy_coi(therapy)
    return {
        "subject_id": subject.pk,
        "coi_id": therapy.coi_id,
        "coi_label": coi.label_text,
        "assigned_by": therapy.assigned_by,
        "assigned_at": therapy.assigned_at,
        "units": [unit_document(u, now=now) for u in therapy.units.select_related("parent")],
        "ledger": [event_document(e) for e in therapy.custody.select_related("unit")],
    }


def accounting_document(accounting: Accounting) -> dict[str, Any]:
    """Units by disposition, and whether every one is accounted for."""
    return {
        "key": accounting.key,
        "balanced": accounting.balanced,
        "counts": {d.value: n for d, n in accounting.counts.items()},
        "units": [{"unit_id": str(u), "disposition": d.value} for u, d in accounting.units],
    }


def _lot_accounting(lot: ProductUnit, now: dt.datetime) -> Accounting:
    release = release_in_force(lot)
    bags = {core_unit(b): unit_state(b, now=now) for b in lot.children.all()}
    expiry = None if release is None else release.expiry_at
    return lot_accounting(core_unit(lot), bags, expiry_at=expiry, now=now)


def lot_accounting_document(actor: Actor, lot_id: str) -> dict[str, Any]:
    """Every bag of a lot accounted for: infused, destroyed, expired, in stock..."""
    lot = unit_for_user(actor, lot_id, field="lot_id")
    if lot.kind != UnitKind.LOT:
        raise InputError("lot_id", f"{lot.unit_id} is not a lot")
    return accounting_document(_lot_accounting(lot, clock.now()))


def subject_accounting_document(actor: Actor, subject_id: int) -> dict[str, Any]:
    """Every bag of every lot of a subject accounted for, and per lot."""
    subject = product_subject(actor, subject_id)
    now = clock.now()
    lots = ProductUnit.objects.filter(therapy__subject=subject, kind=UnitKind.LOT)
    per_lot = [_lot_accounting(lot, now) for lot in lots]
    document = accounting_document(subject_accounting(str(subject.pk), per_lot))
    document["lots"] = [accounting_document(a) for a in per_lot]
    return document


def _seconds(span: dt.timedelta | None) -> float | None:
    return None if span is None else span.total_seconds()


def timeline_document(actor: Actor, unit_id: str) -> dict[str, Any]:
    """Milestones of a unit's lineage, each step's duration and the vein-to-vein time."""
    unit = unit_for_user(actor, unit_id)
    timeline = product_timeline(unit_state(unit))
    return {
        "unit_id": str(timeline.unit),
        "milestones": [{"event_type": m.value, "at": at} for m, at in timeline.milestones],
        "steps": [
            {
                "from": s.start.value,
                "to": s.end.value,
                "started_at": s.started_at,
                "ended_at": s.ended_at,
                "duration_hours": s.duration.total_seconds() / 3600,
            }
            for s in timeline.steps
        ],
        "vein_to_vein_hours": None
        if timeline.vein_to_vein is None
        else timeline.vein_to_vein.total_seconds() / 3600,
    }


def exposure_rows(actor: Actor) -> list[dict[str, Any]]:
    """The IKC arm's exposure per subject: infusions given of those planned, cumulative cells."""
    authorize(actor, Action.PRODUCT_VIEW)
    protocol = clock.protocol()
    experimental = {a.code for a in protocol.arms if a.type == "experimental"}
    rows = []
    today = clock.now()
    subjects = subjects_for_user(actor).filter(randomization__arm__in=experimental)
    for subject in subjects:
        randomized_on = randomization_date(subject)
        if randomized_on is None:
            continue
        given = infusions_given(subject)
        plan = planned_infusions(
            protocol.schedule,
            randomized_on,
            tace_dates=tace_dates(subject),
            given=given,
            as_of=today.astimezone(site_zone(subject)).date(),
        )
        infusions = Infusion.objects.filter(subject=subject).select_related("bag")
        summary = exposure_summary(str(subject.pk), plan, [core_infusion(i) for i in infusions])
        rows.append(
            {
                "subject_id": subject.pk,
                "screening_number": subject.screening_number,
                "arm": subject.randomization.arm,
                "planned": summary.planned,
                "given": summary.given,
                "missed": summary.missed,
                "cumulative_cells": str(summary.cumulative_cells),
                "cumulative_volume_ml": str(summary.cumulative_volume_ml),
                "infusions_with_reactions": summary.infusions_with_reactions,
            }
        )
    return rows


def qc_documents(lot: ProductUnit) -> list[dict[str, Any]]:
    """A lot's QC results, with the OOS deviation each one raised."""
    rows: list[QcResult] = list(lot.qc_results.order_by("id"))
    documents = []
    for row in rows:
        deviation = getattr(row, "deviation", None)
        documents.append(
            {
                "result_id": row.pk,
                "test_code": row.test_code,
                "value": row.value,
                "preliminary": row.preliminary,
                "recorded_by": row.recorded_by,
                "recorded_at": row.recorded_at,
                "out_of_specification": deviation is not None,
                "specification": None if deviation is None else deviation.specification,
            }
        )
    return documents


def release_document(row: LotRelease) -> dict[str, Any]:
    """One release decision."""
    return {
        "release_id": row.pk,
        "lot_id": row.lot.unit_id,
        "status": row.status,
        "released": row.status in INFUSIBLE,
        "refusals": row.refusals,
        "outcomes": row.outcomes,
        "expiry_at": row.expiry_at,
        "signed_by": row.signer_username,
        "signer_name": row.signer_name,
        "meaning": row.meaning,
        "signed_at": row.signed_at,
    }


def batch_record_document(actor: Actor, lot_id: str) -> dict[str, Any]:
    """The lot's batch record: each manufacturing event of its lineage with its process step and
    its day from culture start (day 0), and the culture duration (domain.md 8.1)."""
    lot = unit_for_user(actor, lot_id, field="lot_id")
    if lot.kind != UnitKind.LOT:
        raise InputError("lot_id", f"{lot.unit_id} is not a lot")
    state = unit_state(lot)
    started = state.first(core_custody.CustodyEventType.CULTURE_STARTED)
    harvested = state.first(core_custody.CustodyEventType.HARVESTED)
    steps = []
    for event in state.events_in_force:
        day = None if started is None else (event.occurred_at - started.occurred_at).days
        steps.append(
            {
                "event_id": int(event.event_id),
                "event_type": event.type.value,
                "unit_id": str(event.unit),
                "step": event.step,
                "day": day,
                "occurred_at": event.occurred_at,
                "recorded_by": event.user_id,
            }
        )
    duration = None
    if started is not None and harvested is not None:
        duration = (harvested.occurred_at - started.occurred_at).total_seconds() / 86400
    return {
        "lot_id": lot.unit_id,
        "culture_started_at": None if started is None else started.occurred_at,
        "harvested_at": None if harvested is None else harvested.occurred_at,
        "culture_days": duration,
        "events": steps,
        "qc": qc_documents(lot),
    }
