"""Reconciliation (task "Reconciliation"; domain.md 8.3 hierarchy, 8.4 custody, 8.5 expiry):
every unit accounted for, the product timeline and the exposure summary."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ikctrial.errors import InputError
from ikctrial.product.custody import CustodyEventType, custody_state
from ikctrial.product.identifiers import UnitKind
from ikctrial.product.infusion_record import InfusionRecord
from ikctrial.product.infusion_schedule import planned_infusions
from ikctrial.product.reconciliation import (
    UnitDisposition,
    exposure_summary,
    lot_accounting,
    product_timeline,
    subject_accounting,
)

E = CustodyEventType


def test_every_bag_of_a_lot_is_accounted_for(scenario: Any) -> None:
    s = scenario
    bag2, bag3, bag4, bag5 = (s.lot.unit(UnitKind.BAG, n) for n in (2, 3, 4, 5))
    destroyed = s.event("d2", E.DESTROYED, s.at(26, 9), unit=bag2)
    quarantined = s.event("q3", E.QUARANTINED, s.at(26, 9), unit=bag3, reason="label smudged")
    infused = s.event("i1", E.INFUSED, s.at(26, 10, 5), user_id="nurse1", location="ward 7")
    ledger = [*s.events(), destroyed, quarantined, infused]
    states = {unit: custody_state(ledger, unit, s.limits) for unit in (s.bag, bag2, bag3, bag4)}
    states[bag5] = None  # labelled but never entered in the custody ledger
    expiry = s.harvest + timedelta(hours=24)
    accounting = lot_accounting(s.lot, states, expiry_at=expiry, now=s.at(26, 12))
    counts = accounting.counts
    assert counts[UnitDisposition.INFUSED] == 1
    assert counts[UnitDisposition.DESTROYED] == 1
    assert counts[UnitDisposition.QUARANTINE] == 1
    assert counts[UnitDisposition.IN_STOCK] == 1  # bag 4, released at the lab
    assert counts[UnitDisposition.UNACCOUNTED] == 1
    assert sum(counts.values()) == 5
    assert not accounting.balanced
    # After expiry, what was neither infused nor destroyed is expired (must be discarded, 1.4).
    later = lot_accounting(s.lot, states, expiry_at=expiry, now=expiry)
    assert later.counts[UnitDisposition.EXPIRED] == 2
    assert later.counts[UnitDisposition.INFUSED] == 1


def test_subject_accounting_adds_lots(scenario: Any) -> None:
    s = scenario
    state = s.custody()
    lot = lot_accounting(s.lot, {s.bag: state}, expiry_at=None, now=s.now)
    total = subject_accounting("S-001", [lot, lot])
    assert total.counts[UnitDisposition.IN_STOCK] == 2
    assert total.balanced


def test_bag_of_another_lot_is_refused(scenario: Any) -> None:
    other = scenario.culture.unit(UnitKind.LOT, 2).unit(UnitKind.BAG, 1)
    with pytest.raises(InputError, match="is not a bag of lot"):
        lot_accounting(scenario.lot, {other: None}, expiry_at=None, now=scenario.now)


def test_product_timeline_and_vein_to_vein(scenario: Any) -> None:
    s = scenario
    infused = s.event("i1", E.INFUSED, s.at(26, 10, 5))
    timeline = product_timeline(custody_state([*s.events(), infused], s.bag, s.limits))
    assert timeline.vein_to_vein == s.at(26, 10, 5) - s.at(12, 8)  # 14 d 2 h 5 min
    steps = {(step.start, step.end): step.duration for step in timeline.steps}
    assert steps[(E.COLLECTED, E.RECEIVED)] == timedelta(hours=3)
    assert steps[(E.CULTURE_STARTED, E.HARVESTED)] == timedelta(days=13, hours=16)
    assert steps[(E.SHIPPED, E.RECEIVED_AT_WARD)] == timedelta(minutes=45)
    assert steps[(E.RECEIVED_AT_WARD, E.INFUSED)] == timedelta(hours=1, minutes=5)
    assert len(timeline.steps) == 7
    assert sum((d for d in steps.values()), timedelta()) == timeline.vein_to_vein


def test_timeline_without_infusion_has_no_vein_to_vein(scenario: Any) -> None:
    assert product_timeline(scenario.custody()).vein_to_vein is None


def _infusion(s: Any, number: int, cells: str, reactions: tuple[Any, ...] = ()) -> InfusionRecord:
    return InfusionRecord(
        "S-001",
        number,
        s.bag,
        s.now,
        s.now + timedelta(minutes=40),
        Decimal("95"),
        Decimal(cells),
        reactions,
    )


def test_exposure_summary(scenario: Any) -> None:
    s = scenario
    plan = planned_infusions(
        s.protocol.schedule,
        s.subject().randomization_date,
        as_of=date(2026, 2, 14),  # day 40: infusion 1 (latest day 38) missed
    )
    records = [_infusion(s, 2, "4.75E9"), _infusion(s, 3, "3E9", ("chills",))]
    summary = exposure_summary("S-001", plan, records)
    assert (summary.planned, summary.given, summary.missed) == (12, 2, 1)
    assert summary.cumulative_cells == Decimal("7.75E9")
    assert summary.cumulative_volume_ml == Decimal("190")
    assert summary.infusions_with_reactions == 1


@pytest.mark.parametrize(
    ("numbers", "problem"),
    [([1, 1], "recorded more than once"), ([13], "not a planned infusion")],
)
def test_exposure_refuses_inconsistent_records(
    scenario: Any, numbers: list[int], problem: str
) -> None:
    plan = planned_infusions(scenario.protocol.schedule, scenario.subject().randomization_date)
    with pytest.raises(InputError, match=problem):
        exposure_summary("S-001", plan, [_infusion(scenario, n, "1E9") for n in numbers])
