"""``GET /api/v1/audit``, ``/audit/verify`` and ``/audit/export`` (interfaces.md, REST API)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.test import Client

from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.sites.services import site_create, token_create, user_create

pytestmark = pytest.mark.django_db


def _token(role: str) -> str:
    user_create(actor="operator", username=f"{role}-user", role=role, site_codes=["TPE01"])
    return token_create(actor="operator", username=f"{role}-user")[1]


@pytest.fixture
def client_for() -> Any:
    """A test client acting with a token of the given role."""
    site_create(actor="operator", code="TPE01", name="Taipei")

    def make(role: str) -> Client:
        return Client(headers={"Authorization": f"Bearer {_token(role)}"})

    return make


def _body(response: Any) -> Any:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8")


def test_verify_answers_the_documented_shape(client_for: Any) -> None:
    """``GET /api/v1/audit/verify`` -> ``{"ok": bool, "events": INT, "first_bad_event": null}``."""
    response = client_for("qa").get("/api/v1/audit/verify")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "events": AuditEvent.objects.count(),
        "first_bad_event": None,
    }


@pytest.mark.parametrize("role", ["investigator", "coordinator", "monitor", "statistician"])
def test_roles_that_do_not_review_the_trail_get_403(client_for: Any, role: str) -> None:
    """The trail spans all sites: only study-wide reviewers (qa, data_manager, admin) read it."""
    client = client_for(role)
    for path in ("/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit/export"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "detail" in response.json()


def test_no_token_is_401() -> None:
    """Token auth: no bearer token, no trail."""
    assert Client().get("/api/v1/audit/verify").status_code == 401


def test_list_streams_the_events_of_a_window(client_for: Any, probe: Any) -> None:
    """``GET /api/v1/audit?since=ISO&until=ISO``: events in ``[since, until)``, streamed JSON."""
    client = client_for("data_manager")
    with audit_context(actor="ana"):
        first = probe.objects.create(name="a")
        probe.objects.create(name="b")
    events = list(AuditEvent.objects.filter(model="audit.auditprobe").order_by("id"))
    since = events[0].timestamp.isoformat()
    response = client.get("/api/v1/audit", {"since": since})
    assert response.status_code == 200
    assert response.streaming
    listed = json.loads(_body(response))
    assert [e["id"] for e in listed] == [e.id for e in events]
    assert listed[0]["object_pk"] == str(first.pk)
    assert listed[0]["changes"]["name"] == [None, "a"]
    before = client.get("/api/v1/audit", {"until": since})
    assert all(e["id"] < events[0].id for e in json.loads(_body(before)))


def test_bound_with_any_iso_offset_is_compared_in_utc(client_for: Any, probe: Any) -> None:
    """ISO 8601 offsets reach 23:59, PostgreSQL's only 15:59 (the fuzzer found the 500): a bound
    is converted to UTC before the query, so ``+22:09`` works on both databases."""
    client = client_for("data_manager")
    with audit_context(actor="ana"):
        probe.objects.create(name="a")
    event = AuditEvent.objects.filter(model="audit.auditprobe").get()
    far_east = event.timestamp.astimezone(dt.timezone(dt.timedelta(hours=22, minutes=9)))
    after = client.get("/api/v1/audit", {"since": far_east.isoformat()})
    assert after.status_code == 200
    assert [e["id"] for e in json.loads(_body(after))] == [event.id]
    before = client.get("/api/v1/audit", {"until": far_east.isoformat()})
    assert before.status_code == 200
    assert event.id not in [e["id"] for e in json.loads(_body(before))]


def test_export_csv_is_a_streamed_download(client_for: Any, probe: Any) -> None:
    """``/audit/export?format=csv``: one line per changed field, as an attachment."""
    client = client_for("admin")
    with audit_context(actor="ana"):
        probe.objects.create(name="a", count=3)
    response = client.get("/api/v1/audit/export", {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    probe_rows = {r["field"]: r["new_value"] for r in rows if r["model"] == "audit.auditprobe"}
    assert probe_rows["name"] == "a"
    assert probe_rows["count"] == "3"


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"format": "xml"},
        {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"until": "0001-01-01T00:30:00+22:00"},
    ],
)
def test_bad_query_is_422_never_5xx(client_for: Any, query: dict[str, str]) -> None:
    """interfaces.md: errors are JSON ``{"detail": ...}`` with 4xx codes."""
    response = client_for("qa").get("/api/v1/audit/export", query)
    assert response.status_code == 422
    assert "detail" in response.json()
