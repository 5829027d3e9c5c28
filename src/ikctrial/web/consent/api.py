"""API of consent: record a signed consent form."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from ikctrial.web.consent.services import consent_record

router = Router(tags=["consent"])


class ConsentIn(Schema):
    """A signed consent form: its version, the date signed, who obtained it."""

    version: str
    signed_on: dt.date
    signed_by: str


class ConsentCreated(Schema):
    """The recorded consent."""

    subject_id: int
    version: str
    signed_on: dt.date
    signed_by: str
    recorded_by: str
    recorded_at: dt.datetime


@router.post("/subjects/{subject_id}/consent", response={201: ConsentCreated})
def consent_create(request: HttpRequest, subject_id: int, payload: ConsentIn) -> ConsentCreated:
    """Record a signed consent (422: unknown version, or signed after the screening date)."""
    consent = consent_record(
        actor=request.auth,
        subject_id=subject_id,
        version=payload.version,
        signed_on=payload.signed_on,
        signed_by=payload.signed_by,
    )
    return ConsentCreated(
        subject_id=subject_id,
        version=consent.version,
        signed_on=consent.signed_on,
        signed_by=consent.signed_by,
        recorded_by=consent.recorded_by,
        recorded_at=consent.recorded_at,
    )
