"""A screened patient and the eligibility verdict computed for it (the rules live in the core)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.sites.models import Site


class Subject(AuditedModel):
    """A screened patient: one row per screening, failures included (the screening log)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="subjects")
    site_sequence = models.PositiveIntegerField(help_text="1, 2, ... within the site.")
    screening_number = models.CharField(max_length=32, unique=True)
    subject_ref = models.CharField(max_length=64, blank=True)
    screening_date = models.DateField(null=True, blank=True)
    screening_record = models.JSONField(help_text="The screening record as entered.")
    screened_by = models.CharField(max_length=150)
    screened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["site__code", "site_sequence"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["site", "site_sequence"], name="subjects_site_sequence")
        ]

    def __str__(self) -> str:
        return self.screening_number


class EligibilityVerdict(AuditedModel):
    """The current verdict of the eligibility engine for a subject (earlier ones: audit trail)."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="verdict")
    protocol_nct_id = models.CharField(max_length=16)
    protocol_version = models.CharField(max_length=32)
    eligible = models.BooleanField(
        null=True, blank=True, help_text="None: undetermined (a criterion unknown)."
    )
    result = models.JSONField(help_text="The engine's output: criteria with reasons, derived.")
    evaluated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.subject}: eligible={self.eligible}"
