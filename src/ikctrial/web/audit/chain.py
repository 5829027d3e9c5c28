"""The hash chain: canonical event form, SHA-256 hashing, and serialized appends.

Each event stores ``prev_hash`` (the hash of the event before it in its chain) and ``hash``
(SHA-256 over the canonical JSON of the event, ``prev_hash`` included), so editing, inserting or
deleting an event in the middle breaks every link after it, which ``verify_chain`` reports.

Throughput design. Appending needs the chain head (last sequence and hash), so appends to one chain
must be serialized, and the lock that serializes them is held until the writing transaction commits
(a reader must see the previous append before computing its own). One chain-head lock therefore
queues every writer behind every other writer's commit (fsync included): with more than about four
workers they mostly wait. Instead the trail is split into ``IKCTRIAL_AUDIT_CHAINS`` (default 8)
independent chains ("lanes"), each with its own per-chain ``sequence``:

- On PostgreSQL a transaction takes the first free lane and reads its head in one round trip
  (the ``audit_chain_lane`` function: ``pg_try_advisory_xact_lock`` over the lanes, starting at a
  random one, falling back to waiting for one lane only when all are busy, then the head read in a
  fresh snapshot), and inserts. So up to N writers append at the same time, and their commits share
  WAL flushes. The lock is taken only after the data write, just before the audit insert: it
  covers lock, head read, insert, commit.
- On SQLite the database-wide write lock already serializes writers (the data write precedes the
  head read, so the head read happens under it); one lane is used. Use SQLite's IMMEDIATE
  transaction mode so two writers never read the same head.

Within one transaction the lane and head are remembered (so several saves cost one lock and one head
read), keyed to Django's on-commit bookkeeping so that a rolled-back savepoint or transaction
forgets them. A unique constraint on (chain, sequence) turns any fork into an error, never a silent
branch. Timestamps are server UTC; the global order of events is their ``id``.
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connections, transaction

GENESIS_HASH = "0" * 64
DEFAULT_CHAINS = 8
# First key of the two-key advisory lock, so the lanes never collide with other advisory locks.
_LOCK_NAMESPACE = zlib.crc32(b"ikctrial.audit.chain") & 0x7FFFFFFF

# The first free lane from a random start, and its head (migration audit 0003).
_LANE_SQL = "SELECT lane, last_sequence, last_hash FROM audit_chain_lane(%s, %s, %s)"


def audit_value(value: Any) -> Any:
    """A field value as recorded in the trail: JSON that round-trips exactly through any database.

    Non-integer numbers are kept as their decimal text (PostgreSQL ``jsonb`` would otherwise rewrite
    ``1e+16`` as an integer and break the hash); dates and times as ISO 8601.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): audit_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [audit_value(v) for v in value]
    return str(value)


def canonical_timestamp(moment: datetime) -> str:
    """The timestamp as hashed: UTC, microseconds, ISO 8601."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an event (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_payload(
    *,
    chain: int,
    sequence: int,
    timestamp: datetime,
    actor: str,
    source: str,
    action: str,
    model: str,
    object_pk: str,
    changes: Mapping[str, Any],
    reason: str,
    prev_hash: str,
) -> dict[str, Any]:
    """The hashed content of one event: everything stored except its own hash and row id."""
    return {
        "chain": chain,
        "sequence": sequence,
        "timestamp": canonical_timestamp(timestamp),
        "actor": actor,
        "source": source,
        "action": action,
        "model": model,
        "object_pk": object_pk,
        "changes": changes,
        "reason": reason,
        "prev_hash": prev_hash,
    }


@dataclass(frozen=True)
class PendingEvent:
    """One change to record: what happened to which record, as ``{field: [old, new]}``."""

    action: str
    model: str
    object_pk: str
    changes: dict[str, list[Any]]


@dataclass
class _Head:
    """The chain head as left by one append, valid while its on-commit marker is pending."""

    marker: Marker
    chain: int
    sequence: int
    hash: str


class Marker:
    """A no-op on-commit callback whose presence tells that the writes since it still stand."""

    def __call__(self) -> None:
        """Nothing to do at commit."""


def marker_pending(using: str, marker: Marker) -> bool:
    """Whether the marker is still registered: same transaction, its savepoint not rolled back."""
    return any(entry[1] is marker for entry in reversed(connections[using].run_on_commit))


@dataclass
class _TransactionState:
    """Per-connection record of this transaction's appends (heads) and created records.

    A rolled-back savepoint drops the on-commit callbacks registered inside it, i.e. a suffix of
    the markers, so validity is monotone: the heads are trimmed from the end until the newest one's
    marker is still pending (usually one check, scanning Django's list from its end).
    """

    heads: list[_Head] = field(default_factory=list)
    created: dict[tuple[str, str], int] = field(default_factory=dict)  # record -> head index

    def trim(self, using: str) -> None:
        """Forget the appends (and creations) of rolled-back savepoints or transactions."""
        kept = len(self.heads)
        while kept and not marker_pending(using, self.heads[kept - 1].marker):
            kept -= 1
        if kept < len(self.heads):
            del self.heads[kept:]
            self.created = {key: i for key, i in self.created.items() if i < kept}


def _state(using: str) -> _TransactionState:
    """This transaction's audit state on the connection (appends of rolled-back work removed)."""
    connection = connections[using]
    state: _TransactionState | None = getattr(connection, "ikctrial_audit_state", None)
    if state is None:
        state = connection.ikctrial_audit_state = _TransactionState()
    state.trim(using)
    return state


def created_in_transaction(using: str, model: str, object_pk: str) -> bool:
    """Whether the record was created in the current transaction (its "first save")."""
    return (model, object_pk) in _state(using).created


def chain_count() -> int:
    """The number of parallel chains new events are spread over (setting IKCTRIAL_AUDIT_CHAINS)."""
    return max(1, int(getattr(settings, "IKCTRIAL_AUDIT_CHAINS", DEFAULT_CHAINS)))


def _acquire_head(using: str) -> tuple[int, int, str]:
    """Lock a chain for this transaction and return (chain, last sequence, last hash)."""
    from ikctrial.web.audit.models import AuditEvent

    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            lanes = chain_count()
            cursor.execute(_LANE_SQL, [random.randrange(lanes), lanes, _LOCK_NAMESPACE])
            chain, sequence, last_hash = cursor.fetchone()
            return int(chain), int(sequence or 0), str(last_hash or GENESIS_HASH)
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT {quote('sequence')}, {quote('hash')} FROM {quote(AuditEvent._meta.db_table)} "
            f"WHERE {quote('chain')} = 0 ORDER BY {quote('sequence')} DESC LIMIT 1"
        )
        last = cursor.fetchone()
    return (0, int(last[0]), str(last[1])) if last else (0, 0, GENESIS_HASH)


def _insert(using: str, rows: list[dict[str, Any]]) -> None:
    """Insert event rows, as few statements as the database's parameter limit allows.

    Plain SQL rather than ``bulk_create``: no keys are returned (nothing reads them back), and the
    statement costs one round trip with no ORM compilation on the hot path of every write.
    """
    from ikctrial.web.audit.models import AuditEvent

    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [AuditEvent._meta.get_field(name) for name in rows[0]]
    columns = ", ".join(quote(field.column) for field in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch = max(1, connection.ops.bulk_batch_size(fields, rows))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            params = [
                field.get_db_prep_save(row[field.name], connection)
                for row in chunk
                for field in fields
            ]
            cursor.execute(
                f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row_sql] * len(chunk))}",
                params,
            )


def append_events(
    events: Iterable[PendingEvent], *, using: str, actor: str, source: str, reason: str
) -> None:
    """Append events to the trail inside the caller's transaction (which holds the data write)."""
    pending = list(events)
    if not pending:
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("audit events must be appended inside the data write's transaction")
    state = _state(using)
    if state.heads:
        last = state.heads[-1]
        chain, sequence, previous = last.chain, last.sequence, last.hash
    else:
        chain, sequence, previous = _acquire_head(using)
    now = datetime.now(UTC)
    rows = []
    created = []
    for event in pending:
        sequence += 1
        payload = event_payload(
            chain=chain,
            sequence=sequence,
            timestamp=now,
            actor=actor,
            source=source,
            action=event.action,
            model=event.model,
            object_pk=event.object_pk,
            changes=event.changes,
            reason=reason,
            prev_hash=previous,
        )
        previous = event_hash(payload)
        rows.append({**payload, "timestamp": now, "hash": previous})
        if event.action == "create":
            created.append((event.model, event.object_pk))
    _insert(using, rows)
    marker = Marker()
    transaction.on_commit(marker, using=using)
    state.created.update(dict.fromkeys(created, len(state.heads)))
    state.heads.append(_Head(marker=marker, chain=chain, sequence=sequence, hash=previous))
