"""Every write path of an audited model leaves an audit event (domain.md 9.2, 21 CFR 11.10(e))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from ikctrial.web.audit.context import AuditContextMissingError, audit_context
from ikctrial.web.audit.models import (
    AuditedOperationRefusedError,
    AuditEvent,
    ReasonRequiredError,
)
from ikctrial.web.audit.services import verify_chain

# Each block commits on its own, as in production (the "first save" is the creating transaction).
pytestmark = pytest.mark.django_db(transaction=True, available_apps=["ikctrial.web.audit"])


def _events(model: str = "audit.auditprobe") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(model=model).order_by("id"))


def test_create_records_every_field_as_new_value(probe: Any) -> None:
    """11.10(e): a create records who, when and every initial value."""
    with audit_context(actor="ana", source="api"):
        row = probe.objects.create(
            name="p1",
            ratio=1e16,
            dose_mg=Decimal("12.50"),
            seen_on=dt.date(2026, 3, 2),
            seen_at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
            extra={"labs": {"albumin": 3.5}},
        )
    (event,) = _events()
    assert (event.action, event.actor, event.source, event.object_pk) == (
        "create",
        "ana",
        "api",
        str(row.pk),
    )
    assert event.changes["name"] == [None, "p1"]
    assert event.changes["ratio"] == [None, "1e+16"]
    assert event.changes["dose_mg"] == [None, "12.50"]
    assert event.changes["seen_on"] == [None, "2026-03-02"]
    assert event.changes["seen_at"] == [None, "2026-03-02T09:30:00+00:00"]
    assert event.changes["extra"] == [None, {"labs": {"albumin": "3.5"}}]
    assert event.timestamp.utcoffset() == dt.timedelta(0)
    assert verify_chain().ok


def test_update_records_old_and_new_values_with_reason(probe: Any) -> None:
    """ICH E6(R3) 4: a correction keeps the old value, the new value and the reason."""
    with audit_context(actor="ana"):
        row = probe.objects.create(name="p1", count=1)
    stale = probe.objects.get(pk=row.pk)
    with audit_context(actor="bob", reason="transcription error"):
        row.count = 2
        row.save()
    update = _events()[-1]
    assert (update.action, update.actor, update.reason) == ("update", "bob", "transcription error")
    assert update.changes == {"count": [1, 2]}
    with audit_context(actor="bob", reason="second look"):
        stale.flag = True
        stale.save()
    # The old value comes from the database row, not from the stale instance.
    assert _events()[-1].changes == {"count": [2, 1], "flag": [False, True]}


def test_change_after_first_save_without_reason_is_refused(probe: Any) -> None:
    """domain.md 9.2: a reason is required for every change after the first save."""
    with audit_context(actor="ana"):
        row = probe.objects.create(name="p1")
    row.count = 5
    with audit_context(actor="ana"), pytest.raises(ReasonRequiredError, match="reason"):
        row.save()
    assert probe.objects.get(pk=row.pk).count == 0
    with audit_context(actor="ana"), pytest.raises(ReasonRequiredError):
        row.delete()
    assert probe.objects.filter(pk=row.pk).exists()
    assert len(_events()) == 1


def test_changes_inside_the_creating_transaction_need_no_reason(probe: Any) -> None:
    """The first save is the creating transaction: completing the record there is not a change."""
    with audit_context(actor="ana"), transaction.atomic():
        row = probe.objects.create(name="p1")
        row.count = 3
        row.save()
    assert [e.action for e in _events()] == ["create", "update"]


def test_write_outside_audit_context_is_refused(probe: Any) -> None:
    """ALCOA attributable: no actor, no write."""
    with pytest.raises(AuditContextMissingError):
        probe.objects.create(name="p1")
    assert not probe.objects.exists()


def test_unchanged_save_records_nothing(probe: Any) -> None:
    """Saving a record without changes is not a change: no event, no reason needed."""
    with audit_context(actor="ana"):
        row = probe.objects.create(name="p1")
        row.save()
    assert len(_events()) == 1


def test_bulk_create_records_one_event_per_row(probe: Any) -> None:
    """Bulk inserts are audited row by row."""
    with audit_context(actor="loader", source="import"):
        rows = probe.objects.bulk_create([probe(name=f"b{i}", count=i) for i in range(5)])
    events = _events()
    assert [e.object_pk for e in events] == [str(r.pk) for r in rows]
    assert {e.source for e in events} == {"import"}
    assert verify_chain().ok


def test_bulk_create_with_conflict_handling_is_refused(probe: Any) -> None:
    """What an upsert-in-bulk did to each row is unknown, so it cannot be audited."""
    with audit_context(actor="ana"), pytest.raises(AuditedOperationRefusedError):
        probe.objects.bulk_create([probe(name="x")], ignore_conflicts=True)
    assert not probe.objects.exists()


def test_queryset_update_and_bulk_update_record_each_changed_row(probe: Any) -> None:
    """``QuerySet.update`` and ``bulk_update`` write one update event per changed row."""
    with audit_context(actor="ana"):
        rows = probe.objects.bulk_create([probe(name=f"u{i}", count=i) for i in range(4)])
    with audit_context(actor="ana"), pytest.raises(ReasonRequiredError):
        probe.objects.filter(count__gte=2).update(flag=True)
    assert not probe.objects.filter(flag=True).exists()
    with audit_context(actor="dm", reason="query 17 resolved"):
        assert probe.objects.filter(count__gte=2).update(flag=True) == 2
        for row in rows:
            row.count += 10
        probe.objects.bulk_update(rows, ["count"])
    updates = [e for e in _events() if e.action == "update"]
    assert [e.changes for e in updates[:2]] == [{"flag": [False, True]}] * 2
    assert sorted((e.object_pk, e.changes["count"][1]) for e in updates[2:]) == sorted(
        (str(r.pk), r.count) for r in rows
    )
    assert {e.reason for e in updates} == {"query 17 resolved"}
    assert verify_chain().ok


def test_deletes_including_cascades_record_last_values(probe: Any) -> None:
    """``delete()``, queryset deletes and cascades each leave a delete event with last values."""
    with audit_context(actor="ana"):
        parent = probe.objects.create(name="parent")
        probe.objects.create(name="child", parent=parent)
        probe.objects.create(name="lonely")
    with audit_context(actor="dm", reason="duplicate entry"):
        parent.delete()
        probe.objects.filter(name="lonely").delete()
    deletes = [e for e in _events() if e.action == "delete"]
    assert sorted(e.changes["name"][0] for e in deletes) == ["child", "lonely", "parent"]
    assert all(e.changes["name"][1] is None for e in deletes)
    assert not probe.objects.exists()
    assert verify_chain().ok


def test_rolled_back_savepoint_leaves_no_event_and_the_chain_intact(probe: Any) -> None:
    """An event written in a rolled-back savepoint disappears with it; later appends still chain."""
    with audit_context(actor="ana"), transaction.atomic():
        probe.objects.create(name="kept-1")
        try:
            with transaction.atomic():
                probe.objects.create(name="gone")
                raise RuntimeError("abort the savepoint")
        except RuntimeError:
            pass
        probe.objects.create(name="kept-2")
    assert [e.changes["name"][1] for e in _events()] == ["kept-1", "kept-2"]
    assert verify_chain().ok


def test_queryset_update_across_a_relation_is_audited(probe: Any) -> None:
    """A filter through a relation (a join) locks and audits only the updated rows."""
    with audit_context(actor="ana"):
        parent = probe.objects.create(name="parent")
        probe.objects.create(name="child", parent=parent)
    with audit_context(actor="dm", reason="site query resolved"):
        assert probe.objects.filter(parent__name="parent").update(count=9) == 1
    (update,) = [e for e in _events() if e.action == "update"]
    assert update.changes == {"count": [0, 9]}
