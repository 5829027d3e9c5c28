"""REST endpoints of the audit trail: list (streamed), verify, export as CSV or JSON.

Mounted under ``/api/v1/audit``. Lists and exports are streamed from a database iterator, so a
long trail never sits in memory. Reading the trail needs ``audit.view`` (the study-wide reviewers,
docs/permissions.md): the trail spans every site and its events carry no site, so site-scoped roles
do not read it. What a reader sees is decided by ``selectors.events_in_window`` (concealment).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema

from ikctrial.web.audit.selectors import events_in_window
from ikctrial.web.audit.services import export_chunks, json_chunks, verify_chain
from ikctrial.web.audit.window import window_bounds
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import authorize

router = Router(tags=["audit"])


class Window(Schema):
    """Optional time window: ``since <= timestamp < until`` (ISO 8601; naive means UTC)."""

    since: datetime | None = None
    until: datetime | None = None


class ExportWindow(Window):
    """A window and the export format."""

    format: Literal["csv", "json"] = "json"


class EventOut(Schema):
    """One audit event: who, when (UTC), what (record, field, old and new), why, and its hashes."""

    id: int
    timestamp: datetime
    actor: str
    source: str
    action: Literal["create", "update", "delete"]
    model: str
    object_pk: str
    changes: dict[str, list[Any]] = Field(description="{field: [old, new]}")
    reason: str
    chain: int
    sequence: int
    prev_hash: str
    hash: str


class VerdictOut(Schema):
    """Result of recomputing every hash and link of the trail."""

    ok: bool
    events: int
    first_bad_event: int | None


@router.get("", response=list[EventOut], summary="Audit events in a time window (streamed)")
def audit_events(request: HttpRequest, window: Query[Window]) -> StreamingHttpResponse:
    """Events with ``since <= timestamp < until``, oldest first, as a streamed JSON array."""
    authorize(request.auth, Action.AUDIT_VIEW)
    since, until = window_bounds(window.since, window.until)
    return StreamingHttpResponse(
        json_chunks(events_in_window(request.auth, since, until)), content_type="application/json"
    )


@router.get("/verify", response=VerdictOut, summary="Verify the hash chains")
def audit_verify(request: HttpRequest) -> dict[str, Any]:
    """``{"ok", "events", "first_bad_event"}``: the first event whose hash or link fails.

    Every event is checked, the concealed ones too (only the verdict is returned).
    """
    authorize(request.auth, Action.AUDIT_VIEW)
    return verify_chain().as_dict()


@router.get(
    "/export",
    response={200: None},
    summary="Export the audit trail as CSV or JSON (streamed download)",
)
def audit_export(request: HttpRequest, window: Query[ExportWindow]) -> StreamingHttpResponse:
    """The audit listing for a window as a file download, written while it is read."""
    authorize(request.auth, Action.AUDIT_VIEW)
    since, until = window_bounds(window.since, window.until)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    content_type = "text/csv; charset=utf-8" if window.format == "csv" else "application/json"
    events = events_in_window(request.auth, since, until)
    response = StreamingHttpResponse(
        export_chunks(events, window.format), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{window.format}"'
    return response
