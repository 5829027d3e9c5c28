"""Fixtures of the CRF, query and signature tests: a randomized subject and an API helper.

Randomization goes through the real service and is then back-dated by ``RANDOMIZED_DAYS_AGO``
(an audited change with a reason), so follow-up dates after RANDDT are not in the future; every
form date is written relative to RANDDT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.web.conftest import OPERATOR, OWN_SITE, Trial

PASSWORD = "correct horse battery staple 42"
CONSENT_DATE = dt.date(2026, 3, 1)
RANDOMIZED_DAYS_AGO = 60


@dataclass
class Randomized:
    """A randomized subject: its id, RANDDT (site-local) and arm."""

    subject_id: int
    randomization_date: dt.date
    arm: str

    def day(self, elapsed: int) -> str:
        """The ISO date ``elapsed`` days from RANDDT (domain.md 0)."""
        return (self.randomization_date + dt.timedelta(days=elapsed)).isoformat()


@pytest.fixture
def randomize(ready_subject: Callable[..., int]) -> Callable[..., Randomized]:
    """Screen, consent and randomize a subject at a site (as the operator)."""
    from ikctrial.web.audit.context import audit_context
    from ikctrial.web.randomization.services import subject_randomize
    from ikctrial.web.sites.models import Site

    def make(site: str = OWN_SITE) -> Randomized:
        subject_id = ready_subject(site)
        allocation = subject_randomize(actor=OPERATOR, subject_id=subject_id)
        with audit_context(actor=OPERATOR, reason="test set-up: back-date randomization"):
            allocation.randomized_at -= dt.timedelta(days=RANDOMIZED_DAYS_AGO)
            allocation.save()
        zone = ZoneInfo(Site.objects.get(code=site).timezone)
        return Randomized(
            subject_id, allocation.randomized_at.astimezone(zone).date(), allocation.arm
        )

    return make


@pytest.fixture
def passwords(trial: Trial, settings: Any) -> Trial:
    """Give the signing users a password and a printed name (a fast hasher: tests only)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for role in ("investigator", "coordinator", "data_manager"):
        user = trial.users[role]
        user.set_password(PASSWORD)
        user.first_name, user.last_name = role.title(), "Tester"
        user.save()
    return trial


def post_form(trial: Trial, role: str, subject_id: int, form: str, data: dict[str, Any]) -> Any:
    """POST a form record through the API as ``role``."""
    return trial.client(role).post(
        f"/api/v1/subjects/{subject_id}/crf/{form}", data, content_type="application/json"
    )


def put_form(
    trial: Trial,
    role: str,
    subject_id: int,
    form: str,
    record_id: int,
    data: dict[str, Any],
    reason: str,
) -> Any:
    """PUT a correction (with a reason) through the API as ``role``."""
    return trial.client(role).put(
        f"/api/v1/subjects/{subject_id}/crf/{form}/{record_id}",
        {"data": data, "reason": reason},
        content_type="application/json",
    )
