"""API of case report forms: calendar, enter and correct records, tumor responses."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from ikctrial.web.crf.selectors import (
    crf_subject,
    record_document,
    records_of,
    serious_events,
    tumor_response_document,
    visit_row_document,
    visit_rows,
)
from ikctrial.web.crf.services import SavedRecord, crf_record_save, tumor_response_disagree
from ikctrial.web.queries.selectors import query_document
from ikctrial.web.subjects.api import json_object_body

router = Router(tags=["case report forms"])

FORM_BODY = {
    "requestBody": {
        "required": True,
        "description": "The form's fields (see ikctrial.web.crf.entries for each form).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class CorrectionIn(Schema):
    """Corrected form data and the reason for the change."""

    data: dict[str, Any]
    reason: str


def _saved(saved: SavedRecord) -> dict[str, Any]:
    document = record_document(saved.form, saved.record)
    document["queries_opened"] = [query_document(q) for q in saved.queries]
    return document


@router.get("/subjects/{subject_id}/visits", response=list[dict[str, Any]])
def visit_calendar_list(request: HttpRequest, subject_id: int) -> list[dict[str, Any]]:
    """The subject's protocol calendar: windows, dates done, status (OUT_OF_WINDOW flagged)."""
    return [visit_row_document(row) for row in visit_rows(crf_subject(request.auth, subject_id))]


@router.get("/subjects/{subject_id}/crf/{form}", response=list[dict[str, Any]])
def crf_record_list(request: HttpRequest, subject_id: int, form: str) -> list[dict[str, Any]]:
    """Every record of one form for the subject."""
    subject = crf_subject(request.auth, subject_id)
    return [record_document(form, record) for record in records_of(subject, form)]


@router.post(
    "/subjects/{subject_id}/crf/{form}",
    response={201: dict[str, Any]},
    openapi_extra=FORM_BODY,
)
def crf_record_create(request: HttpRequest, subject_id: int, form: str) -> dict[str, Any]:
    """Enter a record; the core derives what it derives and edit checks may open queries."""
    saved = crf_record_save(
        actor=request.auth, subject_id=subject_id, form=form, data=json_object_body(request)
    )
    return _saved(saved)


@router.put("/subjects/{subject_id}/crf/{form}/{record_id}", response=dict[str, Any])
def crf_record_correct(
    request: HttpRequest, subject_id: int, form: str, record_id: int, payload: CorrectionIn
) -> dict[str, Any]:
    """Correct a record with a reason (the earlier values stay in the audit trail)."""
    saved = crf_record_save(
        actor=request.auth,
        subject_id=subject_id,
        form=form,
        data=payload.data,
        record_id=record_id,
        reason=payload.reason,
    )
    return _saved(saved)


@router.get("/subjects/{subject_id}/tumor-response", response=dict[str, Any])
def tumor_response(request: HttpRequest, subject_id: int) -> dict[str, Any]:
    """RECIST 1.1 and mRECIST side by side: sums, nadir, calls, best response, disagreements."""
    return tumor_response_document(crf_subject(request.auth, subject_id))


@router.put(
    "/subjects/{subject_id}/tumor-response/{assessment_id}/{criteria}",
    response=dict[str, Any],
    openapi_extra=FORM_BODY,
)
def tumor_response_disagreement(
    request: HttpRequest, subject_id: int, assessment_id: int, criteria: str
) -> dict[str, Any]:
    """The investigator's own call with the reason, kept next to the derived one."""
    tumor_response_disagree(
        actor=request.auth,
        subject_id=subject_id,
        assessment_id=assessment_id,
        criteria=criteria,
        data=json_object_body(request),
    )
    return tumor_response_document(crf_subject(request.auth, subject_id))


@router.get("/serious-adverse-events", response=list[dict[str, Any]])
def serious_adverse_events(request: HttpRequest) -> list[dict[str, Any]]:
    """Serious AEs of the user's sites with the 24 h report clock, most urgent first."""
    return serious_events(request.auth)
