"""URLs of the site pages (mounted at the root; the API keeps ``/api/v1/``)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter, reverse_lazy

from ikctrial.web.pages import casebook, review, views

app_name = "pages"
register_converter(casebook.CrfFormConverter, "crf_form")

subject_patterns = [
    path("", views.subject_detail, name="subject"),
    path("consent/", views.consent, name="consent"),
    path("randomize/", views.randomize, name="randomize"),
    # The casebook (pages.casebook)
    path("crf/<crf_form:form>/", casebook.crf_list, name="crf_list"),
    path("crf/<crf_form:form>/new/", casebook.crf_create, name="crf_new"),
    path("crf/<crf_form:form>/<int:record_id>/", casebook.crf_edit, name="crf_edit"),
    # Tumor assessments, queries, e-signatures and lock (pages.review)
    path("tumor/", review.tumor_list, name="tumor_list"),
    path("tumor/new/", review.tumor_assessment, name="tumor_new"),
    path("tumor/<int:assessment_id>/", review.tumor_assessment, name="tumor_assessment"),
    path("tumor/preview/", review.tumor_preview, name="tumor_preview"),
    path("tumor/<int:assessment_id>/preview/", review.tumor_preview, name="tumor_preview_of"),
    path(
        "tumor/<int:assessment_id>/disagree/<str:criteria>/",
        review.tumor_disagree,
        name="tumor_disagree",
    ),
    path("queries/new/", review.query_new, name="query_new"),
    path("signatures/", review.signatures, name="signatures"),
    path("sign/", review.subject_signed_act, {"act": "sign"}, name="casebook_sign"),
    path("lock/", review.subject_signed_act, {"act": "lock"}, name="subject_lock"),
]
"""The pages of one subject, below ``subjects/<subject_id>/``."""

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="pages/login.html", next_page=reverse_lazy("pages:dashboard")
        ),
        name="login",
    ),
    path(
        "accounts/logout/",
        auth_views.LogoutView.as_view(next_page=reverse_lazy("pages:login")),
        name="logout",
    ),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="pages/password_change.html",
            success_url=reverse_lazy("pages:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="pages/password_change_done.html"),
        name="password_change_done",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("subjects/", views.subject_list, name="subjects"),
    path("subjects/<int:subject_id>/", include(subject_patterns)),
    path("sites/<str:site_code>/screen/", views.screening, name="screening"),
    path("sites/<str:site_code>/screen/check/", views.screening_check, name="screening_check"),
    path("queries/", review.query_list, name="queries"),
    path("queries/<int:query_id>/", review.query_detail, name="query"),
    *(
        path(
            f"queries/<int:query_id>/{step}/",
            review.query_step,
            {"step": step},
            name=f"query_{step}",
        )
        for step in review.QUERY_STEPS
    ),
    path("study/lock/", review.study_lock, name="study_lock"),
    path("review/", review.reader_list, name="reader_list"),
    path("review/<int:subject_id>/", review.reader_read, name="reader_subject"),
    path("review/<int:subject_id>/reads/<int:read_id>/", review.reader_read, name="reader_read"),
]
