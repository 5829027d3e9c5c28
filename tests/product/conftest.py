"""One IKC therapy from blood draw to bedside, as a builder that tests change one piece at a time.

Subject S-001 is randomized on 2026-01-05 (RANDDT) to the IKC arm; first TACE 2026-01-10 (blackout
2026-01-08 to 2026-01-17). Infusion 1 targets elapsed day 21 = 2026-01-26 (window 01-23 to 01-29).
Its blood is drawn on 2026-01-12, the lot is harvested (final formulation) on 2026-01-26 06:00 UTC
and, with the 24 h test shelf life of domain.md 8.5, expires on 2026-01-27 06:00 UTC. The bedside
check runs on 2026-01-26 10:00 UTC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from ikctrial.product.bedside import (
    VERIFIED_MEANING,
    BagRecord,
    BedsideDecision,
    BedsideVerification,
    PatientIdentifiers,
    PreInfusionClinical,
    SubjectRecord,
    verify_bedside,
)
from ikctrial.product.custody import (
    CustodyEvent,
    CustodyEventType,
    CustodyLimits,
    UnitState,
    custody_limits,
    custody_state,
)
from ikctrial.product.identifiers import UnitKind, chain_of_identity_id
from ikctrial.product.release import (
    RELEASE_MEANING,
    LotRecord,
    QcResult,
    ReleaseDecision,
    release_decision,
)
from ikctrial.product.signature import ESignature
from ikctrial.protocol import Protocol, load_protocol

E = CustodyEventType
NOW = datetime(2026, 1, 26, 10, 0, tzinfo=UTC)
HARVEST = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
PASSING_VALUES: dict[str, str] = {
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
"""Final results that meet the shipped specification; sterility comes in-process (preliminary)."""


BAG_EVENTS = frozenset({E.SHIPPED, E.RECEIVED_AT_WARD, E.STORED, E.INFUSED, E.DESTROYED})
"""Events the scenario records on the bag; the others on the collection, culture or lot."""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC moment in January 2026."""
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def signature(user: str, role: str, meaning: str, when: datetime = NOW) -> ESignature:
    return ESignature(user, f"Name of {user}", role, meaning, when)


class Scenario:
    """Default inputs of every product rule, each replaceable by keyword."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.coi = chain_of_identity_id("G1234", 2026, 123)
        self.collection = self.coi.unit(UnitKind.COLLECTION, 1)
        self.culture = self.collection.unit(UnitKind.CULTURE, 1)
        self.lot = self.culture.unit(UnitKind.LOT, 1)
        self.bag = self.lot.unit(UnitKind.BAG, 1)
        self.limits: CustodyLimits = custody_limits(protocol.product)
        self.identifiers = PatientIdentifiers("CHEN Mei-Ling", "1958-07-14")
        self.now = NOW
        self.harvest = HARVEST
        self.at = at
        self.signature = signature

    def event(self, event_id: str, kind: CustodyEventType, when: datetime, **changes: Any) -> Any:
        unit = {
            E.COLLECTED: self.collection,
            E.RECEIVED: self.collection,
            E.CULTURE_STARTED: self.culture,
            E.MEDIA_ADDED: self.culture,
            E.CYTOKINE_ADDED: self.culture,
        }.get(kind, self.bag if kind in BAG_EVENTS else self.lot)
        fields: dict[str, Any] = {
            "event_id": event_id,
            "type": kind,
            "unit": unit,
            "occurred_at": when,
            "user_id": "tech1",
            "role": "cell_lab",
            "location": "cell lab",
        }
        if kind in {E.RELEASED, E.SHIPPED, E.RECEIVED_AT_WARD, E.STORED, E.INFUSED}:
            fields["temperature_c"] = Decimal("5.0")
        if kind in {E.RECEIVED_AT_WARD, E.STORED, E.INFUSED}:
            fields.update(user_id="nurse1", role="coordinator", location="ward 7")
        fields.update(changes)
        return CustodyEvent(**fields)

    def events(self) -> list[CustodyEvent]:
        """The ledger up to storage on the ward, the typical sequence of domain.md 8.4."""
        return [
            self.event("e01", E.COLLECTED, at(12, 8), location="ward 7"),
            self.event("e02", E.RECEIVED, at(12, 11)),
            self.event("e03", E.CULTURE_STARTED, at(12, 14)),
            self.event("e04", E.CYTOKINE_ADDED, at(13, 9)),
            self.event("e05", E.MEDIA_ADDED, at(15, 9)),
            self.event("e06", E.QC_SAMPLED, at(23, 9), unit=self.culture),
            self.event("e07", E.HARVESTED, HARVEST),
            self.event("e08", E.QC_SAMPLED, at(26, 6, 30)),
            self.event("e09", E.RELEASED, at(26, 8), user_id="qa1", role="qa"),
            self.event("e10", E.SHIPPED, at(26, 8, 15)),
            self.event("e11", E.RECEIVED_AT_WARD, at(26, 9)),
            self.event("e12", E.STORED, at(26, 9, 5)),
        ]

    def custody(self, events: Sequence[CustodyEvent] | None = None) -> UnitState:
        return custody_state(self.events() if events is None else events, self.bag, self.limits)

    def qc_results(self, **values: str | None) -> list[QcResult]:
        """Passing results, with ``code=value`` replacing one (None drops it)."""
        merged: dict[str, str | None] = {**PASSING_VALUES, **values}
        results = [
            QcResult(code, value, "tech2", at(26, 7)) for code, value in merged.items() if value
        ]
        if "sterility" not in values:
            results.append(QcResult("sterility", "no growth", "tech2", at(24, 9), preliminary=True))
        elif values["sterility"] is not None:
            results.append(QcResult("sterility", values["sterility"], "tech2", at(26, 7)))
        return results

    def lot_record(self) -> LotRecord:
        return LotRecord(self.lot, frozenset({"tech1"}), HARVEST)

    def release(
        self,
        results: Sequence[QcResult] | None = None,
        signer: ESignature | None = None,
        **kw: Any,
    ) -> ReleaseDecision:
        return release_decision(
            self.protocol.product,
            kw.pop("lot", self.lot_record()),
            self.qc_results() if results is None else results,
            signature=signer or signature("qa1", "qa", RELEASE_MEANING, at(26, 8)),
            **kw,
        )

    def subject(self, **changes: Any) -> SubjectRecord:
        record = SubjectRecord(
            subject_id="S-001",
            arm="IKC_TACE",
            identifiers=self.identifiers,
            coi=self.coi,
            consent_active=True,
            ikc_discontinued=False,
            randomization_date=date(2026, 1, 5),
            infusions_given={},
            tace_dates=(date(2026, 1, 10),),
        )
        return dataclasses.replace(record, **changes)

    def bag_record(self, **changes: Any) -> BagRecord:
        return dataclasses.replace(BagRecord(self.bag, "S-001", 1), **changes)

    def verification(self, user: str, role: str, **changes: Any) -> BedsideVerification:
        record = BedsideVerification(
            user_id=user,
            wristband=self.identifiers,
            bag_label_patient=self.identifiers,
            bag_label=str(self.bag),
            bag_intact=True,
            appearance_acceptable=True,
            signature=signature(user, role, VERIFIED_MEANING),
        )
        return dataclasses.replace(record, **changes)

    def clinical(self, **changes: Any) -> PreInfusionClinical:
        record = PreInfusionClinical(
            body_temperature_c=Decimal("36.8"),
            vital_signs_acceptable=True,
            labs_drawn_on=date(2026, 1, 24),
            labs_within_limits=True,
        )
        return dataclasses.replace(record, **changes)

    def bedside(self, **kw: Any) -> BedsideDecision:
        """``verify_bedside`` on the default case, any argument replaced by keyword."""
        args: dict[str, Any] = {
            "verifications": [
                self.verification("nurse1", "coordinator"),
                self.verification("inv1", "investigator"),
            ],
            "subject": self.subject(),
            "bag": self.bag_record(),
            "release": self.release(),
            "custody": self.custody(),
            "clinical": self.clinical(),
            "now": NOW,
        }
        args.update(kw)
        return verify_bedside(self.protocol, **args)


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    """The built-in protocol with the 24 h test shelf life of domain.md 8.5."""
    built_in = load_protocol()
    product = built_in.product.model_copy(update={"shelf_life_hours": 24.0})
    return built_in.model_copy(update={"product": product})


@pytest.fixture(scope="session")
def scenario(protocol: Protocol) -> Scenario:
    return Scenario(protocol)
