"""Django app configuration of the IKC product (chain of identity, custody, release, infusion)."""

from __future__ import annotations

from django.apps import AppConfig


class ProductConfig(AppConfig):
    """The ``product`` app."""

    name = "ikctrial.web.product"
    label = "product"
    verbose_name = "IKC product"
    default_auto_field = "django.db.models.BigAutoField"
