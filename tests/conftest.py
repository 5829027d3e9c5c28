"""Project-wide test configuration: PostgreSQL-only tests run only against PostgreSQL.

Tests marked ``postgres`` skip when the configured database is not PostgreSQL (the default SQLite
pass); ``tests/test_postgres_suite.py`` reruns the web suite against PostgreSQL, where they run.
"""

from __future__ import annotations

import pytest


def _database_vendor() -> str | None:
    try:
        from django.conf import settings

        engine = str(settings.DATABASES["default"]["ENGINE"])
    except Exception:  # Django not configured for this run: no database at all
        return None
    return "postgresql" if "postgresql" in engine else engine.rsplit(".", 1)[-1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests on other databases (they run in the PostgreSQL pass)."""
    if _database_vendor() == "postgresql":
        return
    skip = pytest.mark.skip(
        reason="PostgreSQL only: runs in the PostgreSQL pass (test_postgres_suite)"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
