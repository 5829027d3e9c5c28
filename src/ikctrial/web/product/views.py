"""The IKC product pages: each view parses a form, calls one product service, renders the result.

Cell lab (blood draw, custody ledger, batch record, QC), QA (release with e-signature), pharmacy
and ward (two-person bedside verification, infusion), and the reconciliation, timeline and
exposure pages. Role and site scoping are the services' and selectors' (as in the API): another
site's subject or unit answers 404, an action the role may not take 403. Bad input re-renders the
form with the field's error (422), a refusal of the trial's state shows its reason (409); either
way nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ikctrial.errors import InputError
from ikctrial.product.bedside import VERIFIED_MEANING, PreInfusionClinical
from ikctrial.product.identifiers import UnitKind
from ikctrial.product.release import RELEASE_MEANING
from ikctrial.web.errors import ForbiddenError
from ikctrial.web.pages.form_actions import post_form, succeed
from ikctrial.web.pages.views import page
from ikctrial.web.product import clock, display
from ikctrial.web.product import page_selectors as reads
from ikctrial.web.product.forms import (
    EVENT_ALIASES,
    BloodDrawForm,
    CheckForm,
    CustodyEventForm,
    DeriveForm,
    InfusionForm,
    QcForm,
    ReversalForm,
    SignForm,
    VerificationForm,
    attach_service_error,
)
from ikctrial.web.product.labels import unit_label
from ikctrial.web.product.models import ProductUnit
from ikctrial.web.product.selectors import (
    batch_record_document,
    exposure_rows,
    lot_accounting_document,
    product_subject,
    site_zone,
    timeline_document,
    unit_document,
    unit_for_user,
)
from ikctrial.web.product.services import (
    bedside_check,
    bedside_verify,
    blood_draw_record,
    custody_event_record,
    infusion_record,
    lot_release,
    qc_result_record,
    unit_derive,
)
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import authorize, may
from ikctrial.web.subjects.models import Subject

SOURCE = "ui"
"""The channel the audit trail records for changes made on these pages."""

View = Callable[..., HttpResponse]


def product_page(view: View) -> View:
    """A site page (login, 404, 403) whose URL names a unit: a malformed unit id is a 404."""

    @page
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except InputError as exc:
            raise Http404(str(exc)) from None

    return wrapped


def _password_refused(form: forms.Form, exc: ForbiddenError) -> None:
    """A refusal by a signing service (wrong password) on the password field, else above."""
    form.add_error("password" if "password" in form.fields else None, str(exc))


def _post(
    form: forms.Form,
    call: Callable[[], Any],
    render_form: Callable[[int], HttpResponse],
    done: Callable[[Any], HttpResponse],
    aliases: dict[str, str] | None = None,
) -> HttpResponse:
    """``post_form`` for a product page: bad input on its field (``wristband[0]`` is
    ``wristband_1``; ``aliases`` maps service names to form fields), 422; a refusal of the
    trial's state above the form, 409; a wrong signing password on the password field, 403."""
    return post_form(
        form,
        call=call,
        render_form=render_form,
        done=done,
        on_input=lambda form, exc: attach_service_error(form, exc, aliases or {}),
        on_forbidden=_password_refused,
    )


def _labels() -> dict[str, Any]:
    return {
        "event_labels": display.EVENT_TYPE,
        "custody_labels": display.CUSTODY_STATUS,
        "release_labels": display.RELEASE_STATUS,
        "disposition_labels": display.DISPOSITION,
        "kind_labels": display.UNIT_KIND,
        "check_labels": display.CHECK,
        "severity_labels": display.SEVERITY,
        "condition_labels": display.CONDITION,
    }


def _render(
    request: HttpRequest,
    template: str,
    subject: Subject,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """A product page, its times in the subject's site time zone."""
    full = {"subject": subject, "site_timezone": str(site_zone(subject)), **_labels(), **context}
    return render(request, f"product/{template}", full, status=status)


# Subject: chain of identity, blood draw, units, reconciliation.


def _subject_page(
    request: HttpRequest, subject: Subject, form: BloodDrawForm | None = None, status: int = 200
) -> HttpResponse:
    may_collect = may(request.user, Action.PRODUCT_COLLECT)
    if may_collect and form is None:
        form = BloodDrawForm(initial=reads.therapy_identifiers(subject))
    context = {
        **reads.subject_overview(request.user, subject),
        "draw_form": form if may_collect else None,
        "infusions": reads.subject_infusions(subject),
        "checks": reads.subject_checks(subject),
        "may_administer": may(request.user, Action.PRODUCT_ADMINISTER),
    }
    return _render(request, "subject.html", subject, context, status)


@product_page
@require_GET
def subject_product(request: HttpRequest, subject_id: int) -> HttpResponse:
    """The subject's CoI, units with their state, infusions and accounting."""
    return _subject_page(request, product_subject(request.user, subject_id))


@product_page
@require_POST
def blood_draw(request: HttpRequest, subject_id: int) -> HttpResponse:
    """Record a blood draw; the first one assigns the chain-of-identity id (IKC arm only)."""
    subject = product_subject(request.user, subject_id)
    authorize(request.user, Action.PRODUCT_COLLECT)
    form = BloodDrawForm(request.POST)
    return _post(
        form,
        lambda: blood_draw_record(
            actor=request.user,
            subject_id=subject.pk,
            facility=form.cleaned_data["facility"],
            patient_identifier_1=form.cleaned_data["patient_identifier_1"],
            patient_identifier_2=form.cleaned_data["patient_identifier_2"],
            data=form.event_input(),
            source=SOURCE,
        ),
        lambda status: _subject_page(request, subject, form, status),
        lambda unit: succeed(
            request,
            _("Blood draw recorded: collection %(unit)s, chain of identity %(coi)s.")
            % {"unit": unit.unit_id, "coi": unit.therapy.coi_id},
            "product:unit",
            unit_id=unit.unit_id,
        ),
        EVENT_ALIASES,
    )


# Unit: custody ledger, corrections, derived units, label, timeline.


def _unit_page(
    request: HttpRequest,
    unit: ProductUnit,
    *,
    event_form: CustodyEventForm | None = None,
    reversal_form: ReversalForm | None = None,
    derive_form: DeriveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    ledger = reads.unit_ledger(unit)
    may_record = may(user, Action.PRODUCT_HANDLE) or may(user, Action.PRODUCT_MANUFACTURE)
    may_derive = may(user, Action.PRODUCT_MANUFACTURE) and unit.kind != UnitKind.BAG
    events = reads.reversible_events(ledger)
    context = {
        "unit": unit_document(unit),
        "ledger": ledger,
        "children": reads.children(unit),
        "is_lot": reads.is_lot(unit),
        "event_form": (event_form or CustodyEventForm()) if may_record else None,
        "reversal_form": (reversal_form or ReversalForm(events=events))
        if may_record and events
        else None,
        "derive_form": (derive_form or DeriveForm()) if may_derive else None,
    }
    return _render(request, "unit.html", unit.therapy.subject, context, status)


@product_page
@require_GET
def unit_detail(request: HttpRequest, unit_id: str) -> HttpResponse:
    """One unit: state, custody ledger (append-only), add-event and correction forms."""
    return _unit_page(request, unit_for_user(request.user, unit_id))


def _post_event(
    request: HttpRequest,
    unit: ProductUnit,
    form: CustodyEventForm | ReversalForm,
    slot: str,
    message: Callable[[Any], str],
) -> HttpResponse:
    """Append the posted custody event (or reversal) to the unit's ledger, back to the unit."""

    def record() -> Any:
        data = form.cleaned_data
        reversal = isinstance(form, ReversalForm)
        fields = {"step": data.get("step", ""), "reason": data.get("reason", "")}
        if reversal:
            fields["reverses"] = data["reverses"]
        return custody_event_record(
            actor=request.user,
            unit_id=unit.unit_id,
            event_type="reversal" if reversal else data["event_type"],
            data=form.event_input(**fields),
            source=SOURCE,
        )

    return _post(
        form,
        record,
        lambda status: _unit_page(request, unit, **{slot: form}, status=status),
        lambda row: succeed(request, message(row), "product:unit", unit_id=unit.unit_id),
    )


@product_page
@require_POST
def unit_event(request: HttpRequest, unit_id: str) -> HttpResponse:
    """Append a custody event (a hand-off or a manufacturing step)."""
    unit = unit_for_user(request.user, unit_id)
    return _post_event(
        request,
        unit,
        CustodyEventForm(request.POST),
        "event_form",
        lambda row: (
            _("Recorded: %(event)s (event #%(id)s).")
            % {"event": display.EVENT_TYPE[row.event_type], "id": row.pk}
        ),
    )


@product_page
@require_POST
def unit_reversal(request: HttpRequest, unit_id: str) -> HttpResponse:
    """Correct the ledger: a new event reversing an earlier one, with the reason."""
    unit = unit_for_user(request.user, unit_id)
    events = reads.reversible_events(reads.unit_ledger(unit))
    return _post_event(
        request,
        unit,
        ReversalForm(request.POST, events=events),
        "reversal_form",
        lambda row: (
            _("Event #%(reversed)s reversed by event #%(id)s.")
            % {"reversed": row.reverses_id, "id": row.pk}
        ),
    )


@product_page
@require_POST
def unit_derive_view(request: HttpRequest, unit_id: str) -> HttpResponse:
    """Derive the next unit: a culture, a lot, or a bag for one infusion."""
    unit = unit_for_user(request.user, unit_id)
    authorize(request.user, Action.PRODUCT_MANUFACTURE)
    form = DeriveForm(request.POST)
    return _post(
        form,
        lambda: unit_derive(
            actor=request.user, parent_id=unit.unit_id, source=SOURCE, **form.cleaned_data
        ),
        lambda status: _unit_page(request, unit, derive_form=form, status=status),
        lambda made: succeed(
            request,
            _("Unit %(unit)s made.") % {"unit": made.unit_id},
            "product:unit",
            unit_id=made.unit_id,
        ),
    )


@product_page
@require_GET
def unit_label_file(request: HttpRequest, unit_id: str, fmt: str) -> HttpResponse:
    """The unit's label (QR code, CoI, patient identifiers) as a PNG or PDF download."""
    unit = unit_for_user(request.user, unit_id)
    body, content_type = unit_label(unit, fmt)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{unit.unit_id}.{fmt}"'
    return response


@product_page
@require_GET
def unit_timeline(request: HttpRequest, unit_id: str) -> HttpResponse:
    """Milestones of the unit's lineage, each step's duration, the vein-to-vein time."""
    unit = unit_for_user(request.user, unit_id)
    context = {"unit": unit_document(unit), "timeline": timeline_document(request.user, unit_id)}
    return _render(request, "timeline.html", unit.therapy.subject, context)


# Lot: batch record, QC against the release specification, release by QA.


def _lot_page(
    request: HttpRequest,
    lot: ProductUnit,
    *,
    qc_form: QcForm | None = None,
    release_form: SignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    record = batch_record_document(user, lot.unit_id)
    tests = [(t.code, t.name) for t in clock.protocol().product.release_tests]
    context = {
        "unit": unit_document(lot),
        "record": record,
        "specification": reads.specification_rows(record["qc"]),
        "deviations": [r for r in record["qc"] if r["out_of_specification"]],
        "releases": reads.release_history(lot),
        "accounting": lot_accounting_document(user, lot.unit_id),
        "qc_form": (qc_form or QcForm(tests=tests))
        if may(user, Action.PRODUCT_MANUFACTURE)
        else None,
        "release_form": (release_form or SignForm()) if may(user, Action.PRODUCT_RELEASE) else None,
        "release_meaning": RELEASE_MEANING,
    }
    return _render(request, "lot.html", lot.therapy.subject, context, status)


def _lot(request: HttpRequest, lot_id: str) -> ProductUnit:
    """A visible lot (404 for another kind of unit or another site's)."""
    unit = unit_for_user(request.user, lot_id, field="lot_id")
    if not reads.is_lot(unit):
        raise Http404(f"{unit.unit_id} is not a lot")
    return unit


@product_page
@require_GET
def lot_detail(request: HttpRequest, lot_id: str) -> HttpResponse:
    """The lot's batch record, QC against the specification, deviations, releases, expiry."""
    return _lot_page(request, _lot(request, lot_id))


@product_page
@require_POST
def lot_qc(request: HttpRequest, lot_id: str) -> HttpResponse:
    """Enter a QC result; an out-of-specification one is recorded as a deviation."""
    lot = _lot(request, lot_id)
    authorize(request.user, Action.PRODUCT_MANUFACTURE)
    tests = [(t.code, t.name) for t in clock.protocol().product.release_tests]
    form = QcForm(request.POST, tests=tests)

    def recorded(row: Any) -> HttpResponse:
        if hasattr(row, "deviation"):
            spec = row.deviation.specification
            level = messages.WARNING
            message = _("Out of specification (%(spec)s): recorded as a deviation.") % {
                "spec": spec
            }
        else:
            level, message = messages.SUCCESS, _("QC result recorded.")
        return succeed(request, message, "product:lot", lot_id=lot.unit_id, level=level)

    return _post(
        form,
        lambda: qc_result_record(
            actor=request.user, lot_id=lot.unit_id, source=SOURCE, **form.cleaned_data
        ),
        lambda status: _lot_page(request, lot, qc_form=form, status=status),
        recorded,
    )


@product_page
@require_POST
def lot_release_view(request: HttpRequest, lot_id: str) -> HttpResponse:
    """QA's e-signed release attempt; a refusal is recorded and shown with its reasons."""
    lot = _lot(request, lot_id)
    authorize(request.user, Action.PRODUCT_RELEASE)
    form = SignForm(request.POST)

    def signed(row: Any) -> HttpResponse:
        label = display.RELEASE_STATUS[row.status]
        if row.refusals:
            level = messages.ERROR
            message = _("Release refused (%(status)s): %(reasons)s") % {
                "status": label,
                "reasons": "; ".join(row.refusals),
            }
        else:
            level, message = messages.SUCCESS, _("Lot signed: %(status)s.") % {"status": label}
        return succeed(request, message, "product:lot", lot_id=lot.unit_id, level=level)

    return _post(
        form,
        lambda: lot_release(
            actor=request.user,
            lot_id=lot.unit_id,
            password=form.cleaned_data["password"],
            source=SOURCE,
        ),
        lambda status: _lot_page(request, lot, release_form=form, status=status),
        signed,
    )


# Bedside: two independent verifications, the check, the infusion.


def _bedside_page(
    request: HttpRequest,
    subject: Subject,
    *,
    verification_form: VerificationForm | None = None,
    check_form: CheckForm | None = None,
    status: int = 200,
) -> HttpResponse:
    pending = reads.pending_verifications(subject)
    context = {
        "verification_form": verification_form or VerificationForm(),
        "check_form": check_form or CheckForm(verifications=pending),
        "checks": reads.subject_checks(subject),
        "verified_meaning": VERIFIED_MEANING,
    }
    return _render(request, "bedside.html", subject, context, status)


def _bedside_subject(request: HttpRequest, subject_id: int) -> Subject:
    subject = product_subject(request.user, subject_id)
    authorize(request.user, Action.PRODUCT_ADMINISTER)
    return subject


@product_page
@require_GET
def bedside(request: HttpRequest, subject_id: int) -> HttpResponse:
    """The bedside: each verifier's own entries, then the check of both against the records."""
    return _bedside_page(request, _bedside_subject(request, subject_id))


@product_page
@require_GET
def bedside_verifications(request: HttpRequest, subject_id: int) -> HttpResponse:
    """htmx partial: the verifications waiting for a check (after the other verifier signed)."""
    subject = _bedside_subject(request, subject_id)
    form = CheckForm(verifications=reads.pending_verifications(subject))
    return render(request, "product/_verifications.html", {"check_form": form})


@product_page
@require_POST
def bedside_verify_view(request: HttpRequest, subject_id: int) -> HttpResponse:
    """One verifier's independent entries, e-signed "verified for administration"."""
    subject = _bedside_subject(request, subject_id)
    form = VerificationForm(request.POST)
    return _post(
        form,
        lambda: bedside_verify(
            actor=request.user,
            subject_id=subject.pk,
            password=form.cleaned_data["password"],
            entries=form.entries(),
            source=SOURCE,
        ),
        lambda status: _bedside_page(request, subject, verification_form=form, status=status),
        lambda row: succeed(
            request,
            _("Your verification #%(id)s is signed. A second, different user verifies next.")
            % {"id": row.pk},
            "product:bedside",
            subject_id=subject.pk,
        ),
    )


@product_page
@require_POST
def bedside_check_view(request: HttpRequest, subject_id: int) -> HttpResponse:
    """Run the bedside checks; the decision is recorded, allowed or blocked with its reasons."""
    subject = _bedside_subject(request, subject_id)
    form = CheckForm(request.POST, verifications=reads.pending_verifications(subject))

    def decided(check: Any) -> HttpResponse:
        if check.allowed:
            message = _("Bedside check passed: the infusion may be recorded.")
        else:
            message = _("Bedside check blocked: the bag must not be infused.")
        level = messages.SUCCESS if check.allowed else messages.ERROR
        return succeed(request, message, "product:check", check_id=check.pk, level=level)

    return _post(
        form,
        lambda: bedside_check(
            actor=request.user,
            subject_id=subject.pk,
            bag_id=form.cleaned_data["bag_id"],
            verification_ids=form.cleaned_data["verification_ids"],
            clinical=PreInfusionClinical(**form.clinical()),
            source=SOURCE,
        ),
        lambda status: _bedside_page(request, subject, check_form=form, status=status),
        decided,
    )


def _check_page(
    request: HttpRequest, check_id: int, form: InfusionForm | None = None, status: int = 200
) -> HttpResponse:
    check, subject = reads.check_for_user(request.user, check_id)
    infusion = reads.check_infusion(check)
    open_check = check.allowed and infusion is None
    may_record = may(request.user, Action.PRODUCT_ADMINISTER) and open_check
    context = {
        "check": check,
        "infusion": infusion,
        "infusion_form": form or (InfusionForm() if may_record else None),
    }
    return _render(request, "check.html", subject, context, status)


@product_page
@require_GET
def check_detail(request: HttpRequest, check_id: int) -> HttpResponse:
    """A bedside decision: allowed, or blocked with every reason; the infusion once recorded."""
    return _check_page(request, check_id)


@product_page
@require_POST
def check_infusion(request: HttpRequest, check_id: int) -> HttpResponse:
    """Record the infusion an allowed check cleared (refused when blocked or already infused)."""
    reads.check_for_user(request.user, check_id)
    authorize(request.user, Action.PRODUCT_ADMINISTER)
    form = InfusionForm(request.POST)
    return _post(
        form,
        lambda: infusion_record(
            actor=request.user, check_id=check_id, data=form.infusion_input(), source=SOURCE
        ),
        lambda status: _check_page(request, check_id, form, status),
        lambda row: succeed(
            request,
            _("Infusion %(number)s recorded: %(cells)s viable cells.")
            % {"number": row.infusion_number, "cells": row.cells_infused},
            "product:check",
            check_id=check_id,
        ),
        {"reactions": "reaction"},
    )


# Study-wide: exposure of the IKC arm.


@page
@require_GET
def exposure(request: HttpRequest) -> HttpResponse:
    """The IKC arm's exposure per subject: infusions given of those planned, cumulative cells."""
    rows = exposure_rows(request.user)
    return render(request, "product/exposure.html", {"rows": rows})
