"""Django app configuration of the blinded independent central review."""

from __future__ import annotations

from django.apps import AppConfig


class CentralReviewConfig(AppConfig):
    """The ``central_review`` app."""

    name = "ikctrial.web.central_review"
    label = "central_review"
    verbose_name = "Blinded independent central review"
    default_auto_field = "django.db.models.BigAutoField"
