"""URL configuration: the REST API under ``/api/v1/``, the audited admin under ``/admin/``, the
site pages at the root."""

from __future__ import annotations

from django.urls import include, path

from ikctrial.web.api import api
from ikctrial.web.audit.admin import edc_admin_site

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", edc_admin_site.urls),
    path("", include("ikctrial.web.product.urls")),
    path("", include("ikctrial.web.reports.urls")),
    path("", include("ikctrial.web.pages.urls")),
]
