"""URLs of the site pages (mounted at the root; the API keeps ``/api/v1/``)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from ikctrial.web.pages import views

app_name = "pages"

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
    path("subjects/<int:subject_id>/", views.subject_detail, name="subject"),
    path("subjects/<int:subject_id>/consent/", views.consent, name="consent"),
    path("subjects/<int:subject_id>/randomize/", views.randomize, name="randomize"),
    path("sites/<str:site_code>/screen/", views.screening, name="screening"),
    path("sites/<str:site_code>/screen/check/", views.screening_check, name="screening_check"),
]
