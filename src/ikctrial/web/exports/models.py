"""One standard export as it was made: who, when, which format, which files (with digests).

Saving the row writes its audit event, so every export is in the hash-chained audit trail.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel


class DataExport(AuditedModel):
    """An export of the trial data in one standard format (domain.md 10), or a trial report."""

    class Format(models.TextChoices):
        SDTM = "sdtm"
        ADAM = "adam"
        ODM = "odm"
        FHIR = "fhir"
        REPORT = "report"

    export_format = models.CharField(max_length=8, choices=Format.choices)
    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    subjects = models.PositiveIntegerField(help_text="Subjects exported.")
    files = models.JSONField(help_text="[{name, bytes, sha256}] of the files written.")
    location = models.CharField(
        max_length=1024, blank=True, help_text="The folder the files were written into."
    )
    protocol_nct_id = models.CharField(max_length=16)
    protocol_version = models.CharField(max_length=32)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.export_format} export by {self.requested_by} at {self.created_at}"
