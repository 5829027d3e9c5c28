"""Django app configuration of the case report forms."""

from __future__ import annotations

from django.apps import AppConfig


class CrfConfig(AppConfig):
    """The ``crf`` app."""

    name = "ikctrial.web.crf"
    label = "crf"
    verbose_name = "Case report forms"
    default_auto_field = "django.db.models.BigAutoField"
