"""Review pages: tumor assessments, data queries, e-signatures and lock, the blinded reader.

Like the site pages (``views``), each view parses input, calls one EDC service or selector and
renders the result; scoping and roles are the services' (404 for what the user may not see, 403
for what the role may not do). Bad input re-renders the form with the field's error (422), a state
that forbids the change (a frozen or locked casebook) re-renders it with the reason (409), and in
both cases nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from ikctrial.errors import InputError
from ikctrial.web.central_review.selectors import (
    imaging_timepoints,
    read_of,
    reader_subject,
    reader_subjects,
    reads_of,
)
from ikctrial.web.central_review.services import central_read_save
from ikctrial.web.crf.models import TumorAssessment, TumorResponseSummary
from ikctrial.web.crf.selectors import crf_subject, record_of, records_of
from ikctrial.web.crf.services import (
    crf_record_save,
    tumor_assessment_preview,
    tumor_response_disagree,
)
from ikctrial.web.errors import ForbiddenError
from ikctrial.web.pages.form_actions import (
    ForbiddenRefusal,
    InputRefusal,
    attempt,
    field_error,
    post_form,
    succeed,
)
from ikctrial.web.pages.review_forms import (
    STUDY_LOCK_ACTIONS,
    SUBJECT_LOCK_ACTIONS,
    DisagreementForm,
    LesionTableForm,
    LockForm,
    QueryAnswerForm,
    QueryCloseForm,
    QueryFilterForm,
    QueryRaiseForm,
    SignatureForm,
    attach_lesion_error,
    lesion_initial,
)
from ikctrial.web.pages.views import SOURCE, _require, page
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.queries.selectors import (
    QueryFilter,
    query_csv_chunks,
    query_for_user,
    query_listing,
)
from ikctrial.web.queries.services import query_answer, query_close, query_raise
from ikctrial.web.signatures.selectors import study_state, subject_signatures
from ikctrial.web.signatures.services import casebook_sign, study_lock_change, subject_lock_change
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import may
from ikctrial.web.subjects.models import Subject

LESION_TEMPLATE = "pages/review/tumor_assessment.html"


@dataclass(frozen=True)
class Step:
    """A one-form step on a record's page: the role's action, the form, the service it calls."""

    action: Action
    form: Callable[[Any], forms.Form]
    slot: str
    """The keyword of the page function that shows the step's form."""
    service: Callable[..., Any]
    message: Promise
    """What the page says once the step is done."""
    on_input: InputRefusal = field_error
    on_forbidden: ForbiddenRefusal | None = None


def _post_step(
    request: HttpRequest, step: Step, page_of: Callable[..., HttpResponse], to: str, **ids: int
) -> HttpResponse:
    """Take ``step`` on the record ``ids`` names (the service's keywords and the page's), then
    back to the page ``to``; a refusal re-renders ``page_of`` with the step's form."""
    _require(request, step.action)
    form = step.form(request.POST)
    return post_form(
        form,
        call=lambda: step.service(actor=request.user, source=SOURCE, **ids, **form.cleaned_data),
        render_form=lambda status: page_of(**{step.slot: form}, status=status),
        done=lambda _result: succeed(request, str(step.message), to, **ids),
        on_input=step.on_input,
        on_forbidden=step.on_forbidden,
    )


# Tumor assessments ------------------------------------------------------------------------------


@page
def tumor_list(request: HttpRequest, subject_id: int) -> HttpResponse:
    """The subject's imaging time points with the derived calls and the series' best response."""
    subject = crf_subject(request.user, subject_id)
    assessments = records_of(subject, "tumor_assessment").prefetch_related("responses")
    return render(
        request,
        "pages/review/tumor_list.html",
        {
            "subject": subject,
            "assessments": assessments,
            "summaries": TumorResponseSummary.objects.filter(subject=subject).order_by("criteria"),
            "may_enter": may(request.user, Action.CRF_ENTER),
        },
    )


def _assessment_page(
    request: HttpRequest,
    subject: Subject,
    assessment: TumorAssessment | None,
    form: LesionTableForm | None = None,
    *,
    status: int = 200,
    preview: dict[str, Any] | None = None,
    disagreement: tuple[str, DisagreementForm] | None = None,
) -> HttpResponse:
    may_enter = may(request.user, Action.CRF_ENTER)
    if form is None and may_enter:
        form = LesionTableForm(initial=lesion_initial(assessment) if assessment else None)
    responses = list(assessment.responses.all()) if assessment else []
    may_disagree = may(request.user, Action.RESPONSE_DISAGREE)
    disagree_forms = {
        response.criteria: DisagreementForm(
            criteria=response.criteria,
            initial={
                "investigator_response": response.investigator_response,
                "reason": response.disagreement_reason,
            },
        )
        for response in responses
    }
    if disagreement is not None:
        disagree_forms[disagreement[0]] = disagreement[1]
    context = {
        "subject": subject,
        "assessment": assessment,
        "form": form if may_enter else None,
        "preview": preview,
        "responses": [(r, disagree_forms[r.criteria] if may_disagree else None) for r in responses],
        "derived_calls": [(response.criteria, response) for response in responses],
        "may_raise": may(request.user, Action.QUERY_RAISE),
    }
    return render(request, LESION_TEMPLATE, context, status=status)


def _assessment(subject: Subject, assessment_id: int | None) -> TumorAssessment | None:
    if assessment_id is None:
        return None
    record: TumorAssessment = record_of(subject, "tumor_assessment", assessment_id)
    return record


@page
@require_http_methods(["GET", "POST"])
def tumor_assessment(
    request: HttpRequest, subject_id: int, assessment_id: int | None = None
) -> HttpResponse:
    """Enter or correct one time point's lesion table; "check" previews without JavaScript."""
    subject = crf_subject(request.user, subject_id)
    assessment = _assessment(subject, assessment_id)
    if request.method == "GET":
        return _assessment_page(request, subject, assessment)
    _require(request, Action.CRF_ENTER)
    form = LesionTableForm(request.POST)
    checking = request.POST.get("action") == "check"

    def run() -> Any:
        if checking:
            return tumor_assessment_preview(
                actor=request.user,
                subject_id=subject.pk,
                data=form.lesion_record(),
                record_id=assessment_id,
            )
        return crf_record_save(
            actor=request.user,
            subject_id=subject.pk,
            form="tumor_assessment",
            data=form.lesion_record(),
            record_id=assessment_id,
            reason=form.cleaned_data["reason"],
            source=SOURCE,
        )

    def done(result: Any) -> HttpResponse:
        if checking:
            return _assessment_page(request, subject, assessment, form, preview=result)
        return succeed(
            request,
            _("Tumor assessment saved; the response is derived."),
            "pages:tumor_assessment",
            subject_id=subject.pk,
            assessment_id=result.record.pk,
        )

    return post_form(
        form,
        call=run,
        render_form=lambda status: _assessment_page(
            request, subject, assessment, form, status=status
        ),
        done=done,
        on_input=attach_lesion_error,
    )


@page
@require_POST
def tumor_preview(
    request: HttpRequest, subject_id: int, assessment_id: int | None = None
) -> HttpResponse:
    """htmx partial: the responses the lesion table as it stands would derive (nothing saved)."""
    subject = crf_subject(request.user, subject_id)
    _require(request, Action.CRF_ENTER)
    form = LesionTableForm(request.POST)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        preview, refused = attempt(
            form,
            lambda: tumor_assessment_preview(
                actor=request.user,
                subject_id=subject.pk,
                data=form.lesion_record(),
                record_id=assessment_id,
            ),
            on_input=attach_lesion_error,
        )
        if refused is None:
            context["preview"] = preview
    return render(request, "pages/review/_response_preview.html", context)


@page
@require_POST
def tumor_disagree(
    request: HttpRequest, subject_id: int, assessment_id: int, criteria: str
) -> HttpResponse:
    """Record the investigator's own call and reason next to the derived one."""
    subject = crf_subject(request.user, subject_id)
    assessment = _assessment(subject, assessment_id)
    _require(request, Action.RESPONSE_DISAGREE)
    form = DisagreementForm(request.POST, criteria=criteria)
    return post_form(
        form,
        call=lambda: tumor_response_disagree(
            actor=request.user,
            subject_id=subject.pk,
            assessment_id=assessment_id,
            criteria=criteria,
            data=form.cleaned_data,
            source=SOURCE,
        ),
        render_form=lambda status: _assessment_page(
            request, subject, assessment, disagreement=(criteria, form), status=status
        ),
        done=lambda _record: succeed(
            request,
            _("Your response and reason are recorded."),
            "pages:tumor_assessment",
            subject_id=subject.pk,
            assessment_id=assessment_id,
        ),
    )


# Data queries -----------------------------------------------------------------------------------


@page
def query_list(request: HttpRequest) -> HttpResponse:
    """The queries of the user's sites, filtered; ``format=csv`` streams the listing as CSV."""
    _require(request, Action.QUERY_VIEW)
    form = QueryFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "pages/review/queries.html", {"form": form}, status=422)
    queries = query_listing(request.user, QueryFilter(**form.filters()))
    if request.GET.get("format") == "csv":
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(
            query_csv_chunks(queries.iterator()), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="queries-{stamp}.csv"'
        return response
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "pages/review/queries.html",
        {"form": form, "queries": queries, "csv_query": csv_query.urlencode()},
    )


def _raise_page(
    request: HttpRequest, subject: Subject, form: QueryRaiseForm, status: int = 200
) -> HttpResponse:
    return render(
        request, "pages/review/query_raise.html", {"subject": subject, "form": form}, status=status
    )


@page
@require_http_methods(["GET", "POST"])
def query_new(request: HttpRequest, subject_id: int) -> HttpResponse:
    """Raise a manual query on any field of one of the subject's records."""
    subject = crf_subject(request.user, subject_id)
    _require(request, Action.QUERY_RAISE)
    if request.method == "GET":
        initial = {
            key: request.GET[key] for key in ("form", "record_id", "field") if key in request.GET
        }
        return _raise_page(request, subject, QueryRaiseForm(initial=initial))
    form = QueryRaiseForm(request.POST)
    return post_form(
        form,
        call=lambda: query_raise(
            actor=request.user, subject_id=subject.pk, source=SOURCE, **form.cleaned_data
        ),
        render_form=lambda status: _raise_page(request, subject, form, status=status),
        done=lambda query: succeed(request, _("Query raised."), "pages:query", query_id=query.pk),
    )


def _query_page(
    request: HttpRequest,
    query: DataQuery,
    *,
    answer_form: QueryAnswerForm | None = None,
    close_form: QueryCloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    pending = query.status != DataQuery.Status.CLOSED
    may_answer = may(request.user, Action.QUERY_ANSWER) and query.status == DataQuery.Status.OPEN
    may_close = may(request.user, Action.QUERY_CLOSE) and pending
    context = {
        "query": query,
        "answer_form": (answer_form or QueryAnswerForm()) if may_answer else None,
        "close_form": (close_form or QueryCloseForm()) if may_close else None,
    }
    return render(request, "pages/review/query_detail.html", context, status=status)


@page
def query_detail(request: HttpRequest, query_id: int) -> HttpResponse:
    """One query: the question, the answer, the closing note, and what the role may do next."""
    return _query_page(request, query_for_user(request.user, query_id))


def _text_refused(form: forms.Form, exc: InputError) -> None:
    """A query step's form has one field, its text: the service's problem goes there."""
    form.add_error(next(iter(form.fields)), exc.problem)


QUERY_STEPS = {
    "answer": Step(
        Action.QUERY_ANSWER,
        QueryAnswerForm,
        "answer_form",
        query_answer,
        gettext_lazy("Answer recorded."),
        on_input=_text_refused,
    ),
    "close": Step(
        Action.QUERY_CLOSE,
        QueryCloseForm,
        "close_form",
        query_close,
        gettext_lazy("Query closed."),
        on_input=_text_refused,
    ),
}
"""The site answers an open query; the data manager or monitor closes one, saying why."""


@page
@require_POST
def query_step(request: HttpRequest, query_id: int, step: str) -> HttpResponse:
    """Answer or close a query (``QUERY_STEPS``)."""
    query = query_for_user(request.user, query_id)
    page_of = partial(_query_page, request, query)
    return _post_step(request, QUERY_STEPS[step], page_of, "pages:query", query_id=query.pk)


# Electronic signatures, freeze and lock --------------------------------------------------------


def _signatures_page(
    request: HttpRequest,
    subject: Subject,
    *,
    sign_form: SignatureForm | None = None,
    lock_form: LockForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "subject": subject,
        "doc": subject_signatures(subject),
        "sign_form": (sign_form or SignatureForm())
        if may(request.user, Action.CASEBOOK_SIGN)
        else None,
        "lock_form": (lock_form or LockForm(actions=SUBJECT_LOCK_ACTIONS))
        if may(request.user, Action.SUBJECT_LOCK)
        else None,
        "site_timezone": subject.site.timezone,
    }
    return render(request, "pages/review/signatures.html", context, status=status)


def _password_refused(form: forms.Form, exc: ForbiddenError) -> None:
    """A wrong password is refused by the signing service with ``ForbiddenError`` (the role was
    checked before): shown on the password field, 403, nothing signed."""
    form.add_error("password", str(exc).removeprefix("password: "))


@page
def signatures(request: HttpRequest, subject_id: int) -> HttpResponse:
    """The subject's lock state and signatures (superseded ones marked), and the signing forms."""
    return _signatures_page(request, crf_subject(request.user, subject_id))


SUBJECT_ACTS = {
    "sign": Step(
        Action.CASEBOOK_SIGN,
        SignatureForm,
        "sign_form",
        casebook_sign,
        gettext_lazy("Casebook signed."),
        on_forbidden=_password_refused,
    ),
    "lock": Step(
        Action.SUBJECT_LOCK,
        partial(LockForm, actions=SUBJECT_LOCK_ACTIONS),
        "lock_form",
        subject_lock_change,
        gettext_lazy("Casebook state changed and signed."),
        on_forbidden=_password_refused,
    ),
}
"""Signed acts on a casebook: the investigator signs it, meaning and password re-entered (11.50,
11.200); the data manager freezes, locks or unlocks it (unlocking with a reason)."""


@page
@require_POST
def subject_signed_act(request: HttpRequest, subject_id: int, act: str) -> HttpResponse:
    """Take one of ``SUBJECT_ACTS`` on the subject's casebook, with the password re-entered."""
    subject = crf_subject(request.user, subject_id)
    page_of = partial(_signatures_page, request, subject)
    return _post_step(
        request, SUBJECT_ACTS[act], page_of, "pages:signatures", subject_id=subject.pk
    )


def _study_page(request: HttpRequest, form: LockForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "pages/review/study_lock.html",
        {"state": study_state(), "form": form},
        status=status,
    )


@page
@require_http_methods(["GET", "POST"])
def study_lock(request: HttpRequest) -> HttpResponse:
    """The data manager locks or unlocks (with a reason) the whole study: a signed act."""
    _require(request, Action.STUDY_LOCK)
    if request.method == "GET":
        return _study_page(request, LockForm(actions=STUDY_LOCK_ACTIONS))
    form = LockForm(request.POST, actions=STUDY_LOCK_ACTIONS)
    return post_form(
        form,
        call=lambda: study_lock_change(actor=request.user, source=SOURCE, **form.cleaned_data),
        render_form=lambda status: _study_page(request, form, status=status),
        done=lambda _state: succeed(
            request, _("Study state changed and signed."), "pages:study_lock"
        ),
        on_forbidden=_password_refused,
    )


# Blinded independent central review ------------------------------------------------------------


@page
def reader_list(request: HttpRequest) -> HttpResponse:
    """The reader's subjects (screening number only) with imaging to read."""
    _require(request, Action.CENTRAL_READ_ENTER)
    return render(
        request, "pages/review/reader_list.html", {"subjects": reader_subjects(request.user)}
    )


def _reader_page(
    request: HttpRequest,
    subject: Subject,
    form: LesionTableForm,
    read_id: int | None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "subject": subject,
        "timepoints": imaging_timepoints(subject),
        "reads": [
            (read, sorted(read.responses.items()))
            for read in reads_of(subject, request.user.get_username())
        ],
        "form": form,
        "read_id": read_id,
    }
    return render(request, "pages/review/reader_subject.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def reader_read(request: HttpRequest, subject_id: int, read_id: int | None = None) -> HttpResponse:
    """Lesion identification per time point, the reader's own reads, and the read form."""
    subject = reader_subject(request.user, subject_id)
    reader = request.user.get_username()
    read = None if read_id is None else read_of(subject, reader, read_id)
    if request.method == "GET":
        initial = lesion_initial(read) if read else None
        return _reader_page(
            request, subject, LesionTableForm(initial=initial, blinded=True), read_id
        )
    form = LesionTableForm(request.POST, blinded=True)
    return post_form(
        form,
        call=lambda: central_read_save(
            actor=request.user,
            subject_id=subject.pk,
            data=form.lesion_record(),
            read_id=read_id,
            reason=form.cleaned_data["reason"],
            source=SOURCE,
        ),
        render_form=lambda status: _reader_page(request, subject, form, read_id, status=status),
        done=lambda _read: succeed(
            request,
            _("Read saved; the response is derived."),
            "pages:reader_subject",
            subject_id=subject.pk,
        ),
        on_input=attach_lesion_error,
    )
