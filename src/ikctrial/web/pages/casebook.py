"""The subject's casebook pages: the case report forms, their records, derived values and queries.

Each view parses the form, calls ``crf_record_save`` (which checks the role, the lock, the dates
and derives the visit window, CTCAE grade and SAE clock, then runs the edit checks) and renders
what it stored. Site scoping and roles are the selectors' (``crf_subject``: another site's
subject is 404, a role without CRF access 403); bad input re-renders the form with the error on its
field (422) and a refusal by the trial's state (locked casebook, no consent) is shown above the form
(409); either way nothing is stored. Pages render in the subject's site time zone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from ikctrial.web.crf.models import AdverseEvent, LabResult, StudyExit, Visit
from ikctrial.web.crf.selectors import crf_subject, record_of, records_of, sae_clock
from ikctrial.web.crf.services import crf_record_save
from ikctrial.web.errors import ConflictError
from ikctrial.web.pages.crf_forms import (
    CODE_LABELS,
    CRF_FORMS,
    ONE_PER_SUBJECT,
    CrfForm,
    LabForm,
    display_value,
    lab_reference,
)
from ikctrial.web.pages.form_actions import post_form, succeed
from ikctrial.web.pages.forms import attach_input_error
from ikctrial.web.pages.views import SOURCE, page
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.queries.selectors import queries_for_user
from ikctrial.web.queries.services import PENDING
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize, may
from ikctrial.web.subjects.models import Subject

SAE_STATE: dict[str, Promise] = {
    "due": gettext_lazy("report due"),
    "overdue": gettext_lazy("report overdue"),
    "reported_on_time": gettext_lazy("reported on time"),
    "reported_late": gettext_lazy("reported late"),
}

CasebookView = Callable[..., HttpResponse]


class CrfFormConverter:
    """URL part naming a form that has pages here (other forms' URLs stay free for their pages)."""

    regex = "|".join(CRF_FORMS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def casebook_page(view: CasebookView) -> CasebookView:
    """A page of one visible subject's CRFs, rendered in the subject's site time zone.

    A form the subject's state does not allow yet (the calendar before randomization) sends the
    user back to the subject page with the reason.
    """

    @page
    @wraps(view)
    def wrapped(request: HttpRequest, subject_id: int, **kwargs: Any) -> HttpResponse:
        subject = crf_subject(request.user, subject_id)
        with timezone.override(ZoneInfo(subject.site.timezone)):
            try:
                return view(request, subject, **kwargs)
            except ConflictError as exc:  # a form the subject's state does not allow yet
                messages.error(request, str(exc))
                return redirect("pages:subject", subject_id=subject.pk)

    return wrapped


def pending_queries(actor: Actor, subject: Subject) -> Any:
    """The subject's open and answered queries the actor may see (none without query access)."""
    return queries_for_user(actor).filter(subject=subject, status__in=PENDING)


@dataclass(frozen=True)
class PendingQuery:
    """A pending query as the pages list it: under its form's title and its field's label."""

    query: DataQuery
    form_title: Any
    field_label: Any
    has_page: bool
    """Whether its form has a page here (other forms' queries are listed without a link)."""

    @classmethod
    def of(cls, query: DataQuery) -> PendingQuery:
        form = CRF_FORMS.get(query.form)
        field = None if form is None else form.base_fields.get(query.field)
        return cls(
            query=query,
            form_title=query.form if form is None else form.title,
            field_label=query.field if field is None else field.label,
            has_page=form is not None,
        )


def sae_clock_view(event: AdverseEvent) -> dict[str, Any] | None:
    """The 24-hour report clock of a serious event as the pages show it (hours and minutes)."""
    clock = sae_clock(event)
    if clock is None:
        return None
    seconds = clock["remaining_seconds"]
    hours, minutes = (None, None) if seconds is None else divmod(abs(seconds) // 60, 60)
    return {**clock, "state_label": SAE_STATE[clock["state"]], "hours": hours, "minutes": minutes}


def casebook_summary(actor: Actor, subject: Subject) -> dict[str, Any]:
    """The casebook section of the subject page: every form, serious events, pending queries."""
    if not may(actor, Action.CRF_VIEW):
        return {"may_view": False}
    queries = [PendingQuery.of(query) for query in pending_queries(actor, subject)]
    pending_by_form = Counter(row.query.form for row in queries)
    forms_rows = [
        {
            "name": name,
            "title": form.title,
            "count": records_of(subject, name).count(),
            "pending_queries": pending_by_form.get(name, 0),
        }
        for name, form in CRF_FORMS.items()
    ]
    serious = AdverseEvent.objects.filter(subject=subject, serious=True).order_by("onset_date")
    return {
        "may_view": True,
        "may_enter": may(actor, Action.CRF_ENTER),
        "subject": subject,
        "forms": forms_rows,
        "serious_events": [(event, sae_clock_view(event)) for event in serious],
        "exit": StudyExit.objects.filter(subject=subject).first(),
        "visit_ids": dict(Visit.objects.filter(subject=subject).values_list("code", "pk")),
        "queries": queries,
        "code_labels": CODE_LABELS,
        "abnormal_labs": LabResult.objects.filter(subject=subject, ctcae_grade__gte=1).count(),
    }


def _display(field: forms.Field, value: Any) -> Any:
    """A stored value under its form field's label: choice labels, yes/no, local times."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(field, forms.ChoiceField) and value not in (None, ""):
        return dict(field.choices).get(value, value)
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return display_value(value)


def _derived(record: Any) -> dict[str, Any]:
    """What the core derived for a record, for its row and page."""
    if isinstance(record, AdverseEvent):
        return {"sae_clock": sae_clock_view(record)}
    return {}


def _queries_by_record(actor: Actor, subject: Subject, form: str) -> dict[int, list[DataQuery]]:
    by_record: dict[int, list[DataQuery]] = {}
    for query in pending_queries(actor, subject).filter(form=form):
        by_record.setdefault(query.record_id, []).append(query)
    return by_record


def _context(request: HttpRequest, subject: Subject, form: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "form_name": form,
        "title": CRF_FORMS[form].title,
        "may_enter": may(request.user, Action.CRF_ENTER),
    }


@casebook_page
def crf_list(request: HttpRequest, subject: Subject, form: str) -> HttpResponse:
    """Every record of one form for the subject, with what was derived and the pending queries."""
    form_class = CRF_FORMS[form]
    records = list(records_of(subject, form))
    fields = [(name, form_class.base_fields[name]) for name in form_class.list_fields]
    queries = _queries_by_record(request.user, subject, form)
    rows = [
        {
            "record": record,
            "cells": [_display(field, getattr(record, name)) for name, field in fields],
            "queries": [PendingQuery.of(query) for query in queries.get(record.pk, [])],
            **_derived(record),
        }
        for record in records
    ]
    context = _context(request, subject, form) | {
        "columns": [field.label for _name, field in fields],
        "rows": rows,
        "may_add": form not in ONE_PER_SUBJECT or not records,
    }
    return render(request, "pages/crf/list.html", context)


def _entry_page(
    request: HttpRequest,
    subject: Subject,
    form_name: str,
    form: CrfForm,
    record: Any = None,
    status: int = 200,
) -> HttpResponse:
    """The entry form; next to each field, the pending queries on it (a correction only)."""
    pending = (
        []
        if record is None
        else _queries_by_record(request.user, subject, form_name).get(record.pk, [])
    )
    fields = set(form.fields)
    context = _context(request, subject, form_name) | {
        "form": form,
        "record": record,
        "queries_by_field": {
            name: [query for query in pending if query.field == name] for name in fields
        },
        "other_queries": [PendingQuery.of(q) for q in pending if q.field not in fields],
        **({} if record is None else _derived(record)),
    }
    if form_name == LabForm.form_name:
        context["lab_reference"] = lab_reference()
    templates = [f"pages/crf/{form_name}.html", "pages/crf/entry.html"]
    return render(request, templates, context, status=status)


def _save(
    request: HttpRequest, subject: Subject, form_name: str, record: Any = None
) -> HttpResponse:
    """Validate the posted form and save it through the CRF service (or re-render its errors)."""
    form_class = CRF_FORMS[form_name]
    form = form_class(request.POST, subject=subject, editing=record is not None)

    def saved_page(saved: Any) -> HttpResponse:
        message = _("%(form)s saved.") % {"form": form_class.title}
        if not saved.queries:
            return succeed(request, message, "pages:crf_list", subject.pk, form_name)
        opened = ngettext(
            "The edit checks opened %(count)d query.",
            "The edit checks opened %(count)d queries.",
            len(saved.queries),
        ) % {"count": len(saved.queries)}
        return succeed(
            request, f"{message} {opened}", "pages:crf_edit", subject.pk, form_name, saved.record.pk
        )

    return post_form(
        form,
        call=lambda: crf_record_save(
            actor=request.user,
            subject_id=subject.pk,
            form=form_name,
            data=form.entry_data(),
            record_id=None if record is None else record.pk,
            reason=form.reason_for_change(),
            source=SOURCE,
        ),
        render_form=lambda status: _entry_page(
            request, subject, form_name, form, record, status=status
        ),
        done=saved_page,
        on_input=attach_input_error,
    )


@casebook_page
@require_http_methods(["GET", "POST"])
def crf_create(request: HttpRequest, subject: Subject, form: str) -> HttpResponse:
    """Enter a new record of one form."""
    form_class = CRF_FORMS[form]
    authorize(request.user, Action.CRF_ENTER)
    if request.method == "POST":
        return _save(request, subject, form)
    initial = {"code": request.GET["code"]} if form == "visit" and "code" in request.GET else None
    return _entry_page(request, subject, form, form_class(subject=subject, initial=initial))


@casebook_page
@require_http_methods(["GET", "POST"])
def crf_edit(request: HttpRequest, subject: Subject, form: str, record_id: int) -> HttpResponse:
    """Correct a saved record, with the reason for the change (earlier values stay audited)."""
    form_class = CRF_FORMS[form]
    record = record_of(subject, form, record_id)
    if request.method == "POST":
        authorize(request.user, Action.CRF_ENTER)
        return _save(request, subject, form, record)
    may_enter = may(request.user, Action.CRF_ENTER)
    initial = form_class.initial_from(record)
    entry_form = form_class(subject=subject, editing=may_enter, initial=initial)
    for field in entry_form.fields.values():
        field.disabled = not may_enter
    return _entry_page(request, subject, form, entry_form, record)
