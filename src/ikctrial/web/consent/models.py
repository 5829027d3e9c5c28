"""A signed informed-consent form (the screening record's ``consent`` only feeds criterion I7)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.subjects.models import Subject


class Consent(AuditedModel):
    """One signed version of the consent form for one subject."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="consents")
    version = models.CharField(max_length=32, help_text="One of the protocol's consent_versions.")
    signed_on = models.DateField()
    signed_by = models.CharField(max_length=150, help_text="Who obtained the consent.")
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["subject", "signed_on", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["subject", "version"], name="consent_subject_version")
        ]

    def __str__(self) -> str:
        return f"{self.subject} consent v{self.version} signed {self.signed_on}"
