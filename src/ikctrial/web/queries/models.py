"""A data query on one field of one CRF record: raised, answered, closed; every step audited."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.subjects.models import Subject


class DataQuery(AuditedModel):
    """A question about a value, raised by a person (manual) or by an edit check (automatic)."""

    class Status(models.TextChoices):
        OPEN = "open"
        ANSWERED = "answered"
        CLOSED = "closed"

    class Origin(models.TextChoices):
        MANUAL = "manual"
        EDIT_CHECK = "edit_check"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="data_queries")
    form = models.CharField(max_length=32)
    record_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=64)
    text = models.TextField()
    origin = models.CharField(max_length=12, choices=Origin.choices)
    check_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_by = models.CharField(max_length=150)
    raised_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(blank=True)
    answered_by = models.CharField(max_length=150, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_note = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["raised_at", "id"]
        indexes: ClassVar = [
            models.Index(fields=["form", "record_id"], name="queries_record"),
            models.Index(fields=["status"], name="queries_status"),
        ]

    def __str__(self) -> str:
        return f"query {self.pk} on {self.form} {self.record_id}.{self.field} ({self.status})"
