"""The visit calendar of domain.md 1.3 (default schedule), 0 (study day) and 1.5 (out of window).

RANDDT = 2026-01-05 throughout; elapsed days are from it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikctrial.clinical.visit_schedule import (
    VisitKind,
    VisitStatus,
    planned_visits,
    receives_investigational_product,
    study_day,
    visit_calendar,
)
from ikctrial.errors import InputError
from ikctrial.protocol import load_protocol

PROTOCOL = load_protocol()
RANDDT = date(2026, 1, 5)
IKC = "IKC_TACE"
CONTROL = "TACE"


def day(elapsed: int) -> date:
    return RANDDT + timedelta(days=elapsed)


def by_code(arm: str = IKC) -> dict[str, tuple[int | None, int, int]]:
    return {
        v.code: (v.target_day, v.earliest_day, v.latest_day)
        for v in planned_visits(PROTOCOL, RANDDT, arm)
    }


@pytest.mark.parametrize(
    ("code", "target", "earliest", "latest"),
    [
        ("screening", None, -28, -1),  # 1.3 screening -28 to -1
        ("immune_baseline", None, -14, 0),  # 1.3 immune_baseline_window (-14, 0)
        ("randomization", 0, 0, 0),  # 0: randomization has elapsed 0
        ("first_tace", None, 0, 14),  # 1.3 first TACE 0 to 14
        ("blood_draw_1", 7, 5, 9),  # 1.3 infusion 1 - 14, +/-2
        ("infusion_1", 21, 18, 24),  # 1.3 infusions 1-4 weekly from 21, +/-3
        ("infusion_4", 42, 39, 45),
        ("infusion_5", 56, 53, 59),  # 1.3 infusions 5-8 every 2 weeks
        ("infusion_9", 126, 123, 129),  # 1.3 infusions 9-12 every 4 weeks
        ("blood_draw_12", 196, 194, 198),
        ("infusion_12", 210, 207, 213),
        ("imaging_1", 56, 49, 63),  # 1.3 imaging every 8 weeks +/-7
        ("imaging_6", 336, 329, 343),
        ("immune_panel_1", 28, 25, 31),  # 1.3 immune panel +/-3 at day 28
        ("immune_panel_2", 56, 49, 63),  # +/-7 otherwise
        ("immune_panel_5", 252, 245, 259),
        ("end_of_study", 364, 350, 378),  # 1.3 EOS 364 +/-14
    ],
)
def test_default_calendar_windows(
    code: str, target: int | None, earliest: int, latest: int
) -> None:
    """Each visit of the default calendar has the target and window of domain.md 1.3."""
    assert by_code()[code] == (target, earliest, latest)


@pytest.mark.parametrize(
    ("arm", "infusions", "draws", "total"),
    [
        (IKC, 12, 12, 4 + 24 + 6 + 5 + 1),  # 1.2: the experimental arm gets the product
        (CONTROL, 0, 0, 4 + 6 + 5 + 1),  # TACE alone: no infusion, no blood draw
    ],
)
def test_arm_decides_infusions(arm: str, infusions: int, draws: int, total: int) -> None:
    """Infusions and their blood draws belong to the IKC arm only; imaging is the same (1.3)."""
    visits = planned_visits(PROTOCOL, RANDDT, arm)
    kinds = [v.kind for v in visits]
    assert kinds.count(VisitKind.INFUSION) == infusions
    assert kinds.count(VisitKind.BLOOD_DRAW) == draws
    assert kinds.count(VisitKind.IMAGING) == 6
    assert len(visits) == total


def test_imaging_identical_in_both_arms() -> None:
    """1.3 design note: imaging anchored to randomization, never arm-dependent."""

    def imaging(arm: str) -> list[tuple[date | None, date, date]]:
        return [
            (v.target_date, v.window_start, v.window_end)
            for v in planned_visits(PROTOCOL, RANDDT, arm)
            if v.kind is VisitKind.IMAGING
        ]

    assert imaging(IKC) == imaging(CONTROL)


def test_dates_are_randdt_plus_elapsed() -> None:
    """0: "Week N" target date = RANDDT + 7N; the window's dates follow the elapsed days."""
    visit = next(v for v in planned_visits(PROTOCOL, RANDDT, IKC) if v.code == "imaging_1")
    assert visit.target_date == date(2026, 3, 2)  # week 8
    assert (visit.window_start, visit.window_end) == (date(2026, 2, 23), date(2026, 3, 9))


def test_day_order_with_kind_tiebreak() -> None:
    """Visits come in day order; on day 56 the scan, then samples, then the infusion (1.3)."""
    visits = planned_visits(PROTOCOL, RANDDT, IKC)
    keys = [v.target_day if v.target_day is not None else v.earliest_day for v in visits]
    assert keys == sorted(keys)
    on_56 = [v.code for v in visits if v.target_day == 56]
    assert on_56 == ["imaging_1", "immune_panel_2", "blood_draw_6", "infusion_5"]


def test_unknown_arm_is_input_error() -> None:
    """An arm the protocol does not list is bad input naming the field."""
    with pytest.raises(InputError, match="arm"):
        receives_investigational_product(PROTOCOL, "PLACEBO")


@pytest.mark.parametrize(
    ("done", "as_of", "status"),
    [
        (None, -1, VisitStatus.UPCOMING),  # imaging_1 window opens day 49
        (None, 48, VisitStatus.UPCOMING),
        (None, 49, VisitStatus.DUE),  # first day of the window (boundary included)
        (None, 63, VisitStatus.DUE),  # last day of the window
        (None, 64, VisitStatus.OVERDUE),  # the day after the window
        (49, 70, VisitStatus.DONE),  # done on the first day of the window
        (63, 70, VisitStatus.DONE),  # done on the last day
        (48, 70, VisitStatus.OUT_OF_WINDOW),  # 1.5: kept and flagged
        (64, 70, VisitStatus.OUT_OF_WINDOW),
    ],
)
def test_status_against_window(done: int | None, as_of: int, status: VisitStatus) -> None:
    """1.5: a visit outside its window is out_of_window; both window ends are inside."""
    done_on = {} if done is None else {"imaging_1": day(done)}
    rows = visit_calendar(PROTOCOL, RANDDT, CONTROL, done_on=done_on, as_of=day(as_of))
    row = next(r for r in rows if r.visit.code == "imaging_1")
    assert row.status is status
    assert row.done_on == (None if done is None else day(done))


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [(0, 1), (1, 2), (55, 56), (-1, -1), (-28, -28)],  # 0: no day 0
)
def test_study_day(elapsed: int, expected: int) -> None:
    """0: study day = elapsed + 1 on/after RANDDT, elapsed (negative) before it."""
    assert study_day(day(elapsed), RANDDT) == expected


def test_calendar_study_day_and_screening_window() -> None:
    """Screening on the randomization day is out of the -28..-1 window (1.3)."""
    rows = visit_calendar(
        PROTOCOL,
        RANDDT,
        IKC,
        done_on={"screening": RANDDT, "randomization": RANDDT},
        as_of=RANDDT,
    )
    status = {r.visit.code: (r.status, r.study_day) for r in rows}
    assert status["screening"] == (VisitStatus.OUT_OF_WINDOW, 1)
    assert status["randomization"] == (VisitStatus.DONE, 1)
    assert status["first_tace"][0] is VisitStatus.DUE


def test_unknown_visit_code_is_input_error() -> None:
    """A done date for a visit the calendar lacks (typo, or an infusion in the control arm)."""
    with pytest.raises(InputError, match=r"done_on\.infusion_1"):
        visit_calendar(PROTOCOL, RANDDT, CONTROL, done_on={"infusion_1": RANDDT}, as_of=RANDDT)


@given(
    randdt=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    offset=st.integers(min_value=-60, max_value=400),
)
def test_status_partition(randdt: date, offset: int) -> None:
    """Invariant: not done, every visit is upcoming before, due inside, overdue after its window;
    the window always contains the target, and the dates are RANDDT + elapsed days."""
    as_of = randdt + timedelta(days=offset)
    for row in visit_calendar(PROTOCOL, randdt, IKC, done_on={}, as_of=as_of):
        visit = row.visit
        assert visit.window_start == randdt + timedelta(days=visit.earliest_day)
        assert visit.window_end == randdt + timedelta(days=visit.latest_day)
        if visit.target_date is not None:
            assert visit.window_start <= visit.target_date <= visit.window_end
        expected = (
            VisitStatus.UPCOMING
            if as_of < visit.window_start
            else VisitStatus.OVERDUE
            if as_of > visit.window_end
            else VisitStatus.DUE
        )
        assert row.status is expected
