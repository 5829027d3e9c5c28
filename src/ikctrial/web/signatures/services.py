"""21 CFR Part 11 electronic signatures, casebook sign-off, freeze, lock and recorded unlock.

Every signature re-authenticates the signer (the password is re-entered and checked with Django's
``check_password``; 11.200), and stores the printed name, the UTC time and the meaning (11.50) on a
signature row linked to the signed content by its SHA-256 (11.70); the row's creation is in the
audit trail with the meaning as reason. Freeze and lock are data-manager signatures; an unlock
needs a reason and is itself a signed, audited event (ICH E6(R3) "Finalisation", domain.md 9.3).

A wrong password is recorded (``SignatureFailure``, audited: 11.300(d)) in its own transaction, so
the refusal that follows does not roll the record back; ``MAX_FAILED_SIGNATURES`` failures within
``SIGNATURE_LOCKOUT_MINUTES`` (since the user's last good signature) block signing until the window
has passed. The signing itself then runs in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from ikctrial.errors import InputError
from ikctrial.web.audit.context import audit_context
from ikctrial.web.errors import ConflictError, ForbiddenError
from ikctrial.web.signatures.models import (
    LockState,
    Meaning,
    Signature,
    SignatureFailure,
    StudyLock,
    SubjectLock,
)
from ikctrial.web.signatures.selectors import casebook_hash, effective_state, study_state
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_user
from ikctrial.web.validation import save_validated

SUBJECT_TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "freeze": (frozenset({LockState.OPEN}), LockState.FROZEN, "review"),
    "lock": (frozenset({LockState.OPEN, LockState.FROZEN}), LockState.LOCKED, "approval"),
    "unlock": (frozenset({LockState.FROZEN, LockState.LOCKED}), LockState.OPEN, "responsibility"),
}
"""Action -> (states it starts from, state it leaves, meaning of its signature)."""


def _meaning(value: str) -> str:
    if value not in Meaning.values:
        raise InputError("meaning", f"{value!r} is not one of {', '.join(Meaning.values)}")
    return value


MAX_FAILED_SIGNATURES = 3
SIGNATURE_LOCKOUT_MINUTES = 30


def _recent_failures(username: str) -> int:
    """Failed attempts in the lockout window since the user's last good signature."""
    since = timezone.now() - dt.timedelta(minutes=SIGNATURE_LOCKOUT_MINUTES)
    last = Signature.objects.filter(signer_username=username).order_by("-signed_at").first()
    if last is not None and last.signed_at > since:
        since = last.signed_at
    return SignatureFailure.objects.filter(username=username, failed_at__gt=since).count()


def _signer(actor: Actor, password: str, *, scope: str, source: str) -> Any:
    """The re-authenticated signing user (11.200); a wrong password signs nothing (403).

    Call outside the signing transaction: the failure record must survive the refusal.
    """
    if isinstance(actor, str) or not hasattr(actor, "check_password"):
        raise ForbiddenError("an electronic signature needs a user account, not the command line")
    username = actor.get_username()
    if _recent_failures(username) >= MAX_FAILED_SIGNATURES:
        raise ForbiddenError(
            f"signing is blocked for {SIGNATURE_LOCKOUT_MINUTES} minutes after "
            f"{MAX_FAILED_SIGNATURES} failed attempts (reported in the audit trail)"
        )
    if not password or not actor.check_password(password):
        with transaction.atomic(), audit_context(actor=actor, source=source):
            save_validated(SignatureFailure(username=username, scope=scope))
        raise ForbiddenError("password: the password does not match; nothing was signed")
    return actor


def _sign(
    *,
    signer: Any,
    subject: Subject | None,
    scope: str,
    action: str,
    meaning: str,
    reason: str,
    content_hash: str,
    source: str,
) -> Signature:
    """Store one signature row (audited, its meaning and reason as the audit reason)."""
    why = f"electronic signature ({meaning}) of {scope}: {action}" + (
        f": {reason}" if reason else ""
    )
    with audit_context(actor=signer, reason=why, source=source):
        signature = Signature(
            subject=subject,
            scope=scope,
            action=action,
            meaning=meaning,
            signer_username=signer.get_username(),
            signer_name=signer.get_full_name().strip() or signer.get_username(),
            signed_at=timezone.now(),
            content_hash=content_hash,
            reason=reason,
        )
        save_validated(signature)
    return signature


def casebook_sign(
    *,
    actor: Actor,
    subject_id: int,
    password: str,
    meaning: str = "approval",
    source: str = "api",
) -> Signature:
    """The investigator signs the subject's casebook as it stands (not once it is locked)."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.CASEBOOK_SIGN)
    meaning = _meaning(meaning)
    signer = _signer(actor, password, scope="casebook", source=source)
    return _casebook_sign(signer=signer, subject=subject, meaning=meaning, source=source)


@transaction.atomic
def _casebook_sign(*, signer: Any, subject: Subject, meaning: str, source: str) -> Signature:
    subject = Subject.objects.select_for_update().get(pk=subject.pk)
    if effective_state(subject) == LockState.LOCKED:
        raise ConflictError("the casebook is locked: sign before the lock")
    return _sign(
        signer=signer,
        subject=subject,
        scope="casebook",
        action="sign",
        meaning=meaning,
        reason="",
        content_hash=casebook_hash(subject),
        source=source,
    )


def _reason_for(action: str, reason: str) -> str:
    if action == "unlock" and not reason.strip():
        raise InputError("reason", "a reason is required to unlock")
    return reason.strip()


def subject_lock_change(
    *,
    actor: Actor,
    subject_id: int,
    action: str,
    password: str,
    reason: str = "",
    source: str = "api",
) -> Signature:
    """Freeze, lock or unlock one subject's casebook: a data manager's signed act."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.SUBJECT_LOCK)
    if action not in SUBJECT_TRANSITIONS:
        raise InputError("action", f"{action!r} is not one of {', '.join(SUBJECT_TRANSITIONS)}")
    why = _reason_for(action, reason)
    signer = _signer(actor, password, scope="subject_lock", source=source)
    return _subject_lock_change(
        signer=signer, subject=subject, action=action, reason=why, source=source
    )


@transaction.atomic
def _subject_lock_change(
    *, signer: Any, subject: Subject, action: str, reason: str, source: str
) -> Signature:
    starts, target, meaning = SUBJECT_TRANSITIONS[action]
    subject = Subject.objects.select_for_update().get(pk=subject.pk)
    if study_state() == LockState.LOCKED:
        raise ConflictError("the study is locked: unlock the study first")
    row = SubjectLock.objects.select_for_update().filter(subject=subject).first()
    state = LockState.OPEN if row is None else row.state
    if state not in starts:
        raise ConflictError(f"the casebook is {state}: it cannot {action}")
    signature = _sign(
        signer=signer,
        subject=subject,
        scope="subject_lock",
        action=action,
        meaning=meaning,
        reason=reason,
        content_hash=casebook_hash(subject),
        source=source,
    )
    with audit_context(actor=signer, reason=reason or f"casebook {action}", source=source):
        row = row or SubjectLock(subject=subject)
        row.state = target
        row.changed_by = signer.get_username()
        row.changed_at = signature.signed_at
        save_validated(row)
    return signature


def study_lock_change(
    *, actor: Actor, action: str, password: str, reason: str = "", source: str = "api"
) -> Signature:
    """Lock or unlock the whole study (database lock): a data manager's signed act."""
    authorize(actor, Action.STUDY_LOCK)
    if action not in {"lock", "unlock"}:
        raise InputError("action", f"{action!r} is not one of lock, unlock")
    why = _reason_for(action, reason)
    signer = _signer(actor, password, scope="study_lock", source=source)
    return _study_lock_change(signer=signer, action=action, reason=why, source=source)


@transaction.atomic
def _study_lock_change(*, signer: Any, action: str, reason: str, source: str) -> Signature:
    row = StudyLock.objects.select_for_update().first()
    state = LockState.OPEN if row is None else row.state
    target = LockState.LOCKED if action == "lock" else LockState.OPEN
    if state == target:
        raise ConflictError(f"the study is already {state}")
    signature = _sign(
        signer=signer,
        subject=None,
        scope="study_lock",
        action=action,
        meaning="approval" if action == "lock" else "responsibility",
        reason=reason,
        content_hash="",
        source=source,
    )
    with audit_context(actor=signer, reason=reason or f"study {action}", source=source):
        row = row or StudyLock()
        row.state = target
        row.changed_by = signer.get_username()
        row.changed_at = signature.signed_at
        save_validated(row)
    return signature
