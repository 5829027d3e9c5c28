"""Sites, staff, site memberships and API tokens; all audited (account and role changes too)."""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from ikctrial.web.audit.models import AuditedModel
from ikctrial.web.sites.defaults import DEFAULT_SITE_TIMEZONE
from ikctrial.web.sites.permissions import Role


def validate_timezone(value: str) -> None:
    """An IANA time zone name, e.g. ``Asia/Taipei``."""
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Asia/Taipei)")


class Site(AuditedModel):
    """A participating hospital."""

    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z0-9][A-Z0-9_-]*$", "use capital letters, digits, '-' or '_' (e.g. TPE01)"
            )
        ],
    )
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default=DEFAULT_SITE_TIMEZONE, validators=[validate_timezone]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["code"]

    def __str__(self) -> str:
        return self.code


class Staff(AuditedModel):
    """A person's study account: the Django user, its one role, and whether it is active."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "staff"

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role})"


class SiteMembership(AuditedModel):
    """A staff member works at a site (and so sees its subjects)."""

    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["staff", "site"], name="sites_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.staff} at {self.site}"


class ApiToken(AuditedModel):
    """An API bearer token; only its SHA-256 digest is stored, so a database copy leaks none."""

    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}... of {self.staff}"
