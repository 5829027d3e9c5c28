"""Django app configuration of the site pages."""

from __future__ import annotations

from django.apps import AppConfig


class PagesConfig(AppConfig):
    """The ``pages`` app: templates, static files and translations of the site web pages."""

    name = "ikctrial.web.pages"
    label = "pages"
    verbose_name = "Site pages"
