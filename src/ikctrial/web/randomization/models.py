"""The concealed randomization list, its strata and slots, and each subject's allocation.

Concealment: slots (upcoming arms) and the seed are read only by the randomize service; no selector
or API returns them. An allocation is never deleted: an error is a status with a reason (ITT).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.subjects.models import Subject


class Method(models.TextChoices):
    """Allocation methods a protocol may choose."""

    BLOCKS = "stratified_permuted_blocks"
    MINIMIZATION = "minimization"


class RandomizationList(AuditedModel):
    """One generated list; at most one is active; a replaced list is kept, inactive."""

    method = models.CharField(max_length=32, choices=Method.choices)
    protocol_nct_id = models.CharField(max_length=16)
    protocol_version = models.CharField(max_length=32)
    seed = models.CharField(max_length=80, help_text="Concealed: reproduces the list.")
    size = models.PositiveIntegerField(help_text="Minimum slots per stratum.")
    block_sizes = models.JSONField(default=list)
    generated_by = models.CharField(max_length=150)
    generated_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)
    last_number = models.PositiveIntegerField(default=0, help_text="Last number given out.")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["active"],
                condition=models.Q(active=True),
                name="randomization_one_active_list",
            )
        ]

    def __str__(self) -> str:
        return f"list {self.pk} ({self.method})"


class Stratum(AuditedModel):
    """A combination of stratification-factor levels and the position of its next free slot."""

    randomization_list = models.ForeignKey(
        RandomizationList, on_delete=models.PROTECT, related_name="strata"
    )
    index = models.PositiveIntegerField(help_text="Order among the list's strata (its stream).")
    key = models.CharField(max_length=200)
    levels = models.JSONField()
    next_position = models.PositiveIntegerField(default=1)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["randomization_list", "key"], name="stratum_key")
        ]

    def __str__(self) -> str:
        return self.key


class AllocationSlot(AuditedModel):
    """One concealed position of a stratum's list."""

    stratum = models.ForeignKey(Stratum, on_delete=models.PROTECT, related_name="slots")
    position = models.PositiveIntegerField()
    block = models.PositiveIntegerField()
    block_size = models.PositiveIntegerField()
    arm = models.CharField(max_length=32)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["stratum", "position"], name="slot_position")
        ]

    def __str__(self) -> str:
        return f"{self.stratum} #{self.position}"


class Randomization(AuditedModel):
    """A subject's allocation: number, arm, stratum; an error is a status with a reason."""

    class Status(models.TextChoices):
        RANDOMIZED = "randomized"
        IN_ERROR = "randomized_in_error"

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="randomization")
    randomization_list = models.ForeignKey(
        RandomizationList, on_delete=models.PROTECT, related_name="randomizations"
    )
    number = models.PositiveIntegerField()
    arm = models.CharField(max_length=32)
    stratum = models.ForeignKey(Stratum, on_delete=models.PROTECT, related_name="randomizations")
    slot = models.OneToOneField(
        AllocationSlot, null=True, blank=True, on_delete=models.PROTECT, related_name="used_by"
    )
    randomized_by = models.CharField(max_length=150)
    randomized_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RANDOMIZED)
    error_reason = models.TextField(blank=True)
    error_marked_by = models.CharField(max_length=150, blank=True)
    error_marked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["randomization_list", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["randomization_list", "number"], name="randomization_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} #{self.number} {self.arm}"
