"""API of subjects: screen (POST a screening record), read one, list, screening log, correct."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from ikctrial.errors import InputError
from ikctrial.web.subjects.selectors import (
    screening_log,
    subject_document,
    subject_for_user,
    subjects_for_user,
)
from ikctrial.web.subjects.services import subject_rescreen, subject_screen

router = Router(tags=["subjects"])

SCREENING_RECORD_BODY = {
    "requestBody": {
        "required": True,
        "description": "A screening record as interfaces.md 'Eligibility' defines it.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class ScreenedOut(Schema):
    """A new subject: its id, screening number and the eligibility engine's verdict."""

    subject_id: int
    screening_number: str
    eligibility: dict[str, Any]


class ConsentOut(Schema):
    """A signed consent form."""

    version: str
    signed_on: dt.date
    signed_by: str
    recorded_by: str
    recorded_at: dt.datetime


class AllocationOut(Schema):
    """A subject's allocation as shown on the subject."""

    randomization_number: int
    arm: str
    stratum: dict[str, str]
    randomized_at: dt.datetime
    randomized_by: str
    status: str
    error_reason: str | None


class SubjectOut(Schema):
    """A subject: screening, eligibility, consent, randomization and status."""

    subject_id: int
    screening_number: str
    site: str
    subject_ref: str
    screening_date: dt.date | None
    screened_by: str
    screened_at: dt.datetime
    status: str
    protocol_version: str
    eligibility: dict[str, Any]
    consent: ConsentOut | None
    consents: list[ConsentOut]
    randomization: AllocationOut | None


class CriterionNote(Schema):
    """A criterion that failed or is unknown, and why."""

    id: str
    reason: str


class ScreeningLogRow(Schema):
    """One screened patient in the screening log."""

    subject_id: int
    screening_number: str
    site: str
    screening_date: dt.date | None
    eligible: bool | None
    status: str
    failed: list[CriterionNote]
    unknown: list[CriterionNote]


class RescreenIn(Schema):
    """A corrected screening record and the reason for the correction."""

    record: dict[str, Any]
    reason: str


def json_object_body(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object (anything else is ``InputError``, 422)."""
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError("", f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise InputError("", "the body must be a JSON object")
    return body


@router.post(
    "/sites/{site}/subjects",
    response={201: ScreenedOut},
    openapi_extra=SCREENING_RECORD_BODY,
)
def subject_create(request: HttpRequest, site: str) -> ScreenedOut:
    """Screen a patient at a site: store the record and its eligibility verdict."""
    subject = subject_screen(
        actor=request.auth,
        site_code=site,
        record=json_object_body(request),
    )
    return ScreenedOut(
        subject_id=subject.pk,
        screening_number=subject.screening_number,
        eligibility=subject.verdict.result,
    )


@router.get("/subjects", response=list[SubjectOut])
def subject_list(request: HttpRequest, site: str | None = None) -> list[dict[str, Any]]:
    """The subjects the user sees (optionally of one site)."""
    subjects = subjects_for_user(request.auth).prefetch_related("consents")
    if site is not None:
        subjects = subjects.filter(site__code=site)
    return [subject_document(subject) for subject in subjects]


@router.get("/screening-log", response=list[ScreeningLogRow])
def screening_log_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every screened patient of the user's sites, failures included and why (CONSORT)."""
    return screening_log(request.auth)


@router.get("/subjects/{subject_id}", response=SubjectOut)
def subject_detail(request: HttpRequest, subject_id: int) -> dict[str, Any]:
    """One subject (another site's subject answers 404)."""
    return subject_document(subject_for_user(request.auth, subject_id))


@router.put("/subjects/{subject_id}/screening", response=SubjectOut)
def subject_correct(request: HttpRequest, subject_id: int, payload: RescreenIn) -> dict[str, Any]:
    """Correct the screening record (with a reason) and re-run eligibility."""
    subject = subject_rescreen(
        actor=request.auth,
        subject_id=subject_id,
        record=payload.record,
        reason=payload.reason,
    )
    return subject_document(subject)
