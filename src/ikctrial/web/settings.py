"""Django settings, all from the environment (twelve-factor), so one build runs every site.

- ``IKCTRIAL_DATABASE_URL``: ``sqlite:///path.sqlite3`` or ``postgresql://user@host:port/db``;
  default a SQLite file ``ikctrial.sqlite3`` in the working directory.
- ``IKCTRIAL_DB_POOL=1``: use Django's psycopg 3 connection pool (``ikctrial serve`` sets it for
  threaded workers; sync workers keep one persistent connection each).
- ``IKCTRIAL_SECRET_KEY``: set it in production, so sessions and CSRF tokens survive a restart;
  without it ``ikctrial serve`` draws one random key shared by its workers, and any other process
  its own (nothing signed then outlives the process).
- ``IKCTRIAL_ALLOWED_HOSTS``: comma-separated (default ``localhost,127.0.0.1,[::1],testserver``).
- ``IKCTRIAL_DEBUG``: ``1``/``true`` for development.
- ``IKCTRIAL_STATIC_ROOT``: where ``collectstatic`` writes, if used (static files are served from
  the apps by WhiteNoise without it).
- ``IKCTRIAL_REPORT_DIR``: where report cuts made on the web pages are written (default
  ``ikctrial-reports`` in the working directory).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ikctrial.web.database import database_from_url


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("IKCTRIAL_DEBUG")
SECRET_KEY = os.environ.get("IKCTRIAL_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get(
        "IKCTRIAL_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver"
    ).split(",")
    if host.strip()
]

INSTALLED_APPS = [
    # The admin is mounted as ikctrial.web.audit.admin.edc_admin_site (audited, admin role only).
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ikctrial.web.audit",
    "ikctrial.web.sites",
    "ikctrial.web.subjects",
    "ikctrial.web.consent",
    "ikctrial.web.randomization",
    "ikctrial.web.crf",
    "ikctrial.web.queries",
    "ikctrial.web.signatures",
    "ikctrial.web.central_review",
    "ikctrial.web.product",
    "ikctrial.web.exports",
    "ikctrial.web.reports",
    "ikctrial.web.pages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ikctrial.web.middleware.ApiJsonErrorsMiddleware",
    "ikctrial.web.middleware.RefuseNulParametersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ikctrial.web.pages.middleware.SiteTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ikctrial.web.urls"
WSGI_APPLICATION = "ikctrial.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("IKCTRIAL_DATABASE_URL"), pool=_flag("IKCTRIAL_DB_POOL")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The pages speak English and Traditional Chinese (the sites are in Taiwan); each user chooses.
LANGUAGES = [("en", "English"), ("zh-hant", "繁體中文")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The server (gunicorn under ``ikctrial serve``) serves its own static files through WhiteNoise,
# straight from the apps' static folders (the finders): no ``collectstatic`` step, no web server in
# front needed. ``collectstatic`` still works (into STATIC_ROOT) for a deployment that wants it.
STATIC_ROOT = os.environ.get("IKCTRIAL_STATIC_ROOT") or None

IKCTRIAL_REPORT_DIR = Path(os.environ.get("IKCTRIAL_REPORT_DIR") or Path.cwd() / "ikctrial-reports")
"""Where report cuts made from the web pages are written, one folder per cut."""
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
