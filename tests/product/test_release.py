"""Lot release against the protocol's specification (domain.md 8.2) and expiry (8.5).

The specification is the one shipped in NCT03592706.yaml (``product.release_tests``); the
scenario's results (tests/product/conftest.py) meet it, with sterility as an in-process result.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikctrial.errors import InputError
from ikctrial.product.release import (
    EXCEPTIONAL_APPROVAL_MEANING,
    EXCEPTIONAL_REQUEST_MEANING,
    PATIENT_INFORMED_MEANING,
    RELEASE_MEANING,
    SHELF_LIFE_NOT_SET,
    ExceptionalRelease,
    QcResult,
    QcVerdict,
    ReleaseStatus,
    evaluate_qc,
    expiry_at,
    lot_status_at,
    post_release_failures,
    release_decision,
    result_passes,
    specification_text,
)
from ikctrial.protocol.model import ReleaseTest


def _verdict(scenario: Any, code: str, value: str) -> QcVerdict:
    evaluation = evaluate_qc(
        scenario.protocol.product.release_tests, scenario.qc_results(**{code: value})
    )
    return next(o.verdict for o in evaluation.outcomes if o.code == code)


def test_passing_lot_with_in_process_sterility_is_released_pending_final(scenario: Any) -> None:
    # domain.md 8.2: sterility's final result comes after infusion; in-process "no growth to date".
    decision = scenario.release()
    assert decision.refusals == ()
    assert decision.status is ReleaseStatus.RELEASED_PENDING_FINAL_STERILITY
    assert decision.released
    assert decision.expiry_at == scenario.harvest + timedelta(hours=24)


def test_final_sterility_releases_fully(scenario: Any) -> None:
    decision = scenario.release(scenario.qc_results(sterility="no growth"))
    assert decision.status is ReleaseStatus.RELEASED


@pytest.mark.parametrize(
    ("code", "value", "verdict"),
    [
        ("viability", "70", QcVerdict.PASS),  # >= 70 %
        ("viability", "69.99", QcVerdict.FAIL),
        ("viability", "69.999999999999999999", QcVerdict.FAIL),  # a double would round to 70
        ("viable_cell_dose", "1e9", QcVerdict.PASS),  # 1e9 <= dose <= 1e10
        ("viable_cell_dose", "999999999", QcVerdict.FAIL),
        ("viable_cell_dose", "10000000000", QcVerdict.PASS),
        ("viable_cell_dose", "10000000001", QcVerdict.FAIL),
        ("cd3_pct", "80", QcVerdict.PASS),  # >= 80 %
        ("cd3_pct", "79.9", QcVerdict.FAIL),
        ("cd3_cd56_pct", "10", QcVerdict.PASS),  # >= 10 %
        ("cd3_cd56_pct", "9.9", QcVerdict.FAIL),
        ("endotoxin", "4.99", QcVerdict.PASS),  # < 5 EU/mL (max exclusive)
        ("endotoxin", "5", QcVerdict.FAIL),
        ("endotoxin", "5.00", QcVerdict.FAIL),
        ("gram_stain", "No organisms  seen", QcVerdict.PASS),  # case and spacing ignored
        ("gram_stain", "gram-positive cocci", QcVerdict.FAIL),
        ("mycoplasma", "detected", QcVerdict.FAIL),
        ("appearance", "clumps", QcVerdict.FAIL),
        ("label_reconciliation", "mismatch", QcVerdict.FAIL),
        ("potency", "3", QcVerdict.PASS),  # reported, no limit
    ],
)
def test_specification_limits(scenario: Any, code: str, value: str, verdict: QcVerdict) -> None:
    # domain.md 8.2 limits as set in the protocol file; domain.md 0: exact decimal comparison.
    assert _verdict(scenario, code, value) is verdict


def test_failing_test_rejects_automatically_and_records_a_deviation(scenario: Any) -> None:
    decision = scenario.release(scenario.qc_results(viable_cell_dose="5e8"))
    assert decision.status is ReleaseStatus.REJECTED
    assert not decision.released
    (deviation,) = decision.evaluation.deviations
    assert deviation.test_code == "viable_cell_dose"
    assert deviation.value == "5e8"
    assert deviation.specification == ">= 1e+09 cells and <= 1e+10 cells"
    assert any("out of specification" in r for r in decision.refusals)


REQUIRED = [
    "appearance",
    "viable_cell_dose",
    "viability",
    "cd3_pct",
    "cd3_cd56_pct",
    "gram_stain",
    "sterility",
    "endotoxin",
    "mycoplasma",
    "label_reconciliation",
]


@pytest.mark.parametrize("code", REQUIRED)
def test_missing_required_result_refuses_release(scenario: Any, code: str) -> None:
    # Task rule: automatic refusal when any test is missing; the lot stays in QUARANTINE (8.2).
    decision = scenario.release(scenario.qc_results(**{code: None}))
    assert decision.status is ReleaseStatus.QUARANTINE
    assert not decision.released
    assert any(r.endswith("no result") for r in decision.refusals)


def test_optional_test_may_be_missing(scenario: Any) -> None:
    decision = scenario.release(scenario.qc_results(potency=None))
    assert decision.status is ReleaseStatus.RELEASED_PENDING_FINAL_STERILITY
    potency = next(o for o in decision.evaluation.outcomes if o.code == "potency")
    assert potency.verdict is QcVerdict.NOT_DONE


def test_preliminary_result_of_a_test_available_at_infusion_is_not_enough(scenario: Any) -> None:
    # domain.md 8.2: only sterility is released on an in-process result.
    results = [r for r in scenario.qc_results() if r.test_code != "endotoxin"]
    results.append(QcResult("endotoxin", "0.2", "tech2", scenario.at(26, 7), preliminary=True))
    decision = scenario.release(results)
    assert decision.status is ReleaseStatus.QUARANTINE
    assert any("only a preliminary result" in r for r in decision.refusals)


def test_retest_does_not_overwrite_an_oos_result(scenario: Any) -> None:
    s = scenario
    results = [*s.qc_results(viability="65"), QcResult("viability", "85", "tech2", s.at(26, 7, 30))]
    assert s.release(results).status is ReleaseStatus.REJECTED
    # Only a documented invalidation (laboratory investigation) removes the OOS result.
    invalidated = [
        QcResult(
            "viability", "65", "tech2", s.at(26, 7), invalidated_reason="counter fault, INV-12"
        )
        if r.test_code == "viability" and r.value == "65"
        else r
        for r in results
    ]
    assert s.release(invalidated).status is ReleaseStatus.RELEASED_PENDING_FINAL_STERILITY


@pytest.mark.parametrize(
    ("user", "role", "meaning", "problem"),
    [
        ("tech1", "qa", RELEASE_MEANING, "separation of duties: tech1 recorded the manufacturing"),
        ("tech3", "cell_lab", RELEASE_MEANING, "must be signed by role qa"),
        ("qa1", "qa", "reviewed", "must carry the meaning 'approved for release'"),
    ],
)
def test_release_signer_rules(
    scenario: Any, user: str, role: str, meaning: str, problem: str
) -> None:
    # Task rule: released by role qa, never by a person who recorded the manufacturing; 9.2 11.50.
    decision = scenario.release(signer=scenario.signature(user, role, meaning, scenario.at(26, 8)))
    assert decision.status is ReleaseStatus.QUARANTINE
    assert any(problem in r for r in decision.refusals), decision.refusals


def test_no_shelf_life_refuses_release(scenario: Any) -> None:
    # domain.md 8.5: no production default; release must refuse with a clear reason.
    product = scenario.protocol.product.model_copy(update={"shelf_life_hours": None})
    signer = scenario.signature("qa1", "qa", RELEASE_MEANING, scenario.at(26, 8))
    decision = release_decision(
        product, scenario.lot_record(), scenario.qc_results(), signature=signer
    )
    assert decision.status is ReleaseStatus.QUARANTINE
    assert decision.expiry_at is None
    assert SHELF_LIFE_NOT_SET in decision.refusals


@pytest.mark.parametrize(
    ("hours", "minutes", "status"),
    [(23, 59, ReleaseStatus.RELEASED_PENDING_FINAL_STERILITY), (24, 0, ReleaseStatus.EXPIRED)],
)
def test_release_after_expiry_is_expired(
    scenario: Any, hours: int, minutes: int, status: Any
) -> None:
    # domain.md 8.5: expiry_ts = final_formulation_ts + shelf life (24 h in test fixtures).
    when = scenario.harvest + timedelta(hours=hours, minutes=minutes)
    decision = scenario.release(signer=scenario.signature("qa1", "qa", RELEASE_MEANING, when))
    assert decision.status is status


def test_expiry_arithmetic() -> None:
    formulated = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    assert expiry_at(formulated, 24) == datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    assert expiry_at(formulated, 36.5) == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    assert expiry_at(formulated, None) is None
    with pytest.raises(InputError, match="no time zone"):
        expiry_at(formulated.replace(tzinfo=None), 24)


def _exceptional(s: Any, **changes: Any) -> ExceptionalRelease:
    parts: dict[str, Any] = {
        "reason": "medical need: no alternative",
        "investigator_request": s.signature(
            "inv1", "investigator", EXCEPTIONAL_REQUEST_MEANING, s.at(26, 7)
        ),
        "quality_approval": s.signature("qa2", "qa", EXCEPTIONAL_APPROVAL_MEANING, s.at(26, 7, 30)),
        "patient_information": s.signature(
            "inv1", "investigator", PATIENT_INFORMED_MEANING, s.at(26, 7, 45)
        ),
    }
    parts.update(changes)
    return ExceptionalRelease(**parts)


def test_exceptional_release_with_all_approvals(scenario: Any) -> None:
    # domain.md 8.2: OOS product released for medical need with the three e-signed approvals.
    decision = scenario.release(
        scenario.qc_results(viability="68"), exceptional=_exceptional(scenario)
    )
    assert decision.status is ReleaseStatus.EXCEPTIONAL_RELEASE
    assert decision.released
    assert len(decision.evaluation.deviations) == 1  # the OOS result is still a deviation


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"investigator_request": ("coord1", "coordinator", EXCEPTIONAL_REQUEST_MEANING)},
            "request must be signed by role investigator",
        ),
        (
            {"quality_approval": ("inv1", "investigator", EXCEPTIONAL_APPROVAL_MEANING)},
            "quality approval must be signed by role qa",
        ),
        (
            {"quality_approval": ("tech1", "qa", EXCEPTIONAL_APPROVAL_MEANING)},
            "separation of duties",
        ),
        (
            {"patient_information": ("inv1", "investigator", "reviewed")},
            "patient information must carry",
        ),
    ],
)
def test_exceptional_release_needs_every_approval(
    scenario: Any, change: dict[str, Any], problem: str
) -> None:
    s = scenario
    changes = {k: s.signature(*v, s.at(26, 7)) for k, v in change.items()}
    decision = s.release(s.qc_results(viability="68"), exceptional=_exceptional(s, **changes))
    assert decision.status is ReleaseStatus.QUARANTINE
    assert any(problem in r for r in decision.refusals), decision.refusals


def test_exceptional_release_does_not_cover_a_missing_test(scenario: Any) -> None:
    s = scenario
    decision = s.release(s.qc_results(viability="68", mycoplasma=None), exceptional=_exceptional(s))
    assert decision.status is ReleaseStatus.QUARANTINE


def test_exceptional_release_is_only_for_oos_lots(scenario: Any) -> None:
    decision = scenario.release(exceptional=_exceptional(scenario))
    assert decision.status is ReleaseStatus.QUARANTINE
    assert "only for an out-of-specification lot" in decision.refusals[0]


def test_lot_status_over_time(scenario: Any) -> None:
    decision = scenario.release()
    expiry = decision.expiry_at
    assert lot_status_at(decision, expiry - timedelta(minutes=1)) is decision.status
    assert lot_status_at(decision, expiry) is ReleaseStatus.EXPIRED
    assert lot_status_at(decision, scenario.now, destroyed=True) is ReleaseStatus.DESTROYED
    assert lot_status_at(None, scenario.now) is ReleaseStatus.QUARANTINE


def test_positive_final_sterility_after_release_is_flagged(scenario: Any) -> None:
    # domain.md 8.2: a positive sterility result after infusion triggers notification.
    s = scenario
    decision = s.release()
    later = [*s.qc_results(), QcResult("sterility", "growth: S. epidermidis", "tech2", s.at(31, 9))]
    (alert,) = post_release_failures(decision, s.protocol.product.release_tests, later)
    assert alert.test_code == "sterility"
    assert not alert.preliminary
    assert post_release_failures(decision, s.protocol.product.release_tests, s.qc_results()) == ()


def test_unknown_test_code_is_bad_input(scenario: Any) -> None:
    results = [QcResult("ph", "7", "tech2", scenario.at(26, 7))]
    with pytest.raises(InputError, match="'ph' is not a release test") as raised:
        evaluate_qc(scenario.protocol.product.release_tests, results)
    assert raised.value.field == "results[0].test_code"


@pytest.mark.parametrize("value", ["high", "NaN", "Infinity"])
def test_non_numeric_result_is_bad_input(scenario: Any, value: str) -> None:
    results = scenario.qc_results(viability=value)
    with pytest.raises(InputError, match="number") as raised:
        evaluate_qc(scenario.protocol.product.release_tests, results)
    assert raised.value.field.startswith("results[")


def test_specification_text(scenario: Any) -> None:
    texts = {t.code: specification_text(t) for t in scenario.protocol.product.release_tests}
    assert texts["viability"] == ">= 70 %"
    assert texts["endotoxin"] == "< 5 EU/mL"
    assert texts["sterility"] == "= 'no growth'"
    assert texts["potency"] == "reported (no limit)"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dropped=st.sets(st.sampled_from(REQUIRED), min_size=1))
def test_any_missing_required_result_prevents_release(scenario: Any, dropped: set[str]) -> None:
    """Property (8.2): a lot is never released while a required result is missing."""
    decision = scenario.release(scenario.qc_results(**dict.fromkeys(dropped)))
    assert not decision.released
    assert decision.status is ReleaseStatus.QUARANTINE


@pytest.mark.parametrize(
    ("limits", "value", "passes"),
    [
        ({"min": 10, "min_inclusive": False}, "10", False),
        ({"min": 10, "min_inclusive": False}, "10.0001", True),
        ({"max": 5}, "5", True),
        ({"max": 5}, "5.0000000000000001", False),
        ({"min": 0.1, "max": 0.3}, "0.3", True),  # limit read from the float 0.3 as 0.3 exactly
    ],
)
def test_open_and_closed_limits(limits: dict[str, Any], value: str, passes: bool) -> None:
    # ReleaseTest: within [min, max], an end open when its *_inclusive flag is false; domain.md 0.
    test = ReleaseTest(code="x", name="X", method="m", kind="numeric", **limits)
    result = QcResult("x", value, "tech2", datetime(2026, 1, 26, tzinfo=UTC))
    assert result_passes(test, result) is passes
