"""Endpoints derived from a subject's record (domain.md 7): PFS and OS, tumor-size change, TACE
frequency, immune change from baseline, IKC exposure and the analysis populations.

Each function takes one ``TrialSubject`` (``analysis.records``) and returns plain values; the
ADaM builders turn them into records. PFS itself is ``analysis.pfs`` (the FDA 2018 table): here
the subject's record becomes its input, per criterion and sensitivity parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ikctrial.analysis.context import AnalysisContext
from ikctrial.analysis.pfs import (
    IMAGING_INTERVAL_DAYS,
    IMAGING_WINDOW_DAYS,
    PfsOutcome,
    PfsSubject,
    TumorAssessment,
    pfs_outcome,
)
from ikctrial.analysis.records import LabValue, ResponseSummary, TrialSubject, randomization_date
from ikctrial.errors import InputError

DAYS_PER_YEAR = 365.25
PRIMARY_CRITERION = "RECIST1.1"
IMMUNE_PANEL = "IMMUNE PANEL"


@dataclass(frozen=True)
class PfsParameter:
    """One PFS analysis (domain.md 7.1 sensitivity table): criterion and what is ignored."""

    paramcd: str
    param: str
    criteria: str | None = None
    """``None``: the protocol's primary criterion."""
    ignore_new_anticancer_therapy: bool = False
    ignore_missed_assessments: bool = False
    central_review: bool = False
    """Progression dates from the blinded central reader's series instead of the investigator's;
    a subject no central reader read has no record of this parameter."""


PFS_PARAMETERS: tuple[PfsParameter, ...] = (
    PfsParameter("PFS", "Progression-free survival (days)"),
    PfsParameter(
        "PFSMISS",
        "PFS, events after missed assessments counted (days)",
        ignore_missed_assessments=True,
    ),
    PfsParameter(
        "PFSNACT", "PFS, new anticancer therapy ignored (days)", ignore_new_anticancer_therapy=True
    ),
    PfsParameter("PFSMREC", "PFS per mRECIST (days)", criteria="mRECIST"),
    PfsParameter(
        "PFSBICR", "PFS per blinded independent central review (days)", central_review=True
    ),
)


def new_anticancer_therapy_date(subject: TrialSubject) -> dt.date | None:
    """Start of the first new anticancer therapy (CM flagged anticancer; TACE never counts)."""
    starts = [m.start_date for m in subject.medications if m.anticancer_therapy]
    return min(starts) if starts else None


def _pfs_response(code: str) -> str:
    """The engine's ``NON-CR/NON-PD`` spelling as the PFS input spells it."""
    return "NON_CR_NON_PD" if code in {"NON-CR/NON-PD", "NON_CR_NON_PD"} else code


def pfs_subject(
    subject: TrialSubject, criteria: str = PRIMARY_CRITERION, *, central_review: bool = False
) -> PfsSubject:
    """The ``analysis.pfs`` input of one subject under one criterion (post-baseline scans of
    the investigator, or of the blinded central reader)."""
    start = randomization_date(subject)
    series = subject.central_assessments if central_review else subject.assessments
    assessments = []
    for assessment in series:
        call = assessment.response(criteria)
        if call is None or call.overall_response == "BASELINE" or assessment.assessed_on <= start:
            continue
        assessments.append(
            TumorAssessment.model_validate(
                {
                    "date": assessment.assessed_on,
                    "overall_response": _pfs_response(call.overall_response),
                }
            )
        )
    return PfsSubject(
        id=subject.subject_key,
        randomization_date=start,
        assessments=assessments,
        death_date=subject.death_date,
        new_anticancer_therapy_date=new_anticancer_therapy_date(subject),
        last_contact_date=subject.exit.last_contact_date if subject.exit else None,
    )


def pfs(
    subject: TrialSubject,
    parameter: PfsParameter = PFS_PARAMETERS[0],
    *,
    primary_criterion: str = PRIMARY_CRITERION,
    interval_days: int = IMAGING_INTERVAL_DAYS,
    window_days: int = IMAGING_WINDOW_DAYS,
) -> PfsOutcome:
    """PFS of one subject for one parameter (errors name the subject and the field)."""
    try:
        return pfs_outcome(
            pfs_subject(
                subject,
                parameter.criteria or primary_criterion,
                central_review=parameter.central_review,
            ),
            interval_days=interval_days,
            window_days=window_days,
            ignore_new_anticancer_therapy=parameter.ignore_new_anticancer_therapy,
            ignore_missed_assessments=parameter.ignore_missed_assessments,
        )
    except InputError as error:
        raise error.under(subject.where("")) from None


@dataclass(frozen=True)
class TimeToEvent:
    """An event or censoring date with AVAL = date - origin + 1 and its description."""

    event: bool
    date: dt.date
    days: int
    description: str


def last_known_alive(subject: TrialSubject) -> dt.date:
    """The latest date the record shows the subject alive (OS censoring date)."""
    start = randomization_date(subject)
    days = [start]
    days += [a.assessed_on for a in subject.assessments]
    days += [v.done_on for v in subject.visits]
    days += [t.performed_on for t in subject.tace]
    days += [i.stopped_at.date() for i in subject.infusions]
    days += [lab.collected_on for lab in subject.labs]
    if subject.exit is not None:
        days.append(subject.exit.exit_date)
        if subject.exit.last_contact_date is not None:
            days.append(subject.exit.last_contact_date)
    return max(days)


def overall_survival(subject: TrialSubject) -> TimeToEvent:
    """OS: death from any cause (event), else censored at the last date known alive."""
    start = randomization_date(subject)
    death = subject.death_date
    if death is not None:
        return TimeToEvent(True, death, (death - start).days + 1, "DEATH")
    last = last_known_alive(subject)
    return TimeToEvent(False, last, (last - start).days + 1, "LAST KNOWN ALIVE")


@dataclass(frozen=True)
class SizeChange:
    """One time point of the target sum: value, baseline, change and percentage change (7.2)."""

    date: dt.date
    sum_mm: float
    base_mm: float
    change_mm: float | None
    pct_change: float | None
    nadir_mm: float
    baseline: bool
    overall_response: str


def size_changes(subject: TrialSubject, criteria: str = PRIMARY_CRITERION) -> list[SizeChange]:
    """Per-visit change of the target sum (SOD; mRECIST: viable sum) from the first assessment.

    Only complete assessments (a sum) count; PCHG is undefined when the baseline sum is 0.
    """
    series = [
        (a.assessed_on, call)
        for a in sorted(subject.assessments, key=lambda a: a.assessed_on)
        if (call := a.response(criteria)) is not None and call.sum_mm is not None
    ]
    if not series:
        return []
    base = series[0][1].sum_mm
    assert base is not None
    out: list[SizeChange] = []
    nadir = base
    for index, (day, call) in enumerate(series):
        value = call.sum_mm
        assert value is not None
        first = index == 0
        pct = None if first or base == 0 else 100.0 * (value - base) / base
        out.append(
            SizeChange(
                day,
                value,
                base,
                None if first else value - base,
                pct,
                nadir,
                first,
                call.overall_response,
            )
        )
        nadir = min(nadir, value)
    return out


def best_pct_change(subject: TrialSubject, criteria: str = PRIMARY_CRITERION) -> SizeChange | None:
    """The smallest PCHG over post-baseline assessments up to and including the first PD and
    before any new anticancer therapy (domain.md 7.2); None without such an assessment."""
    therapy = new_anticancer_therapy_date(subject)
    candidates: list[SizeChange] = []
    for change in size_changes(subject, criteria)[1:]:
        if therapy is not None and change.date >= therapy:
            break
        if change.pct_change is not None:
            candidates.append(change)
        if change.overall_response == "PD":
            break
    return min(candidates, key=lambda c: c.pct_change or 0.0, default=None)


def follow_up_end(subject: TrialSubject, cutoff: dt.date | None = None) -> dt.date:
    """END_i of domain.md 7.3: end of study, death or withdrawal, else the cut-off (or the last
    date known alive when no cut-off is given), whichever is earliest."""
    ends = [d for d in (subject.death_date, cutoff) if d is not None]
    if subject.exit is not None:
        ends.append(subject.exit.exit_date)
    return min(ends) if ends else last_known_alive(subject)


@dataclass(frozen=True)
class TaceFrequency:
    """Repeat TACE sessions (after the first) and follow-up in years (domain.md 7.3)."""

    repeat_sessions: int
    follow_up_years: float
    end: dt.date
    """END_i (``follow_up_end``): sessions after it are not counted."""

    @property
    def rate_per_year(self) -> float:
        """Sessions per patient-year of follow-up."""
        return self.repeat_sessions / self.follow_up_years


def tace_frequency(subject: TrialSubject, cutoff: dt.date | None = None) -> TaceFrequency:
    """Sessions after the first one up to END_i, over (END_i - RANDDT + 1) / 365.25 years."""
    start = randomization_date(subject)
    end = follow_up_end(subject, cutoff)
    sessions = sorted(t.performed_on for t in subject.tace if t.performed_on <= end)
    return TaceFrequency(max(0, len(sessions) - 1), ((end - start).days + 1) / DAYS_PER_YEAR, end)


def first_treatment_date(subject: TrialSubject) -> dt.date | None:
    """TRTSDT: the first TACE or IKC infusion."""
    days = [t.performed_on for t in subject.tace] + [i.started_at.date() for i in subject.infusions]
    return min(days) if days else None


def last_treatment_date(subject: TrialSubject) -> dt.date | None:
    """TRTEDT: the last TACE or IKC infusion."""
    days = [t.performed_on for t in subject.tace] + [i.stopped_at.date() for i in subject.infusions]
    return max(days) if days else None


@dataclass(frozen=True)
class LabChange:
    """A lab or immune value with its baseline and change from baseline (ADLB)."""

    value: LabValue
    base: float | None
    change: float | None
    baseline: bool
    baseline_grade: int | None
    post_baseline: bool
    """Collected after the baseline cut-off (the first study treatment, else RANDDT)."""


def lab_changes(subject: TrialSubject, *, category: str | None = None) -> list[LabChange]:
    """Change from baseline per test and unit; baseline = the last value on or before the first
    study treatment (RANDDT when untreated), domain.md 6.2 and 7.4. ``category`` filters (e.g.
    ``IMMUNE PANEL`` for the immune panel of 7.4)."""
    cutoff = first_treatment_date(subject) or randomization_date(subject)
    chosen = [v for v in subject.labs if category is None or v.category == category]
    ordered = sorted(chosen, key=lambda v: (v.test, v.unit, v.collected_on))
    baselines: dict[tuple[str, str], LabValue] = {}
    for value in ordered:
        if value.collected_on <= cutoff and value.value is not None:
            baselines[(value.test, value.unit)] = value
    out = []
    for value in ordered:
        base = baselines.get((value.test, value.unit))
        is_base = base is value
        post = value.collected_on > cutoff
        change = (
            value.value - base.value
            if post and base is not None and base.value is not None and value.value is not None
            else None
        )
        out.append(
            LabChange(
                value,
                None if base is None else base.value,
                change,
                is_base,
                None if base is None else base.grade,
                post,
            )
        )
    return out


def immune_changes(subject: TrialSubject) -> list[LabChange]:
    """The immune panel's change from baseline per analyte and visit (domain.md 7.4)."""
    return lab_changes(subject, category=IMMUNE_PANEL)


@dataclass(frozen=True)
class Exposure:
    """IKC exposure: infusions received and viable cells infused, first and last date."""

    infusions: int
    cells_infused: float
    first: dt.date | None
    last: dt.date | None


def ikc_exposure(subject: TrialSubject) -> Exposure:
    """What the subject received of the IKC product."""
    given = sorted(subject.infusions, key=lambda i: i.started_at)
    return Exposure(
        len(given),
        float(sum(i.cells_infused for i in given)),
        given[0].started_at.date() if given else None,
        given[-1].stopped_at.date() if given else None,
    )


@dataclass(frozen=True)
class Populations:
    """ITT, safety and per-protocol membership, the treatment received and the deviations."""

    itt: bool
    safety: bool
    per_protocol: bool
    actual_arm: str | None
    deviations: tuple[str, ...]


def populations(subject: TrialSubject, ctx: AnalysisContext) -> Populations:
    """domain.md 7.7: ITT = randomized; safety = any TACE or IKC received (analysed as treated:
    any IKC makes it the experimental arm); per-protocol = ITT without a major deviation (the
    infusion threshold and the primary criterion come from the protocol, through ``ctx``)."""
    experimental_arm, control_arm = ctx.experimental_arm, ctx.control_arm
    min_infusions = ctx.per_protocol_min_infusions
    randomization_date(subject)
    received_ikc = bool(subject.infusions)
    treated = received_ikc or bool(subject.tace)
    actual = (experimental_arm if received_ikc else control_arm) if treated else None
    deviations: list[str] = []
    if any(c.result == "fail" for c in subject.criteria):
        deviations.append("eligibility criterion not met")
    if not subject.tace:
        deviations.append("no first TACE")
    if subject.arm == experimental_arm and len(subject.infusions) < min_infusions:
        deviations.append(f"fewer than {min_infusions} IKC infusions")
    if subject.arm == control_arm and received_ikc:
        deviations.append("control patient given IKC")
    therapy = new_anticancer_therapy_date(subject)
    progression = _progression_date(subject.summaries, ctx.primary_criterion)
    if therapy is not None and (progression is None or therapy < progression):
        deviations.append("anticancer therapy before progression")
    reference = first_treatment_date(subject) or randomization_date(subject)
    if not any(a.assessed_on <= reference for a in subject.assessments):
        deviations.append("no baseline imaging")
    return Populations(True, treated, not deviations, actual, tuple(deviations))


def _progression_date(summaries: Sequence[ResponseSummary], criteria: str) -> dt.date | None:
    """The series' progression date under one criterion (None: no PD, or not derived)."""
    return next((s.progression_date for s in summaries if s.criteria == criteria), None)
