"""URLs of the report pages (mounted at the root beside the site pages)."""

from __future__ import annotations

from django.urls import path

from ikctrial.web.reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_list, name="list"),
    path("reports/latest/", views.report_latest, name="latest"),
    path("reports/<int:cut_id>/<str:name>", views.report_download, name="file"),
]
