"""URL configuration: the REST API under ``/api/v1/``, the site pages at the root."""

from __future__ import annotations

from django.urls import include, path

from ikctrial.web.api import api

urlpatterns = [path("api/v1/", api.urls), path("", include("ikctrial.web.pages.urls"))]
