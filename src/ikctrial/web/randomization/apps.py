"""Django app configuration of randomization."""

from __future__ import annotations

from django.apps import AppConfig


class RandomizationConfig(AppConfig):
    """The ``randomization`` app."""

    name = "ikctrial.web.randomization"
    label = "randomization"
    verbose_name = "Randomization"
    default_auto_field = "django.db.models.BigAutoField"
