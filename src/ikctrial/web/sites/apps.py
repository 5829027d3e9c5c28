"""Django app configuration of sites, staff and tokens."""

from __future__ import annotations

from django.apps import AppConfig


class SitesConfig(AppConfig):
    """The ``sites`` app."""

    name = "ikctrial.web.sites"
    label = "sites"
    verbose_name = "Sites, staff and tokens"
    default_auto_field = "django.db.models.BigAutoField"
