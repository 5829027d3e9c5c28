"""API of randomization: randomize a subject, mark an allocation in error, the allocation log.

Nothing here reads the list's upcoming slots: only an allocation made is ever returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from ikctrial.web.randomization.selectors import allocation_log
from ikctrial.web.randomization.services import randomization_mark_in_error, subject_randomize

router = Router(tags=["randomization"])


class RandomizedOut(Schema):
    """The allocation just made."""

    subject_id: int
    randomization_number: int
    arm: str
    randomized_at: dt.datetime


class InErrorIn(Schema):
    """Why the subject was randomized in error."""

    reason: str


class InErrorOut(RandomizedOut):
    """An allocation marked in error (it stays: ITT)."""

    status: str
    error_reason: str


class AllocationRow(Schema):
    """One allocation of the log."""

    randomization_number: int
    subject_id: int
    screening_number: str
    site: str
    stratum: dict[str, str]
    arm: str
    randomized_at: dt.datetime
    randomized_by: str
    status: str
    error_reason: str | None


@router.post("/subjects/{subject_id}/randomize", response={201: RandomizedOut})
def randomize(request: HttpRequest, subject_id: int) -> RandomizedOut:
    """Randomize an eligible, consented subject (409 if already, 422 if not allowed)."""
    made = subject_randomize(actor=request.auth, subject_id=subject_id)
    return RandomizedOut(
        subject_id=subject_id,
        randomization_number=made.number,
        arm=made.arm,
        randomized_at=made.randomized_at,
    )


@router.post("/subjects/{subject_id}/randomization/error", response=InErrorOut)
def randomization_error(request: HttpRequest, subject_id: int, payload: InErrorIn) -> InErrorOut:
    """Record that the subject was randomized in error, with the reason."""
    made = randomization_mark_in_error(
        actor=request.auth,
        subject_id=subject_id,
        reason=payload.reason,
    )
    return InErrorOut(
        subject_id=subject_id,
        randomization_number=made.number,
        arm=made.arm,
        randomized_at=made.randomized_at,
        status=made.status,
        error_reason=made.error_reason,
    )


@router.get("/randomizations", response=list[AllocationRow])
def randomization_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The allocation log (statistician and admin only)."""
    return allocation_log(request.auth)
