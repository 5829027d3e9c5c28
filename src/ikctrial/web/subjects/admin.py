"""Subjects and their eligibility verdicts in the audited admin, read-only (a correction goes
through ``PUT /api/v1/subjects/{id}/screening``, which re-runs the eligibility engine)."""

from __future__ import annotations

from ikctrial.web.audit.admin import AuditedModelAdmin, edc_admin_site
from ikctrial.web.subjects.models import EligibilityVerdict, Subject


class SubjectAdmin(AuditedModelAdmin):
    """A screened patient (read-only)."""

    list_display = ("screening_number", "site", "screening_date", "screened_by")
    list_filter = ("site",)


class EligibilityVerdictAdmin(AuditedModelAdmin):
    """A subject's verdict (read-only)."""

    list_display = ("subject", "eligible", "protocol_version", "evaluated_at")


edc_admin_site.register(Subject, SubjectAdmin)
edc_admin_site.register(EligibilityVerdict, EligibilityVerdictAdmin)
