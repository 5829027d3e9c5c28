"""The IKC infusion calendar (domain.md 1.3 default plan, 1.4 TACE/infusion rules).

Elapsed days are from RANDDT = 2026-01-05; the default plan is days 21, 28, 35, 42, 56, 70, 84, 98,
126, 154, 182, 210, each +/- 3 days, blackout 2 days before to 7 days after a TACE, minimum gap 5
days, up to 14 days late, no make-up.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikctrial.errors import InputError
from ikctrial.product.infusion_schedule import (
    InfusionState,
    SlotTiming,
    blackout_on,
    infusion_slot,
    planned_infusions,
    tace_blackouts,
)
from ikctrial.protocol import load_protocol

RANDDT = date(2026, 1, 5)
DEFAULT_DAYS = [21, 28, 35, 42, 56, 70, 84, 98, 126, 154, 182, 210]
SCHEDULE = load_protocol().schedule


def day(elapsed: int) -> date:
    return RANDDT + timedelta(days=elapsed)


def elapsed(plan: Any) -> list[int]:
    return [(p.target - RANDDT).days for p in plan]


def test_default_plan_matches_domain_1_3() -> None:
    plan = planned_infusions(SCHEDULE, RANDDT)
    assert elapsed(plan) == DEFAULT_DAYS
    first = plan[0]
    assert (first.window_start, first.window_end) == (day(18), day(24))
    assert first.latest_day == day(24 + 14)
    assert all(p.state is InfusionState.PLANNED and p.shift_days == 0 for p in plan)


@pytest.mark.parametrize(
    ("tace_days", "expected_first_five", "rule"),
    [
        ([13], [21, 28, 35, 42, 56], "blackout 11..20 ends before day 21"),
        ([14], [22, 28, 35, 42, 56], "blackout 12..21: infusion 1 to day 22; gap to 28 is 6 >= 5"),
        ([16], [24, 31, 38, 45, 56], "blackout 14..23: 1 to 24; 2-4 violate the gap, shift +3"),
        ([20], [28, 35, 42, 49, 56], "blackout 18..27: 1 to 28; 2-4 shift +7; 56 keeps its target"),
        ([23], [31, 38, 45, 52, 66], "blackout 21..30: +10 cascades through 5 (gap 56-52 < 5)"),
        (
            [19, 28],
            [36, 43, 50, 57, 71],
            "blackouts 17..26 and 26..35 chain: 1 to 36 (+15); 2-5 shift +15",
        ),
        ([58], [21, 28, 35, 42, 66], "TACE on 58 blocks infusion 5 (56): to day 66"),
    ],
)
def test_tace_blackout_shift_minimal(
    tace_days: list[int], expected_first_five: list[int], rule: str
) -> None:
    # domain.md 1.4: infusion date not in [TACE - 2, TACE + 7]; moved to the first day after the
    # blackout; later infusions keep their targets unless the minimum gap is violated, in which
    # case they shift by the same amount.
    plan = planned_infusions(SCHEDULE, RANDDT, tace_dates=[day(t) for t in tace_days])
    assert elapsed(plan)[:5] == expected_first_five, rule
    assert all(p.shift_reasons for p in plan if p.shift_days)


def test_window_follows_the_shifted_target() -> None:
    plan = planned_infusions(SCHEDULE, RANDDT, tace_dates=[day(16)])
    assert (plan[0].window_start, plan[0].window_end) == (day(21), day(27))
    assert plan[0].protocol_target == day(21)
    assert "TACE on 2026-01-21" in plan[0].shift_reasons[0]


def test_given_date_anchors_later_infusions() -> None:
    # Infusion 1 given on day 25 (+4): infusion 2 (28) would be 3 days later, so it shifts by the
    # same +4 to 32, and so does 3 (35 -> 39); 4 (42) is 3 days after 39, so 46; 5 (56) keeps 56.
    plan = planned_infusions(SCHEDULE, RANDDT, given={1: day(25)})
    assert plan[0].state is InfusionState.GIVEN
    assert elapsed(plan)[:5] == [25, 32, 39, 46, 56]


def test_missed_infusion_is_not_made_up_and_does_not_anchor() -> None:
    # domain.md 1.4: later than 14 days after the window = missed, no make-up.
    plan = planned_infusions(SCHEDULE, RANDDT, as_of=day(39))
    assert plan[0].state is InfusionState.MISSED  # latest day 24 + 14 = 38
    assert plan[1].state is InfusionState.PLANNED
    assert planned_infusions(SCHEDULE, RANDDT, as_of=day(38))[0].state is InfusionState.PLANNED


def test_make_up_allowed_means_never_missed() -> None:
    schedule = SCHEDULE.model_copy(update={"allow_makeup": True})
    plan = planned_infusions(schedule, RANDDT, as_of=day(400))
    assert all(p.latest_day is None and p.state is InfusionState.PLANNED for p in plan)


@pytest.mark.parametrize(
    ("given", "on_day", "number", "timing", "days_late", "rule"),
    [
        ({}, 21, 1, SlotTiming.ON_TIME, 0, "1.3 target day"),
        ({}, 18, 1, SlotTiming.ON_TIME, 0, "1.3 window start (-3) included"),
        ({}, 24, 1, SlotTiming.ON_TIME, 0, "1.3 window end (+3) included"),
        ({}, 17, 1, SlotTiming.EARLY, 0, "1.3 one day before the window"),
        ({}, 25, 1, SlotTiming.LATE, 1, "1.4 late: needs a reason"),
        ({}, 38, 1, SlotTiming.LATE, 14, "1.4 up to 14 days late"),
        ({}, 39, 2, SlotTiming.LATE, 8, "1.4 infusion 1 missed (15 days late): infusion 2 is due"),
        ({1: 21}, 28, 2, SlotTiming.ON_TIME, 0, "1.3 next infusion after one given"),
    ],
)
def test_infusion_slot(
    given: dict[int, int], on_day: int, number: int, timing: SlotTiming, days_late: int, rule: str
) -> None:
    plan = planned_infusions(
        SCHEDULE, RANDDT, given={n: day(d) for n, d in given.items()}, as_of=day(on_day)
    )
    slot = infusion_slot(plan, day(on_day), min_gap_days=SCHEDULE.min_infusion_gap_days)
    assert (slot.number, slot.timing, slot.days_late) == (number, timing, days_late), rule


def test_slot_reports_missed_infusions_even_with_an_old_plan() -> None:
    plan = planned_infusions(SCHEDULE, RANDDT)  # computed without as_of
    slot = infusion_slot(plan, day(39), min_gap_days=5)
    assert slot.missed == (1,)
    assert slot.number == 2


def test_none_due_when_all_given_or_missed() -> None:
    # domain.md 1.4: total never exceeds 12; no make-up.
    given = {n: day(d) for n, d in enumerate(DEFAULT_DAYS[:11], start=1)}
    plan = planned_infusions(SCHEDULE, RANDDT, given=given, as_of=day(300))
    slot = infusion_slot(plan, day(300), min_gap_days=5)
    assert slot.timing is SlotTiming.NONE_DUE
    assert slot.number is None
    assert slot.missed == (12,)
    assert "11 given, 1 missed, of 12" in slot.reason


def test_minimum_gap_after_the_last_infusion_given() -> None:
    plan = planned_infusions(SCHEDULE, RANDDT, given={1: day(24)})
    assert infusion_slot(plan, day(28), min_gap_days=5).gap_problem is not None
    assert infusion_slot(plan, day(29), min_gap_days=5).gap_problem is None


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({13: date(2026, 9, 1)}, "must be 1..12"),
        ({1: date(2026, 2, 1), 2: date(2026, 1, 30)}, "out of order"),
    ],
)
def test_bad_given_infusions(given: dict[int, date], problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        planned_infusions(SCHEDULE, RANDDT, given=given)


@pytest.mark.parametrize(
    ("offset", "inside"), [(-3, False), (-2, True), (0, True), (7, True), (8, False)]
)
def test_blackout_bounds(offset: int, inside: bool) -> None:
    # domain.md 1.4: infusion date not in [TACE - 2, TACE + 7], both ends included.
    tace = date(2026, 3, 10)
    blackouts = tace_blackouts(SCHEDULE, [tace])
    assert (blackout_on(blackouts, tace + timedelta(days=offset)) is not None) is inside


@settings(max_examples=150, deadline=None)
@given(
    tace_days=st.lists(st.integers(min_value=0, max_value=260), max_size=6),
    min_gap=st.integers(min_value=0, max_value=10),
    before=st.integers(min_value=0, max_value=5),
    after=st.integers(min_value=0, max_value=14),
    given_late=st.lists(st.integers(min_value=-3, max_value=14), max_size=4),
)
def test_plan_properties(
    tace_days: list[int], min_gap: int, before: int, after: int, given_late: list[int]
) -> None:
    """Properties (1.3/1.4): never more than the plan's infusions; never earlier than the protocol
    target; the minimum gap between consecutive infusions; no planned infusion in a blackout."""
    schedule = SCHEDULE.model_copy(
        update={
            "min_infusion_gap_days": min_gap,
            "tace_blackout_before_days": before,
            "tace_blackout_after_days": after,
        }
    )
    tace = [day(t) for t in tace_days]
    given: dict[int, date] = {}
    previous = RANDDT
    for number, late in enumerate(given_late, start=1):
        when = max(day(DEFAULT_DAYS[number - 1] + late), previous + timedelta(days=min_gap or 1))
        given[number] = when
        previous = when
    plan = planned_infusions(schedule, RANDDT, tace_dates=tace, given=given)
    assert len(plan) == len(SCHEDULE.infusion_plan) == 12
    blackouts = tace_blackouts(schedule, tace)
    for earlier, later in pairwise(plan):
        assert (later.target - earlier.target).days >= min_gap
    for p in plan:
        if p.state is InfusionState.PLANNED:
            assert p.target >= p.protocol_target
            assert blackout_on(blackouts, p.target) is None
