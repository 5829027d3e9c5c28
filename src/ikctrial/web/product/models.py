"""Records of the IKC product: chain of identity, units, custody ledger, QC, release, bedside.

Every table here is append-only: a row, once saved, is never updated or deleted (a custody
correction is a new reversing event, a QC or release decision a new attempt). ``AppendOnlyModel``
refuses changes in Django; on PostgreSQL a trigger (migration 0002) refuses them in the database
too. All rows are audited, so the ledger is part of the hash-chained audit trail.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.product.custody import CustodyCondition, CustodyEventType
from ikctrial.product.identifiers import UnitKind
from ikctrial.product.release import ReleaseStatus
from ikctrial.web.audit.models import AuditedModel, AuditedQuerySet
from ikctrial.web.crf.models import AdverseEvent
from ikctrial.web.subjects.models import Subject


class AppendOnlyError(RuntimeError):
    """An update or delete of an append-only product record."""


class AppendOnlyQuerySet(AuditedQuerySet):
    """Bulk updates and deletes are refused: product records are never changed."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model._meta.label_lower} rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.label_lower} rows are append-only")

    update.alters_data = True  # type: ignore[attr-defined]
    delete.alters_data = True  # type: ignore[attr-defined]


AppendOnlyManager = models.Manager.from_queryset(AppendOnlyQuerySet)


class AppendOnlyModel(AuditedModel):
    """An audited record that is written once: no update, no delete."""

    objects = AppendOnlyManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert only; saving a stored row again is refused."""
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{self._meta.label_lower} {self.pk} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Refused: a record of the product is never deleted."""
        raise AppendOnlyError(f"{self._meta.label_lower} {self.pk} is append-only")


def _decimal(max_digits: int, decimal_places: int, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=max_digits, decimal_places=decimal_places, **kwargs)


class Therapy(AppendOnlyModel):
    """One patient therapy: its chain-of-identity id and two independent patient identifiers."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="therapy")
    coi_id = models.CharField(max_length=14, unique=True, help_text="COI_ID with its check.")
    facility = models.CharField(max_length=5)
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    patient_identifier_1 = models.CharField(max_length=200, help_text="E.g. full name.")
    patient_identifier_2 = models.CharField(max_length=200, help_text="E.g. date of birth.")
    assigned_by = models.CharField(max_length=150)
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["facility", "year", "sequence"], name="product_coi_sequence"
            )
        ]

    def __str__(self) -> str:
        return str(self.coi_id)


class ProductUnit(AppendOnlyModel):
    """A collection, culture, lot or bag under a CoI; a bag is made for one infusion."""

    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="units")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    unit_id = models.CharField(max_length=40, unique=True, help_text="COI-PATH-CHECK.")
    kind = models.CharField(max_length=1, choices=[(k.value, k.name.lower()) for k in UnitKind])
    number = models.PositiveSmallIntegerField()
    infusion_number = models.PositiveSmallIntegerField(null=True, blank=True)
    bag_volume_ml = _decimal(8, 2, null=True, blank=True)
    viable_cells = _decimal(20, 0, null=True, blank=True, help_text="Viable cells in the bag.")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["therapy", "unit_id"]

    def __str__(self) -> str:
        return str(self.unit_id)


class CustodyEvent(AppendOnlyModel):
    """One entry of the chain-of-custody ledger: what, which unit, who, when, where, condition."""

    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="custody")
    unit = models.ForeignKey(ProductUnit, on_delete=models.PROTECT, related_name="events")
    event_type = models.CharField(
        max_length=20, choices=[(t.value, t.value) for t in CustodyEventType]
    )
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.CharField(max_length=150)
    role = models.CharField(max_length=20)
    location = models.CharField(max_length=200)
    temperature_c = _decimal(5, 1, null=True, blank=True)
    logger_id = models.CharField(max_length=100, blank=True)
    logger_min_c = _decimal(5, 1, null=True, blank=True)
    logger_max_c = _decimal(5, 1, null=True, blank=True)
    condition = models.CharField(
        max_length=40,
        choices=[(c.value, c.value) for c in CustodyCondition],
        default=CustodyCondition.ACCEPTABLE.value,
    )
    note = models.TextField(blank=True)
    step = models.CharField(max_length=40, blank=True, help_text="Batch-record process step.")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["therapy", "id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type} {self.unit_id}"


class QcResult(AppendOnlyModel):
    """One QC result of a lot against a release test of the protocol."""

    lot = models.ForeignKey(ProductUnit, on_delete=models.PROTECT, related_name="qc_results")
    test_code = models.CharField(max_length=40)
    value = models.CharField(max_length=200)
    preliminary = models.BooleanField(default=False)
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["lot", "id"]


class OosDeviation(AppendOnlyModel):
    """An out-of-specification QC result, recorded as a deviation (it stays on record)."""

    qc_result = models.OneToOneField(QcResult, on_delete=models.PROTECT, related_name="deviation")
    test_name = models.CharField(max_length=200)
    specification = models.CharField(max_length=200)
    recorded_at = models.DateTimeField(default=timezone.now)


class LotRelease(AppendOnlyModel):
    """One e-signed release attempt of a lot and its decision (the latest one is in force)."""

    lot = models.ForeignKey(ProductUnit, on_delete=models.PROTECT, related_name="releases")
    status = models.CharField(max_length=40, choices=[(s.value, s.value) for s in ReleaseStatus])
    refusals = models.JSONField(default=list, blank=True)
    outcomes = models.JSONField(
        default=list, blank=True, help_text="Per-test verdicts and reasons."
    )
    expiry_at = models.DateTimeField(null=True, blank=True)
    signer_username = models.CharField(max_length=150)
    signer_name = models.CharField(max_length=300)
    signer_role = models.CharField(max_length=20)
    meaning = models.CharField(max_length=100)
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["lot", "signed_at", "id"]


class BedsideVerification(AppendOnlyModel):
    """One verifier's independent, e-signed entries at the bedside (domain.md 8.6)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    verifier_username = models.CharField(max_length=150)
    verifier_name = models.CharField(max_length=300)
    verifier_role = models.CharField(max_length=20)
    wristband_1 = models.CharField(max_length=200)
    wristband_2 = models.CharField(max_length=200)
    bag_label_patient_1 = models.CharField(max_length=200)
    bag_label_patient_2 = models.CharField(max_length=200)
    bag_label = models.CharField(max_length=100, help_text="The bag id as scanned or typed.")
    bag_intact = models.BooleanField()
    appearance_acceptable = models.BooleanField()
    meaning = models.CharField(max_length=100)
    signed_at = models.DateTimeField(default=timezone.now)


class BedsideOverride(AppendOnlyModel):
    """An investigator's e-signed override of listed soft blocks, with the reason (8.6)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    checks = models.JSONField(help_text="The soft checks overridden.")
    reason = models.TextField()
    signer_username = models.CharField(max_length=150)
    signer_name = models.CharField(max_length=300)
    signer_role = models.CharField(max_length=20)
    meaning = models.CharField(max_length=100)
    signed_at = models.DateTimeField(default=timezone.now)


class BedsideCheck(AppendOnlyModel):
    """One bedside decision, allowed or blocked with every reason (blocked ones are kept)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    bag = models.ForeignKey(
        ProductUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bag_label = models.CharField(max_length=100, help_text="The bag id the check was asked for.")
    first = models.ForeignKey(BedsideVerification, on_delete=models.PROTECT, related_name="+")
    second = models.ForeignKey(BedsideVerification, on_delete=models.PROTECT, related_name="+")
    override = models.OneToOneField(
        BedsideOverride, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checked_at = models.DateTimeField(default=timezone.now)
    allowed = models.BooleanField()
    infusion_number = models.PositiveSmallIntegerField(null=True, blank=True)
    failures = models.JSONField(default=list, blank=True)
    clinical = models.JSONField(default=dict, blank=True)
    recorded_by = models.CharField(max_length=150)

    class Meta:
        ordering: ClassVar = ["subject", "checked_at", "id"]


class Infusion(AppendOnlyModel):
    """One IKC infusion as given; one per bag and per infusion number of a subject."""

    bedside_check = models.OneToOneField(
        BedsideCheck, on_delete=models.PROTECT, related_name="infusion"
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    bag = models.OneToOneField(ProductUnit, on_delete=models.PROTECT, related_name="infusion")
    custody_event = models.OneToOneField(CustodyEvent, on_delete=models.PROTECT, related_name="+")
    infusion_number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField()
    volume_infused_ml = _decimal(8, 2)
    cells_infused = _decimal(20, 0)
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["subject", "infusion_number"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subject", "infusion_number"], name="product_infusion_number"
            )
        ]


class InfusionReaction(AppendOnlyModel):
    """An infusion reaction, recorded as an adverse event of the subject."""

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="reactions")
    adverse_event = models.OneToOneField(AdverseEvent, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=200)
    ctcae_grade = models.PositiveSmallIntegerField()
    onset_at = models.DateTimeField()
