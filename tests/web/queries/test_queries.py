"""Data queries: edit checks open and close them automatically; manual raise, answer, close."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from tests.web.conftest import OTHER_SITE, Trial
from tests.web.crf.conftest import Randomized, post_form, put_form

from ikctrial.clinical.edit_checks import edit_checks
from ikctrial.web.audit.selectors import record_history
from ikctrial.web.queries import services
from ikctrial.web.queries.models import DataQuery

READ_PROTOCOL_CHECKS = services.protocol_edit_checks.__wrapped__
CHECKS = [
    {
        "id": "LB_ALB_UNIT",
        "form": "lab_result",
        "type": "unit_plausibility",
        "when": {"test": ["albumin"]},
        "field": "value",
        "ranges": {"g/dL": [0.5, 7], "g/L": [5, 70]},
    },
    {
        "id": "VS_TEMP",
        "form": "vital_signs",
        "type": "range",
        "field": "temperature_c",
        "min": 34,
        "max": 42,
    },
]


@pytest.fixture(autouse=True)
def protocol_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The protocol's edit checks for these tests (the built-in protocol declares none yet)."""
    monkeypatch.setattr(services, "protocol_edit_checks", lambda: edit_checks(CHECKS))
    return


def _albumin(day: str, value: float, unit: str = "g/dL") -> dict[str, Any]:
    return {
        "collected_on": day,
        "test": "albumin",
        "value": value,
        "unit": unit,
        "lln": 3.5,
        "uln": 5.0,
    }


def test_edit_check_opens_then_closes_query(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """Albumin 35 under g/dL fires unit plausibility; the correction closes the query, audited."""
    subject = randomize()
    saved = post_form(
        trial, "coordinator", subject.subject_id, "lab_result", _albumin(subject.day(-2), 35)
    )
    assert saved.status_code == 201, saved.content
    [opened] = saved.json()["queries_opened"]
    assert opened["check_id"] == "LB_ALB_UNIT"
    assert opened["field"] == "value"
    assert opened["origin"] == "edit_check"
    assert opened["status"] == "open"
    again = put_form(
        trial,
        "coordinator",
        subject.subject_id,
        "lab_result",
        saved.json()["id"],
        _albumin(subject.day(-2), 36),
        "re-typed",
    )
    assert again.json()["queries_opened"] == []  # still failing: no duplicate query
    assert DataQuery.objects.count() == 1
    fixed = put_form(
        trial,
        "coordinator",
        subject.subject_id,
        "lab_result",
        saved.json()["id"],
        _albumin(subject.day(-2), 35, "g/L"),
        "unit was g/L",
    )
    assert fixed.status_code == 200
    query = DataQuery.objects.get()
    assert query.status == "closed"
    assert query.closed_by == "edit_check"
    events = list(record_history("queries.dataquery", query.pk))
    assert events[-1].reason == "edit check passes after the data change"


def test_manual_query_lifecycle(trial: Trial, randomize: Callable[..., Randomized]) -> None:
    """Monitor raises, coordinator answers, data manager closes; roles outside get 403."""
    subject = randomize()
    record = post_form(
        trial,
        "coordinator",
        subject.subject_id,
        "vital_signs",
        {"measured_at": "2026-09-30T08:00:00Z", "temperature_c": 37.1},
    ).json()
    body = {
        "subject_id": subject.subject_id,
        "form": "vital_signs",
        "record_id": record["id"],
        "field": "temperature_c",
        "text": "source says 38.1?",
    }
    assert (
        trial.client("coordinator")
        .post("/api/v1/queries", body, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        trial.client("monitor")
        .post("/api/v1/queries", {**body, "field": "mood"}, content_type="application/json")
        .status_code
        == 422
    )
    raised = trial.client("monitor").post("/api/v1/queries", body, content_type="application/json")
    assert raised.status_code == 201
    query_id = raised.json()["query_id"]
    close = {"note": "confirmed"}
    assert (
        trial.client("monitor")
        .post(
            f"/api/v1/queries/{query_id}/answer", {"answer": "x"}, content_type="application/json"
        )
        .status_code
        == 403
    )
    answered = trial.client("coordinator").post(
        f"/api/v1/queries/{query_id}/answer",
        {"answer": "38.1 is right, will correct"},
        content_type="application/json",
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "answered"
    assert (
        trial.client("coordinator")
        .post(f"/api/v1/queries/{query_id}/close", close, content_type="application/json")
        .status_code
        == 403
    )
    closed = trial.client("data_manager").post(
        f"/api/v1/queries/{query_id}/close", close, content_type="application/json"
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert (
        trial.client("data_manager")
        .post(f"/api/v1/queries/{query_id}/close", close, content_type="application/json")
        .status_code
        == 409
    )
    reasons = [e.reason for e in record_history("queries.dataquery", query_id)]
    assert reasons == ["", "query answered: 38.1 is right, will correct", "query closed: confirmed"]


def test_listing_filters_scoping_and_csv(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """The listing shows the user's sites only, filters by status, and streams CSV."""
    own = randomize()
    other = randomize(OTHER_SITE)
    post_form(
        trial,
        "coordinator",
        own.subject_id,
        "vital_signs",
        {"measured_at": "2026-09-30T08:00:00Z", "temperature_c": 45},
    )
    post_form(
        trial,
        "admin",
        other.subject_id,
        "vital_signs",
        {"measured_at": "2026-09-30T08:00:00Z", "temperature_c": 45},
    )
    assert DataQuery.objects.count() == 2
    listing = trial.client("monitor").get("/api/v1/queries", {"status": "open"}).json()
    assert [q["subject_id"] for q in listing] == [own.subject_id]
    assert trial.client("monitor").get("/api/v1/queries", {"status": "closed"}).json() == []
    other_query = DataQuery.objects.get(subject_id=other.subject_id)
    assert trial.client("monitor").get(f"/api/v1/queries/{other_query.pk}").status_code == 404
    response = trial.client("data_manager").get("/api/v1/queries", {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["check_id"] == "VS_TEMP"
    assert rows[0]["field"] == "temperature_c"
    assert trial.client("statistician").get("/api/v1/queries").json() == []
    by_subject = trial.client("monitor").get("/api/v1/queries", {"subject_id": own.subject_id})
    assert [q["subject_id"] for q in by_subject.json()] == [own.subject_id]
    # an id beyond 64 bits matches nothing (the fuzzer found it overflowing SQLite: a 500)
    beyond = trial.client("monitor").get("/api/v1/queries", {"subject_id": 2**70})
    assert beyond.status_code == 200
    assert beyond.json() == []


def test_checks_are_read_from_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    """``protocol_edit_checks`` validates the protocol's ``edit_checks`` (none when absent)."""
    read = READ_PROTOCOL_CHECKS
    monkeypatch.setattr(services, "current_protocol", lambda: SimpleNamespace())
    assert read() == ()
    monkeypatch.setattr(services, "current_protocol", lambda: SimpleNamespace(edit_checks=CHECKS))
    assert [check.id for check in read()] == ["LB_ALB_UNIT", "VS_TEMP"]
