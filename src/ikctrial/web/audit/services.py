"""Audit-trail services: verify the hash chains, export events as CSV or JSON.

Exports are generators over the streamed events of ``selectors.events_in_window`` (which also
applies allocation concealment): a trail of millions of events is written in constant memory
(the web layer wraps them in ``StreamingHttpResponse``, the CLI writes them to a file).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from ikctrial.web.audit.chain import GENESIS_HASH, canonical_timestamp, event_hash, event_payload
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.audit.selectors import CHUNK_SIZE

EXPORT_FORMATS = ("csv", "json")
CSV_COLUMNS = (
    "event_id",
    "timestamp",
    "actor",
    "source",
    "action",
    "model",
    "object_pk",
    "field",
    "old_value",
    "new_value",
    "reason",
    "chain",
    "sequence",
    "prev_hash",
    "hash",
)
_HASHED = (
    "chain",
    "sequence",
    "timestamp",
    "actor",
    "source",
    "action",
    "model",
    "object_pk",
    "changes",
    "reason",
    "prev_hash",
)


@dataclass(frozen=True)
class ChainVerdict:
    """Result of a verification: all links intact, events checked, first bad event id (or None)."""

    ok: bool
    events: int
    first_bad_event: int | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``audit verify`` and ``GET /api/v1/audit/verify``."""
        return asdict(self)


def verify_chain(*, using: str = "default") -> ChainVerdict:
    """Recompute every hash and link; report the earliest-recorded event that does not check out.

    An event is bad when its stored hash differs from the hash of its content, its ``prev_hash``
    differs from the previous event's hash in its chain, or its sequence skips or repeats a number.
    """
    rows = (
        AuditEvent.objects.using(using)
        .order_by("chain", "sequence", "id")
        .values("id", *_HASHED, "hash")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    count = 0
    bad: list[int] = []
    chain: int | None = None
    expected_sequence, previous, broken = 1, GENESIS_HASH, False
    for row in rows:
        count += 1
        if row["chain"] != chain:
            chain, expected_sequence, previous, broken = row["chain"], 1, GENESIS_HASH, False
        if not broken:
            content = event_payload(**{name: row[name] for name in _HASHED})
            if (
                row["sequence"] != expected_sequence
                or row["prev_hash"] != previous
                or event_hash(content) != row["hash"]
            ):
                bad.append(row["id"])
                broken = True
        expected_sequence, previous = row["sequence"] + 1, row["hash"]
    return ChainVerdict(ok=not bad, events=count, first_bad_event=min(bad) if bad else None)


def event_document(event: AuditEvent) -> dict[str, Any]:
    """One event as a JSON object (the API and JSON export shape)."""
    return {
        "id": event.id,
        "timestamp": canonical_timestamp(event.timestamp),
        "actor": event.actor,
        "source": event.source,
        "action": event.action,
        "model": event.model,
        "object_pk": event.object_pk,
        "changes": event.changes,
        "reason": event.reason,
        "chain": event.chain,
        "sequence": event.sequence,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def json_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    """A JSON array of events, one event per chunk."""
    yield "["
    separator = "\n"
    for event in events:
        yield separator + json.dumps(event_document(event), ensure_ascii=False, sort_keys=True)
        separator = ",\n"
    yield "\n]\n"


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """A changed value as a CSV cell: text as is, anything else as JSON (null is empty)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def csv_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    """The audit listing as CSV: one line per changed field (who, when, what, old, new, why)."""
    yield _csv_line(CSV_COLUMNS)
    for event in events:
        document = event_document(event)
        changes = event.changes or {"": [None, None]}
        for name, (old, new) in sorted(changes.items()):
            cells = {**document, "event_id": event.id, "field": name}
            cells |= {"old_value": _cell(old), "new_value": _cell(new)}
            yield _csv_line(cells[column] for column in CSV_COLUMNS)


def export_chunks(events: Iterable[AuditEvent], export_format: str) -> Iterator[str]:
    """The events in ``csv`` or ``json``, as text chunks to stream."""
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"export format {export_format!r} is not one of csv, json")
    return csv_chunks(events) if export_format == "csv" else json_chunks(events)
