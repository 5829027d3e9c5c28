"""IKCTRIAL_DATABASE_URL -> Django DATABASES entry (interfaces.md "Web service and REST API")."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikctrial.errors import InputError
from ikctrial.web.database import database_from_url


def test_default_is_sqlite_file_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No URL: ikctrial.sqlite3 in the working directory, IMMEDIATE transactions."""
    monkeypatch.chdir(tmp_path)
    settings = database_from_url(None)
    assert settings["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["NAME"] == str(tmp_path / "ikctrial.sqlite3")
    assert settings["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sqlite:///trial.sqlite3", "trial.sqlite3"),
        ("sqlite:////var/lib/ikctrial/trial.sqlite3", "/var/lib/ikctrial/trial.sqlite3"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, name: str) -> None:
    """sqlite:///relative and sqlite:////absolute paths."""
    assert database_from_url(url)["NAME"] == name


def test_postgresql_url_and_pool() -> None:
    """postgresql://user:password@host:port/db (percent-decoded); pool only when asked."""
    settings = database_from_url("postgresql://ikc%40site:s3cr%2Ft@db.example:6543/trial")
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert (settings["USER"], settings["PASSWORD"]) == ("ikc@site", "s3cr/t")
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == ("db.example", "6543", "trial")
    assert "pool" not in settings["OPTIONS"]
    pooled = database_from_url("postgresql://postgres@127.0.0.1:5432/trial", pool=True)
    assert pooled["OPTIONS"]["pool"] is True
    assert pooled["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://u@h/db", "the scheme must be"),
        ("postgresql://u@h:5432/", "database name is missing"),
        ("sqlite://host/x.sqlite3", "expected sqlite:///path.sqlite3"),
    ],
)
def test_bad_urls_are_input_errors(url: str, problem: str) -> None:
    """An unusable URL names the variable and the problem."""
    with pytest.raises(InputError) as caught:
        database_from_url(url)
    assert caught.value.field == "IKCTRIAL_DATABASE_URL"
    assert problem in caught.value.problem
