"""A blinded reader's lesion table at one imaging time point, with the responses derived from it.

Reads are kept apart from the site's tumor assessments (``crf.TumorAssessment``): the two series
are evaluated independently (domain.md 10.1, ``--EVAL``) and neither overwrites the other.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.subjects.models import Subject


class CentralRead(AuditedModel):
    """One reader's read of one time point: lesion rows as ``TumorAssessment`` stores them.

    ``responses`` holds, per criterion (RECIST1.1, mRECIST), the core engine's call at this time
    point within the reader's own series: sums, nadir, target, non-target and overall response.
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    reader = models.CharField(max_length=150, help_text="User name of the reader.")
    assessed_on = models.DateField()
    modality = models.CharField(max_length=8, blank=True)
    target = models.JSONField(default=list, blank=True)
    non_target = models.JSONField(default=list, blank=True)
    new_lesions = models.CharField(max_length=16)
    responses = models.JSONField(default=dict, blank=True)
    entered_at = models.DateTimeField(default=timezone.now)

    afp_within_normal_limits = None
    """A reader sees images only: the AFP status is unknown to the read (the engine says so)."""

    class Meta:
        ordering: ClassVar = ["subject", "reader", "assessed_on", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subject", "reader", "assessed_on"], name="central_read_subject_date"
            )
        ]
