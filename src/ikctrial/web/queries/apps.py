"""Django app configuration of data queries."""

from __future__ import annotations

from django.apps import AppConfig


class QueriesConfig(AppConfig):
    """The ``queries`` app."""

    name = "ikctrial.web.queries"
    label = "queries"
    verbose_name = "Data queries"
    default_auto_field = "django.db.models.BigAutoField"
