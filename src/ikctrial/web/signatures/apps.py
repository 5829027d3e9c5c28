"""Django app configuration of electronic signatures, freeze and lock."""

from __future__ import annotations

from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    """The ``signatures`` app."""

    name = "ikctrial.web.signatures"
    label = "signatures"
    verbose_name = "Electronic signatures and lock"
    default_auto_field = "django.db.models.BigAutoField"
