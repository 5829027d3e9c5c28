"""Invariants of the eligibility engine (domain.md 0 "Tri-state results", 5.1 overall rule)."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikctrial.clinical.eligibility import evaluate_eligibility
from ikctrial.clinical.screening import screening_record_from_dict
from ikctrial.protocol import load_protocol

PROTOCOL = load_protocol()
S = date(2025, 6, 30)


def _day(offset_days: int) -> str:
    return (S - timedelta(days=offset_days)).isoformat()


@st.composite
def complete_records(draw: st.DrawFn) -> dict[str, Any]:
    """A complete, valid screening record with values spread around every rule boundary."""
    female = draw(st.booleans())
    encephalopathy = draw(st.sampled_from(["none", "grade_1_2", "grade_3_4"]))
    # HE graded at screening contradicts "never": such a record has a dated last episode
    never = st.none() if encephalopathy == "none" else st.nothing()
    bilirubin_mg_dl = draw(st.sampled_from([0.8, 1.99, 2, 2.5, 3, 3.01, 4.5]))
    in_si = draw(st.booleans())
    return {
        "subject_ref": "P",
        "screening_date": S.isoformat(),
        "birth_date": _day(draw(st.integers(18 * 365, 82 * 365))),
        "sex": "female" if female else "male",
        "consent": {"signed": draw(st.booleans()), "date": _day(draw(st.integers(-2, 20)))},
        "hcc_diagnosis": {
            "methods": draw(st.lists(st.sampled_from(["CT", "MRI", "AFP"]), max_size=2))
        },
        "tumor": {
            "nodules": draw(st.integers(1, 6)),
            "largest_mm": draw(st.sampled_from([10, 20, 25, 30, 31, 80])),
            "vascular_invasion": draw(st.booleans()),
            "extrahepatic_spread": draw(st.booleans()),
        },
        "ecog": draw(st.integers(0, 4)),
        "labs": {
            "bilirubin": (
                {"value": round(bilirubin_mg_dl * 17.1, 2), "unit": "umol/L"}
                if in_si
                else {"value": bilirubin_mg_dl, "unit": "mg/dL"}
            ),
            "albumin": {
                "value": draw(st.sampled_from([2.5, 2.8, 3.2, 3.5, 3.6, 4.2])),
                "unit": "g/dL",
            },
            "inr": {"value": draw(st.sampled_from([1.0, 1.69, 1.7, 2.3, 2.31, 2.8]))},
        },
        "ascites": draw(st.sampled_from(["none", "mild", "moderate_severe"])),
        "encephalopathy": encephalopathy,
        "prior_tace": draw(st.booleans()),
        "prior_therapies": [{"type": "chemotherapy", "end_date": _day(draw(st.integers(-5, 90)))}],
        "other_trial_end_date": draw(st.one_of(st.none(), st.integers(0, 90).map(_day))),
        "hiv": draw(st.booleans()),
        "htlv": draw(st.booleans()),
        "active_infection": draw(st.booleans()),
        "active_cardiac_disease": draw(st.booleans()),
        "encephalopathy_last_episode_date": draw(st.one_of(never, st.integers(150, 220).map(_day))),
        "cns_disease": draw(st.booleans()),
        "brain_or_meningeal_metastasis": draw(st.booleans()),
        "pregnant": draw(st.booleans()) if female else False,
        "breast_feeding": draw(st.booleans()) if female else False,
        "childbearing_potential": draw(st.booleans()) if female else False,
        "adequate_contraception": draw(st.booleans()),
    }


DROPPABLE = [
    "birth_date",
    "sex",
    "consent.signed",
    "consent.date",
    "hcc_diagnosis.methods",
    "tumor.nodules",
    "tumor.largest_mm",
    "tumor.vascular_invasion",
    "tumor.extrahepatic_spread",
    "ecog",
    "labs.bilirubin",
    "labs.albumin",
    "labs.inr",
    "ascites",
    "encephalopathy",
    "prior_tace",
    "prior_therapies",
    "other_trial_end_date",
    "hiv",
    "htlv",
    "active_infection",
    "active_cardiac_disease",
    "encephalopathy_last_episode_date",
    "cns_disease",
    "brain_or_meningeal_metastasis",
    "pregnant",
    "breast_feeding",
    "childbearing_potential",
    "adequate_contraception",
]
TRUNCATABLE = ["birth_date", "prior_therapies.0.end_date", "other_trial_end_date"]
"""Dates that may be entered partially: truncating one is another way of losing information."""


def _remove(record: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    target: Any = record
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target.pop(last, None)


def _truncate(record: dict[str, Any], path: str, keep: int) -> None:
    *parents, last = path.split(".")
    target: Any = record
    for part in parents:
        if part not in target and not part.isdigit():
            return
        target = target[int(part)] if part.isdigit() else target[part]
    if isinstance(target.get(last), str):
        target[last] = target[last][:keep]


def _results(record: dict[str, Any]) -> dict[str, str]:
    result = evaluate_eligibility(screening_record_from_dict(record), PROTOCOL)
    return {c.id: c.result for c in result.criteria}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    complete_records(),
    st.sets(st.sampled_from(DROPPABLE), max_size=6),
    st.sets(st.tuples(st.sampled_from(TRUNCATABLE), st.sampled_from([4, 7])), max_size=2),
)
def test_filling_missing_values_never_flips_pass_and_fail(
    record: dict[str, Any], dropped: set[str], truncated: set[tuple[str, int]]
) -> None:
    complete = _results(record)
    assert "unknown" not in complete.values()
    partial_record = copy.deepcopy(record)
    for path in dropped:
        _remove(partial_record, path)
    for path, keep in truncated:
        _truncate(partial_record, path, keep)
    partial = _results(partial_record)
    for criterion, result in partial.items():
        if result != "unknown":
            assert result == complete[criterion], criterion


FAILING_CHANGES = [
    ("hiv", True),
    ("prior_tace", True),
    ("active_infection", True),
    ("active_cardiac_disease", True),
    ("ecog", 4),
    ("consent.signed", False),
    ("encephalopathy", "grade_3_4"),
]


@settings(max_examples=100, deadline=None)
@given(
    complete_records(),
    st.sets(st.sampled_from(DROPPABLE), max_size=4),
    st.sampled_from(FAILING_CHANGES),
)
def test_adding_a_failing_criterion_never_makes_eligible(
    record: dict[str, Any], dropped: set[str], change: tuple[str, Any]
) -> None:
    for path in dropped:
        _remove(record, path)
    before = evaluate_eligibility(screening_record_from_dict(record), PROTOCOL)
    path, value = change
    *parents, last = path.split(".")
    target = record
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    if path == "encephalopathy":  # grade 3-4 fails I5 only with the rest of Child-Pugh known
        record["encephalopathy_last_episode_date"] = S.isoformat()  # HE at S: not "never"
        record["labs"] = {
            "bilirubin": {"value": 3.5, "unit": "mg/dL"},
            "albumin": {"value": 2.5, "unit": "g/dL"},
        }
    after = evaluate_eligibility(screening_record_from_dict(record), PROTOCOL)
    assert after.eligible is False
    failing_before = {c.id for c in before.criteria if c.result == "fail"}
    failing_after = {c.id for c in after.criteria if c.result == "fail"}
    assert failing_before <= failing_after | {"I3_bclc", "I5_child_pugh"}
    expected_verdict = (
        False
        if failing_after
        else (None if any(c.result == "unknown" for c in after.criteria) else True)
    )
    assert after.eligible is expected_verdict
