"""Screening through the API: the verdict and its protocol version are stored; bad input is 422."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.web.conftest import OWN_SITE, Trial, eligible_record

from ikctrial.web.subjects.models import EligibilityVerdict, Subject


def _post(trial: Trial, body: object, site: str = OWN_SITE) -> object:
    return trial.client("investigator").post(
        f"/api/v1/sites/{site}/subjects", body, content_type="application/json"
    )


def test_screening_stores_verdict_and_protocol_version(trial: Trial) -> None:
    """interfaces.md: 201 {subject_id, screening_number, eligibility}; verdict stored as given."""
    response = _post(trial, eligible_record())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"subject_id", "screening_number", "eligibility"}
    assert body["screening_number"] == f"{OWN_SITE}-0001"
    assert body["eligibility"]["eligible"] is True
    assert [c["id"] for c in body["eligibility"]["criteria"]][:2] == ["I1_age", "I2_hcc_diagnosis"]
    verdict = EligibilityVerdict.objects.get(subject_id=body["subject_id"])
    assert verdict.result == body["eligibility"]
    assert verdict.protocol_nct_id == "NCT03592706"
    assert verdict.protocol_version == "1.0"
    subject = Subject.objects.get(pk=body["subject_id"])
    assert subject.screening_record == eligible_record()
    assert subject.screened_by == "u_investigator"


def test_screening_numbers_count_per_site(trial: Trial) -> None:
    """Each site numbers its screenings 0001, 0002, ..."""
    numbers = [_post(trial, eligible_record()).json()["screening_number"] for _ in range(3)]
    assert numbers == [f"{OWN_SITE}-0001", f"{OWN_SITE}-0002", f"{OWN_SITE}-0003"]


def test_screen_failure_is_logged_with_reasons(trial: Trial) -> None:
    """A failed screening is kept: the log shows it with the failing criterion and why."""
    failing = eligible_record(hiv=True, subject_ref="SCR-002")
    response = _post(trial, failing)
    assert response.status_code == 201
    assert response.json()["eligibility"]["eligible"] is False
    log = trial.client("monitor").get("/api/v1/screening-log").json()
    assert len(log) == 1
    row = log[0]
    assert row["status"] == "screen_failed"
    assert row["eligible"] is False
    assert [f["id"] for f in row["failed"]] == ["E2_hiv_htlv"]
    assert row["failed"][0]["reason"]


def test_unknown_criterion_gives_undetermined_status(trial: Trial) -> None:
    """A missing input makes its criterion unknown: eligible null, listed under unknown."""
    record = eligible_record()
    del record["hiv"]
    body = _post(trial, record).json()
    assert body["eligibility"]["eligible"] is None
    log = trial.client("investigator").get("/api/v1/screening-log").json()
    assert [u["id"] for u in log[0]["unknown"]] == ["E2_hiv_htlv"]
    assert log[0]["status"] == "screened"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (eligible_record(ecog=9), "ecog:"),
        (eligible_record(shoe_size=42), "shoe_size: unknown key"),
        (
            eligible_record(
                labs={**eligible_record()["labs"], "albumin": {"value": 34, "unit": "mg/L"}}
            ),
            "labs.albumin.unit",
        ),
        (eligible_record(birth_date="2027-01-01"), "birth_date"),
        (eligible_record(screening_date="2026-02-30"), "screening_date"),
        ([1, 2, 3], "JSON object"),
        ("not json at all", "not valid JSON"),
    ],
)
def test_bad_screening_record_is_422_and_writes_nothing(
    trial: Trial, body: object, detail: str
) -> None:
    """Bad input answers 422 {"detail": the InputError text}; no subject, no verdict is stored."""
    from ikctrial.web.audit.models import AuditEvent

    events = AuditEvent.objects.count()
    if isinstance(body, str):
        response = trial.client("investigator").post(
            f"/api/v1/sites/{OWN_SITE}/subjects", body, content_type="application/json"
        )
    else:
        response = _post(trial, body)
    assert response.status_code == 422
    assert detail in response.json()["detail"]
    assert Subject.objects.count() == 0
    assert EligibilityVerdict.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_unknown_site_is_404(trial: Trial) -> None:
    """A site that does not exist answers like another site's: 404."""
    assert _post(trial, eligible_record(), site="NOPE").status_code == 404


def test_correction_reruns_eligibility_with_reason(
    trial: Trial, screen: Callable[..., int]
) -> None:
    """A corrected record re-runs the engine; the reason is required and goes to the trail."""
    from ikctrial.web.audit.models import AuditEvent

    subject_id = screen(record=eligible_record(ecog=3))
    client = trial.client("coordinator")
    url = f"/api/v1/subjects/{subject_id}/screening"
    no_reason = client.put(
        url, {"record": eligible_record(), "reason": " "}, content_type="application/json"
    )
    assert no_reason.status_code == 422
    fixed = client.put(
        url,
        {"record": eligible_record(), "reason": "ECOG transcription error (source: clinic note)"},
        content_type="application/json",
    )
    assert fixed.status_code == 200
    assert fixed.json()["eligibility"]["eligible"] is True
    assert fixed.json()["status"] == "screened"
    update = AuditEvent.objects.filter(model="subjects.eligibilityverdict", action="update").get()
    assert update.reason == "ECOG transcription error (source: clinic note)"
    assert update.changes["eligible"] == [False, True]


def test_unstorable_input_is_4xx_not_5xx(trial: Trial, screen: Callable[..., int]) -> None:
    """Ids beyond 64 bits, NUL characters (PostgreSQL cannot store them): 4xx, never 5xx."""
    client = trial.client("investigator")
    assert client.get(f"/api/v1/subjects/{2**70}").status_code == 404
    assert client.get("/api/v1/subjects/-5").status_code == 404
    nul = _post(trial, eligible_record(subject_ref="SCR\x00001"))
    assert nul.status_code == 422
    assert nul.json()["detail"] == "subject_ref: contains a NUL character"
    assert _post(trial, eligible_record(), site="SITE\x00A").status_code == 404
    subject_id = screen()
    consent = client.post(
        f"/api/v1/subjects/{subject_id}/consent",
        {"version": "1.0", "signed_on": "2026-03-01", "signed_by": "Dr\x00Lin"},
        content_type="application/json",
    )
    assert consent.status_code == 422
    assert Subject.objects.count() == 1
