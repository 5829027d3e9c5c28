"""Fixtures of the page tests: the interfaces.md example record as the screening form posts it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from tests.web.conftest import Trial

ELIGIBLE_FORM: dict[str, Any] = {
    "subject_ref": "SCR-001",
    "screening_date": "2026-03-02",
    "birth_date": "1958-07-14",
    "sex": "male",
    "consent_signed": "yes",
    "consent_date": "2026-03-01",
    "consent_version": "1.0",
    "hcc_methods": ["CT", "AFP"],
    "nodules": "4",
    "largest_mm": "38",
    "vascular_invasion": "no",
    "extrahepatic_spread": "no",
    "ecog": "1",
    "bilirubin_value": "1.4",
    "bilirubin_unit": "mg/dL",
    "albumin_value": "3.4",
    "albumin_unit": "g/dL",
    "inr_value": "1.2",
    "afp_value": "850",
    "ascites": "none",
    "encephalopathy": "none",
    "prior_tace": "no",
    "therapy_1_type": "chemotherapy",
    "therapy_1_end_date": "2025-11-20",
    "hiv": "no",
    "htlv": "no",
    "active_infection": "no",
    "active_cardiac_disease": "no",
    "cns_disease": "no",
    "brain_or_meningeal_metastasis": "no",
    "pregnant": "no",
    "breast_feeding": "no",
    "childbearing_potential": "no",
}
"""The interfaces.md example screening record (eligible: BCLC C, Child-Pugh A 6) as form fields."""


def eligible_form(**changes: Any) -> dict[str, Any]:
    """The example form with some fields changed."""
    return {**ELIGIBLE_FORM, **changes}


@pytest.fixture
def page_client(trial: Trial) -> Callable[[str], Client]:
    """A browser-like client signed in as the user of ``role`` (session auth)."""

    def make(role: str) -> Client:
        client = Client()
        client.force_login(trial.users[role])
        return client

    return make
