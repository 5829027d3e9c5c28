"""Signed consent forms in the audited admin, read-only (recorded through the consent service)."""

from __future__ import annotations

from ikctrial.web.audit.admin import AuditedModelAdmin, edc_admin_site
from ikctrial.web.consent.models import Consent


class ConsentAdmin(AuditedModelAdmin):
    """A signed consent (read-only)."""

    list_display = ("subject", "version", "signed_on", "signed_by")


edc_admin_site.register(Consent, ConsentAdmin)
