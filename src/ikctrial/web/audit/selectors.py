"""Reads of the audit trail: events in a time window, and the history of one record."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from ikctrial.web.audit.models import AuditEvent


def events_in_window(
    since: datetime | None = None, until: datetime | None = None, *, using: str = "default"
) -> QuerySet[AuditEvent]:
    """Events with ``since <= timestamp < until`` (either bound optional), in recording order."""
    events = AuditEvent.objects.using(using).all()
    if since is not None:
        events = events.filter(timestamp__gte=since)
    if until is not None:
        events = events.filter(timestamp__lt=until)
    return events.order_by("id")


def record_history(
    model: str, object_pk: object, *, using: str = "default"
) -> QuerySet[AuditEvent]:
    """Every event of one record (``model`` as ``app_label.modelname``), oldest first."""
    return (
        AuditEvent.objects.using(using)
        .filter(model=model.lower(), object_pk=str(object_pk))
        .order_by("id")
    )
