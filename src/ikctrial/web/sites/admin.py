"""Sites, staff, memberships and tokens in the audited admin (``ikctrial.web.audit.admin``).

An administrator may rename a site or change its time zone, change a user's role or deactivate the
account (ICH E6(R3): role and access changes are audited like data), and revoke a token; sites,
users and tokens are created on the command line.
"""

from __future__ import annotations

from typing import ClassVar

from ikctrial.web.audit.admin import AuditedModelAdmin, edc_admin_site
from ikctrial.web.sites.models import ApiToken, Site, SiteMembership, Staff


class SiteAdmin(AuditedModelAdmin):
    """A site: its name and time zone can be corrected."""

    list_display = ("code", "name", "timezone")
    editable_fields: ClassVar[tuple[str, ...]] = ("name", "timezone")


class StaffAdmin(AuditedModelAdmin):
    """A study account: its role and whether it is active."""

    list_display = ("user", "role", "active")
    list_filter = ("role", "active")
    editable_fields: ClassVar[tuple[str, ...]] = ("role", "active")


class SiteMembershipAdmin(AuditedModelAdmin):
    """Who works where (read-only here: ``ikctrial user create --site``)."""

    list_display = ("staff", "site")


class ApiTokenAdmin(AuditedModelAdmin):
    """An API token: it can be revoked; its digest is never shown."""

    list_display = ("prefix", "staff", "created_at", "revoked_at")
    editable_fields: ClassVar[tuple[str, ...]] = ("revoked_at",)
    hidden_fields: ClassVar[tuple[str, ...]] = ("digest",)


edc_admin_site.register(Site, SiteAdmin)
edc_admin_site.register(Staff, StaffAdmin)
edc_admin_site.register(SiteMembership, SiteMembershipAdmin)
edc_admin_site.register(ApiToken, ApiTokenAdmin)
