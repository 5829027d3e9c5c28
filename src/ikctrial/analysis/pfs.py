"""Progression-free survival: event or censoring date and reason per subject (domain.md 7.1).

The rules are ikctrial's computable version of the FDA (2018) PFS censoring table, applied in the
order of domain.md 7.1: no adequate post-baseline assessment and no death -> new anticancer therapy
before PD or death -> PD or death after two or more missed scheduled assessments -> the earlier of
PD and death -> otherwise censored at the last adequate assessment. ``ikctrial endpoints pfs``
(interfaces.md, "Endpoint derivation") prints these outcomes; the ADaM ADTTE builder reuses them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ikctrial.errors import InputError, input_error_from_validation

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    """Accept a ``date`` or a ``YYYY-MM-DD`` string, nothing looser (no timestamps, no numbers)."""
    if value is None or type(value) is date:
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
# domain.md 1.3 defaults: [CONFIG imaging_interval_days] and [CONFIG imaging_window_days].
IMAGING_INTERVAL_DAYS = 56
IMAGING_WINDOW_DAYS = 7
ResponseCode = Literal["CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"]


class TumorAssessment(BaseModel):
    """One post-baseline time point with its overall response (RECIST 1.1 codes, domain.md 2.8)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: IsoDate
    overall_response: ResponseCode

    @property
    def adequate(self) -> bool:
        """Adequate = the overall response could be assessed (not NE), domain.md 7.1."""
        return self.overall_response != "NE"


class PfsSubject(BaseModel):
    """What PFS needs to know about one randomized subject."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    randomization_date: IsoDate
    assessments: list[TumorAssessment] = Field(default_factory=list)
    death_date: IsoDate | None = None
    new_anticancer_therapy_date: IsoDate | None = None
    last_contact_date: IsoDate | None = None


class PfsInput(BaseModel):
    """The ``ikctrial endpoints pfs`` input: imaging calendar plus subjects (interfaces.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assessment_interval_days: int = Field(default=IMAGING_INTERVAL_DAYS, ge=1, strict=True)
    window_days: int = Field(default=IMAGING_WINDOW_DAYS, ge=0, strict=True)
    subjects: list[PfsSubject]


class PfsReason(StrEnum):
    """Why the PFS date is what it is (interfaces.md reason codes; rows of domain.md 7.1)."""

    PROGRESSION = "progression"
    DEATH = "death"
    NO_POST_BASELINE_ASSESSMENT = "no_post_baseline_assessment"
    NO_PROGRESSION = "no_progression"
    NEW_ANTICANCER_THERAPY = "new_anticancer_therapy"
    EVENT_AFTER_MISSED_ASSESSMENTS = "event_after_missed_assessments"


# ADaM EVNTDESC / CNSDTDSC text of each row of the domain.md 7.1 scenario table.
DESCRIPTIONS: dict[PfsReason, str] = {
    PfsReason.PROGRESSION: "DISEASE PROGRESSION",
    PfsReason.DEATH: "DEATH",
    PfsReason.NO_POST_BASELINE_ASSESSMENT: "NO POST-BASELINE ASSESSMENT",
    PfsReason.NO_PROGRESSION: "LAST ADEQUATE ASSESSMENT",
    PfsReason.NEW_ANTICANCER_THERAPY: "NEW ANTICANCER THERAPY",
    PfsReason.EVENT_AFTER_MISSED_ASSESSMENTS: "EVENT AFTER 2 OR MORE MISSED ASSESSMENTS",
}


@dataclass(frozen=True)
class PfsOutcome:
    """PFS for one subject: ``event`` (CNSR = 1 - event), date (ADT), days (AVAL) and reason."""

    id: str
    event: bool
    date: date
    days: int
    reason: PfsReason

    @property
    def description(self) -> str:
        """ADaM EVNTDESC (events) or CNSDTDSC (censored) text."""
        return DESCRIPTIONS[self.reason]

    def to_dict(self) -> dict[str, Any]:
        """The interfaces.md output record (plus the ADaM description)."""
        return {
            "id": self.id,
            "event": int(self.event),
            "date": self.date.isoformat(),
            "days": self.days,
            "reason": self.reason.value,
            "description": self.description,
        }


def missed_assessment_count(
    last_adequate_day: int, event_day: int, *, interval_days: int, window_days: int
) -> int:
    """Scheduled assessments missed between the last adequate assessment and an event.

    Days are elapsed days from randomization. Target ``k`` (at ``k * interval_days``, k >= 1) counts
    when its window opens after the last adequate assessment (``t_k - window > last``) and has
    closed before the event (``t_k + window < event``), domain.md 7.1 rule 4.
    """
    first = (last_adequate_day + window_days) // interval_days + 1
    last = (event_day - window_days - 1) // interval_days
    return max(0, last - max(first, 1) + 1)


def _check_dates(subject: PfsSubject) -> None:
    """Reject dates that cannot be true: before randomization, or an assessment after death."""
    start = subject.randomization_date
    for name in ("death_date", "new_anticancer_therapy_date", "last_contact_date"):
        value: date | None = getattr(subject, name)
        if value is not None and value < start:
            raise InputError(name, f"{value} is before randomization_date {start}")
    seen: dict[date, int] = {}
    for index, assessment in enumerate(subject.assessments):
        field = f"assessments[{index}].date"
        if assessment.date < start:
            raise InputError(field, f"{assessment.date} is before randomization_date {start}")
        if subject.death_date is not None and assessment.date > subject.death_date:
            raise InputError(field, f"{assessment.date} is after death_date {subject.death_date}")
        if assessment.date in seen:
            repeated = seen[assessment.date]
            raise InputError(field, f"{assessment.date} repeats assessments[{repeated}]")
        seen[assessment.date] = index


def _last_on_or_before(dates: Sequence[date], limit: date) -> date | None:
    """The latest of the sorted ``dates`` that is on or before ``limit``."""
    earlier = [d for d in dates if d <= limit]
    return earlier[-1] if earlier else None


def pfs_outcome(
    subject: PfsSubject,
    *,
    interval_days: int = IMAGING_INTERVAL_DAYS,
    window_days: int = IMAGING_WINDOW_DAYS,
    ignore_new_anticancer_therapy: bool = False,
    ignore_missed_assessments: bool = False,
) -> PfsOutcome:
    """PFS date, event flag and reason for one subject by the domain.md 7.1 rules, in their order.

    ``ignore_new_anticancer_therapy`` gives the PFSNACT sensitivity analysis (treatment policy) and
    ``ignore_missed_assessments`` the PFSMISS one (events after missed scans kept at their date).
    Raises ``InputError`` (field relative to the subject) for impossible dates.
    """
    if interval_days < 1 or window_days < 0:
        raise InputError("", f"calendar {interval_days} +/- {window_days} days is not a schedule")
    _check_dates(subject)
    start = subject.randomization_date
    ordered = sorted(subject.assessments, key=lambda a: a.date)
    adequate = [a.date for a in ordered if a.adequate]
    progression = next((a.date for a in ordered if a.overall_response == "PD"), None)
    death = subject.death_date

    def outcome(when: date, reason: PfsReason, *, event: bool) -> PfsOutcome:
        return PfsOutcome(subject.id, event, when, (when - start).days + 1, reason)

    if not adequate and death is None:
        return outcome(start, PfsReason.NO_POST_BASELINE_ASSESSMENT, event=False)
    events: list[tuple[date, PfsReason]] = []
    if progression is not None:
        events.append((progression, PfsReason.PROGRESSION))
    if death is not None:
        events.append((death, PfsReason.DEATH))
    # The earlier of PD and death; on the same day the documented progression is reported.
    first_event = min(events, key=lambda e: e[0]) if events else None
    therapy = subject.new_anticancer_therapy_date
    if (
        not ignore_new_anticancer_therapy
        and therapy is not None
        and (first_event is None or therapy < first_event[0])
    ):
        before_therapy = _last_on_or_before(adequate, therapy) or start
        return outcome(before_therapy, PfsReason.NEW_ANTICANCER_THERAPY, event=False)
    if first_event is not None:
        event_date, event_reason = first_event
        # The LAA before the gap: the PD scan itself is the event, while an adequate scan on the
        # day of death closes the gap (no assessment can follow death).
        scans_before = [d for d in adequate if d != progression]
        before_event = _last_on_or_before(scans_before, event_date) or start
        missed = missed_assessment_count(
            (before_event - start).days,
            (event_date - start).days,
            interval_days=interval_days,
            window_days=window_days,
        )
        if missed >= 2 and not ignore_missed_assessments:
            return outcome(before_event, PfsReason.EVENT_AFTER_MISSED_ASSESSMENTS, event=False)
        return outcome(event_date, event_reason, event=True)
    return outcome(adequate[-1], PfsReason.NO_PROGRESSION, event=False)


def pfs_outcomes(
    data: PfsInput,
    *,
    ignore_new_anticancer_therapy: bool = False,
    ignore_missed_assessments: bool = False,
) -> list[PfsOutcome]:
    """PFS for every subject of ``data``; an error names the subject (``subjects[3] (S4).…``)."""
    outcomes: list[PfsOutcome] = []
    seen: dict[str, int] = {}
    for index, subject in enumerate(data.subjects):
        where = f"subjects[{index}] ({subject.id})"
        if subject.id in seen:
            raise InputError(f"{where}.id", f"repeats subjects[{seen[subject.id]}]")
        seen[subject.id] = index
        try:
            outcomes.append(
                pfs_outcome(
                    subject,
                    interval_days=data.assessment_interval_days,
                    window_days=data.window_days,
                    ignore_new_anticancer_therapy=ignore_new_anticancer_therapy,
                    ignore_missed_assessments=ignore_missed_assessments,
                )
            )
        except InputError as error:
            raise error.under(where) from None
    return outcomes


def pfs_input(document: object) -> PfsInput:
    """Validate a parsed ``endpoints pfs`` document; an error names the subject by index and id."""
    try:
        return PfsInput.model_validate(document)
    except ValidationError as exc:
        error = input_error_from_validation(exc)
        loc = exc.errors()[0]["loc"]
    if len(loc) >= 2 and loc[0] == "subjects" and isinstance(loc[1], int):
        subject_id = _raw_subject_id(document, loc[1])
        if subject_id is not None:
            head = f"subjects[{loc[1]}]"
            error = InputError(f"{head} ({subject_id}){error.field[len(head) :]}", error.problem)
    raise error


def _raw_subject_id(document: object, index: int) -> str | None:
    """The ``id`` of subject ``index`` in the raw document, when there is a usable one."""
    if not isinstance(document, dict):
        return None
    subjects = document.get("subjects")
    if not isinstance(subjects, list) or index >= len(subjects):
        return None
    entry = subjects[index]
    subject_id = entry.get("id") if isinstance(entry, dict) else None
    return subject_id if isinstance(subject_id, str) and subject_id else None
