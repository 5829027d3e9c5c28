"""A save of a row read under a lock records its old values without reading the row again.

The old values must still be the stored ones: after another write of the row in the transaction,
after a rolled-back savepoint, in a later transaction, or for a read without a lock, the save
reads the row again.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.audit.services import verify_chain

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["ikctrial.web.audit"])


class _RolledBackError(Exception):
    """Raised to roll a savepoint back."""


def _locked_read_rolled_back(probe: Any, pk: int) -> Any:
    """The row read under a lock inside a savepoint that is then rolled back."""
    loaded = None
    try:
        with transaction.atomic():
            loaded = probe.objects.select_for_update().get(pk=pk)
            raise _RolledBackError
    except _RolledBackError:
        return loaded


def _probe_reads(captured: CaptureQueriesContext, table: str) -> int:
    """SELECTs of the probe table among the captured statements."""
    return sum(
        1
        for query in captured.captured_queries
        if query["sql"].lstrip().upper().startswith("SELECT") and table in query["sql"]
    )


def _last_changes() -> dict[str, list[Any]]:
    return AuditEvent.objects.filter(model="audit.auditprobe").order_by("-id").first().changes


@pytest.fixture
def row(probe: Any) -> Any:
    with audit_context(actor="ana"):
        return probe.objects.create(name="p1", count=1, extra={"a": 1})


@pytest.mark.parametrize(
    ("lock", "reads"),
    [(True, 0), (False, 1)],
    ids=["locked read: not read again", "plain read: read again"],
)
def test_save_after_a_read_reads_the_row_again_unless_it_was_locked(
    probe: Any, row: Any, lock: bool, reads: int
) -> None:
    """Only a read under a lock in the same transaction stands for the stored row."""
    table = probe._meta.db_table
    with audit_context(actor="bob", reason="re-read"), transaction.atomic():
        rows = probe.objects.select_for_update() if lock else probe.objects.all()
        loaded = rows.get(pk=row.pk)
        loaded.count = 2
        with CaptureQueriesContext(connection) as captured:
            loaded.save()
    assert _probe_reads(captured, table) == reads
    assert _last_changes() == {"count": [1, 2]}


def test_in_place_change_of_a_locked_json_value_is_recorded(probe: Any, row: Any) -> None:
    """The remembered values are a copy: mutating the loaded JSON does not change the "before"."""
    with audit_context(actor="bob", reason="re-read"), transaction.atomic():
        loaded = probe.objects.select_for_update().get(pk=row.pk)
        loaded.extra["a"] = 2
        loaded.save()
    assert _last_changes() == {"extra": [{"a": 1}, {"a": 2}]}


def test_a_save_of_the_row_in_the_transaction_is_seen(probe: Any, row: Any) -> None:
    """A stale locked instance saved after another save of the row records what that one left."""
    with audit_context(actor="bob", reason="re-read"), transaction.atomic():
        first = probe.objects.select_for_update().get(pk=row.pk)
        second = probe.objects.select_for_update().get(pk=row.pk)
        second.count = 5
        second.save()
        first.name = "p2"
        first.save()
    assert _last_changes() == {"count": [5, 1], "name": ["p1", "p2"]}
    assert verify_chain().ok


def test_a_queryset_update_of_the_row_in_the_transaction_is_seen(probe: Any, row: Any) -> None:
    """A locked instance saved after a queryset update of its row records the updated values."""
    with audit_context(actor="bob", reason="re-read"), transaction.atomic():
        loaded = probe.objects.select_for_update().get(pk=row.pk)
        probe.objects.filter(pk=row.pk).update(flag=True)
        loaded.count = 2
        loaded.save()
    assert _last_changes() == {"count": [1, 2], "flag": [True, False]}


def test_a_rolled_back_savepoint_forgets_the_rows_read_inside_it(probe: Any, row: Any) -> None:
    """Rows read under a lock inside a rolled-back savepoint are read again at the save."""
    table = probe._meta.db_table
    with audit_context(actor="bob", reason="re-read"), transaction.atomic():
        loaded = _locked_read_rolled_back(probe, row.pk)
        loaded.count = 3
        with CaptureQueriesContext(connection) as captured:
            loaded.save()
    assert _probe_reads(captured, table) == 1
    assert _last_changes() == {"count": [1, 3]}


def test_a_row_locked_in_an_earlier_transaction_is_read_again(probe: Any, row: Any) -> None:
    """After the commit the lock is gone: a change another client committed since is recorded."""
    with audit_context(actor="bob", reason="re-read"):
        with transaction.atomic():
            loaded = probe.objects.select_for_update().get(pk=row.pk)
        with connection.cursor() as cursor:  # another program, behind the application's back
            table = connection.ops.quote_name(probe._meta.db_table)
            cursor.execute(f"UPDATE {table} SET count = 7 WHERE id = %s", [row.pk])
        loaded.flag = True
        loaded.save()
    assert _last_changes() == {"count": [7, 1], "flag": [False, True]}
