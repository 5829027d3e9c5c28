"""Strict parsing of the screening record (interfaces.md "Eligibility": allowed values, exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ikctrial.clinical.screening import ONGOING, screening_record_from_dict
from ikctrial.errors import InputError

RecordFactory = Callable[[dict[str, Any]], dict[str, Any]]


def test_example_record_parses(example_record: dict[str, Any]) -> None:
    record = screening_record_from_dict(example_record)
    assert record.subject_ref == "SCR-001"
    assert record.labs is not None
    assert record.labs.albumin is not None
    assert str(record.labs.albumin.value) == "3.4"
    assert record.given("other_trial_end_date")


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"favourite_color": "blue"}, "favourite_color", "unknown key"),
        ({"labs.albumin.units": "g/dL"}, "labs.albumin.units", "unknown key"),
        ({"labs.albumin.unit": "mg/L"}, "labs.albumin.unit", "'mg/L' is not one of g/dL, g/L"),
        (
            {"labs.bilirubin.unit": "mg/L"},
            "labs.bilirubin.unit",
            "'mg/L' is not one of mg/dL, umol/L",
        ),
        ({"labs.afp.unit": "IU/mL"}, "labs.afp.unit", "'IU/mL' is not one of ng/mL"),
        ({"labs.bilirubin.value": -0.1}, "labs.bilirubin.value", "-0.1 is negative (impossible)"),
        ({"labs.albumin.value": 8}, "labs.albumin.value", "8 g/dL is above 7 g/dL (impossible)"),
        (
            {"labs.albumin.value": 71, "labs.albumin.unit": "g/L"},
            "labs.albumin.value",
            "71 g/L is above 7 g/dL (impossible)",
        ),
        ({"labs.inr.value": 16}, "labs.inr.value", "16 is above 15 (impossible)"),
        ({"labs.inr.value": "1.2"}, "labs.inr.value", "'1.2' is not a number"),
        (
            {"birth_date": "2027-01-01"},
            "birth_date",
            "2027-01-01 is after the screening date 2026-03-02",
        ),
        (
            {"screening_date": "2026-02-30"},
            "screening_date",
            "'2026-02-30' is not a valid date (day is out of range for month)",
        ),
        ({"screening_date": "2026-03"}, "screening_date", "'2026-03' is not a date YYYY-MM-DD"),
        ({"consent.date": "01/03/2026"}, "consent.date", "'01/03/2026' is not a date YYYY-MM-DD"),
        ({"ecog": 6}, "ecog", "6 is outside 0..5"),
        ({"investigator_bclc": "E"}, "investigator_bclc", "'E' is not one of 0, A, B, C, D"),
        ({"ecog": 1.5}, "ecog", "1.5 is not an integer 0..5"),
        ({"sex": "M"}, "sex", "'M' is not one of male, female"),
        ({"ascites": "severe"}, "ascites", "'severe' is not one of none, mild, moderate_severe"),
        ({"hiv": "no"}, "hiv", "'no' is not true, false or null"),
        ({"tumor.nodules": 0}, "tumor.nodules", "0 must be at least 1"),
        (
            {"hcc_diagnosis.methods": ["PET"]},
            "hcc_diagnosis.methods[0]",
            "'PET' is not one of CT, MRI, AFP, angiography, cytology, biopsy",
        ),
        (
            {"prior_therapies": [{"type": "surgery"}]},
            "prior_therapies[0].type",
            "'surgery' is not one of chemotherapy, radiotherapy, immunotherapy, hormone, local, "
            "targeted",
        ),
        (
            {"prior_therapies": [{"type": "local", "end_date": "soon"}]},
            "prior_therapies[0].end_date",
            "'soon' is not a date YYYY-MM-DD",
        ),
        ({"pregnant": True}, "pregnant", "true is impossible for sex male"),
        ({"breast_feeding": True}, "breast_feeding", "true is impossible for sex male"),
        (
            {"encephalopathy": "grade_1_2"},
            "encephalopathy_last_episode_date",
            "null (never) contradicts encephalopathy 'grade_1_2' at screening",
        ),
        (
            {"encephalopathy_last_episode_date": "2026-03-03"},
            "encephalopathy_last_episode_date",
            "2026-03-03 is after the screening date 2026-03-02",
        ),
    ],
)
def test_bad_input_names_the_field(
    make_record: RecordFactory, changes: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(InputError) as raised:
        screening_record_from_dict(make_record(changes))
    assert (raised.value.field, raised.value.problem) == (field, problem)


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"birth_date": "1958"}, lambda r: str(r.birth_date) == "1958"),
        ({"birth_date": "1958-07"}, lambda r: str(r.birth_date) == "1958-07"),
        ({"other_trial_end_date": "2025-06"}, lambda r: str(r.other_trial_end_date) == "2025-06"),
        ({"other_trial_end_date": "ongoing"}, lambda r: r.other_trial_end_date == ONGOING),
        (
            {"prior_therapies": [{"type": "hormone", "end_date": "ongoing"}]},
            lambda r: r.prior_therapies[0].end_date == ONGOING,
        ),
        ({"other_trial_end_date": "<absent>"}, lambda r: not r.given("other_trial_end_date")),
        ({"birth_date": "2026"}, lambda r: str(r.birth_date) == "2026"),
    ],
)
def test_partial_dates_and_ongoing_where_allowed(
    make_record: RecordFactory, changes: dict[str, Any], check: Any
) -> None:
    assert check(screening_record_from_dict(make_record(changes)))


@pytest.mark.parametrize(
    "changes",
    [
        {"consent.date": "2026-03"},
        {"encephalopathy_last_episode_date": "2025"},
        {"screening_date": "ongoing"},
    ],
)
def test_partial_dates_refused_elsewhere(
    make_record: RecordFactory, changes: dict[str, Any]
) -> None:
    with pytest.raises(InputError):
        screening_record_from_dict(make_record(changes))


def test_empty_record_is_accepted_with_everything_missing() -> None:
    record = screening_record_from_dict({})
    assert record.screening_date is None
    assert record.labs is None


def test_not_an_object() -> None:
    with pytest.raises(InputError):
        screening_record_from_dict([])  # type: ignore[arg-type]
