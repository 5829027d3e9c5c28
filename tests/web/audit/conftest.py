"""A probe model with one field of each kind, created in the test database next to the real ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, models

from ikctrial.web.audit.models import AuditedModel, AuditEvent

TABLE = AuditEvent._meta.db_table


class AuditProbe(AuditedModel):
    """Test-only audited model: every value type the trail must record exactly."""

    name = models.CharField(max_length=40, unique=True)
    count = models.IntegerField(default=0)
    ratio = models.FloatField(null=True)
    dose_mg = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    seen_on = models.DateField(null=True)
    seen_at = models.DateTimeField(null=True)
    flag = models.BooleanField(default=False)
    extra = models.JSONField(default=dict)
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE, related_name="children")

    class Meta:
        app_label = "audit"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    """Create the probe's table once in the test database."""
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.create_model(AuditProbe)


@contextmanager
def _trigger_disabled() -> Iterator[None]:
    """Let raw SQL edit the trail, as only a table owner or superuser could on PostgreSQL."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_event_immutable")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_event_immutable")


@pytest.fixture
def tamper() -> Callable[[str, list[Any]], None]:
    """Run raw SQL against the trail behind the application's back (the attacker's view)."""

    def run(sql: str, params: list[Any]) -> None:
        with _trigger_disabled(), connection.cursor() as cursor:
            cursor.execute(sql, params)

    return run


@pytest.fixture
def probe() -> type[AuditProbe]:
    """The probe model class."""
    return AuditProbe
