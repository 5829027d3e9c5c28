"""Reads of signatures and lock state: whether a subject's data may change, casebook hashes.

Every CRF and query service asks ``ensure_data_editable`` / ``ensure_not_locked`` before writing:
a frozen or locked casebook (or a locked study) refuses changes with 409 until a recorded unlock.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import router

from ikctrial.web import rows
from ikctrial.web.crf.selectors import casebook_content
from ikctrial.web.errors import ConflictError
from ikctrial.web.signatures.models import LockState, Signature, StudyLock, SubjectLock
from ikctrial.web.subjects.models import Subject


def study_state() -> str:
    """The study-wide state: open or locked."""
    row = StudyLock.objects.first()
    return LockState.OPEN if row is None else str(row.state)


@lru_cache(maxsize=8)
def _states_sql(using: str) -> str:
    """The study's and the subject's lock state in one statement (every CRF write runs it)."""
    first = "ORDER BY {} LIMIT 1"
    return (
        f"SELECT (SELECT {rows.column(StudyLock, 'state', using)} "
        f"FROM {rows.table(StudyLock, using)} "
        f"{first.format(rows.column(StudyLock, 'id', using))}), "
        f"(SELECT {rows.column(SubjectLock, 'state', using)} "
        f"FROM {rows.table(SubjectLock, using)} "
        f"WHERE {rows.column(SubjectLock, 'subject', using)} = %s "
        f"{first.format(rows.column(SubjectLock, 'id', using))})"
    )


def _states(subject: Subject) -> tuple[str, str, str]:
    """(study state, the subject's own state, the one that applies), read in one statement."""
    using = router.db_for_read(SubjectLock)
    study, own = rows.fetch_one(_states_sql(using), [subject.pk], using) or (None, None)
    study, own = str(study or LockState.OPEN), str(own or LockState.OPEN)
    return study, own, LockState.LOCKED if study == LockState.LOCKED else own


def effective_state(subject: Subject) -> str:
    """What applies to the subject's data: locked when the study is locked, else its own."""
    return _states(subject)[2]


def ensure_data_editable(subject: Subject) -> None:
    """Raise 409 unless the subject's data may change (neither frozen nor locked)."""
    study, _, state = _states(subject)
    if state != LockState.OPEN:
        where = "the study is locked" if study == LockState.LOCKED else f"it is {state}"
        raise ConflictError(
            f"subject {subject.screening_number}'s casebook cannot change: {where} "
            "(a data manager must unlock it with a reason first)"
        )


def ensure_not_locked(subject: Subject) -> None:
    """Raise 409 when the subject (or the study) is locked: queries stop at lock, not at freeze."""
    if effective_state(subject) == LockState.LOCKED:
        raise ConflictError(
            f"subject {subject.screening_number}'s casebook is locked "
            "(a data manager must unlock it with a reason first)"
        )


def casebook_hash(subject: Subject) -> str:
    """SHA-256 of the canonical JSON of every CRF record of the subject (21 CFR 11.70 link)."""
    text = json.dumps(
        casebook_content(subject), cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signature_document(signature: Signature, current_hash: str | None = None) -> dict[str, Any]:
    """A signature with the three 11.50 elements; a casebook one says if it is superseded."""
    document: dict[str, Any] = {
        "id": signature.pk,
        "subject_id": signature.subject_id,
        "scope": signature.scope,
        "action": signature.action,
        "meaning": signature.meaning,
        "meaning_text": signature.get_meaning_display(),
        "signer_username": signature.signer_username,
        "signer_name": signature.signer_name,
        "signed_at": signature.signed_at,
        "reason": signature.reason,
        "content_hash": signature.content_hash,
        "superseded": None,
    }
    if signature.scope == "casebook" and current_hash is not None:
        document["superseded"] = signature.content_hash != current_hash
    return document


def subject_signatures(subject: Subject) -> dict[str, Any]:
    """The subject's lock state and signatures (casebook ones checked against today's content)."""
    current = casebook_hash(subject)
    study, own, state = _states(subject)
    return {
        "subject_id": subject.pk,
        "state": state,
        "subject_state": own,
        "study_state": study,
        "casebook_hash": current,
        "signatures": [
            signature_document(s, current) for s in Signature.objects.filter(subject=subject)
        ],
    }
