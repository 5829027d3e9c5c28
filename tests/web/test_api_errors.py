"""Errors under ``/api/v1/`` are JSON ``{"detail": ...}`` with 4xx codes (interfaces.md), also
those answered before any endpoint runs: an unknown path, a method the path does not take."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.conftest import Trial

from ikctrial.web.subjects.models import Subject


def _detail(response: Any) -> str:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"detail"}
    return str(body["detail"])


@pytest.mark.parametrize("path", ["/api/v1/no-such-endpoint", "/api/v1/subjects/1/nothing"])
def test_unknown_api_path_is_a_json_404(trial: Trial, path: str) -> None:
    """With or without a token, a path naming no endpoint answers 404 JSON."""
    for client in (trial.client("admin"), trial.client("coordinator")):
        response = client.get(path)
        assert response.status_code == 404
        assert _detail(response) == "Not Found"


def test_method_not_allowed_is_a_json_405_and_deletes_nothing(trial: Trial, screen: Any) -> None:
    """DELETE of a subject is no endpoint (records are never deleted): 405 JSON, Allow kept."""
    subject_id = screen()
    response = trial.client("admin").delete(f"/api/v1/subjects/{subject_id}")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert "GET" in _detail(response)
    assert Subject.objects.filter(pk=subject_id).exists()


def test_pages_keep_their_html_404(trial: Trial) -> None:
    """Outside the API, Django's pages answer as pages."""
    response = trial.client("admin").get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("query", "field"),
    [("form=%00&status=open&format=csv", "form"), ("status=open&x%00=1", "query string")],
)
def test_nul_in_a_query_parameter_is_a_422_naming_it(trial: Trial, query: str, field: str) -> None:
    """PostgreSQL cannot compare text holding NUL: refused before any filter runs (fuzz find)."""
    response = trial.client("data_manager").get(f"/api/v1/queries?{query}")
    assert response.status_code == 422
    assert _detail(response) == f"{field}: contains a NUL character"


def test_nul_in_a_page_query_parameter_is_a_400(trial: Trial) -> None:
    """The same guard for the pages (their listings filter by query parameters too)."""
    response = trial.client("admin").get("/queries/?form=%00")
    assert response.status_code == 400
    assert b"NUL" in response.content
