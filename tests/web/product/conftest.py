"""One IKC therapy built through the product services, from blood draw to a bag at the ward.

The clock of the product services (``ikctrial.web.product.clock.now``) is set by the test at each
step, in the past of the real clock, and the protocol is the built-in one with the 24 h test shelf
life (domain.md 8.5). The IKC subject's randomization is moved (an audited correction with a
reason) so that the bedside day is infusion 1's target day (RANDDT + 21, domain.md 1.3).

Timeline (H = harvest = final formulation, 10 h before the real now): blood drawn H - 14 d,
culture H - 14 d + 6 h, harvest H, QC H + 30 min, release H + 1 h, shipment H + 90 min, ward receipt
H + 2 h, bedside check H + 3 h, infusion H + 3 h 10 min to H + 3 h 40 min; expiry H + 24 h.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from ikctrial.product.bedside import PreInfusionClinical
from ikctrial.protocol import Protocol, load_protocol
from ikctrial.web.audit.context import audit_context
from ikctrial.web.product import clock as product_clock

PASSWORD = "correct horse battery staple"
IDENTIFIERS = ("CHEN Mei-Ling", "1958-07-14")
FACILITY = "G1234"
PASSING_QC: dict[str, str] = {
    "appearance": "acceptable",
    "viable_cell_dose": "5e9",
    "viability": "85",
    "cd3_pct": "90",
    "cd3_cd56_pct": "25",
    "gram_stain": "no organisms seen",
    "endotoxin": "0.5",
    "mycoplasma": "not detected",
    "potency": "40",
    "label_reconciliation": "match",
}
"""Results meeting the shipped specification; sterility is entered in-process (preliminary)."""


class Clock:
    """The product services' clock, set by the test."""

    def __init__(self, start: dt.datetime) -> None:
        self.moment = start

    def set(self, moment: dt.datetime) -> dt.datetime:
        self.moment = moment
        return moment

    def now(self) -> dt.datetime:
        return self.moment


@pytest.fixture
def test_protocol() -> Protocol:
    """The built-in protocol with the 24 h test shelf life of domain.md 8.5."""
    built_in = load_protocol()
    product = built_in.product.model_copy(update={"shelf_life_hours": 24.0})
    return built_in.model_copy(update={"product": product})


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, test_protocol: Protocol) -> Clock:
    """Fix the product services' clock and protocol."""
    fixed = Clock(timezone.now())
    monkeypatch.setattr(product_clock, "now", fixed.now)
    monkeypatch.setattr(product_clock, "protocol", lambda: test_protocol)
    return fixed


def event(when: dt.datetime, location: str = "cell lab", **changes: Any) -> Any:
    """The who-when-where of a custody event."""
    from ikctrial.web.product.services import EventInput

    return EventInput(occurred_at=when, location=location, **changes)


@dataclass
class World:
    """The trial users, the clock and one IKC subject's product at the ward."""

    trial: Any
    clock: Clock
    subject_id: int
    harvest: dt.datetime
    bag_id: str = ""
    lot_id: str = ""
    collection_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, role: str) -> Any:
        return self.trial.users[role]

    def at(self, hours: float) -> dt.datetime:
        """A moment ``hours`` after the harvest; sets the clock to it."""
        return self.clock.set(self.harvest + dt.timedelta(hours=hours))

    def verify(self, role: str, subject_id: int | None = None, **changes: Any) -> int:
        """One verifier's entries (the matching defaults, any replaced)."""
        from ikctrial.web.product.services import VerifierEntries, bedside_verify

        entries: dict[str, Any] = {
            "wristband": IDENTIFIERS,
            "bag_label_patient": IDENTIFIERS,
            "bag_label": self.bag_id,
            "bag_intact": True,
            "appearance_acceptable": True,
        }
        entries.update(changes)
        row = bedside_verify(
            actor=self.user(role),
            subject_id=subject_id or self.subject_id,
            password=PASSWORD,
            entries=VerifierEntries(**entries),
        )
        return int(row.pk)

    def check(
        self,
        verifiers: tuple[str, str] = ("pharmacist", "investigator"),
        *,
        subject_id: int | None = None,
        bag_id: str | None = None,
        clinical: PreInfusionClinical | None = None,
        **entries: Any,
    ) -> Any:
        """Both verifications and the bedside check (by the first verifier)."""
        from ikctrial.web.product.services import bedside_check

        subject = subject_id or self.subject_id
        ids = [self.verify(role, subject, **entries) for role in verifiers]
        return bedside_check(
            actor=self.user(verifiers[0]),
            subject_id=subject,
            bag_id=bag_id or self.bag_id,
            verification_ids=ids,
            clinical=clinical or good_clinical(self.harvest.date()),
        )

    def infuse(self, check_id: int, *, start_hours: float = 3 + 1 / 6, **changes: Any) -> Any:
        """Record the infusion of a check (30 min, 100 mL of the 100 mL bag)."""
        from ikctrial.web.product.services import InfusionInput, infusion_record

        start = self.harvest + dt.timedelta(hours=start_hours)
        self.clock.set(start + dt.timedelta(minutes=40))
        data: dict[str, Any] = {
            "started_at": start,
            "stopped_at": start + dt.timedelta(minutes=30),
            "volume_infused_ml": Decimal("100"),
            "location": "ward 7",
            "temperature_c": Decimal("6.0"),
        }
        data.update(changes)
        return infusion_record(
            actor=self.user("investigator"), check_id=check_id, data=InfusionInput(**data)
        )


def good_clinical(day: dt.date) -> PreInfusionClinical:
    """Pre-infusion checks that pass (labs of the day before)."""
    return PreInfusionClinical(
        body_temperature_c=Decimal("36.8"),
        vital_signs_acceptable=True,
        labs_drawn_on=day - dt.timedelta(days=1),
        labs_within_limits=True,
    )


def randomize_in(arm: str, ready_subject: Callable[..., int]) -> int:
    """Screen, consent and randomize subjects until one lands in ``arm``; its id."""
    from ikctrial.web.randomization.services import subject_randomize

    for _ in range(20):
        subject_id = ready_subject()
        if subject_randomize(actor="test-operator", subject_id=subject_id).arm == arm:
            return subject_id
    raise AssertionError(f"no subject randomized to {arm}")


def backdate_randomization(subject_id: int, day: dt.date) -> None:
    """Move RANDDT so ``day`` is infusion 1's target day (an audited correction)."""
    from ikctrial.web.randomization.models import Randomization

    row = Randomization.objects.get(subject_id=subject_id)
    zone = ZoneInfo(row.subject.site.timezone)
    local = dt.datetime.combine(day - dt.timedelta(days=21), dt.time(9, 0), tzinfo=zone)
    with audit_context(actor="test-operator", reason="test fixture: randomized 21 days earlier"):
        row.randomized_at = local
        row.save()


def harvest_moment() -> dt.datetime:
    """Ten hours before the real now, at a whole minute."""
    return (timezone.now() - dt.timedelta(hours=10)).replace(second=0, microsecond=0)


def manufacture(world: World, *, qc: dict[str, str] | None = None, release: bool = True) -> None:
    """Collection to a released lot with one bag for infusion 1, then shipped and received."""
    from ikctrial.web.product.services import (
        blood_draw_record,
        custody_event_record,
        lot_release,
        qc_result_record,
        unit_derive,
    )

    lab = world.user("cell_lab")
    start = world.harvest - dt.timedelta(days=14)
    world.clock.set(start)
    collection = blood_draw_record(
        actor=world.user("coordinator"),
        subject_id=world.subject_id,
        facility=FACILITY,
        patient_identifier_1=IDENTIFIERS[0],
        patient_identifier_2=IDENTIFIERS[1],
        data=event(start, "ward 7"),
    )
    world.collection_id = collection.unit_id
    world.clock.set(start + dt.timedelta(hours=3))
    custody_event_record(
        actor=lab,
        unit_id=collection.unit_id,
        event_type="received",
        data=event(start + dt.timedelta(hours=3)),
    )
    culture = unit_derive(actor=lab, parent_id=collection.unit_id)
    for hours, kind, step in (
        (6, "culture_started", "ifn_gamma"),
        (30, "cytokine_added", "anti_cd3_il2"),
        (78, "media_added", "il2_feed"),
        (270, "qc_sampled", "in_process_sterility"),
    ):
        when = world.clock.set(start + dt.timedelta(hours=hours))
        custody_event_record(
            actor=lab, unit_id=culture.unit_id, event_type=kind, data=event(when, step=step)
        )
    lot = unit_derive(actor=lab, parent_id=culture.unit_id)
    world.lot_id = lot.unit_id
    world.at(0)
    custody_event_record(
        actor=lab, unit_id=lot.unit_id, event_type="harvested", data=event(world.harvest)
    )
    bag = unit_derive(
        actor=lab,
        parent_id=lot.unit_id,
        infusion_number=1,
        bag_volume_ml=Decimal("100"),
        viable_cells=Decimal("5000000000"),
    )
    world.bag_id = bag.unit_id
    when = world.at(0.5)
    custody_event_record(actor=lab, unit_id=lot.unit_id, event_type="qc_sampled", data=event(when))
    results = {**PASSING_QC, **(qc or {})}
    for code, value in results.items():
        if value:
            qc_result_record(actor=lab, lot_id=lot.unit_id, test_code=code, value=value)
    if "sterility" not in (qc or {}):
        qc_result_record(
            actor=lab,
            lot_id=lot.unit_id,
            test_code="sterility",
            value="no growth",
            preliminary=True,
        )
    if not release:
        return
    world.at(1)
    world.extra["release"] = lot_release(
        actor=world.user("qa"), lot_id=lot.unit_id, password=PASSWORD
    )
    if world.extra["release"].status not in {"RELEASED", "RELEASED_PENDING_FINAL_STERILITY"}:
        return
    when = world.at(1.5)
    custody_event_record(
        actor=lab,
        unit_id=bag.unit_id,
        event_type="shipped",
        data=event(when, temperature_c=Decimal("5.0")),
    )
    when = world.at(2)
    custody_event_record(
        actor=world.user("pharmacist"),
        unit_id=bag.unit_id,
        event_type="received_at_ward",
        data=event(when, "ward 7", temperature_c=Decimal("5.5")),
    )


@pytest.fixture
def world_factory(
    trial: Any, clock: Clock, ready_subject: Callable[..., int], settings: Any
) -> Callable[..., World]:
    """Build a world: an IKC subject (passwords set), manufactured and released unless told."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for user in trial.users.values():
        user.set_password(PASSWORD)
        user.first_name, user.last_name = "Name of", user.get_username()
        user.save()

    def make(**kwargs: Any) -> World:
        harvest = harvest_moment()
        subject_id = randomize_in("IKC_TACE", ready_subject)
        backdate_randomization(subject_id, harvest.astimezone(ZoneInfo("Asia/Taipei")).date())
        world = World(trial=trial, clock=clock, subject_id=subject_id, harvest=harvest)
        manufacture(world, **kwargs)
        return world

    return make


@pytest.fixture
def world(world_factory: Callable[..., World]) -> World:
    """The default world: a released bag received at the ward, ready for the bedside."""
    return world_factory()
