"""Case report forms: one model per form, every one audited and tied to a subject.

Derived values (visit window and OUT_OF_WINDOW flag, CTCAE lab grade, SAE due time, RECIST 1.1
and mRECIST responses) are computed by the core on save and stored next to what was entered, so a
reviewer sees both and the audit trail keeps every re-derivation.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.subjects.models import Subject

CTCAE_VERSION = "5.0"


def _decimal(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=4, **kwargs)


class CrfRecord(AuditedModel):
    """What every form record has: its subject and who entered it when."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    entered_by = models.CharField(max_length=150)
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class Visit(CrfRecord):
    """A visit of the protocol calendar done on ``done_on``; window from the schedule (1.3, 1.5)."""

    code = models.CharField(max_length=32, help_text="Visit code of the calendar, e.g. imaging_1.")
    done_on = models.DateField()
    target_date = models.DateField(null=True, blank=True)
    window_start = models.DateField()
    window_end = models.DateField()
    study_day = models.IntegerField()
    out_of_window = models.BooleanField(default=False, help_text="OUT_OF_WINDOW (domain.md 1.5).")

    class Meta:
        ordering: ClassVar = ["subject", "done_on", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["subject", "code"], name="crf_visit_subject_code")
        ]


class LabResult(CrfRecord):
    """One lab value with its unit and normal range, graded by CTCAE v5.0 (domain.md 6.2)."""

    collected_on = models.DateField()
    test = models.CharField(max_length=32)
    value = _decimal()
    unit = models.CharField(max_length=16, blank=True)
    lln = _decimal(null=True, blank=True)
    uln = _decimal(null=True, blank=True)
    on_anticoagulants = models.BooleanField(default=False)
    baseline_value = _decimal(
        null=True, blank=True, help_text="BL used for grading (None: graded as a baseline value)."
    )
    ctcae_term = models.CharField(max_length=100, blank=True)
    ctcae_grade = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0-4; None when a missing baseline could change it."
    )
    ctcae_version = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering: ClassVar = ["subject", "test", "collected_on", "id"]


class VitalSigns(CrfRecord):
    """Vital signs at one time point (domain.md 1.6: pre, end and +1 h of an infusion...)."""

    measured_at = models.DateTimeField()
    timepoint = models.CharField(max_length=32, blank=True)
    systolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate_bpm = models.PositiveSmallIntegerField(null=True, blank=True)
    respiratory_rate_per_min = models.PositiveSmallIntegerField(null=True, blank=True)
    temperature_c = _decimal(null=True, blank=True)
    spo2_percent = _decimal(null=True, blank=True)
    weight_kg = _decimal(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["subject", "measured_at", "id"]


class ImmunePanelResult(CrfRecord):
    """One population or cytokine of the immune panel (domain.md 7.4); <LLOQ kept as reported."""

    collected_on = models.DateField()
    analyte = models.CharField(max_length=32)
    value = _decimal(null=True, blank=True)
    unit = models.CharField(max_length=24)
    below_lloq = models.BooleanField(default=False)
    lloq = _decimal(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["subject", "collected_on", "analyte", "id"]


class TaceProcedure(CrfRecord):
    """One TACE session (protocol background therapy, both arms; domain.md 1.2)."""

    performed_on = models.DateField()
    technique = models.CharField(max_length=16)
    chemotherapy_agent = models.CharField(max_length=100, blank=True)
    dose_mg = _decimal(null=True, blank=True)
    embolic_agent = models.CharField(max_length=100, blank=True)
    complete = models.BooleanField(default=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["subject", "performed_on", "id"]


class ConcomitantMedication(CrfRecord):
    """A concomitant medication; anticancer ones censor PFS (domain.md 1.2, 7.1)."""

    name = models.CharField(max_length=200)
    indication = models.CharField(max_length=200)
    dose = models.CharField(max_length=100, blank=True)
    route = models.CharField(max_length=50, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    ongoing = models.BooleanField(default=False)
    anticancer_therapy = models.BooleanField(default=False)

    class Meta:
        ordering: ClassVar = ["subject", "start_date", "id"]


class AdverseEvent(CrfRecord):
    """An adverse event with the fields of domain.md 6.7 and the SAE clock of 6.6."""

    verbatim_term = models.CharField(max_length=200)
    ctcae_term = models.CharField(max_length=200)
    ctcae_version = models.CharField(max_length=8, default=CTCAE_VERSION)
    grade = models.PositiveSmallIntegerField()
    onset_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    ongoing = models.BooleanField(default=True)
    serious = models.BooleanField(default=False, help_text="Any of the six ICH E2A criteria.")
    results_in_death = models.BooleanField(default=False)
    life_threatening = models.BooleanField(default=False)
    hospitalization = models.BooleanField(default=False)
    disability = models.BooleanField(default=False)
    congenital_anomaly = models.BooleanField(default=False)
    medically_important = models.BooleanField(default=False)
    relatedness_ikc = models.CharField(max_length=16)
    relatedness_tace = models.CharField(max_length=16)
    related_ikc = models.BooleanField(default=False, help_text="Reasonable possibility (6.7).")
    related_tace = models.BooleanField(default=False)
    expectedness_ikc = models.CharField(max_length=16, blank=True)
    action_taken_ikc = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=32)
    site_aware_at = models.DateTimeField(null=True, blank=True)
    sae_due_at = models.DateTimeField(
        null=True, blank=True, help_text="Investigator -> sponsor: awareness + 24 h (6.6)."
    )
    sae_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["subject", "onset_date", "id"]


class TumorAssessment(CrfRecord):
    """One imaging time point: lesion table for RECIST 1.1 and mRECIST (interfaces.md rows).

    ``target`` rows are ``{id, organ, nodal, diameter_mm, viable_diameter_mm}``: the longest (or
    short-axis) diameter for RECIST 1.1 and the viable, arterially enhancing one for mRECIST.
    """

    assessed_on = models.DateField()
    modality = models.CharField(max_length=8, blank=True)
    target = models.JSONField(default=list, blank=True)
    non_target = models.JSONField(default=list, blank=True)
    new_lesions = models.CharField(max_length=16)
    afp_within_normal_limits = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["subject", "assessed_on", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subject", "assessed_on"], name="crf_tumor_subject_date"
            )
        ]


class TumorResponse(AuditedModel):
    """The engine's call at one assessment under one criterion, and the investigator's view."""

    assessment = models.ForeignKey(
        TumorAssessment, on_delete=models.PROTECT, related_name="responses"
    )
    criteria = models.CharField(max_length=16)
    sum_mm = _decimal(null=True, blank=True)
    nadir_mm = _decimal(null=True, blank=True, help_text="Smallest earlier sum (PD reference).")
    pct_change_from_baseline = models.FloatField(null=True, blank=True)
    pct_change_from_nadir = models.FloatField(null=True, blank=True)
    target_response = models.CharField(max_length=16, blank=True)
    non_target_response = models.CharField(max_length=16, blank=True)
    new_lesions = models.CharField(max_length=16)
    overall_response = models.CharField(max_length=16)
    flags = models.JSONField(default=list, blank=True)
    investigator_response = models.CharField(max_length=16, blank=True)
    disagreement_reason = models.TextField(blank=True)
    disagreement_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering: ClassVar = ["assessment", "criteria"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["assessment", "criteria"], name="crf_response_assessment_criteria"
            )
        ]


class TumorResponseSummary(AuditedModel):
    """The series under one criterion: best overall response, progression date, best change."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    criteria = models.CharField(max_length=16)
    best_overall_response = models.CharField(max_length=16)
    progression_date = models.DateField(null=True, blank=True)
    best_pct_change = models.FloatField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["subject", "criteria"], name="crf_summary_criteria")
        ]


class StudyExit(CrfRecord):
    """End of study: completed, or withdrawn early with the reason (one per subject)."""

    status = models.CharField(max_length=16)
    exit_date = models.DateField()
    reason = models.CharField(max_length=32, blank=True)
    reason_detail = models.TextField(blank=True)
    last_contact_date = models.DateField(null=True, blank=True)
    death_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["subject"], name="crf_exit_one_per_subject")
        ]
