"""Django app configuration of subjects and screening."""

from __future__ import annotations

from django.apps import AppConfig


class SubjectsConfig(AppConfig):
    """The ``subjects`` app."""

    name = "ikctrial.web.subjects"
    label = "subjects"
    verbose_name = "Subjects and screening"
    default_auto_field = "django.db.models.BigAutoField"
