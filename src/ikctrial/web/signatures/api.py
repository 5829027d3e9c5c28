"""API of e-signatures: casebook sign-off, subject freeze/lock/unlock, study lock/unlock."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema

from ikctrial.web.crf.selectors import crf_subject
from ikctrial.web.signatures.selectors import signature_document, subject_signatures
from ikctrial.web.signatures.services import casebook_sign, study_lock_change, subject_lock_change

router = Router(tags=["signatures"])


class SignIn(Schema):
    """Re-entered password (21 CFR 11.200) and the meaning of the signature (11.50)."""

    password: str
    meaning: Literal["review", "approval", "responsibility", "authorship"] = "approval"


class LockIn(Schema):
    """Re-entered password; a reason (required to unlock)."""

    password: str
    reason: str = ""


@router.get("/subjects/{subject_id}/signatures", response=dict[str, Any])
def signature_list(request: HttpRequest, subject_id: int) -> dict[str, Any]:
    """Lock state and signatures (a casebook signature shows whether it is superseded)."""
    return subject_signatures(crf_subject(request.auth, subject_id))


@router.post("/subjects/{subject_id}/signatures", response={201: dict[str, Any]})
def casebook_signature(request: HttpRequest, subject_id: int, payload: SignIn) -> dict[str, Any]:
    """The investigator signs the casebook."""
    signature = casebook_sign(
        actor=request.auth,
        subject_id=subject_id,
        password=payload.password,
        meaning=payload.meaning,
    )
    return signature_document(signature)


def _subject_lock(request: HttpRequest, subject_id: int, action: str, payload: LockIn) -> Any:
    signature = subject_lock_change(
        actor=request.auth,
        subject_id=subject_id,
        action=action,
        password=payload.password,
        reason=payload.reason,
    )
    return signature_document(signature)


@router.post("/subjects/{subject_id}/freeze", response={201: dict[str, Any]})
def subject_freeze(request: HttpRequest, subject_id: int, payload: LockIn) -> Any:
    """Freeze a subject's casebook: no data changes, queries go on (data manager; signed)."""
    return _subject_lock(request, subject_id, "freeze", payload)


@router.post("/subjects/{subject_id}/lock", response={201: dict[str, Any]})
def subject_lock(request: HttpRequest, subject_id: int, payload: LockIn) -> Any:
    """Lock a subject's casebook: nothing changes (data manager; signed)."""
    return _subject_lock(request, subject_id, "lock", payload)


@router.post("/subjects/{subject_id}/unlock", response={201: dict[str, Any]})
def subject_unlock(request: HttpRequest, subject_id: int, payload: LockIn) -> Any:
    """Unlock a subject's casebook, with a reason (data manager; signed)."""
    return _subject_lock(request, subject_id, "unlock", payload)


@router.post("/study/{action}", response={201: dict[str, Any]})
def study_lock(
    request: HttpRequest, action: Literal["lock", "unlock"], payload: LockIn
) -> dict[str, Any]:
    """Lock or unlock the whole study (data manager; signed)."""
    signature = study_lock_change(
        actor=request.auth, action=action, password=payload.password, reason=payload.reason
    )
    return signature_document(signature)
