"""Rows this transaction read under a row lock, as the trail records them: a save's "before".

An audited save must record the old values, i.e. the row as stored just before its UPDATE. When
the caller read that row with ``select_for_update()`` earlier in the same transaction, nobody else
can have changed it since (PostgreSQL holds the row lock until commit; SQLite's IMMEDIATE
transaction holds the whole database), so reading it again would be a wasted round trip. The
audited queryset remembers such rows here and the save takes the old values from here.

A remembered row is used only while it is provably what is stored:

- its on-commit marker is still pending: same transaction, and no ``atomic`` savepoint around the
  read was rolled back (which would also release a lock taken inside it);
- no audited write touched the row since: every save, update and delete forgets the rows it wrote
  (a second save of the same row in the transaction reads it again).

Anything else (not remembered, or no longer valid) falls back to reading the locked row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, transaction

from ikctrial.web.audit.chain import Marker, marker_pending

Key = tuple[str, str]


def _rows(using: str) -> dict[Key, tuple[Marker, Mapping[str, Any]]]:
    connection = connections[using]
    rows: dict[Key, tuple[Marker, Mapping[str, Any]]] | None = getattr(
        connection, "ikctrial_locked_rows", None
    )
    if rows is None:
        rows = connection.ikctrial_locked_rows = {}
    return rows


def remember(using: str, model: str, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Remember rows just read under a lock in the current transaction (``(pk, values)`` pairs)."""
    if not connections[using].in_atomic_block:
        return
    remembered = _rows(using)
    if remembered:
        marker, _ = next(iter(remembered.values()))
        if not marker_pending(using, marker):
            remembered.clear()  # left over from an earlier transaction
    marker = Marker()
    transaction.on_commit(marker, using=using)
    for pk, values in rows:
        remembered.pop((model, pk), None)  # keep insertion order = read order
        remembered[(model, pk)] = (marker, values)


def take(using: str, model: str, pk: str) -> Mapping[str, Any] | None:
    """The stored values of a row about to be written, if still valid; forgets the row."""
    found = _rows(using).pop((model, pk), None)
    if found is None or not marker_pending(using, found[0]):
        return None
    return found[1]


def forget(using: str, model: str, pks: Iterable[str]) -> None:
    """Forget rows an audited write changed or deleted."""
    remembered = _rows(using)
    for pk in pks:
        remembered.pop((model, pk), None)
