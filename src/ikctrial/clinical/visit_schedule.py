"""A subject's visit calendar from the protocol schedule, anchored on RANDDT (domain.md 0, 1.3).

Every visit has an allowed window of elapsed days from the randomization date (RANDDT, elapsed 0)
and, where the protocol names one, a target day:

- screening: ``-screening_window_days`` to ``-1`` (no target);
- baseline immune panel: the protocol's ``immune_baseline_window`` (no target);
- randomization: day 0 exactly;
- first TACE: day 0 to ``first_tace_window_days`` (no target);
- for arms that receive the investigational product (``experimental`` arms): the blood draw for
  each lot at ``target_day - manufacturing_lead_days`` +/- ``manufacturing_window_days`` and each
  IKC infusion of ``infusion_plan`` at ``target_day`` +/- its ``window_days``;
- tumor imaging at each of ``imaging_days`` +/- ``imaging_window_days``, identical in both arms;
- immune panel at each of ``immune_panel_days`` +/- its window;
- end of study at ``eos_day`` +/- ``eos_window_days``.

This is the protocol calendar. TACE-driven infusion shifts (domain.md 1.4) are computed by
``ikctrial.product.infusion_schedule`` once TACE dates are known; event-driven safety labs have no
calendar date. A visit done outside its window is kept and flagged ``out_of_window`` (1.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from ikctrial.errors import InputError
from ikctrial.protocol.model import Protocol

INVESTIGATIONAL_ARM_TYPE = "experimental"
"""Arms of this type receive the cell product: infusions and their blood draws are scheduled."""


class VisitKind(StrEnum):
    """What happens at a visit (also the tie-break order of visits on one day)."""

    SCREENING = "screening"
    IMMUNE_BASELINE = "immune_baseline"
    RANDOMIZATION = "randomization"
    FIRST_TACE = "first_tace"
    IMAGING = "imaging"
    IMMUNE_PANEL = "immune_panel"
    BLOOD_DRAW = "blood_draw"
    INFUSION = "infusion"
    END_OF_STUDY = "end_of_study"


_KIND_ORDER = {kind: index for index, kind in enumerate(VisitKind)}


class VisitStatus(StrEnum):
    """Where a visit stands on a given day."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    OUT_OF_WINDOW = "out_of_window"


@dataclass(frozen=True)
class PlannedVisit:
    """One visit of the calendar: code, kind, ordinal, target and window (elapsed days and dates).

    ``number`` is the infusion or lot number for infusions and blood draws, the 1-based ordinal for
    imaging and immune panels, None otherwise. ``target_day``/``target_date`` are None for visits
    that have a window but no target.
    """

    code: str
    kind: VisitKind
    number: int | None
    target_day: int | None
    earliest_day: int
    latest_day: int
    target_date: date | None
    window_start: date
    window_end: date

    def status(self, *, done_on: date | None, as_of: date) -> VisitStatus:
        """The visit's status on ``as_of``: done in or out of window, else by the window."""
        if done_on is not None:
            in_window = self.window_start <= done_on <= self.window_end
            return VisitStatus.DONE if in_window else VisitStatus.OUT_OF_WINDOW
        if as_of > self.window_end:
            return VisitStatus.OVERDUE
        if as_of >= self.window_start:
            return VisitStatus.DUE
        return VisitStatus.UPCOMING


@dataclass(frozen=True)
class VisitRow:
    """A planned visit with what happened: the date done (if any), its status and study day."""

    visit: PlannedVisit
    done_on: date | None
    status: VisitStatus
    study_day: int | None


def study_day(day: date, randomization_date: date) -> int:
    """CDISC study day (domain.md 0): elapsed + 1 from RANDDT on, elapsed before it (no day 0)."""
    elapsed = (day - randomization_date).days
    return elapsed + 1 if elapsed >= 0 else elapsed


def receives_investigational_product(protocol: Protocol, arm_code: str) -> bool:
    """Whether subjects of ``arm_code`` get the cell product (an ``experimental`` arm)."""
    for arm in protocol.arms:
        if arm.code == arm_code:
            return arm.type == INVESTIGATIONAL_ARM_TYPE
    raise InputError("arm", f"{arm_code!r} is not one of {', '.join(protocol.arm_codes())}")


def _visit(
    randomization_date: date,
    code: str,
    kind: VisitKind,
    number: int | None,
    target_day: int | None,
    earliest_day: int,
    latest_day: int,
) -> PlannedVisit:
    def on(elapsed: int) -> date:
        return randomization_date + timedelta(days=elapsed)

    return PlannedVisit(
        code=code,
        kind=kind,
        number=number,
        target_day=target_day,
        earliest_day=earliest_day,
        latest_day=latest_day,
        target_date=None if target_day is None else on(target_day),
        window_start=on(earliest_day),
        window_end=on(latest_day),
    )


def planned_visits(
    protocol: Protocol, randomization_date: date, arm_code: str
) -> tuple[PlannedVisit, ...]:
    """The calendar of a subject randomized on ``randomization_date`` to ``arm_code``, in day order.

    Visits are ordered by target day (window start when there is no target), then by kind.
    """
    s = protocol.schedule
    at = randomization_date
    visits = [
        _visit(at, "screening", VisitKind.SCREENING, None, None, -s.screening_window_days, -1),
        _visit(
            at,
            "immune_baseline",
            VisitKind.IMMUNE_BASELINE,
            None,
            None,
            s.immune_baseline_window.start_day,
            s.immune_baseline_window.end_day,
        ),
        _visit(at, "randomization", VisitKind.RANDOMIZATION, None, 0, 0, 0),
        _visit(at, "first_tace", VisitKind.FIRST_TACE, None, None, 0, s.first_tace_window_days),
    ]
    if receives_investigational_product(protocol, arm_code):
        for infusion in s.infusion_plan:
            draw = infusion.target_day - s.manufacturing_lead_days
            visits.append(
                _visit(
                    at,
                    f"blood_draw_{infusion.number}",
                    VisitKind.BLOOD_DRAW,
                    infusion.number,
                    draw,
                    draw - s.manufacturing_window_days,
                    draw + s.manufacturing_window_days,
                )
            )
            visits.append(
                _visit(
                    at,
                    f"infusion_{infusion.number}",
                    VisitKind.INFUSION,
                    infusion.number,
                    infusion.target_day,
                    infusion.target_day - infusion.window_days,
                    infusion.target_day + infusion.window_days,
                )
            )
    for ordinal, day in enumerate(s.imaging_days, start=1):
        visits.append(
            _visit(
                at,
                f"imaging_{ordinal}",
                VisitKind.IMAGING,
                ordinal,
                day,
                day - s.imaging_window_days,
                day + s.imaging_window_days,
            )
        )
    for ordinal, panel in enumerate(s.immune_panel_days, start=1):
        visits.append(
            _visit(
                at,
                f"immune_panel_{ordinal}",
                VisitKind.IMMUNE_PANEL,
                ordinal,
                panel.day,
                panel.day - panel.window_days,
                panel.day + panel.window_days,
            )
        )
    visits.append(
        _visit(
            at,
            "end_of_study",
            VisitKind.END_OF_STUDY,
            None,
            s.eos_day,
            s.eos_day - s.eos_window_days,
            s.eos_day + s.eos_window_days,
        )
    )
    return tuple(
        sorted(
            visits,
            key=lambda v: (
                v.earliest_day if v.target_day is None else v.target_day,
                _KIND_ORDER[v.kind],
            ),
        )
    )


def visit_calendar(
    protocol: Protocol,
    randomization_date: date,
    arm_code: str,
    *,
    done_on: Mapping[str, date],
    as_of: date,
) -> tuple[VisitRow, ...]:
    """Each planned visit with its date done (``done_on`` by visit code), status and study day.

    An unknown visit code in ``done_on`` is an ``InputError`` (a typo never passes silently).
    """
    visits = planned_visits(protocol, randomization_date, arm_code)
    codes = {visit.code for visit in visits}
    for code in done_on:
        if code not in codes:
            raise InputError(f"done_on.{code}", "is not a visit of this subject's calendar")
    rows = []
    for visit in visits:
        done = done_on.get(visit.code)
        rows.append(
            VisitRow(
                visit=visit,
                done_on=done,
                status=visit.status(done_on=done, as_of=as_of),
                study_day=None if done is None else study_day(done, randomization_date),
            )
        )
    return tuple(rows)
