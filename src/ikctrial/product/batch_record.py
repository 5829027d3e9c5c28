"""The manufacturing batch record reviewed against the process steps (domain.md 8.1).

Each manufacturing custody event names the process step it performs (``CustodyEvent.step``). A
step is planned on a day counted from culture start (day 0, whole days elapsed) with a +/- window;
a repeated step (IL-2 feeding every 2-3 days) also has a longest allowed interval between two
occurrences and from the last one to harvest. Every number is the product specification's
[PROTOCOL]; the protocol file has no process-step list yet, so the caller passes the steps.

The review lists deviations for quality review: a required step missing (once the lot is
harvested, or once ``as_of`` is past its window), a step outside its window, an interval too long,
a step recorded on the wrong kind of event, and a step the specification does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from ikctrial.errors import InputError
from ikctrial.product.custody import CustodyEvent, CustodyEventType, UnitState
from ikctrial.product.signature import duration_text, require_aware

E = CustodyEventType


@dataclass(frozen=True)
class ProcessStep:
    """One step of the manufacturing process and when it is due."""

    code: str
    event: CustodyEventType
    day: int
    window_days: int = 0
    required: bool = True
    max_gap_days: int | None = None

    def __post_init__(self) -> None:
        if self.window_days < 0:
            raise InputError(f"steps.{self.code}.window_days", "must not be negative")
        if self.max_gap_days is not None and self.max_gap_days <= 0:
            raise InputError(f"steps.{self.code}.max_gap_days", "must be positive")


@dataclass(frozen=True)
class BatchDeviation:
    """A departure of the batch record from the process steps."""

    step: str
    problem: str


@dataclass(frozen=True)
class BatchRecordReview:
    """Culture start, harvest, culture duration and the deviations found."""

    culture_started_at: datetime | None
    harvested_at: datetime | None
    deviations: tuple[BatchDeviation, ...]

    @property
    def culture_duration(self) -> timedelta | None:
        """Culture start to harvest."""
        if self.culture_started_at is None or self.harvested_at is None:
            return None
        return self.harvested_at - self.culture_started_at


def _step_deviations(
    step: ProcessStep,
    done: list[CustodyEvent],
    start: datetime,
    harvested_at: datetime | None,
    as_of: datetime | None,
) -> list[BatchDeviation]:
    found: list[BatchDeviation] = []
    window = f"day {step.day} ± {step.window_days}"
    if not done:
        overdue = as_of is not None and (as_of - start).days > step.day + step.window_days
        if step.required and (harvested_at is not None or overdue):
            found.append(BatchDeviation(step.code, f"not recorded (due {window})"))
        return found
    for event in done:
        if event.type is not step.event:
            found.append(
                BatchDeviation(
                    step.code,
                    f"recorded as {event.type.value} ({event.event_id}), not {step.event.value}",
                )
            )
    day = (done[0].occurred_at - start).days
    if abs(day - step.day) > step.window_days:
        found.append(BatchDeviation(step.code, f"done on day {day}, outside {window}"))
    if step.max_gap_days is not None:
        limit = timedelta(days=step.max_gap_days)
        times = [e.occurred_at for e in done] + ([harvested_at] if harvested_at else [])
        for earlier, later in pairwise(times):
            if later - earlier > limit:
                found.append(
                    BatchDeviation(
                        step.code,
                        f"{duration_text(later - earlier)} between {earlier.isoformat()} and "
                        f"{later.isoformat()}, longer than {step.max_gap_days} days",
                    )
                )
    return found


def batch_record_review(
    state: UnitState, steps: Sequence[ProcessStep], *, as_of: datetime | None = None
) -> BatchRecordReview:
    """Review the manufacturing events of a lot's lineage (``state``) against ``steps``."""
    codes = [s.code for s in steps]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise InputError("steps", f"step codes repeated: {', '.join(repeated)}")
    if as_of is not None:
        require_aware(as_of, "as_of")
    started = state.first(E.CULTURE_STARTED)
    harvested = state.first(E.HARVESTED)
    harvested_at = harvested.occurred_at if harvested else None
    deviations: list[BatchDeviation] = []
    unknown = [e for e in state.events_in_force if e.step is not None and e.step not in codes]
    deviations += [
        BatchDeviation(e.step or "", f"{e.event_id} names a step the process does not have")
        for e in unknown
    ]
    if started is None:  # nothing is due before culture start (the ledger allows no harvest)
        return BatchRecordReview(None, harvested_at, tuple(deviations))
    for step in steps:
        done = [e for e in state.events_in_force if e.step == step.code]
        deviations += _step_deviations(step, done, started.occurred_at, harvested_at, as_of)
    return BatchRecordReview(started.occurred_at, harvested_at, tuple(deviations))
