"""Consent: a version the protocol lists, signed on or before the screening date (domain.md 5.2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.web.conftest import Trial

from ikctrial.web.consent.models import Consent


def _consent(trial: Trial, subject_id: int, **body: str) -> object:
    payload = {"version": "1.0", "signed_on": "2026-03-02", "signed_by": "Dr. Lin", **body}
    return trial.client("coordinator").post(
        f"/api/v1/subjects/{subject_id}/consent", payload, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("signed_on", "status"),
    [
        ("2026-03-02", 201),  # 5.2 Consent: on the screening date itself is allowed
        ("2026-02-20", 201),  # before it
        ("2026-03-03", 422),  # one day after any study procedure: rejected
    ],
)
def test_consent_date_against_screening_date(
    trial: Trial, screen: Callable[..., int], signed_on: str, status: int
) -> None:
    """Consent after the screening date (a study procedure) answers 422 and stores nothing."""
    subject_id = screen()
    response = _consent(trial, subject_id, signed_on=signed_on)
    assert response.status_code == status
    assert Consent.objects.filter(subject_id=subject_id).count() == (1 if status == 201 else 0)
    if status == 422:
        assert "after the screening date" in response.json()["detail"]


def test_consent_version_must_be_listed(trial: Trial, screen: Callable[..., int]) -> None:
    """interfaces.md: the built-in protocol lists 1.0; 2.0 answers 422 naming the field."""
    response = _consent(trial, screen(), version="2.0")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("version: '2.0' is not one of 1.0")


def test_consent_records_who_and_when(trial: Trial, screen: Callable[..., int]) -> None:
    """The subject shows the consent: version, date signed, who obtained it, who recorded it."""
    subject_id = screen()
    created = _consent(trial, subject_id, signed_on="2026-03-01")
    assert created.status_code == 201
    subject = trial.client("investigator").get(f"/api/v1/subjects/{subject_id}").json()
    assert subject["status"] == "consented"
    consent = subject["consent"]
    assert consent["version"] == "1.0"
    assert consent["signed_on"] == "2026-03-01"
    assert consent["signed_by"] == "Dr. Lin"
    assert consent["recorded_by"] == "u_coordinator"


def test_same_version_twice_is_409(trial: Trial, screen: Callable[..., int]) -> None:
    """A version is consented once per subject."""
    subject_id = screen()
    assert _consent(trial, subject_id).status_code == 201
    assert _consent(trial, subject_id).status_code == 409
    assert Consent.objects.filter(subject_id=subject_id).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"version": "1.0", "signed_on": "yesterday", "signed_by": "Dr. Lin"},
        {"version": "1.0", "signed_by": "Dr. Lin"},
        {"version": "1.0", "signed_on": "2026-03-01", "signed_by": "  "},
    ],
)
def test_malformed_consent_is_4xx(
    trial: Trial, screen: Callable[..., int], body: dict[str, str]
) -> None:
    """Malformed bodies answer 422 with a JSON detail; nothing is stored."""
    subject_id = screen()
    response = trial.client("coordinator").post(
        f"/api/v1/subjects/{subject_id}/consent", body, content_type="application/json"
    )
    assert response.status_code == 422
    assert "detail" in response.json()
    assert not Consent.objects.exists()


def test_today_is_the_sites_date(
    trial: Trial, screen: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A date "in the future" is judged on the subject's site's calendar: at 20:00 UTC on 1 March
    it is already 2 March in Taipei (SITEA), still 1 March at the UTC site (SITEB)."""
    import datetime as dt

    from django.utils import timezone
    from tests.web.conftest import OPERATOR, OTHER_SITE, OWN_SITE

    from ikctrial.errors import InputError
    from ikctrial.web.consent.services import consent_record

    taipei, utc = screen(OWN_SITE), screen(OTHER_SITE)
    moment = dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    signed = {"version": "1.0", "signed_on": dt.date(2026, 3, 2), "signed_by": "Dr. Lin"}
    consent_record(actor=OPERATOR, subject_id=taipei, **signed)
    with pytest.raises(InputError, match="in the future"):
        consent_record(actor=OPERATOR, subject_id=utc, **signed)
    assert list(Consent.objects.values_list("subject_id", flat=True)) == [taipei]
