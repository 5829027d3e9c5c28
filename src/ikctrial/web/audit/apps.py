"""Django app configuration of the audit trail."""

from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The ``audit`` app: the audit-event table and the ``AuditedModel`` base class."""

    name = "ikctrial.web.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"
