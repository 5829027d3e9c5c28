"""The site pages: each view parses input, calls one EDC service or selector, renders the result.

Site scoping and roles are the selectors' and services' (``subject_for_user``, ``site_for_user``,
``may``): a subject or site the user may not see is a 404, an action the role may not take a 403.
Bad input re-renders the form with the error on its field (HTTP 422) and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ikctrial.clinical.eligibility import evaluate_eligibility
from ikctrial.clinical.screening import screening_record_from_dict
from ikctrial.errors import InputError
from ikctrial.web.consent.services import consent_record
from ikctrial.web.crf.selectors import visit_rows
from ikctrial.web.errors import ConflictError, ForbiddenError, NotFoundError
from ikctrial.web.pages import labels
from ikctrial.web.pages.form_actions import post_form, succeed
from ikctrial.web.pages.forms import ConsentForm, ScreeningForm, attach_input_error
from ikctrial.web.pages.selectors import site_counts
from ikctrial.web.protocol import current_protocol
from ikctrial.web.randomization.services import subject_randomize
from ikctrial.web.sites.models import Site
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import may, site_for_user
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_document, subject_for_user, subjects_for_user
from ikctrial.web.subjects.services import subject_screen

SOURCE = "ui"
"""The channel the audit trail records for changes made on these pages."""

View = Callable[..., HttpResponse]


def page(view: View) -> View:
    """Signed-in users only; a record the user may not see is 404, a forbidden action 403."""

    @login_required(login_url="pages:login")
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError as exc:
            raise Http404(str(exc)) from None
        except ForbiddenError as exc:
            raise PermissionDenied(str(exc)) from None

    return wrapped


def _require(request: HttpRequest, action: Action) -> None:
    if not may(request.user, action):
        raise PermissionDenied(action.value)


@page
def dashboard(request: HttpRequest) -> HttpResponse:
    """Counts of subjects by status per site the user sees."""
    return render(
        request,
        "pages/dashboard.html",
        {
            "rows": site_counts(request.user),
            "status_labels": labels.SUBJECT_STATUS,
            "may_screen": may(request.user, Action.SUBJECT_SCREEN),
        },
    )


@page
def subject_list(request: HttpRequest) -> HttpResponse:
    """The subjects the user sees, optionally of one site (``?site=CODE``)."""
    subjects = subjects_for_user(request.user).prefetch_related("consents")
    site = request.GET.get("site")
    if site:
        subjects = subjects.filter(site__code=site)
    rows = [subject_document(subject) for subject in subjects]
    return render(
        request,
        "pages/subject_list.html",
        {"rows": rows, "site": site, "status_labels": labels.SUBJECT_STATUS},
    )


def _verdict(record: dict[str, Any]) -> dict[str, Any]:
    """The core eligibility engine's verdict on a record, nothing saved (preview)."""
    return evaluate_eligibility(screening_record_from_dict(record), current_protocol()).to_dict()


def _eligibility_context(verdict: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": verdict,
        "criterion_names": labels.CRITERION_NAME,
        "criterion_kinds": labels.CRITERION_KIND,
        "result_labels": labels.CRITERION_RESULT,
    }


def _screening_page(
    request: HttpRequest, site: Site, form: ScreeningForm, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"site": site, "form": form, **extra}
    return render(request, "pages/screening.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def screening(request: HttpRequest, site_code: str) -> HttpResponse:
    """Screen a patient: the form, a no-JavaScript "check" (preview) and the save."""
    site = site_for_user(request.user, site_code)
    _require(request, Action.SUBJECT_SCREEN)
    if request.method == "GET":
        return _screening_page(request, site, ScreeningForm())
    form = ScreeningForm(request.POST)
    checking = request.POST.get("action") == "check"

    def run() -> Any:
        if checking:
            return _verdict(form.screening_record())
        return subject_screen(
            actor=request.user, site_code=site.code, record=form.screening_record(), source=SOURCE
        )

    def done(result: Any) -> HttpResponse:
        if checking:
            return _screening_page(request, site, form, **_eligibility_context(result))
        message = _("Subject %(number)s screened.") % {"number": result.screening_number}
        return succeed(request, message, "pages:subject", subject_id=result.pk)

    return post_form(
        form,
        call=run,
        render_form=lambda status: _screening_page(request, site, form, status=status),
        done=done,
        on_input=attach_input_error,
    )


@page
@require_POST
def screening_check(request: HttpRequest, site_code: str) -> HttpResponse:
    """htmx partial: the per-criterion results and derived scores of the form as it stands."""
    site_for_user(request.user, site_code)
    _require(request, Action.SUBJECT_SCREEN)
    form = ScreeningForm(request.POST)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        try:
            context |= _eligibility_context(_verdict(form.screening_record()))
        except InputError as exc:
            attach_input_error(form, exc)
    return render(request, "pages/_eligibility_preview.html", context)


def _schedule(subject: Subject, document: dict[str, Any]) -> list[dict[str, Any]]:
    """The subject's visit calendar with the visits recorded (CRF selector), once randomized."""
    if document["randomization"] is None:
        return []
    return [
        {
            "label": labels.visit_label(row.visit),
            "visit": row.visit,
            "done_on": row.done_on,
            "study_day": row.study_day,
            "status": row.status.value,
            "status_label": labels.VISIT_STATUS[row.status.value],
        }
        for row in visit_rows(subject)
    ]


def _subject_page(
    request: HttpRequest,
    subject: Subject,
    consent_form: ConsentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    document = subject_document(subject)
    protocol = current_protocol()
    may_consent = may(request.user, Action.CONSENT_RECORD) and document["consent"] is None
    if may_consent and consent_form is None:
        consent_form = ConsentForm(versions=protocol.consent_versions)
    randomization = document["randomization"]
    arm_names = {arm.code: arm.name for arm in protocol.arms}
    context = {
        "subject": subject,
        "doc": document,
        "status_label": labels.SUBJECT_STATUS.get(document["status"], document["status"]),
        "consent_form": consent_form if may_consent else None,
        "may_randomize": may(request.user, Action.SUBJECT_RANDOMIZE)
        and document["status"] == "consented"
        and document["eligibility"]["eligible"] is True,
        "arm_name": arm_names.get(randomization["arm"]) if randomization else None,
        "schedule": _schedule(subject, document),
        "site_timezone": subject.site.timezone,
        **_eligibility_context(document["eligibility"]),
    }
    return render(request, "pages/subject.html", context, status=status)


@page
def subject_detail(request: HttpRequest, subject_id: int) -> HttpResponse:
    """The subject: eligibility, consent, randomization and the visit schedule."""
    return _subject_page(request, subject_for_user(request.user, subject_id))


@page
@require_POST
def consent(request: HttpRequest, subject_id: int) -> HttpResponse:
    """Record the signed consent form."""
    subject = subject_for_user(request.user, subject_id)
    _require(request, Action.CONSENT_RECORD)
    form = ConsentForm(request.POST, versions=current_protocol().consent_versions)
    if not form.is_valid():
        return _subject_page(request, subject, form, status=422)
    try:
        consent_record(
            actor=request.user,
            subject_id=subject.pk,
            version=form.cleaned_data["version"],
            signed_on=form.cleaned_data["signed_on"],
            signed_by=form.cleaned_data["signed_by"],
            source=SOURCE,
        )
    except InputError as exc:
        attach_input_error(form, exc)
        return _subject_page(request, subject, form, status=422)
    except ConflictError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Consent recorded."))
    return redirect("pages:subject", subject_id=subject.pk)


@page
@require_http_methods(["GET", "POST"])
def randomize(request: HttpRequest, subject_id: int) -> HttpResponse:
    """Confirm, then randomize; the arm and number are shown once allocated."""
    subject = subject_for_user(request.user, subject_id)
    _require(request, Action.SUBJECT_RANDOMIZE)
    if request.method == "GET":
        document = subject_document(subject)
        return render(
            request,
            "pages/randomize_confirm.html",
            {"subject": subject, "doc": document, **_eligibility_context(document["eligibility"])},
        )
    try:
        made = subject_randomize(actor=request.user, subject_id=subject.pk, source=SOURCE)
    except (InputError, ConflictError) as exc:
        messages.error(request, str(exc))
    else:
        arm_names = {arm.code: arm.name for arm in current_protocol().arms}
        messages.success(
            request,
            _("Randomized: number %(number)s, arm %(arm)s.")
            % {"number": made.number, "arm": arm_names.get(made.arm, made.arm)},
        )
    return redirect("pages:subject", subject_id=subject.pk)
