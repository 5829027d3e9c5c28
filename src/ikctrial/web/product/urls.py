"""URLs of the IKC product pages (mounted at the root beside the site pages)."""

from __future__ import annotations

from django.urls import path

from ikctrial.web.product import views

app_name = "product"

urlpatterns = [
    path("product/", views.exposure, name="exposure"),
    path("subjects/<int:subject_id>/product/", views.subject_product, name="subject"),
    path("subjects/<int:subject_id>/product/blood-draw/", views.blood_draw, name="blood_draw"),
    path("subjects/<int:subject_id>/bedside/", views.bedside, name="bedside"),
    path(
        "subjects/<int:subject_id>/bedside/verifications/",
        views.bedside_verifications,
        name="verifications",
    ),
    path("subjects/<int:subject_id>/bedside/verify/", views.bedside_verify_view, name="verify"),
    path("subjects/<int:subject_id>/bedside/check/", views.bedside_check_view, name="run_check"),
    path("product/units/<str:unit_id>/", views.unit_detail, name="unit"),
    path("product/units/<str:unit_id>/events/", views.unit_event, name="event"),
    path("product/units/<str:unit_id>/reversal/", views.unit_reversal, name="reversal"),
    path("product/units/<str:unit_id>/derive/", views.unit_derive_view, name="derive"),
    path("product/units/<str:unit_id>/timeline/", views.unit_timeline, name="timeline"),
    path(
        "product/units/<str:unit_id>/label.png",
        views.unit_label_file,
        {"fmt": "png"},
        name="label_png",
    ),
    path(
        "product/units/<str:unit_id>/label.pdf",
        views.unit_label_file,
        {"fmt": "pdf"},
        name="label_pdf",
    ),
    path("product/lots/<str:lot_id>/", views.lot_detail, name="lot"),
    path("product/lots/<str:lot_id>/qc/", views.lot_qc, name="qc"),
    path("product/lots/<str:lot_id>/release/", views.lot_release_view, name="release"),
    path("product/bedside-checks/<int:check_id>/", views.check_detail, name="check"),
    path(
        "product/bedside-checks/<int:check_id>/infusion/",
        views.check_infusion,
        name="infusion",
    ),
]
