"""RECIST 1.1 sum of diameters and target response (domain.md 2.4, 2.5, worked examples 2.11)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.response.builders import document, non_target, one_target_series, scan, target

from ikctrial.response import Criteria, Response, TargetMeasurement, evaluate_response
from ikctrial.response.criteria import criteria_rules
from ikctrial.response.recist import (
    meets_partial_response,
    meets_progression,
    pct_change,
    target_response,
    target_sum,
)

RECIST = criteria_rules(Criteria.RECIST_1_1)


def _target_calls(data: dict[str, Any]) -> list[str | None]:
    return [t["target_response"] for t in evaluate_response(data).to_dict()["timepoints"][1:]]


def _measurement(mm: float | None, *, nodal: bool = False, tstm: bool = False) -> TargetMeasurement:
    return TargetMeasurement(
        id="T",
        organ="liver",
        nodal=nodal,
        diameter_mm=None if mm is None else Decimal(str(mm)),
        too_small_to_measure=tstm,
    )


@pytest.mark.parametrize(
    ("baseline_mm", "follow_ups", "expected_calls", "expected_pct_baseline"),
    [
        pytest.param(50.0, [(56, 35.0)], ["PR"], [-30.0], id="2.11 ex1: exactly -30% is PR"),
        pytest.param(50.0, [(56, 35.5)], ["SD"], [-29.0], id="2.11 ex2: -29% is SD"),
        pytest.param(
            60.0,
            [(56, 40.0), (112, 48.0)],
            ["PR", "PD"],
            [-33.33, -20.0],
            id="2.11 ex3: +20% and +8 mm from nadir is PD although -20% vs baseline",
        ),
        pytest.param(
            30.0,
            [(56, 15.0), (112, 18.0)],
            ["PR", "PR"],
            [-50.0, -40.0],
            id="2.11 ex4: +20% but only +3 mm from nadir is not PD",
        ),
        pytest.param(
            80.0,
            [(56, 56.0), (112, 50.0), (168, 59.0), (224, 61.0)],
            ["PR", "PR", "SD", "PD"],
            [-30.0, -37.5, -26.25, -23.75],
            id="2.11 ex5: nadir below baseline, SD after PR, then PD",
        ),
    ],
)
def test_worked_threshold_examples(
    baseline_mm: float,
    follow_ups: list[tuple[int, float]],
    expected_calls: list[str],
    expected_pct_baseline: list[float],
) -> None:
    timepoints = evaluate_response(one_target_series(baseline_mm, *follow_ups)).to_dict()[
        "timepoints"
    ]
    assert [t["target_response"] for t in timepoints[1:]] == expected_calls
    assert [t["pct_change_from_baseline"] for t in timepoints[1:]] == expected_pct_baseline


def test_example_5_changes_from_nadir() -> None:
    """2.11 example 5: the nadir is the smallest earlier complete sum (2.4), not baseline."""
    data = one_target_series(80.0, (56, 56.0), (112, 50.0), (168, 59.0), (224, 61.0))
    timepoints = evaluate_response(data).to_dict()["timepoints"]
    assert [t["pct_change_from_nadir"] for t in timepoints] == [None, -30.0, -10.71, 18.0, 22.0]


@pytest.mark.parametrize(
    ("c_mm", "a_mm", "b_mm", "expected"),
    [
        pytest.param(None, 38.0, 24.0, "PD", id="2.11 ex8 / 2.5 step 2: partial sum 62 already PD"),
        pytest.param(None, 22.0, 14.0, "NE", id="2.11 ex8 variant / 2.5 step 3: partial 36 is NE"),
        pytest.param(15.0, 22.0, 14.0, "SD", id="2.5 step 7: same scan complete is SD"),
    ],
)
def test_missing_target_does_not_hide_progression(
    c_mm: float | None, a_mm: float, b_mm: float, expected: str
) -> None:
    baseline = [target("A", 20.0), target("B", 15.0), target("C", 15.0, organ="lung")]
    follow = [target("A", a_mm), target("B", b_mm), target("C", c_mm, organ="lung")]
    data = document(scan(0, baseline), scan(56, follow))
    [point] = evaluate_response(data).to_dict()["timepoints"][1:]
    assert point["target_response"] == expected
    assert (point["sum_mm"] is None) == (c_mm is None), "sum_mm is null when a target is missing"


@pytest.mark.parametrize(
    ("b_entry", "expected_sum", "expected_pct"),
    [
        pytest.param(
            {"diameter_mm": None, "too_small_to_measure": True},
            25,
            -37.5,
            id="2.4 / 2.11 ex9: too small to measure counts 5 mm",
        ),
        pytest.param({"diameter_mm": 0}, 20, -50.0, id="2.4 / 2.11 ex9: disappeared counts 0 mm"),
        pytest.param(
            {"diameter_mm": 3.0},
            23,
            -42.5,
            id="2.4 / 2.11 ex9: a measurement below 5 mm is used as measured",
        ),
    ],
)
def test_small_lesions_in_the_sum(
    b_entry: dict[str, Any], expected_sum: float, expected_pct: float
) -> None:
    data = document(
        scan(0, [target("A", 25.0), target("B", 15.0)]),
        scan(112, [target("A", 20.0), {**target("B", None), **b_entry}]),
    )
    [point] = evaluate_response(data).to_dict()["timepoints"][1:]
    assert point["sum_mm"] == expected_sum
    assert point["pct_change_from_baseline"] == expected_pct
    assert point["target_response"] == "PR"


PORTA_NODE = {"organ": "porta hepatis", "nodal": True}


@pytest.mark.parametrize(
    ("baseline", "follow_up", "elapsed", "expected"),
    [
        pytest.param(
            ([target("A", 30.0), target("B", 22.0)], [non_target("PVTT")]),
            ([target("A", 0), target("B", 0)], [non_target("PVTT")]),
            112,
            (0, -100.0, "CR", "NON_CR_NON_PD", "PR"),
            id="2.11 ex6 / 2.8 A row 2: target CR with the PVTT still present -> overall PR",
        ),
        pytest.param(
            ([target("T1", 40.0), target("N", 16.0, **PORTA_NODE)], []),
            ([target("T1", 0), target("N", 8.0, **PORTA_NODE)], []),
            168,
            (8, -85.71, "CR", None, "CR"),
            id="2.11 ex7 / 2.4 / 2.5 step 4: liver 0 mm, node SA 8 mm < 10 -> CR with sum 8",
        ),
        pytest.param(
            ([target("T1", 40.0), target("N", 16.0, **PORTA_NODE)], []),
            ([target("T1", 0), target("N", 10.0, **PORTA_NODE)], []),
            168,
            (10, -82.14, "PR", None, "PR"),
            id="2.5 step 4 boundary: a target node of SA 10 mm is not normal -> not CR",
        ),
    ],
)
def test_worked_cr_examples(
    baseline: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    follow_up: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    elapsed: int,
    expected: tuple[float, float, str, str | None, str],
) -> None:
    data = document(scan(0, *baseline), scan(elapsed, *follow_up))
    evaluation = evaluate_response(data).to_dict()
    [point] = evaluation["timepoints"][1:]
    keys = ("sum_mm", "pct_change_from_baseline", "target_response", "non_target_response")
    assert (*(point[key] for key in keys), point["overall_response"]) == expected
    assert evaluation["best_overall_response"] == expected[-1]


def test_cr_is_tested_before_the_arithmetic_progression() -> None:
    """2.5 note: a node growing 4 -> 9 mm (< 10) stays CR, flagged CR_WITH_SUM_INCREASE."""
    node = {"organ": "mediastinum", "nodal": True}
    data = document(
        scan(0, [target("L", 20.0), target("N", 15.0, **node)]),
        scan(56, [target("L", 0), target("N", 4.0, **node)]),
        scan(112, [target("L", 0), target("N", 9.0, **node)]),
    )
    evaluation = evaluate_response(data)
    assert [t.target_response for t in evaluation.timepoints[1:]] == [Response.CR, Response.CR]
    assert "CR_WITH_SUM_INCREASE" in evaluation.timepoints[2].flags


@pytest.mark.parametrize(
    ("reappeared", "expected"),
    [
        pytest.param(
            [target("A", 3.0), target("B", 0)], "PD", id="2.5 note: non-nodal > 0 mm after CR"
        ),
        pytest.param(
            [target("A", None), target("B", 2.0)],
            "PD",
            id="2.5 note + step 2: reappearance shows PD despite a missing target",
        ),
        pytest.param([target("A", 0), target("B", 0)], "CR", id="2.5 step 4: still CR"),
    ],
)
def test_reappearance_after_complete_response_is_progression(
    reappeared: list[dict[str, Any]], expected: str
) -> None:
    data = document(
        scan(0, [target("A", 30.0), target("B", 20.0)]),
        scan(56, [target("A", 0), target("B", 0)]),
        scan(112, reappeared),
    )
    evaluation = evaluate_response(data)
    assert evaluation.timepoints[2].target_response == expected
    assert ("REAPPEARANCE_AFTER_CR" in evaluation.timepoints[2].flags) == (expected == "PD")


@pytest.mark.parametrize(
    ("node_mm", "expected"),
    [
        pytest.param(9.9, "CR", id="2.5 step 4: target node still < 10 mm after CR -> CR"),
        pytest.param(10.0, "PD", id="2.5 note: target node back to >= 10 mm after CR -> PD"),
    ],
)
def test_target_node_back_to_10_mm_after_complete_response(node_mm: float, expected: str) -> None:
    node = {"organ": "mediastinum", "nodal": True}
    data = document(
        scan(0, [target("L", 20.0), target("N", 15.0, **node)]),
        scan(56, [target("L", 0), target("N", 8.0, **node)]),
        scan(112, [target("L", 0), target("N", node_mm, **node)]),
    )
    evaluation = evaluate_response(data)
    assert evaluation.timepoints[2].target_response == expected
    assert ("REAPPEARANCE_AFTER_CR" in evaluation.timepoints[2].flags) == (expected == "PD")


def test_incomplete_assessment_never_defines_the_nadir() -> None:
    """2.4: nadir over complete assessments only; 45 vs nadir 50 is SD, not PD vs a partial 10."""
    data = document(
        scan(0, [target("A", 30.0), target("B", 20.0)]),
        scan(56, [target("A", 10.0), target("B", None)]),
        scan(112, [target("A", 25.0), target("B", 20.0)]),
    )
    timepoints = evaluate_response(data).to_dict()["timepoints"]
    assert [t["target_response"] for t in timepoints[1:]] == ["NE", "SD"]
    assert timepoints[2]["pct_change_from_nadir"] == -10.0


def test_scan_without_imaging_is_ne_and_leaves_the_nadir() -> None:
    """2.10 row 1: no imaging -> overall NE, nadir unchanged."""
    data = one_target_series(50.0, (56, 40.0), (112, None), (168, 48.0))
    timepoints = evaluate_response(data).to_dict()["timepoints"]
    assert [t["overall_response"] for t in timepoints[1:]] == ["SD", "NE", "PD"]
    assert timepoints[3]["pct_change_from_nadir"] == 20.0


@pytest.mark.parametrize(
    ("sum_mm", "nadir_mm", "expected"),
    [
        pytest.param("48.0", "40.0", True, id="2.5: 480 >= 480 and +8 mm"),
        pytest.param("47.9", "40.0", False, id="2.5: 479 < 480"),
        pytest.param("18.0", "15.0", False, id="2.5: +20% but +3 mm < 5"),
        pytest.param("30.0", "25.0", True, id="2.5: +20% and exactly +5 mm"),
        pytest.param("5.0", "0", True, id="2.5: from a 0 nadir, +5 mm"),
        pytest.param("4.9", "0", False, id="2.5: from a 0 nadir, +4.9 mm"),
        pytest.param("31.2", "26.0", True, id="section 0: (31.2 - 26)/26 is 0.19999... in doubles"),
    ],
)
def test_progression_boundary_is_exact(sum_mm: str, nadir_mm: str, expected: bool) -> None:
    assert meets_progression(Decimal(sum_mm), Decimal(nadir_mm), RECIST) is expected


@pytest.mark.parametrize(
    ("sum_mm", "expected"),
    [
        pytest.param("0", False, id="3.3 step 4 / 2.5: an unchanged sum of 0 is not an increase"),
        pytest.param("0.1", True, id="3.3 step 4: any increase from a 0 nadir, no floor"),
    ],
)
def test_progression_from_a_zero_nadir_needs_an_increase(sum_mm: str, expected: bool) -> None:
    rules = criteria_rules(Criteria.MRECIST)
    assert meets_progression(Decimal(sum_mm), Decimal(0), rules) is expected


@pytest.mark.parametrize(
    ("sum_mm", "baseline_mm", "expected"),
    [
        pytest.param("35.0", "50.0", True, id="2.5: 350 <= 350"),
        pytest.param("35.1", "50.0", False, id="2.5: 351 > 350"),
        pytest.param("35.7", "51.0", True, id="section 0: 0.7*51 is 35.699999... in doubles"),
    ],
)
def test_partial_response_boundary_is_exact(sum_mm: str, baseline_mm: str, expected: bool) -> None:
    assert meets_partial_response(Decimal(sum_mm), Decimal(baseline_mm)) is expected


@pytest.mark.parametrize(
    ("entries", "expected_sum", "expected_assessed"),
    [
        pytest.param(
            [(10.5, False, False), (3.0, True, False)],
            "13.5",
            "13.5",
            id="2.4: non-nodal LD plus nodal SA",
        ),
        pytest.param([(None, False, True), (0, False, False)], "5", "5", id="2.4: TSTM 5, gone 0"),
        pytest.param([(None, True, True)], "5", "5", id="2.4: TSTM node 5 mm"),
        pytest.param(
            [(12.0, False, False), (None, False, False)],
            None,
            "12.0",
            id="2.4: not evaluated -> no sum",
        ),
    ],
)
def test_target_sum(
    entries: list[tuple[float | None, bool, bool]],
    expected_sum: str | None,
    expected_assessed: str,
) -> None:
    sums = target_sum([_measurement(mm, nodal=nodal, tstm=tstm) for mm, nodal, tstm in entries])
    assert sums.sum_mm == (None if expected_sum is None else Decimal(expected_sum))
    assert sums.assessed_sum_mm == Decimal(expected_assessed)


def test_pct_change_rounds_half_up_to_two_decimals() -> None:
    """recist.py output convention: -6/56 = -10.714... -> -10.71; a 0 reference -> None."""
    assert pct_change(Decimal(50), Decimal(56)) == -10.71
    assert pct_change(Decimal("1.00005"), Decimal(1)) == 0.01
    assert pct_change(Decimal(5), Decimal(0)) is None


def test_target_response_direct_call_order() -> None:
    """2.5 order: PD beats PR when both hold (ex3: -20% vs baseline yet +20% vs nadir)."""
    call = target_response(
        [_measurement(48.0)], baseline_sum_mm=Decimal(60), nadir_mm=Decimal(40), rules=RECIST
    )
    assert call.response is Response.PD
