"""Django app configuration of the standard exports."""

from __future__ import annotations

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """The ``exports`` app."""

    name = "ikctrial.web.exports"
    label = "exports"
    verbose_name = "Standard exports"
    default_auto_field = "django.db.models.BigAutoField"
