"""The only writers of product records: blood draw (CoI), units, custody, QC, release, bedside.

Every service checks the role (``authorize``) and site scoping (through the subject), runs the
core rule (``ikctrial.product``) on the stored records, and writes inside ``audit_context`` in one
transaction. A service that appends to a CoI's custody ledger first locks the therapy row, so
appends of one CoI are serialized and each is checked against the ledger as it stands (on SQLite
the transaction is ``BEGIN IMMEDIATE``). Signatures re-authenticate the signer with the password
(21 CFR 11.200) and store the printed name, role, meaning and time (11.50).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max

from ikctrial.errors import InputError
from ikctrial.product import custody as core_custody
from ikctrial.product import infusion_record as core_infusion
from ikctrial.product.bedside import (
    OVERRIDE_MEANING,
    SOFT_CHECKS,
    VERIFIED_MEANING,
    BagRecord,
    BedsideDecision,
    InvestigatorOverride,
    PatientIdentifiers,
    PreInfusionClinical,
    SubjectRecord,
    severity_of,
    verify_bedside,
)
from ikctrial.product.bedside import (
    BedsideCheck as CheckCode,
)
from ikctrial.product.bedside import (
    BedsideVerification as CoreVerification,
)
from ikctrial.product.identifiers import UnitKind, chain_of_identity_id
from ikctrial.product.release import (
    RELEASE_MEANING,
    LotRecord,
    release_decision,
    result_passes,
    specification_text,
)
from ikctrial.product.release import (
    QcResult as CoreQcResult,
)
from ikctrial.product.signature import ESignature, require_aware, require_text
from ikctrial.web.audit.context import actor_name, audit_context
from ikctrial.web.crf.services import crf_record_save
from ikctrial.web.errors import ConflictError, ForbiddenError, NotFoundError
from ikctrial.web.product import clock
from ikctrial.web.product.models import (
    BedsideCheck,
    BedsideOverride,
    BedsideVerification,
    CustodyEvent,
    Infusion,
    InfusionReaction,
    LotRelease,
    OosDeviation,
    ProductUnit,
    QcResult,
    Therapy,
)
from ikctrial.web.product.selectors import (
    consent_active,
    core_qc_results,
    core_release,
    core_unit,
    custody_limits,
    ikc_discontinued,
    infusions_given,
    ledger,
    lot_of,
    parse_unit,
    patient_identifiers,
    product_subject,
    randomization_date,
    site_zone,
    tace_dates,
    therapy_coi,
    unit_for_user,
    unit_state,
)
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize, may, role_of
from ikctrial.web.subjects.models import Subject
from ikctrial.web.validation import save_validated

E = core_custody.CustodyEventType
MANUFACTURING_EVENTS = frozenset(
    {E.RECEIVED, E.CULTURE_STARTED, E.MEDIA_ADDED, E.CYTOKINE_ADDED, E.HARVESTED, E.QC_SAMPLED}
)
"""Events of the cell lab's batch record (role with ``product.manufacture``)."""
SERVICE_EVENTS = {
    E.COLLECTED: "POST /subjects/{subject_id}/blood-draws",
    E.RELEASED: "POST /product/lots/{lot_id}/release",
    E.INFUSED: "POST /product/bedside-checks/{check_id}/infusion",
}
"""Events written only by their own service (with the checks of that step)."""
CHILD_KIND = {
    UnitKind.COLLECTION: UnitKind.CULTURE,
    UnitKind.CULTURE: UnitKind.LOT,
    UnitKind.LOT: UnitKind.BAG,
}
CELLS = Decimal(1)


def _signer(actor: Actor, password: str) -> Any:
    """The re-authenticated signing user (11.200); a wrong password signs nothing (403)."""
    if isinstance(actor, str) or not hasattr(actor, "check_password"):
        raise ForbiddenError("an electronic signature needs a user account, not the command line")
    if not password or not actor.check_password(password):
        raise ForbiddenError("password: the password does not match; nothing was signed")
    return actor


def _printed_name(user: Any) -> str:
    return str(user.get_full_name().strip() or user.get_username())


def _role(actor: Actor) -> str:
    return "operator" if isinstance(actor, str) else str(role_of(actor) or "")


def _aware(moment: dt.datetime, field: str) -> dt.datetime:
    return require_aware(moment, field)


def _not_future(moment: dt.datetime, field: str, now: dt.datetime) -> dt.datetime:
    """Events are recorded when (or after) they happen, never ahead (ALCOA contemporaneous)."""
    if _aware(moment, field) > now + dt.timedelta(minutes=5):
        raise InputError(field, f"{moment.isoformat()} is in the future")
    return moment


def _locked_therapy(therapy_id: int) -> Therapy:
    therapy: Therapy = (
        Therapy.objects.select_for_update().select_related("subject__site").get(pk=therapy_id)
    )
    return therapy


@dataclass(frozen=True)
class EventInput:
    """What a custody event records besides its type and unit (domain.md 8.4)."""

    occurred_at: dt.datetime
    location: str
    temperature_c: Decimal | None = None
    logger_id: str = ""
    logger_min_c: Decimal | None = None
    logger_max_c: Decimal | None = None
    condition: str = core_custody.CustodyCondition.ACCEPTABLE.value
    note: str = ""
    step: str = ""
    reverses: int | None = None
    reason: str = ""


def _append(
    *, actor: Actor, unit: ProductUnit, event_type: core_custody.CustodyEventType, data: EventInput
) -> CustodyEvent:
    """Append one event to the unit's CoI ledger after the core accepts it (409 if not)."""
    therapy = _locked_therapy(unit.therapy_id)
    reverses = None
    if data.reverses is not None:
        reverses = CustodyEvent.objects.filter(therapy=therapy, pk=data.reverses).first()
        if reverses is None:
            raise InputError("reverses", f"event {data.reverses} is not an event of this CoI")
    try:
        condition = core_custody.CustodyCondition(data.condition)
    except ValueError:
        choices = ", ".join(c.value for c in core_custody.CustodyCondition)
        raise InputError("condition", f"{data.condition!r} is not one of {choices}") from None
    row = CustodyEvent(
        therapy=therapy,
        unit=unit,
        event_type=event_type.value,
        occurred_at=data.occurred_at,
        recorded_at=clock.now(),
        recorded_by=actor_name(actor),
        role=_role(actor),
        location=data.location,
        temperature_c=data.temperature_c,
        logger_id=data.logger_id,
        logger_min_c=data.logger_min_c,
        logger_max_c=data.logger_max_c,
        condition=condition.value,
        note=data.note,
        step=data.step,
        reverses=reverses,
        reason=data.reason,
    )
    try:
        new = core_custody.CustodyEvent(
            event_id="new",
            type=event_type,
            unit=core_unit(unit),
            occurred_at=_aware(data.occurred_at, "occurred_at"),
            user_id=row.recorded_by,
            role=row.role,
            location=data.location,
            temperature_c=data.temperature_c,
            logger_id=data.logger_id or None,
            logger_min_c=data.logger_min_c,
            logger_max_c=data.logger_max_c,
            condition=condition,
            note=data.note or None,
            step=data.step or None,
            reverses=None if reverses is None else str(reverses.pk),
            reason=data.reason or None,
        )
        core_custody.appended_state(ledger(therapy), new, custody_limits())
    except core_custody.CustodyError as error:
        raise ConflictError(f"custody: {error.reason}") from None
    save_validated(row)
    return row


def _subject_for_draw(subject: Subject) -> None:
    """Only a randomized subject of the IKC (experimental) arm gets a CoI (issue 1)."""
    randomization = getattr(subject, "randomization", None)
    if randomization is None or randomization.status != "randomized":
        raise ConflictError("the subject is not randomized: no chain of identity is assigned")
    experimental = {a.code for a in clock.protocol().arms if a.type == "experimental"}
    if randomization.arm not in experimental:
        raise ConflictError(
            f"the subject is in arm {randomization.arm}, not the IKC arm: no cell product"
        )


def _new_therapy(
    *, actor: Actor, subject: Subject, facility: str, identifiers: PatientIdentifiers
) -> Therapy:
    """Assign the next CoI of the facility in the current year (never reused: unique)."""
    year = clock.now().year
    chain_of_identity_id(facility, year, 1)  # checks the facility code and year first
    last = Therapy.objects.filter(facility=facility, year=year).aggregate(m=Max("sequence"))["m"]
    coi = chain_of_identity_id(facility, year, (last or 0) + 1)
    therapy = Therapy(
        subject=subject,
        coi_id=str(coi),
        facility=facility,
        year=year,
        sequence=coi.sequence,
        patient_identifier_1=identifiers.first,
        patient_identifier_2=identifiers.second,
        assigned_by=actor_name(actor),
        assigned_at=clock.now(),
    )
    save_validated(therapy)
    return therapy


def _new_unit(
    *, actor: Actor, therapy: Therapy, parent: ProductUnit | None, kind: UnitKind, **bag: Any
) -> ProductUnit:
    siblings = ProductUnit.objects.filter(therapy=therapy, parent=parent, kind=kind.value)
    number = siblings.count() + 1
    coi = therapy_coi(therapy)
    unit_id = coi.unit(kind, number) if parent is None else core_unit(parent).unit(kind, number)
    unit = ProductUnit(
        therapy=therapy,
        parent=parent,
        unit_id=str(unit_id),
        kind=kind.value,
        number=number,
        created_by=actor_name(actor),
        created_at=clock.now(),
        **bag,
    )
    save_validated(unit)
    return unit


@transaction.atomic
def blood_draw_record(
    *,
    actor: Actor,
    subject_id: int,
    facility: str,
    patient_identifier_1: str,
    patient_identifier_2: str,
    data: EventInput,
    source: str = "api",
) -> ProductUnit:
    """Record a blood draw: the first one assigns the CoI; each draw is a new collection unit."""
    subject = product_subject(actor, subject_id)
    authorize(actor, Action.PRODUCT_COLLECT)
    subject = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
    _subject_for_draw(subject)
    _not_future(data.occurred_at, "collected_at", clock.now())
    identifiers = PatientIdentifiers(
        require_text(patient_identifier_1, "patient_identifier_1"),
        require_text(patient_identifier_2, "patient_identifier_2"),
    )
    with audit_context(actor=actor, source=source):
        therapy = Therapy.objects.filter(subject=subject).first()
        if therapy is None:
            therapy = _new_therapy(
                actor=actor, subject=subject, facility=facility, identifiers=identifiers
            )
        elif not identifiers.matches(patient_identifiers(therapy)):
            raise ConflictError(
                "patient identifiers do not match those recorded with the subject's CoI"
            )
        unit = _new_unit(actor=actor, therapy=therapy, parent=None, kind=UnitKind.COLLECTION)
        _append(actor=actor, unit=unit, event_type=E.COLLECTED, data=data)
    return unit


def _positive(value: Decimal | None, field: str) -> Decimal:
    if value is None or not value.is_finite() or value <= 0:
        raise InputError(field, "required, a positive number")
    return value


@transaction.atomic
def unit_derive(
    *,
    actor: Actor,
    parent_id: str,
    infusion_number: int | None = None,
    bag_volume_ml: Decimal | None = None,
    viable_cells: Decimal | None = None,
    source: str = "api",
) -> ProductUnit:
    """Derive the next unit from ``parent_id``: a culture, a lot or a bag (for one infusion)."""
    parent = unit_for_user(actor, parent_id, field="parent_id")
    authorize(actor, Action.PRODUCT_MANUFACTURE)
    kind = CHILD_KIND.get(UnitKind(parent.kind))
    if kind is None:
        raise InputError("parent_id", f"{parent.unit_id} is a bag: nothing is derived from it")
    bag: dict[str, Any] = {}
    if kind is UnitKind.BAG:
        planned = len(clock.protocol().schedule.infusion_plan)
        if infusion_number is None or not 1 <= infusion_number <= planned:
            raise InputError("infusion_number", f"required for a bag, one of 1..{planned}")
        bag = {
            "infusion_number": infusion_number,
            "bag_volume_ml": _positive(bag_volume_ml, "bag_volume_ml"),
            "viable_cells": _positive(viable_cells, "viable_cells").quantize(CELLS),
        }
    therapy = _locked_therapy(parent.therapy_id)
    with audit_context(actor=actor, source=source):
        return _new_unit(actor=actor, therapy=therapy, parent=parent, kind=kind, **bag)


@transaction.atomic
def custody_event_record(
    *, actor: Actor, unit_id: str, event_type: str, data: EventInput, source: str = "api"
) -> CustodyEvent:
    """Append a custody event (a hand-off, a manufacturing step, a correction by reversal)."""
    unit = unit_for_user(actor, unit_id)
    try:
        kind = core_custody.CustodyEventType(event_type)
    except ValueError:
        choices = ", ".join(t.value for t in core_custody.CustodyEventType)
        raise InputError("event_type", f"{event_type!r} is not one of {choices}") from None
    if kind in SERVICE_EVENTS:
        raise InputError("event_type", f"{kind.value} is recorded by {SERVICE_EVENTS[kind]}")
    authorize(
        actor, Action.PRODUCT_MANUFACTURE if kind in MANUFACTURING_EVENTS else Action.PRODUCT_HANDLE
    )
    _not_future(data.occurred_at, "occurred_at", clock.now())
    reason = data.reason if kind in core_custody.NEEDS_REASON else None
    with audit_context(actor=actor, reason=reason, source=source):
        return _append(actor=actor, unit=unit, event_type=kind, data=data)


def _lot(actor: Actor, lot_id: str) -> ProductUnit:
    lot = unit_for_user(actor, lot_id, field="lot_id")
    if lot.kind != UnitKind.LOT:
        raise InputError("lot_id", f"{lot.unit_id} is not a lot")
    return lot


@transaction.atomic
def qc_result_record(
    *,
    actor: Actor,
    lot_id: str,
    test_code: str,
    value: str,
    preliminary: bool = False,
    source: str = "api",
) -> QcResult:
    """Enter a QC result against the protocol's release test; OOS is recorded as a deviation."""
    lot = _lot(actor, lot_id)
    authorize(actor, Action.PRODUCT_MANUFACTURE)
    tests = {t.code: t for t in clock.protocol().product.release_tests}
    test = tests.get(test_code)
    if test is None:
        raise InputError("test_code", f"{test_code!r} is not one of {', '.join(tests)}")
    row = QcResult(
        lot=lot,
        test_code=test_code,
        value=require_text(value, "value"),
        preliminary=preliminary,
        recorded_by=actor_name(actor),
        recorded_at=clock.now(),
    )
    core = CoreQcResult(test_code, row.value, row.recorded_by, row.recorded_at, preliminary)
    passes = result_passes(test, core, field="value")
    with audit_context(actor=actor, source=source):
        save_validated(row)
        if not passes:
            deviation = OosDeviation(
                qc_result=row,
                test_name=test.name,
                specification=specification_text(test),
                recorded_at=row.recorded_at,
            )
            save_validated(deviation)
    return row


def _manufacturing_recorders(lot: ProductUnit) -> frozenset[str]:
    """Everyone who recorded the lot's manufacturing: its lineage's units and lab events."""
    state = unit_state(lot)
    names = {e.user_id for e in state.events_in_force if e.type in MANUFACTURING_EVENTS}
    unit: ProductUnit | None = lot
    while unit is not None:
        names.add(unit.created_by)
        unit = unit.parent
    return frozenset(names)


@transaction.atomic
def lot_release(*, actor: Actor, lot_id: str, password: str, source: str = "api") -> LotRelease:
    """QA's e-signed release attempt; refused automatically on a failing or missing test.

    Every attempt is stored with its decision; a released lot gets its ``released`` custody event.
    """
    lot = _lot(actor, lot_id)
    authorize(actor, Action.PRODUCT_RELEASE)
    signer = _signer(actor, password)
    therapy = _locked_therapy(lot.therapy_id)
    harvested = unit_state(lot).first(E.HARVESTED)
    if harvested is None:
        raise ConflictError("the lot is not harvested: nothing to release")
    now = clock.now()
    signature = ESignature(
        signer.get_username(), _printed_name(signer), _role(signer), RELEASE_MEANING, now
    )
    decision = release_decision(
        clock.protocol().product,
        LotRecord(core_unit(lot), _manufacturing_recorders(lot), harvested.occurred_at),
        core_qc_results(lot),
        signature=signature,
    )
    row = LotRelease(
        lot=lot,
        status=decision.status.value,
        refusals=list(decision.refusals),
        outcomes=[
            {"code": o.code, "name": o.name, "verdict": o.verdict.value, "reason": o.reason}
            for o in decision.evaluation.outcomes
        ],
        expiry_at=decision.expiry_at,
        signer_username=signature.user_id,
        signer_name=signature.printed_name,
        signer_role=signature.role,
        meaning=signature.meaning,
        signed_at=now,
    )
    why = f"electronic signature ({RELEASE_MEANING}) of lot {lot.unit_id}"
    with audit_context(actor=signer, reason=why, source=source):
        if decision.released:
            location = therapy.custody.order_by("-id").values_list("location", flat=True).first()
            _append(
                actor=signer,
                unit=lot,
                event_type=E.RELEASED,
                data=EventInput(occurred_at=now, location=location or "cell lab"),
            )
        save_validated(row)
    return row


@dataclass(frozen=True)
class VerifierEntries:
    """What one verifier scanned, typed and saw at the bedside (domain.md 8.6)."""

    wristband: tuple[str, str]
    bag_label_patient: tuple[str, str]
    bag_label: str
    bag_intact: bool
    appearance_acceptable: bool


@transaction.atomic
def bedside_verify(
    *,
    actor: Actor,
    subject_id: int,
    password: str,
    entries: VerifierEntries,
    source: str = "api",
) -> BedsideVerification:
    """One verifier's independent entries, e-signed "verified for administration"."""
    subject = product_subject(actor, subject_id)
    authorize(actor, Action.PRODUCT_ADMINISTER)
    signer = _signer(actor, password)
    for name, pair in (
        ("wristband", entries.wristband),
        ("bag_label_patient", entries.bag_label_patient),
    ):
        require_text(pair[0], f"{name}[0]")
        require_text(pair[1], f"{name}[1]")
    row = BedsideVerification(
        subject=subject,
        verifier_username=signer.get_username(),
        verifier_name=_printed_name(signer),
        verifier_role=_role(signer),
        wristband_1=entries.wristband[0],
        wristband_2=entries.wristband[1],
        bag_label_patient_1=entries.bag_label_patient[0],
        bag_label_patient_2=entries.bag_label_patient[1],
        bag_label=require_text(entries.bag_label, "bag_label"),
        bag_intact=entries.bag_intact,
        appearance_acceptable=entries.appearance_acceptable,
        meaning=VERIFIED_MEANING,
        signed_at=clock.now(),
    )
    why = f"electronic signature ({VERIFIED_MEANING}) at the bedside"
    with audit_context(actor=signer, reason=why, source=source):
        save_validated(row)
    return row


@transaction.atomic
def bedside_override(
    *,
    actor: Actor,
    subject_id: int,
    checks: Sequence[str],
    reason: str,
    password: str,
    source: str = "api",
) -> BedsideOverride:
    """An investigator's e-signed override of soft blocks, for the subject's next check."""
    subject = product_subject(actor, subject_id)
    authorize(actor, Action.PRODUCT_ADMINISTER)
    signer = _signer(actor, password)
    soft = sorted(c.value for c in SOFT_CHECKS)
    if not checks:
        raise InputError("checks", f"name at least one soft check ({', '.join(soft)})")
    for index, code in enumerate(checks):
        if code not in soft:
            raise InputError(
                f"checks[{index}]", f"{code!r} is not a soft block ({', '.join(soft)})"
            )
    row = BedsideOverride(
        subject=subject,
        checks=sorted(set(checks)),
        reason=require_text(reason, "reason"),
        signer_username=signer.get_username(),
        signer_name=_printed_name(signer),
        signer_role=_role(signer),
        meaning=OVERRIDE_MEANING,
        signed_at=clock.now(),
    )
    why = f"electronic signature ({OVERRIDE_MEANING}): {row.reason}"
    with audit_context(actor=signer, reason=why, source=source):
        save_validated(row)
    return row


def _core_override(row: BedsideOverride) -> InvestigatorOverride:
    return InvestigatorOverride(
        checks=frozenset(CheckCode(c) for c in row.checks),
        reason=row.reason,
        signature=ESignature(
            row.signer_username, row.signer_name, row.signer_role, row.meaning, row.signed_at
        ),
    )


def _override(subject: Subject, override_id: int | None) -> BedsideOverride | None:
    """The override named for this check: of this subject, never used before."""
    if override_id is None:
        return None
    row = BedsideOverride.objects.filter(subject=subject, pk=override_id).first()
    if row is None:
        raise InputError("override_id", f"{override_id} is no override of this subject")
    if BedsideCheck.objects.filter(override=row).exists():
        raise ConflictError(f"override {override_id} was used by an earlier check")
    return row


def _core_verification(row: BedsideVerification) -> CoreVerification:
    return CoreVerification(
        user_id=row.verifier_username,
        wristband=PatientIdentifiers(row.wristband_1, row.wristband_2),
        bag_label_patient=PatientIdentifiers(row.bag_label_patient_1, row.bag_label_patient_2),
        bag_label=row.bag_label,
        bag_intact=row.bag_intact,
        appearance_acceptable=row.appearance_acceptable,
        signature=ESignature(
            row.verifier_username, row.verifier_name, row.verifier_role, row.meaning, row.signed_at
        ),
    )


def _verifications(subject: Subject, ids: Sequence[int]) -> list[BedsideVerification]:
    """The verifications named for this check: of this subject, each used in no earlier check."""
    if len(ids) != 2:
        raise InputError("verification_ids", "two verifications are needed (two verifiers)")
    rows = []
    for index, pk in enumerate(ids):
        row = BedsideVerification.objects.filter(subject=subject, pk=pk).first()
        if row is None:
            raise InputError(
                f"verification_ids[{index}]", f"{pk} is no verification of this subject"
            )
        used = (
            BedsideCheck.objects.filter(first=row).exists()
            or BedsideCheck.objects.filter(second=row).exists()
        )
        if used:
            raise ConflictError(f"verification {pk} was used by an earlier check: verify again")
        rows.append(row)
    if rows[0].pk == rows[1].pk:
        raise InputError("verification_ids", "the same verification was given twice")
    return rows


def _failure(check: CheckCode, reason: str) -> dict[str, Any]:
    return {"check": check.value, "severity": severity_of(check).value, "reason": reason}


def _bag_of(subject: Subject, bag_label: str) -> tuple[ProductUnit | None, list[dict[str, Any]]]:
    """The system record of the bag issued (any site: the label may belong to another patient)."""
    try:
        parsed = parse_unit(bag_label, field="bag_id")
    except InputError as error:
        return None, [_failure(CheckCode.PRODUCT_IDENTITY, error.problem)]
    bag = ProductUnit.objects.select_related("therapy__subject").filter(unit_id=str(parsed)).first()
    if bag is None or bag.kind != UnitKind.BAG:
        return None, [_failure(CheckCode.PRODUCT_IDENTITY, f"{parsed} is no bag of the system")]
    return bag, []


def _decide(
    subject: Subject,
    therapy: Therapy,
    randomized_on: dt.date,
    bag: ProductUnit,
    verifications: list[BedsideVerification],
    clinical: PreInfusionClinical,
    now: dt.datetime,
    override: BedsideOverride | None,
) -> BedsideDecision:
    """Run the core's bedside checks on the stored records (domain.md 8.6)."""
    protocol = clock.protocol()
    randomization = subject.randomization
    bag_therapy = bag.therapy
    lot = lot_of(bag)
    record = SubjectRecord(
        subject_id=str(subject.pk),
        arm=randomization.arm,
        identifiers=patient_identifiers(therapy),
        coi=therapy_coi(therapy),
        consent_active=consent_active(subject),
        ikc_discontinued=ikc_discontinued(subject),
        randomization_date=randomized_on,
        infusions_given=infusions_given(subject),
        tace_dates=tace_dates(subject),
    )
    bag_record = BagRecord(core_unit(bag), str(bag_therapy.subject_id), bag.infusion_number or 0)
    try:
        state = unit_state(bag, now=now)
    except core_custody.CustodyError as error:
        raise ConflictError(f"custody: {error.reason}") from None
    return verify_bedside(
        protocol,
        verifications=[_core_verification(v) for v in verifications],
        subject=record,
        bag=bag_record,
        release=None if lot is None else core_release(lot),
        custody=state,
        clinical=clinical,
        now=now.astimezone(site_zone(subject)),
        override=None if override is None else _core_override(override),
    )


def _without_therapy(subject: Subject) -> list[dict[str, Any]]:
    """Why a subject without a CoI can receive no bag (not randomized to the IKC arm)."""
    randomization = getattr(subject, "randomization", None)
    experimental = {a.code for a in clock.protocol().arms if a.type == "experimental"}
    if randomization is None or randomization.arm not in experimental:
        arm = "not randomized" if randomization is None else f"in arm {randomization.arm}"
        return [_failure(CheckCode.IKC_ARM, f"subject is {arm}, not the IKC arm")]
    return [_failure(CheckCode.PRODUCT_IDENTITY, "no chain-of-identity id for this subject")]


@transaction.atomic
def bedside_check(
    *,
    actor: Actor,
    subject_id: int,
    bag_id: str,
    verification_ids: Sequence[int],
    clinical: PreInfusionClinical,
    override_id: int | None = None,
    source: str = "api",
) -> BedsideCheck:
    """Decide whether the bag may be infused now; a blocked check is recorded too, with reasons."""
    subject = product_subject(actor, subject_id)
    authorize(actor, Action.PRODUCT_ADMINISTER)
    subject = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
    verifications = _verifications(subject, verification_ids)
    override = _override(subject, override_id)
    bag, failures = _bag_of(subject, require_text(bag_id, "bag_id"))
    now = clock.now()
    number = None
    therapy = Therapy.objects.filter(subject=subject).first()
    randomized_on = randomization_date(subject)
    if therapy is None or randomized_on is None:
        failures += _without_therapy(subject)
    elif bag is not None:
        decision = _decide(
            subject, therapy, randomized_on, bag, verifications, clinical, now, override
        )
        number = decision.infusion_number
        failures += [
            {**_failure(f.check, f.reason), "overridden": f.overridden} for f in decision.failures
        ]
        failures += [
            {"check": "override", "severity": "hard", "reason": p}
            for p in decision.override_problems
        ]
    row = BedsideCheck(
        subject=subject,
        bag=bag,
        bag_label=bag_id,
        first=verifications[0],
        second=verifications[1],
        override=override,
        checked_at=now,
        allowed=all(f.get("overridden") for f in failures),
        infusion_number=number,
        failures=failures,
        clinical={
            "body_temperature_c": None
            if clinical.body_temperature_c is None
            else str(clinical.body_temperature_c),
            "vital_signs_acceptable": clinical.vital_signs_acceptable,
            "labs_drawn_on": None
            if clinical.labs_drawn_on is None
            else clinical.labs_drawn_on.isoformat(),
            "labs_within_limits": clinical.labs_within_limits,
            "safety_hold": clinical.safety_hold,
        },
        recorded_by=actor_name(actor),
    )
    with audit_context(actor=actor, source=source):
        save_validated(row)
    return row


@dataclass(frozen=True)
class ReactionInput:
    """An infusion reaction, recorded as an adverse event (domain.md 6.7, 8.6)."""

    description: str
    ctcae_term: str
    ctcae_grade: int
    onset_at: dt.datetime
    serious: Mapping[str, bool]
    outcome: str


@dataclass(frozen=True)
class InfusionInput:
    """What the infusion record holds (domain.md 8.6)."""

    started_at: dt.datetime
    stopped_at: dt.datetime
    volume_infused_ml: Decimal
    location: str
    temperature_c: Decimal | None = None
    reactions: Sequence[ReactionInput] = ()


def _reaction_event(
    *, actor: Actor, subject: Subject, reaction: ReactionInput, zone: Any, source: str
) -> Any:
    """The adverse event of an infusion reaction, through the CRF service (edit checks, SAE)."""
    data = {
        "verbatim_term": reaction.description,
        "ctcae_term": reaction.ctcae_term,
        "grade": reaction.ctcae_grade,
        "onset_date": reaction.onset_at.astimezone(zone).date().isoformat(),
        "relatedness_ikc": "related",
        "relatedness_tace": "not_related",
        "outcome": reaction.outcome,
        **reaction.serious,
    }
    saved = crf_record_save(
        actor=actor, subject_id=subject.pk, form="adverse_event", data=data, source=source
    )
    return saved.record


@transaction.atomic
def infusion_record(
    *, actor: Actor, check_id: int, data: InfusionInput, source: str = "api"
) -> Infusion:
    """Record the infusion an allowed bedside check cleared: one per bag (409 otherwise)."""
    authorize(actor, Action.PRODUCT_ADMINISTER)
    check = BedsideCheck.objects.select_related("subject__site", "bag").filter(pk=check_id).first()
    if check is None:
        raise NotFoundError(f"bedside check {check_id} not found")
    product_subject(actor, check.subject_id)
    if data.reactions and not may(actor, Action.CRF_ENTER):
        raise ForbiddenError(
            "an infusion reaction is an adverse event: your role may not perform crf.enter"
        )
    if not check.allowed or check.bag is None or check.infusion_number is None:
        raise ConflictError("the bedside check blocked this infusion: nothing is recorded")
    bag = ProductUnit.objects.select_for_update().get(pk=check.bag.pk)
    if Infusion.objects.filter(bag=bag).exists():
        raise ConflictError(f"bag {bag.unit_id} has already been infused")
    if Infusion.objects.filter(bedside_check=check).exists():
        raise ConflictError(f"bedside check {check_id} has already been used")
    now = clock.now()
    _not_future(data.started_at, "started_at", now)
    _not_future(data.stopped_at, "stopped_at", now)
    lot = lot_of(bag)
    release = None if lot is None else core_release(lot)
    decision = BedsideDecision(True, check.infusion_number, check.checked_at, ())
    record = core_infusion.infusion_record(
        decision,
        BagRecord(core_unit(bag), str(check.subject_id), check.infusion_number),
        expiry_at=None if release is None else release.expiry_at,
        bag_volume_ml=bag.bag_volume_ml or Decimal(0),
        viable_cells_in_bag=bag.viable_cells or Decimal(0),
        started_at=data.started_at,
        stopped_at=data.stopped_at,
        volume_infused_ml=_positive(data.volume_infused_ml, "volume_infused_ml"),
        reactions=[
            core_infusion.InfusionReaction(r.description, r.ctcae_grade, r.onset_at)
            for r in data.reactions
        ],
    )
    with audit_context(actor=actor, source=source):
        event = _append(
            actor=actor,
            unit=bag,
            event_type=E.INFUSED,
            data=EventInput(
                occurred_at=data.started_at,
                location=require_text(data.location, "location"),
                temperature_c=data.temperature_c,
            ),
        )
        infusion = Infusion(
            bedside_check=check,
            subject=check.subject,
            bag=bag,
            custody_event=event,
            infusion_number=record.infusion_number,
            started_at=record.started_at,
            stopped_at=record.stopped_at,
            volume_infused_ml=record.volume_infused_ml,
            cells_infused=record.cells_infused.quantize(CELLS, rounding=ROUND_HALF_EVEN),
            recorded_by=actor_name(actor),
            recorded_at=now,
        )
        save_validated(infusion)
        zone = site_zone(check.subject)
        for reaction in data.reactions:
            adverse_event = _reaction_event(
                actor=actor, subject=check.subject, reaction=reaction, zone=zone, source=source
            )
            save_validated(
                InfusionReaction(
                    infusion=infusion,
                    adverse_event=adverse_event,
                    description=reaction.description,
                    ctcae_grade=reaction.ctcae_grade,
                    onset_at=reaction.onset_at,
                )
            )
    return infusion
