"""URLs of the IKC product pages (mounted at the root beside the site pages)."""

from __future__ import annotations

from django.urls import include, path

from ikctrial.web.product import views

app_name = "product"

LABEL_FORMATS = ("png", "pdf")
"""The label downloads: ``label.png`` and ``label.pdf``, the URL naming the format."""

subject_patterns = [
    path("product/", views.subject_product, name="subject"),
    path("product/blood-draw/", views.blood_draw, name="blood_draw"),
    path("bedside/", views.bedside, name="bedside"),
    path("bedside/verifications/", views.bedside_verifications, name="verifications"),
    path("bedside/verify/", views.bedside_verify_view, name="verify"),
    path("bedside/check/", views.bedside_check_view, name="run_check"),
]
unit_patterns = [
    path("", views.unit_detail, name="unit"),
    path("events/", views.unit_event, name="event"),
    path("reversal/", views.unit_reversal, name="reversal"),
    path("derive/", views.unit_derive_view, name="derive"),
    path("timeline/", views.unit_timeline, name="timeline"),
    *(
        path(f"label.{fmt}", views.unit_label_file, {"fmt": fmt}, name=f"label_{fmt}")
        for fmt in LABEL_FORMATS
    ),
]
lot_patterns = [
    path("", views.lot_detail, name="lot"),
    path("qc/", views.lot_qc, name="qc"),
    path("release/", views.lot_release_view, name="release"),
]
check_patterns = [
    path("", views.check_detail, name="check"),
    path("infusion/", views.check_infusion, name="infusion"),
]

urlpatterns = [
    path("product/", views.exposure, name="exposure"),
    path("subjects/<int:subject_id>/", include(subject_patterns)),
    path("product/units/<str:unit_id>/", include(unit_patterns)),
    path("product/lots/<str:lot_id>/", include(lot_patterns)),
    path("product/bedside-checks/<int:check_id>/", include(check_patterns)),
]
