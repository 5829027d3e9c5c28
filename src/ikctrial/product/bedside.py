"""Two-person bedside verification before an IKC infusion (domain.md 8.6).

``verify_bedside`` runs every check of domain.md 8.6 and returns all failures at once, each with
its reason and severity. Hard blocks have no override. Soft blocks (fever, TACE blackout,
pre-infusion labs, vital signs, an infusion outside its window or closer than the minimum gap to
the previous one) may be overridden by an investigator with a reason and an e-signature.

Two choices beyond the letter of 8.6, both on the safe side: a damaged bag or unacceptable
appearance is a hard block (a compromised container cannot be made safe by a signature), and so is
a sponsor safety hold (the sponsor lifts it, not the bedside).

The infusion's calendar date is ``now``'s date in ``now``'s own time zone: pass the clock in the
site's time zone so the TACE blackout and the infusion windows use the local date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ikctrial.errors import InputError
from ikctrial.product.custody import CustodyStatus, UnitState, derived_from
from ikctrial.product.identifiers import ChainOfIdentityId, UnitId, UnitKind, parse_unit_id
from ikctrial.product.infusion_schedule import (
    SlotTiming,
    blackout_on,
    infusion_slot,
    planned_infusions,
    tace_blackouts,
)
from ikctrial.product.release import INFUSIBLE, SHELF_LIFE_NOT_SET, ReleaseDecision
from ikctrial.product.signature import ESignature, duration_text, require_aware, require_text
from ikctrial.protocol.model import Protocol

VERIFIED_MEANING = "verified for administration"
OVERRIDE_MEANING = "override of soft block approved"
INVESTIGATOR_ROLE = "investigator"
FEVER_C = Decimal("38.0")


class Severity(StrEnum):
    """Hard blocks cannot be overridden; soft blocks can, by an investigator (domain.md 8.6)."""

    HARD = "hard"
    SOFT = "soft"


class BedsideCheck(StrEnum):
    """The checks of domain.md 8.6, one code per way of failing."""

    VERIFIERS = "verifiers"
    PATIENT_IDENTITY = "patient_identity"
    IKC_ARM = "ikc_arm"
    CONSENT = "consent"
    IKC_DISCONTINUED = "ikc_discontinued"
    INFUSION_COUNT = "infusion_count"
    PRODUCT_IDENTITY = "product_identity"
    RELEASE_STATUS = "release_status"
    EXPIRY = "expiry"
    ALREADY_INFUSED = "already_infused"
    CUSTODY = "custody"
    CONTAINER = "container"
    SAFETY_HOLD = "safety_hold"
    SCHEDULE = "schedule"
    FEVER = "fever"
    VITAL_SIGNS = "vital_signs"
    TACE_BLACKOUT = "tace_blackout"
    PRE_INFUSION_LABS = "pre_infusion_labs"


SOFT_CHECKS = frozenset(
    {
        BedsideCheck.SCHEDULE,
        BedsideCheck.FEVER,
        BedsideCheck.VITAL_SIGNS,
        BedsideCheck.TACE_BLACKOUT,
        BedsideCheck.PRE_INFUSION_LABS,
    }
)


def severity_of(check: BedsideCheck) -> Severity:
    """The severity of a failing ``check``."""
    return Severity.SOFT if check in SOFT_CHECKS else Severity.HARD


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class PatientIdentifiers:
    """Two independent patient identifiers (e.g. full name and date of birth, or name and
    hospital record number); the trial number alone is not one (domain.md 8.3)."""

    first: str
    second: str

    def __post_init__(self) -> None:
        require_text(self.first, "patient_identifiers.first")
        require_text(self.second, "patient_identifiers.second")

    def matches(self, other: PatientIdentifiers) -> bool:
        """Both identifiers equal, ignoring case and spacing."""
        return _normalized(self.first) == _normalized(other.first) and _normalized(
            self.second
        ) == _normalized(other.second)


@dataclass(frozen=True)
class BedsideVerification:
    """One verifier's independent entries: what was scanned or typed, what was seen, signature."""

    user_id: str
    wristband: PatientIdentifiers
    bag_label_patient: PatientIdentifiers
    bag_label: str
    bag_intact: bool
    appearance_acceptable: bool
    signature: ESignature


@dataclass(frozen=True)
class SubjectRecord:
    """The trial record of the patient at the bedside."""

    subject_id: str
    arm: str
    identifiers: PatientIdentifiers
    coi: ChainOfIdentityId
    consent_active: bool
    ikc_discontinued: bool
    randomization_date: date
    infusions_given: Mapping[int, date] = field(default_factory=dict)
    tace_dates: tuple[date, ...] = ()


@dataclass(frozen=True)
class BagRecord:
    """The system record of the bag: for which subject and which infusion it was made."""

    bag_id: UnitId
    subject_id: str
    infusion_number: int


@dataclass(frozen=True)
class PreInfusionClinical:
    """Pre-infusion clinical checks (domain.md 8.6 check 7); None = not recorded."""

    body_temperature_c: Decimal | None
    vital_signs_acceptable: bool | None
    labs_drawn_on: date | None
    labs_within_limits: bool | None
    safety_hold: bool = False


@dataclass(frozen=True)
class InvestigatorOverride:
    """An investigator's signed override of the listed soft checks, with the reason."""

    checks: frozenset[BedsideCheck]
    reason: str
    signature: ESignature

    def problems(self) -> list[str]:
        """Why this override cannot be used (empty when it can)."""
        found = [
            self.signature.problem(
                role=INVESTIGATOR_ROLE, meaning=OVERRIDE_MEANING, what="an override"
            ),
            None if self.reason.strip() else "an override needs a reason",
        ]
        hard = sorted(c.value for c in self.checks if c not in SOFT_CHECKS)
        if hard:
            found.append(f"hard blocks cannot be overridden: {', '.join(hard)}")
        return [p for p in found if p]


@dataclass(frozen=True)
class BedsideFailure:
    """One failing check: which, how severe, why, and whether a valid override covers it."""

    check: BedsideCheck
    severity: Severity
    reason: str
    overridden: bool = False


@dataclass(frozen=True)
class BedsideDecision:
    """Allowed, or blocked with every failing check; the infusion number it would be."""

    allowed: bool
    infusion_number: int | None
    checked_at: datetime
    failures: tuple[BedsideFailure, ...]
    override_problems: tuple[str, ...] = ()

    @property
    def hard_blocks(self) -> tuple[BedsideFailure, ...]:
        return tuple(f for f in self.failures if f.severity is Severity.HARD)

    @property
    def soft_blocks(self) -> tuple[BedsideFailure, ...]:
        return tuple(f for f in self.failures if f.severity is Severity.SOFT)

    def failed(self, check: BedsideCheck) -> bool:
        """True when ``check`` failed (overridden or not)."""
        return any(f.check is check for f in self.failures)


Found = list[tuple[BedsideCheck, str]]


def _verifier_failures(verifications: Sequence[BedsideVerification]) -> Found:
    found: Found = []
    users = [v.user_id for v in verifications]
    if len(verifications) < 2:
        found.append((BedsideCheck.VERIFIERS, f"{len(verifications)} verifier(s); two needed"))
    if len(set(users)) < len(users):
        found.append((BedsideCheck.VERIFIERS, f"the same user verified twice ({', '.join(users)})"))
    for v in verifications:
        if v.signature.user_id != v.user_id:
            found.append(
                (
                    BedsideCheck.VERIFIERS,
                    f"{v.user_id}'s entries are signed by {v.signature.user_id}",
                )
            )
        elif v.signature.meaning != VERIFIED_MEANING:
            found.append(
                (
                    BedsideCheck.VERIFIERS,
                    f"{v.user_id} signed {v.signature.meaning!r}, not {VERIFIED_MEANING!r}",
                )
            )
    return found


def _identity_failures(
    v: BedsideVerification,
    subject: SubjectRecord,
    bag: BagRecord,
    release: ReleaseDecision | None,
) -> Found:
    """Patient and product identity as one verifier entered them (domain.md 8.6 checks 1, 3)."""
    who = v.user_id
    found: Found = []
    for source, seen in (("wristband", v.wristband), ("bag label", v.bag_label_patient)):
        if not seen.matches(subject.identifiers):
            found.append(
                (
                    BedsideCheck.PATIENT_IDENTITY,
                    f"{who}: {source} identifiers do not match subject {subject.subject_id}",
                )
            )
    try:
        scanned = parse_unit_id(v.bag_label, field="bag_label")
    except InputError as error:
        return [*found, (BedsideCheck.PRODUCT_IDENTITY, f"{who}: {error.problem}")]
    if scanned.coi != subject.coi:
        found.append(
            (
                BedsideCheck.PRODUCT_IDENTITY,
                f"{who}: bag CoI {scanned.coi} is not the subject's CoI {subject.coi}",
            )
        )
    if scanned != bag.bag_id:
        found.append(
            (
                BedsideCheck.PRODUCT_IDENTITY,
                f"{who}: scanned bag {scanned} is not the bag issued ({bag.bag_id})",
            )
        )
    if release is not None and not derived_from(scanned, release.lot_id):
        found.append(
            (
                BedsideCheck.PRODUCT_IDENTITY,
                f"{who}: scanned bag {scanned} is not from lot {release.lot_id}",
            )
        )
    return found


def _record_failures(
    protocol: Protocol, subject: SubjectRecord, bag: BagRecord, custody: UnitState
) -> Found:
    """The trial record and the system's bag and custody records (8.6 checks 2, 3, 6)."""
    found: Found = []
    experimental = {a.code for a in protocol.arms if a.type == "experimental"}
    if subject.arm not in experimental:
        found.append((BedsideCheck.IKC_ARM, f"subject is in arm {subject.arm}, not the IKC arm"))
    if not subject.consent_active:
        found.append((BedsideCheck.CONSENT, "consent is withdrawn or not active"))
    if subject.ikc_discontinued:
        found.append((BedsideCheck.IKC_DISCONTINUED, "IKC is discontinued for this subject"))
    planned = len(protocol.schedule.infusion_plan)
    if len(subject.infusions_given) >= planned:
        found.append(
            (BedsideCheck.INFUSION_COUNT, f"{len(subject.infusions_given)} of {planned} given")
        )
    if bag.bag_id.kind is not UnitKind.BAG or bag.subject_id != subject.subject_id:
        found.append(
            (
                BedsideCheck.PRODUCT_IDENTITY,
                f"{bag.bag_id} is not a bag issued to subject {subject.subject_id}",
            )
        )
    if bag.bag_id.coi != subject.coi:
        found.append(
            (
                BedsideCheck.PRODUCT_IDENTITY,
                f"bag record CoI {bag.bag_id.coi} is not the subject's CoI {subject.coi}",
            )
        )
    if custody.unit != bag.bag_id:
        found.append(
            (BedsideCheck.PRODUCT_IDENTITY, f"custody state is for {custody.unit}, not the bag")
        )
    if custody.status is CustodyStatus.INFUSED:
        found.append((BedsideCheck.ALREADY_INFUSED, "the bag has already been infused"))
    elif custody.status is not CustodyStatus.AT_WARD:
        found.append(
            (BedsideCheck.CUSTODY, f"the bag is {custody.status.value}, not received at the ward")
        )
    found += [(BedsideCheck.CUSTODY, f"unresolved: {r}") for r in custody.quarantine_reasons]
    return found


def _release_failures(release: ReleaseDecision | None, now: datetime) -> Found:
    """Release status and expiry (domain.md 8.6 checks 4, 5; 8.5)."""
    if release is None:
        return [(BedsideCheck.RELEASE_STATUS, "no release record for the lot")]
    found: Found = []
    if release.status not in INFUSIBLE:
        detail = "; ".join(release.refusals)
        found.append(
            (
                BedsideCheck.RELEASE_STATUS,
                f"lot status is {release.status.value}" + (f" ({detail})" if detail else ""),
            )
        )
    if release.expiry_at is None:
        found.append((BedsideCheck.EXPIRY, SHELF_LIFE_NOT_SET))
    elif now >= release.expiry_at:
        found.append(
            (
                BedsideCheck.EXPIRY,
                f"expired at {release.expiry_at.isoformat()} "
                f"({duration_text(now - release.expiry_at)} ago)",
            )
        )
    return found


def _visual_failures(verifications: Sequence[BedsideVerification]) -> Found:
    found: Found = []
    for v in verifications:
        if not v.bag_intact:
            found.append((BedsideCheck.CONTAINER, f"{v.user_id}: bag not intact"))
        if not v.appearance_acceptable:
            found.append((BedsideCheck.CONTAINER, f"{v.user_id}: appearance not acceptable"))
    return found


def _schedule_failures(
    protocol: Protocol, subject: SubjectRecord, bag: BagRecord, day: date
) -> tuple[int | None, Found]:
    """Which infusion this is and whether it fits the calendar (domain.md 1.3, 1.4)."""
    schedule = protocol.schedule
    plan = planned_infusions(
        schedule,
        subject.randomization_date,
        tace_dates=subject.tace_dates,
        given=subject.infusions_given,
        as_of=day,
    )
    slot = infusion_slot(plan, day, min_gap_days=schedule.min_infusion_gap_days)
    found: Found = []
    if slot.timing is SlotTiming.NONE_DUE:
        if len(subject.infusions_given) < len(plan):
            found.append((BedsideCheck.INFUSION_COUNT, slot.reason))
    elif slot.timing is not SlotTiming.ON_TIME:
        found.append((BedsideCheck.SCHEDULE, slot.reason))
    if slot.gap_problem:
        found.append((BedsideCheck.SCHEDULE, slot.gap_problem))
    if slot.number is not None and bag.infusion_number != slot.number:
        found.append(
            (
                BedsideCheck.PRODUCT_IDENTITY,
                f"the bag was made for infusion {bag.infusion_number}; "
                f"infusion {slot.number} is due",
            )
        )
    blackout = blackout_on(tace_blackouts(schedule, subject.tace_dates), day)
    if blackout is not None:
        found.append(
            (
                BedsideCheck.TACE_BLACKOUT,
                f"TACE on {blackout.tace_on.isoformat()}: no infusion from "
                f"{blackout.first_day.isoformat()} to {blackout.last_day.isoformat()}",
            )
        )
    return slot.number, found


def _clinical_failures(protocol: Protocol, clinical: PreInfusionClinical, day: date) -> Found:
    """Pre-infusion clinical checks (domain.md 8.6 check 7)."""
    found: Found = []
    temperature = clinical.body_temperature_c
    if temperature is None:
        found.append((BedsideCheck.FEVER, "body temperature not recorded"))
    elif temperature >= FEVER_C:
        found.append((BedsideCheck.FEVER, f"fever: {temperature} °C >= {FEVER_C} °C"))
    if clinical.vital_signs_acceptable is not True:
        state = "not recorded" if clinical.vital_signs_acceptable is None else "not acceptable"
        found.append((BedsideCheck.VITAL_SIGNS, f"vital signs {state}"))
    max_age = protocol.schedule.prelab_max_age_days
    if clinical.labs_drawn_on is None:
        found.append((BedsideCheck.PRE_INFUSION_LABS, "no pre-infusion labs"))
    elif not 0 <= (day - clinical.labs_drawn_on).days <= max_age:
        found.append(
            (
                BedsideCheck.PRE_INFUSION_LABS,
                f"labs of {clinical.labs_drawn_on.isoformat()} are not within the "
                f"{max_age} days before the infusion",
            )
        )
    if clinical.labs_within_limits is not True:
        state = "not assessed" if clinical.labs_within_limits is None else "out of range"
        found.append((BedsideCheck.PRE_INFUSION_LABS, f"pre-infusion labs {state}"))
    if clinical.safety_hold:
        found.append((BedsideCheck.SAFETY_HOLD, "a safety hold is in force"))
    return found


def verify_bedside(
    protocol: Protocol,
    *,
    verifications: Sequence[BedsideVerification],
    subject: SubjectRecord,
    bag: BagRecord,
    release: ReleaseDecision | None,
    custody: UnitState,
    clinical: PreInfusionClinical,
    now: datetime,
    override: InvestigatorOverride | None = None,
) -> BedsideDecision:
    """Run every bedside check of domain.md 8.6 and decide; never stops at the first failure."""
    require_aware(now, "now")
    day = now.date()
    number, schedule_found = _schedule_failures(protocol, subject, bag, day)
    found = [
        *_verifier_failures(verifications),
        *(f for v in verifications for f in _identity_failures(v, subject, bag, release)),
        *_record_failures(protocol, subject, bag, custody),
        *_release_failures(release, now),
        *_visual_failures(verifications),
        *schedule_found,
        *_clinical_failures(protocol, clinical, day),
    ]
    override_problems = tuple(override.problems()) if override is not None else ()
    covered = override.checks if override is not None and not override_problems else frozenset()
    failures = tuple(
        BedsideFailure(
            check,
            severity_of(check),
            reason,
            overridden=check in SOFT_CHECKS and check in covered,
        )
        for check, reason in found
    )
    allowed = all(f.overridden for f in failures)
    return BedsideDecision(allowed, number, now, failures, override_problems)
