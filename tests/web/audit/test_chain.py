"""The hash chain detects tampering; PostgreSQL itself refuses edits of the trail (9.2)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from ikctrial.web.audit.chain import GENESIS_HASH, event_hash, event_payload
from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.audit.services import verify_chain

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["ikctrial.web.audit"])
TABLE = AuditEvent._meta.db_table


@pytest.fixture
def trail(probe: Any) -> list[AuditEvent]:
    """Twelve events: creates, corrections, a delete."""
    with audit_context(actor="ana"):
        rows = [probe.objects.create(name=f"r{i}", count=i) for i in range(6)]
    for row in rows[:5]:
        with audit_context(actor="bob", reason="source data verification"):
            row.count += 100
            row.save()
    with audit_context(actor="bob", reason="entered twice"):
        rows[5].delete()
    return list(AuditEvent.objects.order_by("id"))


def test_intact_trail_verifies(trail: list[AuditEvent]) -> None:
    """An untouched trail verifies: every hash and link checks out."""
    assert verify_chain().as_dict() == {"ok": True, "events": 12, "first_bad_event": None}


def test_empty_trail_verifies() -> None:
    """No events: nothing to contradict."""
    assert verify_chain().as_dict() == {"ok": True, "events": 0, "first_bad_event": None}


def test_every_event_links_to_the_one_before_it(trail: list[AuditEvent]) -> None:
    """Each event stores the hash of the previous event of its chain; the first, the genesis."""
    by_chain: dict[int, list[AuditEvent]] = {}
    for event in sorted(trail, key=lambda e: (e.chain, e.sequence)):
        by_chain.setdefault(event.chain, []).append(event)
    for events in by_chain.values():
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        assert [e.prev_hash for e in events] == [GENESIS_HASH] + [e.hash for e in events[:-1]]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("changes", '{"count": [3, 4]}'),
        ("reason", "a better-sounding reason"),
        ("actor", "mallory"),
        ("object_pk", "999"),
    ],
)
def test_edited_event_is_the_first_bad_event(
    trail: list[AuditEvent], column: str, value: str, tamper: Any
) -> None:
    """11.10(e): a changed field of a recorded event is detected and located."""
    target = trail[7]
    tamper(f"UPDATE {TABLE} SET {column} = %s WHERE id = %s", [value, target.id])
    assert verify_chain().as_dict() == {"ok": False, "events": 12, "first_bad_event": target.id}


def test_edit_with_recomputed_hash_breaks_the_next_link(
    trail: list[AuditEvent], tamper: Any
) -> None:
    """Recomputing the edited event's own hash does not help: the next event no longer links."""
    successors = {(e.chain, e.sequence - 1): e for e in trail}
    target = next(e for e in trail if (e.chain, e.sequence) in successors)
    fields = {name: getattr(target, name) for name in ("chain", "sequence", "timestamp", "actor")}
    forged = event_payload(
        **fields,
        source=target.source,
        action=target.action,
        model=target.model,
        object_pk=target.object_pk,
        changes={"count": [None, 42]},
        reason=target.reason,
        prev_hash=target.prev_hash,
    )
    tamper(
        f"UPDATE {TABLE} SET changes = %s, hash = %s WHERE id = %s",
        ['{"count": [null, 42]}', event_hash(forged), target.id],
    )
    following = successors[(target.chain, target.sequence)]
    assert verify_chain().as_dict() == {"ok": False, "events": 12, "first_bad_event": following.id}


def test_deleted_event_is_detected_at_its_successor(trail: list[AuditEvent], tamper: Any) -> None:
    """A removed event leaves a gap: the next event of its chain is reported."""
    ordered = sorted(trail, key=lambda e: (e.chain, e.sequence))
    victim_index = next(
        i
        for i, e in enumerate(ordered[:-1])
        if ordered[i + 1].chain == e.chain and ordered[i + 1].sequence == e.sequence + 1
    )
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [ordered[victim_index].id])
    verdict = verify_chain()
    assert (verdict.ok, verdict.events) == (False, 11)
    assert verdict.first_bad_event == ordered[victim_index + 1].id


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [f"UPDATE {TABLE} SET reason = 'x'", f"DELETE FROM {TABLE}"],
    ids=["update", "delete"],
)
def test_postgresql_refuses_update_and_delete_of_audit_rows(
    trail: list[AuditEvent], statement: str
) -> None:
    """21 CFR 11.10(e): users cannot edit or delete audit entries (enforced by the database)."""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert verify_chain().as_dict() == {"ok": True, "events": 12, "first_bad_event": None}


def test_orm_cannot_edit_the_trail_on_postgresql_either(trail: list[AuditEvent]) -> None:
    """The ORM path is refused too on PostgreSQL; elsewhere the chain catches the edit."""
    target = trail[0]
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=target.pk).update(reason="x")
        assert verify_chain().ok
    else:
        AuditEvent.objects.filter(pk=target.pk).update(reason="x")
        assert verify_chain().first_bad_event == target.id
