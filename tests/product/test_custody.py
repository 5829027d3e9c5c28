"""Chain of custody (domain.md 8.4): the append-only ledger, its sequence, quarantine, reversals.

The scenario ledger (tests/product/conftest.py) is the typical sequence of 8.4: collection, lab
receipt, culture with cytokine and media additions, in-process QC sample, harvest, QC sample,
release, shipment, ward receipt, storage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikctrial.errors import InputError
from ikctrial.product.custody import (
    ALLOWED_NEXT,
    CustodyCondition,
    CustodyError,
    CustodyEventType,
    CustodyLimits,
    CustodyStatus,
    appended_state,
    custody_state,
)
from ikctrial.product.identifiers import UnitKind, chain_of_identity_id

E = CustodyEventType
Ledger = Callable[[Any], list[Any]]


def test_typical_sequence_ends_at_the_ward(scenario: Any) -> None:
    state = scenario.custody()
    assert state.status is CustodyStatus.AT_WARD
    assert state.location == "ward 7"
    assert not state.quarantined
    assert state.quarantine_reasons == ()
    assert len(state.events_in_force) == 12


@pytest.mark.parametrize(
    ("prefix", "status"),
    [
        (0, CustodyStatus.NOT_COLLECTED),
        (1, CustodyStatus.IN_TRANSIT_TO_LAB),
        (2, CustodyStatus.AT_LAB),
        (3, CustodyStatus.IN_CULTURE),
        (6, CustodyStatus.IN_CULTURE),  # in-process QC sample keeps the culture status
        (7, CustodyStatus.HARVESTED),
        (8, CustodyStatus.HARVESTED),
        (9, CustodyStatus.RELEASED),
        (10, CustodyStatus.IN_TRANSIT_TO_WARD),
        (11, CustodyStatus.AT_WARD),
        (12, CustodyStatus.AT_WARD),
    ],
)
def test_status_along_the_sequence(scenario: Any, prefix: int, status: CustodyStatus) -> None:
    # domain.md 8.4 typical sequence: each event moves the unit one step.
    assert scenario.custody(scenario.events()[:prefix]).status is status


def test_lineage_only_bag_sees_its_own_events(scenario: Any) -> None:
    # domain.md 8.3: a bag inherits its lot's custody, not a sibling bag's.
    sibling = scenario.lot.unit(UnitKind.BAG, 2)
    state = custody_state(scenario.events(), sibling, scenario.limits)
    assert state.status is CustodyStatus.RELEASED
    lot = custody_state(scenario.events(), scenario.lot, scenario.limits)
    assert lot.status is CustodyStatus.RELEASED


def test_lot_events_after_the_bag_left_belong_to_other_bags(scenario: Any) -> None:
    # domain.md 8.3 hierarchy: the lab may sample the retained lot after bag 1 was shipped.
    s = scenario
    retained = s.event("e13", E.QC_SAMPLED, s.at(26, 9, 30))
    state = custody_state([*s.events(), retained], s.bag, s.limits)
    assert state.status is CustodyStatus.AT_WARD
    assert retained not in state.events_in_force
    lot = custody_state([*s.events(), retained], s.lot, s.limits)
    assert lot.events_in_force[-1] is retained


def test_lot_quarantine_reaches_its_bags(scenario: Any) -> None:
    s = scenario
    hold = s.event("q", E.QUARANTINED, s.at(26, 9, 30), role="qa", reason="sterility positive")
    state = custody_state([*s.events(), hold], s.bag, s.limits)
    assert state.quarantine_reasons == ("quarantined (q): sterility positive",)


def _replace(s: Any, event_id: str, **changes: Any) -> list[Any]:
    return [dataclasses.replace(e, **changes) if e.event_id == event_id else e for e in s.events()]


def _without(s: Any, event_id: str) -> list[Any]:
    return [e for e in s.events() if e.event_id != event_id]


REFUSALS: list[tuple[str, Ledger, str]] = [
    (
        "8.3 hierarchy: only a bag is infused",
        lambda s: [*s.events()[:9], s.event("x", E.INFUSED, s.at(26, 10), unit=s.lot)],
        "only a bag is infused",
    ),
    (
        "8.4 sequence: ledger must start with collection",
        lambda s: s.events()[1:],
        "cannot follow an empty ledger",
    ),
    (
        "8.4 sequence: harvest without culture",
        lambda s: [*s.events()[:2], s.event("x", E.HARVESTED, s.at(20, 9))],
        "harvested cannot follow received",
    ),
    (
        "8.4 sequence: infusion straight after release",
        lambda s: [*s.events()[:9], s.event("x", E.INFUSED, s.at(26, 9))],
        "infused cannot follow released",
    ),
    (
        "8.4 sequence: nothing after infusion",
        lambda s: [
            *s.events(),
            s.event("x", E.INFUSED, s.at(26, 10)),
            s.event("y", E.STORED, s.at(26, 11)),
        ],
        "already infused",
    ),
    (
        "8.4 sequence: nothing after destruction",
        lambda s: [
            *s.events(),
            s.event("x", E.DESTROYED, s.at(26, 10)),
            s.event("y", E.INFUSED, s.at(26, 11)),
        ],
        "already destroyed",
    ),
    (
        "8.4 immutable: an event id is used once",
        lambda s: [*s.events(), s.event("e12", E.INFUSED, s.at(26, 10))],
        "used twice",
    ),
    (
        "8.3 CoI: event for another patient's therapy",
        lambda s: [
            *s.events(),
            dataclasses.replace(
                s.event("x", E.INFUSED, s.at(26, 10)),
                unit=chain_of_identity_id("G1234", 2026, 124).unit(UnitKind.COLLECTION, 1),
            ),
        ],
        "chain-of-identity mismatch",
    ),
    (
        "9.2 correction: reversal of an unknown event",
        lambda s: [
            *s.events(),
            s.event("r", E.REVERSAL, s.at(26, 10), reverses="nope", reason="typo"),
        ],
        "no earlier event",
    ),
    (
        "9.2 correction: a reversal cannot be reversed",
        lambda s: [
            *s.events(),
            s.event("r", E.REVERSAL, s.at(26, 10), reverses="e12", reason="typo"),
            s.event("r2", E.REVERSAL, s.at(26, 10), reverses="r", reason="typo"),
        ],
        "already reversed",
    ),
    (
        "9.2 correction: an event is reversed once",
        lambda s: [
            *s.events(),
            s.event("r", E.REVERSAL, s.at(26, 10), reverses="e12", reason="typo"),
            s.event("r2", E.REVERSAL, s.at(26, 10), reverses="e12", reason="typo"),
        ],
        "already reversed",
    ),
    (
        "9.2 correction: only a reversal names reverses",
        lambda s: [*s.events(), s.event("x", E.INFUSED, s.at(26, 10), reverses="e12")],
        "only a reversal",
    ),
    (
        "9.2 correction: reversing a middle event breaks the sequence",
        lambda s: [
            *s.events(),
            s.event("r", E.REVERSAL, s.at(26, 10), reverses="e10", reason="typo"),
        ],
        "received_at_ward cannot follow released",
    ),
    (
        "8.4 quarantine lifted only by qa",
        lambda s: [
            *_replace(s, "e10", temperature_c=Decimal("12")),
            s.event("q", E.QUARANTINE_LIFTED, s.at(26, 10), reason="ok"),
        ],
        "only role qa",
    ),
    (
        "8.4 quarantine lifted when none",
        lambda s: [
            *s.events(),
            s.event("q", E.QUARANTINE_LIFTED, s.at(26, 10), role="qa", reason="ok"),
        ],
        "not in quarantine",
    ),
]


@pytest.mark.parametrize(("rule", "ledger", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_ledger_refusals(scenario: Any, rule: str, ledger: Ledger, message: str) -> None:
    with pytest.raises(CustodyError, match=message):
        custody_state(ledger(scenario), scenario.bag, scenario.limits)


def _limits(hours: str) -> CustodyLimits:
    return CustodyLimits((Decimal(2), Decimal(8)), max_product_transport_hours=Decimal(hours))


QUARANTINES: list[tuple[str, Ledger, str]] = [
    (
        "8.4 gap: shipped then stored without ward receipt",
        lambda s: _without(s, "e11"),
        "missing receipt: stored recorded without received_at_ward",
    ),
    (
        "8.4 gap: culture started without lab receipt",
        lambda s: _without(s, "e02"),
        "missing receipt: culture_started recorded without received",
    ),
    (
        "8.4 excursion: 8.5 °C at shipment (range 2-8 °C)",
        lambda s: _replace(s, "e10", temperature_c=Decimal("8.5")),
        "temperature excursion at shipped",
    ),
    (
        "8.4 excursion: 1.9 °C at storage",
        lambda s: _replace(s, "e12", temperature_c=Decimal("1.9")),
        "temperature excursion at stored",
    ),
    (
        "8.4 excursion: data logger maximum 9 °C during transport",
        lambda s: _replace(s, "e11", logger_id="DL-1", logger_max_c=Decimal("9")),
        "9 °C outside 2.0-8.0 °C",
    ),
    (
        "8.4 received with issue",
        lambda s: _replace(s, "e11", condition=CustodyCondition.ISSUE, note="seal broken"),
        "received with issue: seal broken",
    ),
    (
        "8.3 mismatch: explicit quarantine",
        lambda s: [
            *s.events(),
            s.event("q", E.QUARANTINED, s.at(26, 9, 30), reason="label mismatch"),
        ],
        "quarantined (q): label mismatch",
    ),
]


@pytest.mark.parametrize(("rule", "ledger", "reason"), QUARANTINES, ids=[q[0] for q in QUARANTINES])
def test_gaps_and_excursions_quarantine(
    scenario: Any, rule: str, ledger: Ledger, reason: str
) -> None:
    state = custody_state(ledger(scenario), scenario.bag, scenario.limits)
    assert state.quarantined, rule
    assert any(reason in r for r in state.quarantine_reasons), state.quarantine_reasons


@pytest.mark.parametrize(
    ("temperature", "quarantined"),
    [("2", False), ("8", False), ("8.0", False), ("1.99", True), ("8.01", True)],
)
def test_cold_chain_range_is_inclusive(scenario: Any, temperature: str, quarantined: bool) -> None:
    # domain.md 8.1: transport 2-8 °C [CONFIG transport_temp_range_c], both ends allowed.
    ledger = _replace(scenario, "e10", temperature_c=Decimal(temperature))
    assert custody_state(ledger, scenario.bag, scenario.limits).quarantined is quarantined


def test_culture_at_37_degrees_is_not_an_excursion(scenario: Any) -> None:
    # The 2-8 °C range applies to the final product from release on, not to the incubator.
    ledger = _replace(scenario, "e05", temperature_c=Decimal("37"))
    assert not custody_state(ledger, scenario.bag, scenario.limits).quarantined


@pytest.mark.parametrize(("limit_hours", "quarantined"), [("0.75", False), ("0.74", True)])
def test_transport_time_limit(scenario: Any, limit_hours: str, quarantined: bool) -> None:
    # domain.md 8.4: time beyond limits. Shipment 08:15, ward receipt 09:00 = 45 min.
    state = custody_state(scenario.events(), scenario.bag, _limits(limit_hours))
    assert state.quarantined is quarantined
    if quarantined:
        assert "took 45 min" in state.quarantine_reasons[0]


def test_open_transport_leg_beyond_its_limit_quarantines(scenario: Any) -> None:
    # Shipped at 08:15 and still not received at 10:16 with a 2 h limit.
    ledger = scenario.events()[:10]
    limits = _limits("2")
    assert not custody_state(ledger, scenario.bag, limits, now=scenario.at(26, 10, 15)).quarantined
    late = custody_state(ledger, scenario.bag, limits, now=scenario.at(26, 10, 16))
    assert late.quarantined
    assert "has lasted 2 h 1 min" in late.quarantine_reasons[0]


def test_qa_disposition_lifts_quarantine_until_the_next_problem(scenario: Any) -> None:
    s = scenario
    ledger = _replace(s, "e10", temperature_c=Decimal("9"))
    lifted = [
        *ledger,
        s.event(
            "q",
            E.QUARANTINE_LIFTED,
            s.at(26, 9, 30),
            user_id="qa1",
            role="qa",
            reason="stability data cover 1 h at 9 °C",
        ),
    ]
    assert not custody_state(lifted, s.bag, s.limits).quarantined
    warm = s.event("w", E.INFUSED, s.at(26, 10), temperature_c=Decimal("12"))
    assert custody_state([*lifted, warm], s.bag, s.limits).quarantined


def test_reversal_and_late_correction_fall_into_place(scenario: Any) -> None:
    # domain.md 9.2: a wrong entry is never edited; it is reversed with a reason and re-entered.
    s = scenario
    wrong = _replace(s, "e10", temperature_c=Decimal("95"))  # typed 95 for 5.0
    assert custody_state(wrong, s.bag, s.limits).quarantined
    corrected = [
        *wrong,
        s.event("r1", E.REVERSAL, s.at(26, 11), reverses="e10", reason="typing error: 5.0 °C"),
        s.event("e10b", E.SHIPPED, s.at(26, 8, 15), temperature_c=Decimal("5.0")),
    ]
    state = custody_state(corrected, s.bag, s.limits)
    assert not state.quarantined
    assert state.status is CustodyStatus.AT_WARD
    assert [e.event_id for e in state.events_in_force][9] == "e10b"


@pytest.mark.parametrize("kind", [E.REVERSAL, E.QUARANTINED, E.QUARANTINE_LIFTED])
def test_corrections_and_quality_decisions_need_a_reason(scenario: Any, kind: Any) -> None:
    # domain.md 9.2: every change after first save carries a reason.
    with pytest.raises(InputError, match="reason: required"):
        scenario.event("r", kind, scenario.at(26, 10), reverses="e12", reason="  ")


def test_blood_transport_limit_is_separate(scenario: Any) -> None:
    # Collection 08:00, lab receipt 11:00 = 3 h; a 4 h blood limit passes, a 2 h one does not.
    ok = CustodyLimits((Decimal(2), Decimal(8)), max_blood_transport_hours=Decimal(4))
    late = CustodyLimits((Decimal(2), Decimal(8)), max_blood_transport_hours=Decimal(2))
    assert not custody_state(scenario.events(), scenario.bag, ok).quarantined
    state = custody_state(scenario.events(), scenario.bag, late)
    assert state.quarantine_reasons == (
        "transport after collected (e01) took 3 h 0 min, beyond 2 h",
    )


def test_naive_timestamp_is_bad_input(scenario: Any) -> None:
    with pytest.raises(InputError, match="no time zone"):
        scenario.event("x", E.COLLECTED, scenario.at(12, 8).replace(tzinfo=None))


def test_every_event_type_has_a_successor_rule() -> None:
    # The state machine covers every process event (quality events and reversals aside).
    process = set(E) - {E.QUARANTINED, E.QUARANTINE_LIFTED, E.REVERSAL}
    assert process <= set(ALLOWED_NEXT)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moves=st.lists(st.sampled_from([e for e in E if e is not E.REVERSAL]), max_size=14),
)
def test_appending_random_events_keeps_the_ledger_consistent(
    scenario: Any, moves: list[Any]
) -> None:
    """Property (8.4): each event is either accepted for its unit or refused with a CustodyError;
    a ledger built only from accepted events gives a state for every unit of the lineage."""
    s = scenario
    ledger: list[Any] = []
    for index, kind in enumerate(moves):
        when = s.at(12, 8) + timedelta(hours=index)
        candidate = s.event(f"h{index}", kind, when, role="qa", reason="test")
        try:
            state = appended_state(ledger, candidate, s.limits)
        except CustodyError:
            continue
        ledger.append(candidate)
        assert state.events_in_force[-1] is candidate
    for unit in (s.collection, s.culture, s.lot, s.bag):
        custody_state(ledger, unit, s.limits)
