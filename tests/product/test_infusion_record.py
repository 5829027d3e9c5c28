"""Recording a given infusion (domain.md 8.6 "Infusion record", 8.5 start before expiry)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from ikctrial.errors import InputError
from ikctrial.product.infusion_record import InfusionReaction, infusion_record


def _record(s: Any, **changes: Any) -> Any:
    args: dict[str, Any] = {
        "expiry_at": s.harvest + timedelta(hours=24),
        "bag_volume_ml": Decimal("100"),
        "viable_cells_in_bag": Decimal("5E9"),
        "started_at": s.at(26, 10, 5),
        "stopped_at": s.at(26, 10, 50),
        "volume_infused_ml": Decimal("95"),
    }
    args.update(changes)
    decision = args.pop("decision", None) or s.bedside()
    return infusion_record(decision, s.bag_record(), **args)


def test_cells_infused_is_viable_cells_times_fraction_of_volume(scenario: Any) -> None:
    # domain.md 8.6: cells infused = viable cells in bag x fraction of volume infused.
    record = _record(scenario)
    assert record.cells_infused == Decimal("4.75E9")
    assert record.infusion_number == 1
    assert record.duration == timedelta(minutes=45)
    assert record.subject_id == "S-001"


def test_reaction_is_kept(scenario: Any) -> None:
    reaction = InfusionReaction("chills", 1, scenario.at(26, 10, 30))
    assert _record(scenario, reactions=[reaction]).reactions == (reaction,)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ("blocked", "decision", "blocked this infusion"),
        ("before_check", "started_at", "before the bedside verification"),
        ("expired", "started_at", "expired at"),
        ("no_shelf_life", "expiry_at", "shelf_life_hours is not set"),
        ("stop_before_start", "stopped_at", "after started_at"),
        ("too_much", "volume_infused_ml", "is not in"),
        ("reaction_before", "reactions[0].onset_at", "before the infusion started"),
    ],
)
def test_infusion_record_refusals(scenario: Any, change: str, field: str, problem: str) -> None:
    s = scenario
    changes: dict[str, Any] = {
        "blocked": {"decision": s.bedside(subject=s.subject(arm="TACE"))},
        "before_check": {"started_at": s.at(26, 9, 59)},
        "expired": {
            "started_at": s.harvest + timedelta(hours=24),
            "stopped_at": s.harvest + timedelta(hours=25),
        },
        "no_shelf_life": {"expiry_at": None},
        "stop_before_start": {"stopped_at": s.at(26, 10, 5)},
        "too_much": {"volume_infused_ml": Decimal("100.1")},
        "reaction_before": {"reactions": [InfusionReaction("rash", 1, s.at(26, 10))]},
    }[change]
    with pytest.raises(InputError, match=problem) as raised:
        _record(s, **changes)
    assert raised.value.field == field


@pytest.mark.parametrize("grade", [0, 6])
def test_reaction_grade_is_ctcae_1_to_5(scenario: Any, grade: int) -> None:
    with pytest.raises(InputError, match="grade 1-5"):
        InfusionReaction("fever", grade, scenario.at(26, 10, 30))
