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
    ("query", "binding", "threshold"),
    [
        ("", True, 5),
        ("?prepare_threshold=2", True, 2),
        ("?server_side_binding=false&prepare_threshold=none", False, None),
        ("?server_side_binding=TRUE&sslmode=require", True, 5),
    ],
)
def test_postgresql_prepares_repeated_statements(
    query: str, binding: bool, threshold: int | None
) -> None:
    """Server-side binding and prepared statements by default; the URL's query may turn them off."""
    options = database_from_url(f"postgresql://postgres@127.0.0.1:5432/trial{query}")["OPTIONS"]
    assert options["server_side_binding"] is binding
    assert options["prepare_threshold"] == threshold
    assert options.get("sslmode", "require") == "require"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://u@h/db", "the scheme must be"),
        ("postgresql://u@h:5432/", "database name is missing"),
        ("postgresql://u@h:5432/db?prepare_threshold=often", "expected a number"),
        ("sqlite://host/x.sqlite3", "expected sqlite:///path.sqlite3"),
    ],
)
def test_bad_urls_are_input_errors(url: str, problem: str) -> None:
    """An unusable URL names the variable and the problem."""
    with pytest.raises(InputError) as caught:
        database_from_url(url)
    assert caught.value.field == "IKCTRIAL_DATABASE_URL"
    assert problem in caught.value.problem
