"""Allocations made, in the audited admin, read-only (an error is marked through the service).

The concealed list (``RandomizationList`` with its seed, ``Stratum``, ``AllocationSlot``) is not
registered: no page may show an upcoming allocation (domain.md 9.4).
"""

from __future__ import annotations

from ikctrial.web.audit.admin import AuditedModelAdmin, edc_admin_site
from ikctrial.web.randomization.models import Randomization


class RandomizationAdmin(AuditedModelAdmin):
    """An allocation made (read-only)."""

    list_display = ("number", "subject", "arm", "status", "randomized_at")
    list_filter = ("status",)
    hidden_fields = ("slot",)


edc_admin_site.register(Randomization, RandomizationAdmin)
