"""Screening: validate the record, run the eligibility engine (core), store subject and verdict.

The verdict is the core's output as is (criteria with reasons, derived values) with the protocol
version that produced it; a correction re-runs the engine and replaces it (the old verdict stays in
the audit trail, domain.md 5.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ikctrial.clinical.eligibility import evaluate_eligibility
from ikctrial.clinical.screening import screening_record_from_dict
from ikctrial.errors import InputError
from ikctrial.web.audit.context import actor_name, audit_context
from ikctrial.web.errors import ConflictError
from ikctrial.web.protocol import current_protocol
from ikctrial.web.sites.models import Site
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize, site_for_user
from ikctrial.web.subjects.models import EligibilityVerdict, Subject
from ikctrial.web.subjects.selectors import subject_for_update
from ikctrial.web.validation import reject_nul, save_validated

_IDENTITY_FIELDS = ("site", "site_sequence", "screening_number")
"""Subject fields a correction never changes (their existence and uniqueness need no re-check)."""


def _evaluate(record: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The validated screening record and the engine's verdict (bad input: ``InputError``)."""
    if not isinstance(record, Mapping):
        raise InputError("", "a screening record must be a JSON object")
    reject_nul(dict(record), "")
    screening = screening_record_from_dict(record)
    return screening, evaluate_eligibility(screening, current_protocol()).to_dict()


def _verdict_fields(verdict: dict[str, Any]) -> dict[str, Any]:
    protocol = current_protocol()
    return {
        "protocol_nct_id": protocol.nct_id,
        "protocol_version": protocol.version,
        "eligible": verdict["eligible"],
        "result": verdict,
        "evaluated_at": timezone.now(),
    }


@transaction.atomic
def subject_screen(
    *, actor: Actor, site_code: str, record: Mapping[str, Any], source: str = "api"
) -> Subject:
    """Register a screened patient at a site with its eligibility verdict (failures included)."""
    site = site_for_user(actor, site_code)
    authorize(actor, Action.SUBJECT_SCREEN)
    screening, verdict = _evaluate(record)
    # Lock the site row so two screenings at one site never take the same number (PostgreSQL);
    # SQLite's IMMEDIATE transactions already serialize writers.
    site = Site.objects.select_for_update().get(pk=site.pk)
    last = Subject.objects.filter(site=site).aggregate(last=Max("site_sequence"))["last"] or 0
    sequence = last + 1
    with audit_context(actor=actor, source=source):
        subject = Subject(
            site=site,
            site_sequence=sequence,
            screening_number=f"{site.code}-{sequence:04d}",
            subject_ref=screening.subject_ref or "",
            screening_date=screening.screening_date,
            screening_record=dict(record),
            screened_by=actor_name(actor),
        )
        save_validated(subject)
        save_validated(EligibilityVerdict(subject=subject, **_verdict_fields(verdict)))
    return subject


@transaction.atomic
def subject_rescreen(
    *,
    actor: Actor,
    subject_id: int,
    record: Mapping[str, Any],
    reason: str,
    source: str = "api",
) -> Subject:
    """Correct a subject's screening record and re-run eligibility (before randomization only)."""
    subject = subject_for_update(actor, subject_id)
    authorize(actor, Action.SUBJECT_SCREEN)
    if not reason.strip():
        raise InputError("reason", "a reason is required to correct a screening record")
    reject_nul(reason, "reason")
    screening, verdict = _evaluate(record)
    if hasattr(subject, "randomization"):  # read under the subject lock: randomize takes it too
        raise ConflictError("the subject is randomized: its screening record can no longer change")
    current = EligibilityVerdict.objects.select_for_update().get(subject=subject)
    with audit_context(actor=actor, reason=reason, source=source):
        subject.subject_ref = screening.subject_ref or ""
        subject.screening_date = screening.screening_date
        subject.screening_record = dict(record)
        # Site, numbers and subject are not changed here (and the database keeps them unique).
        save_validated(subject, exclude=list(_IDENTITY_FIELDS))
        for name, value in _verdict_fields(verdict).items():
            setattr(current, name, value)
        save_validated(current, exclude=["subject"])
    subject.verdict = current
    return subject
