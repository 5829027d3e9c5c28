"""Reads of case report forms: the form registry, records of a visible subject, their documents.

Site scoping is the subjects selector's (``subject_for_user``); this module adds the CRF right and
renders records as the API shows them (numbers as JSON numbers, the SAE clock, tumor responses).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models, router
from django.utils import timezone

from ikctrial.clinical.visit_schedule import VisitRow, visit_calendar
from ikctrial.web import rows
from ikctrial.web.consent.models import Consent
from ikctrial.web.crf.models import (
    AdverseEvent,
    ConcomitantMedication,
    ImmunePanelResult,
    LabResult,
    StudyExit,
    TaceProcedure,
    TumorAssessment,
    TumorResponse,
    TumorResponseSummary,
    Visit,
    VitalSigns,
)
from ikctrial.web.errors import ConflictError, NotFoundError
from ikctrial.web.protocol import current_protocol
from ikctrial.web.randomization.models import Randomization
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_user, subjects_for_user
from ikctrial.web.validation import MAX_ID

FORM_MODELS: dict[str, type[models.Model]] = {
    "visit": Visit,
    "lab_result": LabResult,
    "vital_signs": VitalSigns,
    "immune_panel": ImmunePanelResult,
    "tace_procedure": TaceProcedure,
    "concomitant_medication": ConcomitantMedication,
    "adverse_event": AdverseEvent,
    "tumor_assessment": TumorAssessment,
    "study_exit": StudyExit,
}
"""The forms by the name the API, queries and edit checks use."""

SAE_REPORT_HOURS = 24
"""Investigator -> sponsor initial SAE report: within 24 h of first awareness (domain.md 6.6)."""


@dataclass(frozen=True)
class SubjectDates:
    """The dates that bound a subject's data: consent and randomization (site-local), and arm."""

    consent_date: dt.date | None
    randomization_date: dt.date | None
    arm: str | None
    zone: ZoneInfo


@lru_cache(maxsize=8)
def _dates_sql(using: str) -> str:
    """First consent date, randomization time and arm of one subject, in one statement."""
    signed_on = rows.column(Consent, "signed_on", using)
    consent = (
        f"SELECT {signed_on} FROM {rows.table(Consent, using)} "
        f"WHERE {rows.column(Consent, 'subject', using)} = %s ORDER BY {signed_on} LIMIT 1"
    )
    randomization = (
        f"SELECT {{}} FROM {rows.table(Randomization, using)} "
        f"WHERE {rows.column(Randomization, 'subject', using)} = %s"
    )
    randomized_at = randomization.format(rows.column(Randomization, "randomized_at", using))
    arm = randomization.format(rows.column(Randomization, "arm", using))
    return f"SELECT ({consent}), ({randomized_at}), ({arm})"


def subject_dates(subject: Subject) -> SubjectDates:
    """First consent date; randomization date in the site's time zone (RANDDT) and arm.

    Read now, in one statement (after the subject lock of a writer, so nothing is missed).
    """
    zone = ZoneInfo(subject.site.timezone)
    using = router.db_for_read(Subject)
    row = rows.fetch_one(_dates_sql(using), [subject.pk] * 3, using) or (None, None, None)
    consent_date = rows.convert(Consent, "signed_on", row[0], using)
    randomized_at = rows.convert(Randomization, "randomized_at", row[1], using)
    arm = row[2]
    return SubjectDates(
        consent_date=consent_date,
        randomization_date=None if randomized_at is None else randomized_at.astimezone(zone).date(),
        arm=arm,
        zone=zone,
    )


def form_model(form: str) -> type[models.Model]:
    """The model of a form name (an unknown form is 404)."""
    try:
        return FORM_MODELS[form]
    except KeyError:
        raise NotFoundError(f"form {form!r} not found (one of {', '.join(FORM_MODELS)})") from None


def crf_subject(actor: Actor, subject_id: int) -> Subject:
    """A subject visible to the actor, whose CRFs the actor's role may read."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.CRF_VIEW)
    return subject


def records_of(subject: Subject, form: str) -> models.QuerySet[Any]:
    """Every record of one form for one subject, in the form's order."""
    return form_model(form).objects.filter(subject=subject)


def _find_record(subject: Subject, form: str, record_id: int, lock: bool) -> Any:
    """The record, or None; the locked read is the record's row alone, in one plain statement."""
    if not lock:
        return records_of(subject, form).filter(pk=record_id).first()
    model = form_model(form)
    using = router.db_for_write(model)
    record_column, subject_column = (
        rows.column(model, "id", using),
        rows.column(model, "subject", using),
    )
    where = f"{record_column} = %s AND {subject_column} = %s"
    return next(iter(rows.select(model, where, [record_id, subject.pk], lock=True)), None)


def record_of(subject: Subject, form: str, record_id: int, *, lock: bool = False) -> Any:
    """One record of a subject's form (another subject's record is 404); ``lock``: for update."""
    record = _find_record(subject, form, record_id, lock) if 0 < record_id <= MAX_ID else None
    if record is None:
        raise NotFoundError(f"{form} record {record_id} not found for this subject")
    type(record)._meta.get_field("subject").set_cached_value(record, subject)
    return record


def json_number(value: Decimal) -> int | float:
    """A stored decimal as a JSON number (an integer when it is one)."""
    return int(value) if value == value.to_integral_value() else float(value)


def field_values(record: models.Model) -> dict[str, Any]:
    """The record's concrete field values by name (foreign keys as ids), Python types kept."""
    values = {}
    for field in record._meta.concrete_fields:
        name = field.name if not field.is_relation else field.attname
        values[name] = getattr(record, field.attname)
    return values


def _plain(value: Any) -> Any:
    return json_number(value) if isinstance(value, Decimal) else value


def sae_clock(event: AdverseEvent, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The 24-hour report clock of a serious event: due time, state, time left (negative: late)."""
    if not event.serious or event.sae_due_at is None:
        return None
    moment = now or timezone.now()
    reported = event.sae_reported_at
    if reported is not None:
        state = "reported_on_time" if reported <= event.sae_due_at else "reported_late"
        remaining = None
    else:
        state = "overdue" if moment > event.sae_due_at else "due"
        remaining = int((event.sae_due_at - moment).total_seconds())
    return {
        "due_at": event.sae_due_at,
        "state": state,
        "overdue": state in {"overdue", "reported_late"},
        "remaining_seconds": remaining,
    }


def serious_events(actor: Actor) -> list[dict[str, Any]]:
    """Every serious AE of the actor's sites with its 24 h clock, the most urgent first."""
    authorize(actor, Action.CRF_VIEW)
    events = AdverseEvent.objects.filter(
        subject__in=subjects_for_user(actor), serious=True
    ).select_related("subject__site")
    rows = [
        {
            **record_document("adverse_event", event),
            "site": event.subject.site.code,
            "screening_number": event.subject.screening_number,
        }
        for event in events
    ]
    return sorted(rows, key=lambda row: (row["sae_reported_at"] is not None, row["sae_due_at"]))


def response_document(response: TumorResponse) -> dict[str, Any]:
    """The derived call at one time point with the investigator's disagreement, if any."""
    return {
        key: _plain(value)
        for key, value in field_values(response).items()
        if key not in {"id", "assessment_id"}
    }


def record_document(form: str, record: models.Model) -> dict[str, Any]:
    """A record as the API shows it, with what the core derived for it."""
    document = {"form": form, **{k: _plain(v) for k, v in field_values(record).items()}}
    if isinstance(record, AdverseEvent):
        document["sae_clock"] = sae_clock(record)
    if isinstance(record, TumorAssessment):
        document["responses"] = [response_document(r) for r in record.responses.all()]
    return document


def summary_document(summary: TumorResponseSummary) -> dict[str, Any]:
    """The series result under one criterion: best overall response, progression, best change."""
    return {
        "criteria": summary.criteria,
        "best_overall_response": summary.best_overall_response,
        "progression_date": summary.progression_date,
        "best_pct_change": summary.best_pct_change,
        "flags": summary.flags,
    }


def tumor_response_document(subject: Subject) -> dict[str, Any]:
    """Both criteria side by side (domain.md 3.7): series summaries and every time point."""
    summaries = TumorResponseSummary.objects.filter(subject=subject).order_by("criteria")
    assessments = records_of(subject, "tumor_assessment").prefetch_related("responses")
    return {
        "subject_id": subject.pk,
        "summaries": [summary_document(s) for s in summaries],
        "assessments": [record_document("tumor_assessment", a) for a in assessments],
    }


def visit_rows(subject: Subject, *, as_of: dt.date | None = None) -> tuple[VisitRow, ...]:
    """The subject's protocol calendar with the visits done (needs randomization: RANDDT).

    Screening and randomization are done on the subject's own screening and randomization dates
    unless a visit record says otherwise: nobody records them twice.
    """
    dates = subject_dates(subject)
    if dates.randomization_date is None or dates.arm is None:
        raise ConflictError("the subject is not randomized: the calendar starts at randomization")
    done = {visit.code: visit.done_on for visit in Visit.objects.filter(subject=subject)}
    done.setdefault("randomization", dates.randomization_date)
    if subject.screening_date is not None:
        done.setdefault("screening", subject.screening_date)
    today = as_of or timezone.now().astimezone(dates.zone).date()
    return visit_calendar(
        current_protocol(), dates.randomization_date, dates.arm, done_on=done, as_of=today
    )


def visit_row_document(row: VisitRow) -> dict[str, Any]:
    """One calendar row: code, kind, target and window dates, date done, status, study day."""
    visit = row.visit
    return {
        "code": visit.code,
        "kind": visit.kind.value,
        "number": visit.number,
        "target_date": visit.target_date,
        "window_start": visit.window_start,
        "window_end": visit.window_end,
        "done_on": row.done_on,
        "status": row.status.value,
        "out_of_window": row.status.value == "out_of_window",
        "study_day": row.study_day,
    }


def casebook_content(subject: Subject) -> list[dict[str, Any]]:
    """Every CRF record of the subject (what an investigator's casebook signature covers)."""
    content = []
    for form, model in FORM_MODELS.items():
        for record in model.objects.filter(subject=subject).order_by("pk"):
            values = field_values(record)
            values.pop("entered_at", None)
            content.append({"form": form, **values})
    return content
