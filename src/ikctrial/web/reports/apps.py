"""Django app of the trial report."""

from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The report pages and the service that writes a report cut."""

    name = "ikctrial.web.reports"
    label = "reports"
    verbose_name = "Trial report"
