"""Electronic signatures (21 CFR 11.50, 11.70) and the freeze/lock state of subjects and study."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.subjects.models import Subject


class Meaning(models.TextChoices):
    """What a signature means (11.50(a)(3))."""

    REVIEW = "review", "Reviewed"
    APPROVAL = "approval", "Approved"
    RESPONSIBILITY = "responsibility", "Responsible for the content"
    AUTHORSHIP = "authorship", "Author"


class LockState(models.TextChoices):
    """Open: data entry allowed. Frozen: no data changes (queries go on). Locked: nothing."""

    OPEN = "open"
    FROZEN = "frozen"
    LOCKED = "locked"


class Signature(AuditedModel):
    """One signature: who (user name and printed name), when (UTC), what it means, on what.

    ``content_hash`` is the SHA-256 of the signed content; a later change to the content makes
    the signature show as superseded (11.70), the signature row itself never changes.
    """

    subject = models.ForeignKey(
        Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="signatures"
    )
    scope = models.CharField(max_length=16, help_text="casebook, subject_lock or study_lock.")
    action = models.CharField(max_length=16, help_text="sign, freeze, lock or unlock.")
    meaning = models.CharField(max_length=16, choices=Meaning.choices)
    signer_username = models.CharField(max_length=150)
    signer_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["signed_at", "id"]

    def __str__(self) -> str:
        return f"{self.signer_name} {self.meaning} {self.scope} at {self.signed_at:%Y-%m-%dT%H:%MZ}"


class SubjectLock(AuditedModel):
    """The freeze/lock state of one subject's casebook (absent: open)."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="lock")
    state = models.CharField(max_length=8, choices=LockState.choices, default=LockState.OPEN)
    changed_by = models.CharField(max_length=150)
    changed_at = models.DateTimeField(default=timezone.now)


class StudyLock(AuditedModel):
    """The study-wide lock (one row): when locked, no subject's data may change."""

    state = models.CharField(max_length=8, choices=LockState.choices, default=LockState.OPEN)
    changed_by = models.CharField(max_length=150)
    changed_at = models.DateTimeField(default=timezone.now)


class SignatureFailure(AuditedModel):
    """A signing attempt with a wrong password (21 CFR 11.300(d): detect and report misuse).

    Its creation is an audit event, so security review sees every failed attempt; repeated
    failures block signing for a while.
    """

    username = models.CharField(max_length=150, db_index=True)
    failed_at = models.DateTimeField(default=timezone.now)
    scope = models.CharField(max_length=16)

    class Meta:
        ordering: ClassVar = ["failed_at", "id"]
