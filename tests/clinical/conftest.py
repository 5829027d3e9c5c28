"""Shared screening-record builder: the interfaces.md example, changed field by field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

ABSENT = "<absent>"
"""Value that removes a key instead of setting it (a string, so parametrize tables can use it)."""

EXAMPLE_RECORD: dict[str, Any] = {
    "subject_ref": "SCR-001",
    "screening_date": "2026-03-02",
    "birth_date": "1958-07-14",
    "sex": "male",
    "consent": {"signed": True, "date": "2026-03-01", "version": "2.0"},
    "hcc_diagnosis": {"methods": ["CT", "AFP"]},
    "tumor": {
        "nodules": 4,
        "largest_mm": 38,
        "vascular_invasion": False,
        "extrahepatic_spread": False,
    },
    "ecog": 1,
    "labs": {
        "bilirubin": {"value": 1.4, "unit": "mg/dL"},
        "albumin": {"value": 3.4, "unit": "g/dL"},
        "inr": {"value": 1.2},
        "afp": {"value": 850, "unit": "ng/mL"},
    },
    "ascites": "none",
    "encephalopathy": "none",
    "prior_tace": False,
    "prior_therapies": [{"type": "chemotherapy", "end_date": "2025-11-20"}],
    "other_trial_end_date": None,
    "hiv": False,
    "htlv": False,
    "active_infection": False,
    "active_cardiac_disease": False,
    "encephalopathy_last_episode_date": None,
    "cns_disease": False,
    "brain_or_meningeal_metastasis": False,
    "pregnant": False,
    "breast_feeding": False,
    "childbearing_potential": False,
    "adequate_contraception": None,
}
"""The screening record of interfaces.md "Eligibility" (eligible: every criterion passes)."""

RecordFactory = Callable[..., dict[str, Any]]


def build_record(changes: dict[str, Any]) -> dict[str, Any]:
    """The example record with ``changes`` applied; keys are dotted paths (``labs.inr.value``)."""
    data = copy.deepcopy(EXAMPLE_RECORD)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        if value == ABSENT:
            target.pop(last, None)
        else:
            target[last] = value
    return data


@pytest.fixture
def example_record() -> dict[str, Any]:
    """A fresh copy of the interfaces.md example record."""
    return copy.deepcopy(EXAMPLE_RECORD)


@pytest.fixture
def make_record() -> RecordFactory:
    """``make_record({"labs.inr.value": 2.0})`` -> a changed copy of the example record."""

    def make(changes: dict[str, Any] | None = None) -> dict[str, Any]:
        return build_record(changes or {})

    return make
