"""The IKC infusion calendar: planned dates, TACE blackouts, delays and missed infusions (1.3, 1.4).

Each planned infusion starts at ``RANDDT + target_day`` of the protocol's ``infusion_plan``. The
``shift_minimal`` collision policy (domain.md 1.4) then moves it, in plan order:

- when it falls less than ``min_infusion_gap_days`` after the previous infusion (planned, or given
  on its actual date), it shifts by the same amount as the previous infusion did, and at least far
  enough to keep the gap;
- when it falls in a TACE blackout (``[TACE - before, TACE + after]``, both ends included), it moves
  to the first day after that blackout (repeated while it lands in another one).

An infusion is never moved earlier than its protocol target. Its window is ``target +/- window``
around the (shifted) target. After the window it may still be given up to
``max_infusion_delay_days`` late with a documented reason; after that it is missed and, unless the
protocol allows make-up, never given (the total never exceeds the plan's count).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise

from ikctrial.errors import InputError
from ikctrial.protocol.model import Schedule


@dataclass(frozen=True)
class Blackout:
    """The days around one TACE session when no infusion is given (both ends included)."""

    tace_on: date
    first_day: date
    last_day: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first_day <= day <= self.last_day


def tace_blackouts(schedule: Schedule, tace_dates: Collection[date]) -> tuple[Blackout, ...]:
    """The blackout of every TACE session, in date order (domain.md 1.4)."""
    before = timedelta(days=schedule.tace_blackout_before_days)
    after = timedelta(days=schedule.tace_blackout_after_days)
    return tuple(Blackout(t, t - before, t + after) for t in sorted(set(tace_dates)))


def blackout_on(blackouts: Collection[Blackout], day: date) -> Blackout | None:
    """The first blackout that contains ``day``, if any."""
    return next((b for b in blackouts if day in b), None)


class InfusionState(StrEnum):
    """Where one planned infusion stands."""

    PLANNED = "planned"
    GIVEN = "given"
    MISSED = "missed"


@dataclass(frozen=True)
class PlannedInfusion:
    """One of the planned infusions with its (shifted) target, window and latest allowed day.

    ``latest_day`` is None when the protocol allows make-up infusions (never missed).
    """

    number: int
    protocol_target: date
    target: date
    window_start: date
    window_end: date
    latest_day: date | None
    state: InfusionState
    given_on: date | None
    shift_reasons: tuple[str, ...]

    def missed_by(self, day: date) -> bool:
        """True when this infusion is missed, or not given and past its latest day on ``day``."""
        if self.state is not InfusionState.PLANNED:
            return self.state is InfusionState.MISSED
        return self.latest_day is not None and day > self.latest_day

    @property
    def shift_days(self) -> int:
        """How far the target moved from the protocol target."""
        return (self.target - self.protocol_target).days


def _check_given(schedule: Schedule, given: Mapping[int, date]) -> None:
    count = len(schedule.infusion_plan)
    for number in sorted(given):
        if not 1 <= number <= count:
            raise InputError(f"given[{number}]", f"infusion number must be 1..{count}")
    days = [given[n] for n in sorted(given)]
    for earlier, later in pairwise(days):
        if later <= earlier:
            raise InputError("given", f"infusions given out of order ({earlier} then {later})")


def _shifted_target(
    original: date,
    previous: tuple[date, int] | None,
    gap: int,
    blackouts: tuple[Blackout, ...],
) -> tuple[date, list[str]]:
    """The ``shift_minimal`` target of one infusion after ``previous`` (its day and shift)."""
    day = original
    reasons: list[str] = []
    if previous is not None and (day - previous[0]).days < gap:
        prev_day, prev_shift = previous
        day = max(original + timedelta(days=prev_shift), prev_day + timedelta(days=gap))
        reasons.append(f"keeps the minimum gap of {gap} days after {prev_day.isoformat()}")
    while (blackout := blackout_on(blackouts, day)) is not None:
        day = blackout.last_day + timedelta(days=1)
        reasons.append(
            f"TACE on {blackout.tace_on.isoformat()}: blackout "
            f"{blackout.first_day.isoformat()} to {blackout.last_day.isoformat()}"
        )
    return day, reasons


def planned_infusions(
    schedule: Schedule,
    randomization_date: date,
    *,
    tace_dates: Collection[date] = (),
    given: Mapping[int, date] | None = None,
    as_of: date | None = None,
) -> tuple[PlannedInfusion, ...]:
    """The infusion calendar of one subject (domain.md 1.3, 1.4).

    ``given`` maps infusion numbers to the dates they were given; those dates are kept as they
    are and anchor the gap of later infusions. With ``as_of``, an infusion not given whose latest
    allowed day is before ``as_of`` is ``MISSED`` and no longer anchors the gap.
    """
    given = dict(given or {})
    _check_given(schedule, given)
    blackouts = tace_blackouts(schedule, tace_dates)
    plan: list[PlannedInfusion] = []
    previous: tuple[date, int] | None = None
    for item in schedule.infusion_plan:
        original = randomization_date + timedelta(days=item.target_day)
        reasons: list[str] = []
        if item.number in given:
            target = given[item.number]
        else:
            target, reasons = _shifted_target(
                original, previous, schedule.min_infusion_gap_days, blackouts
            )
        window_end = target + timedelta(days=item.window_days)
        latest = (
            None
            if schedule.allow_makeup
            else window_end + timedelta(days=schedule.max_infusion_delay_days)
        )
        if item.number in given:
            state = InfusionState.GIVEN
        elif as_of is not None and latest is not None and latest < as_of:
            state = InfusionState.MISSED
        else:
            state = InfusionState.PLANNED
        plan.append(
            PlannedInfusion(
                number=item.number,
                protocol_target=original,
                target=target,
                window_start=target - timedelta(days=item.window_days),
                window_end=window_end,
                latest_day=latest,
                state=state,
                given_on=given.get(item.number),
                shift_reasons=tuple(reasons),
            )
        )
        if state is not InfusionState.MISSED:
            previous = (target, (target - original).days)
    return tuple(plan)


class SlotTiming(StrEnum):
    """How a date relates to the window of the infusion due on it."""

    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"
    NONE_DUE = "none_due"


@dataclass(frozen=True)
class InfusionSlot:
    """Which infusion a date belongs to, how it sits in that infusion's window, and why."""

    number: int | None
    timing: SlotTiming
    reason: str
    days_late: int
    gap_problem: str | None
    missed: tuple[int, ...]


def infusion_slot(
    plan: tuple[PlannedInfusion, ...], on_date: date, *, min_gap_days: int
) -> InfusionSlot:
    """The infusion that an infusion on ``on_date`` would be: the first one neither given nor
    missed (a missed infusion is never made up). Also reports a minimum-gap violation against the
    last infusion given."""
    missed = tuple(
        p.number
        for p in plan
        if p.state is InfusionState.MISSED
        or (
            p.state is InfusionState.PLANNED and p.latest_day is not None and on_date > p.latest_day
        )
    )
    given_days = [p.given_on for p in plan if p.given_on is not None]
    gap_problem = None
    if given_days and (on_date - given_days[-1]).days < min_gap_days:
        gap_problem = (
            f"only {(on_date - given_days[-1]).days} days after the infusion of "
            f"{given_days[-1].isoformat()} (minimum {min_gap_days})"
        )
    due = next(
        (p for p in plan if p.state is InfusionState.PLANNED and p.number not in missed), None
    )
    if due is None:
        given_count = len(given_days)
        reason = (
            f"no infusion due: {given_count} given, {len(missed)} missed, of {len(plan)} "
            "planned (no make-up infusion)"
        )
        return InfusionSlot(None, SlotTiming.NONE_DUE, reason, 0, gap_problem, missed)
    window = f"window {due.window_start.isoformat()} to {due.window_end.isoformat()}"
    if on_date < due.window_start:
        timing, reason, late = SlotTiming.EARLY, f"infusion {due.number} is early ({window})", 0
    elif on_date <= due.window_end:
        timing, reason, late = SlotTiming.ON_TIME, f"infusion {due.number} ({window})", 0
    else:
        late = (on_date - due.window_end).days
        timing = SlotTiming.LATE
        reason = f"infusion {due.number} is {late} days late ({window}); a reason is required"
    return InfusionSlot(due.number, timing, reason, late, gap_problem, missed)
