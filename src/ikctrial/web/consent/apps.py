"""Django app configuration of informed consent."""

from __future__ import annotations

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    """The ``consent`` app."""

    name = "ikctrial.web.consent"
    label = "consent"
    verbose_name = "Informed consent"
    default_auto_field = "django.db.models.BigAutoField"
