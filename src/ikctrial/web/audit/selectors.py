"""Reads of the audit trail: events in a time window, and the history of one record.

Allocation concealment (domain.md 9.4) is applied here, in the one selector every reader of the
trail goes through (``GET /api/v1/audit``, ``/audit/export``): the trail records every value of
every audited model, including the concealed randomization list. Unless the actor may read the
allocation log (statistician, admin, the command-line operator), events of the list's slots (each
one an upcoming arm) are left out and the list's seed (which reproduces every slot) is redacted.
Verification (``services.verify_chain``) reads the raw trail, so it still covers every event.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, may

CHUNK_SIZE = 2000
"""Rows fetched per database round trip when streaming the trail."""

CONCEALED_MODELS = frozenset({"randomization.allocationslot"})
"""Models whose every event would reveal an allocation (a slot's arm): left out."""

CONCEALED_FIELDS: dict[str, frozenset[str]] = {
    "randomization.randomizationlist": frozenset({"seed"}),
}
"""Fields whose values would reveal the allocations: redacted, by model."""

REDACTED = "[concealed]"
"""What a reader without the right sees instead of a concealed value (null stays null)."""


def _redacted(event: AuditEvent, fields: frozenset[str]) -> AuditEvent:
    """The event with the concealed fields' old and new values replaced (the row is not saved)."""
    event.changes = {
        name: [None if value is None else REDACTED for value in pair] if name in fields else pair
        for name, pair in event.changes.items()
    }
    return event


def events_in_window(
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    using: str = "default",
) -> Iterator[AuditEvent]:
    """Events with ``since <= timestamp < until`` (either bound optional) that ``actor`` may read.

    Streamed from the database in chunks, in recording order, so a long trail never sits in
    memory. Concealed allocations are withheld unless the actor may read the allocation log.
    """
    events = AuditEvent.objects.using(using).all()
    if since is not None:
        events = events.filter(timestamp__gte=since)
    if until is not None:
        events = events.filter(timestamp__lt=until)
    sees_allocations = may(actor, Action.RANDOMIZATION_LOG_VIEW)
    if not sees_allocations:
        events = events.exclude(model__in=CONCEALED_MODELS)
    for event in events.order_by("id").iterator(chunk_size=CHUNK_SIZE):
        fields = None if sees_allocations else CONCEALED_FIELDS.get(event.model)
        yield event if fields is None else _redacted(event, fields)


def record_history(
    model: str, object_pk: object, *, using: str = "default"
) -> QuerySet[AuditEvent]:
    """Every event of one record (``model`` as ``app_label.modelname``), oldest first.

    For server-side checks only (no concealment applied): no endpoint returns it.
    """
    return (
        AuditEvent.objects.using(using)
        .filter(model=model.lower(), object_pk=str(object_pk))
        .order_by("id")
    )
