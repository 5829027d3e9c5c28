"""Record a signed consent form: a version the protocol lists, signed before any study procedure."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from ikctrial.errors import InputError
from ikctrial.web.audit.context import actor_name, audit_context
from ikctrial.web.consent.models import Consent
from ikctrial.web.errors import ConflictError
from ikctrial.web.protocol import current_protocol
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_user
from ikctrial.web.validation import save_validated


@transaction.atomic
def consent_record(
    *,
    actor: Actor,
    subject_id: int,
    version: str,
    signed_on: dt.date,
    signed_by: str,
    source: str = "api",
) -> Consent:
    """Store a signed consent; unknown version or a date after the screening date is 422."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.CONSENT_RECORD)
    versions = current_protocol().consent_versions
    if version not in versions:
        raise InputError("version", f"{version!r} is not one of {', '.join(versions)}")
    if not signed_by.strip():
        raise InputError("signed_by", "who obtained the consent is required")
    # "Today" where the consent was signed: the subject's site's zone, not the server's.
    if signed_on > timezone.localdate(timezone=ZoneInfo(subject.site.timezone)):
        raise InputError("signed_on", f"{signed_on.isoformat()} is in the future")
    screening_date = subject.screening_date
    if screening_date is None:
        raise InputError(
            "signed_on",
            "the subject's screening date is unknown: correct the screening record first",
        )
    if signed_on > screening_date:
        raise InputError(
            "signed_on",
            f"{signed_on.isoformat()} is after the screening date {screening_date.isoformat()} "
            "(consent must precede every study procedure)",
        )
    Subject.objects.select_for_update().filter(pk=subject.pk).first()
    if Consent.objects.filter(subject=subject, version=version).exists():
        raise ConflictError(f"consent version {version} is already recorded for this subject")
    with audit_context(actor=actor, source=source):
        consent = Consent(
            subject=subject,
            version=version,
            signed_on=signed_on,
            signed_by=signed_by.strip(),
            recorded_by=actor_name(actor),
        )
        save_validated(consent)
    return consent
