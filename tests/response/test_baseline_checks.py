"""Input checks with the lesion and the problem named (domain.md 2.2, 2.3, 3.7; interfaces.md)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.response.builders import document, non_target, scan, target

from ikctrial.errors import InputError
from ikctrial.response import evaluate_response


def _error(data: Any) -> InputError:
    with pytest.raises(InputError) as info:
        evaluate_response(data)
    return info.value


def _liver_lung_targets(count: int) -> list[dict[str, Any]]:
    organs = ["liver", "liver", "lung", "lung", "bone", "adrenal", "kidney"]
    return [target(f"T{i + 1}", 20.0, organ=organs[i]) for i in range(count)]


NODE = {"organ": "mediastinum", "nodal": True}


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        pytest.param(
            document(scan(0, _liver_lung_targets(6))),
            "assessments[0].target.T6",
            "at most 5 targets",
            id="2.3: a sixth target is rejected",
        ),
        pytest.param(
            document(
                scan(
                    0,
                    [
                        target("A", 20.0),
                        target("B", 20.0, organ="Liver"),
                        target("C", 20.0, organ=" liver "),
                    ],
                )
            ),
            "assessments[0].target.C",
            "at most 2 per organ",
            id="2.3: a third target in the same organ (spelling normalised) is rejected",
        ),
        pytest.param(
            document(
                scan(
                    0,
                    [
                        target("N1", 20.0, **NODE),
                        target("N2", 20.0, organ="axilla", nodal=True),
                        target("N3", 20.0, organ="groin", nodal=True),
                    ],
                )
            ),
            "assessments[0].target.N3",
            "all lymph nodes count as one organ",
            id="2.3: all nodes together are one organ",
        ),
        pytest.param(
            document(scan(0, [target("A", 9.9)])),
            "assessments[0].target.A",
            "below 10 mm",
            id="2.2: non-nodal target LD < 10 mm",
        ),
        pytest.param(
            document(scan(0, [target("A", 11.0)]), slice_thickness_mm=6),
            "assessments[0].target.A",
            "below 12 mm",
            id="2.2: LD >= max(10, 2 x slice thickness)",
        ),
        pytest.param(
            document(scan(0, [target("A", 30.0, previously_treated=True)])),
            "assessments[0].target.A",
            "previously locally treated",
            id="2.2 [CONFIG allow_treated_lesion_as_target = false]: treated lesion is non-target",
        ),
        pytest.param(
            document(scan(0, [target("N", 14.9, **NODE)])),
            "assessments[0].target.N",
            "below 15 mm",
            id="2.2: nodal target SA < 15 mm",
        ),
        pytest.param(
            document(scan(0, [target("A", None)])),
            "assessments[0].target.A",
            "must be measured at baseline",
            id="2.4: a baseline target needs a value",
        ),
        pytest.param(
            document(scan(0, [target("A", None, too_small_to_measure=True)])),
            "assessments[0].target.A",
            "must be measured at baseline",
            id="2.2: too small to measure is not measurable at baseline",
        ),
        pytest.param(
            document(
                scan(0, [target("A", 20.0)]), scan(56, [target("A", 20.0), target("B", 12.0)])
            ),
            "assessments[1].target.B",
            "new lesion",
            id="3.7 / issue: a target appearing later is an error, not a new target",
        ),
        pytest.param(
            document(
                scan(0, [target("A", 20.0), target("B", 20.0)]), scan(56, [target("A", 20.0)])
            ),
            "assessments[1].target.B",
            "baseline lesion missing",
            id="3.7: lesion ids stable: every baseline target at every time point",
        ),
        pytest.param(
            document(
                scan(0, [target("A", 20.0)], [non_target("N1")]),
                scan(56, [target("A", 20.0), target("N1", 10.0)]),
            ),
            "assessments[1].target.N1",
            "was not a target lesion at baseline",
            id="3.7: a non-target cannot become a target",
        ),
        pytest.param(
            document(scan(0, [target("A", 20.0)]), scan(56, [target("A", 20.0, organ="lung")])),
            "assessments[1].target.A",
            "organ/nodal changed",
            id="3.7: one lesion id per lesion: its organ does not change",
        ),
        pytest.param(
            document(scan(0, [target("A", 20.0)]), scan(0, [target("A", 20.0)])),
            "assessments[1].date",
            "not after the previous assessment",
            id="issue: dates must increase",
        ),
        pytest.param(
            document(scan(0, [target("A", 20.0)], new_lesions="equivocal")),
            "assessments[0].new_lesions",
            "baseline",
            id="2.7: no new lesion at baseline",
        ),
        pytest.param(
            document(scan(0, [target("A", 20.0)], [non_target("A")])),
            "assessments[0].non_target.A",
            "appears twice",
            id="3.7: one id per lesion",
        ),
        pytest.param(
            document(scan(0, [target("A", 20.0)], [non_target("N1", "absent")])),
            "assessments[0].non_target.N1",
            "must be present",
            id="2.6: baseline non-target present",
        ),
        pytest.param(
            document(scan(0, [target("A", 20.0)], [non_target("N1", nodal=True, short_axis_mm=9)])),
            "assessments[0].non_target.N1",
            "not a malignant node",
            id="2.2: a node with SA < 10 mm is normal, not a lesion",
        ),
        pytest.param(
            document(scan(0)),
            "assessments[0]",
            "no target and no non-target",
            id="2.3: nothing to follow",
        ),
        pytest.param(
            document(
                scan(0, [target("A", 20.0)]),
                scan(56, [target("A", 5.0, too_small_to_measure=True)]),
            ),
            "assessments[1].target.A",
            "give one or the other",
            id="2.4: too small to measure replaces the measurement",
        ),
    ],
)
def test_series_checks(data: dict[str, Any], field: str, problem: str) -> None:
    error = _error(data)
    assert error.field == field
    assert problem in error.problem


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        pytest.param(
            lambda d: d["assessments"][1]["target"][0].update(size_mm=3),
            "assessments[1].target.T1.size_mm",
            "unknown key",
            id="interfaces.md: unknown key in a lesion, named by lesion id",
        ),
        pytest.param(
            lambda d: d.update(confirmation="yes"),
            "confirmation",
            "unknown key",
            id="interfaces.md: unknown top-level key",
        ),
        pytest.param(
            lambda d: d["assessments"][1]["target"][0].update(diameter_mm=-1),
            "assessments[1].target.T1.diameter_mm",
            "greater than or equal to 0",
            id="interfaces.md: impossible (negative) diameter",
        ),
        pytest.param(
            lambda d: d["assessments"][1]["target"][0].update(diameter_mm="12"),
            "assessments[1].target.T1.diameter_mm",
            "must be a number",
            id="interfaces.md: numbers are JSON numbers",
        ),
        pytest.param(
            lambda d: d["assessments"][1]["target"][0].update(diameter_mm=True),
            "assessments[1].target.T1.diameter_mm",
            "must be a number",
            id="interfaces.md: a boolean is not a diameter",
        ),
        pytest.param(
            lambda d: d["assessments"][1]["non_target"][0].update(status="gone"),
            "assessments[1].non_target.N1.status",
            "'gone'",
            id="interfaces.md: non-target status value",
        ),
        pytest.param(
            lambda d: d["assessments"][1].update(new_lesions="maybe"),
            "assessments[1].new_lesions",
            "'maybe'",
            id="interfaces.md: new_lesions value",
        ),
        pytest.param(
            lambda d: d["assessments"][1].pop("new_lesions"),
            "assessments[1].new_lesions",
            "required after baseline",
            id="2.7: the new-lesion status is read at every follow-up",
        ),
        pytest.param(
            lambda d: d.update(criteria="RECIST"),
            "criteria",
            "'RECIST'",
            id="interfaces.md: criteria RECIST1.1|mRECIST",
        ),
        pytest.param(
            lambda d: d["assessments"][1].update(date="2026-13-01"),
            "assessments[1].date",
            "not an ISO 8601 date",
            id="interfaces.md: ISO dates",
        ),
        pytest.param(
            lambda d: d["assessments"][1].update(date=1767225600),
            "assessments[1].date",
            "ISO 8601",
            id="interfaces.md: no epoch seconds",
        ),
        pytest.param(
            lambda d: d.update(min_sd_days=42.5),
            "min_sd_days",
            "integer",
            id="2.9: sd_min_days is whole days",
        ),
        pytest.param(
            lambda d: d.update(confirmation_required="no"),
            "confirmation_required",
            "boolean",
            id="2.9: confirmation_required is a boolean",
        ),
        pytest.param(
            lambda d: d.update(assessments=[]),
            "assessments",
            "at least 1",
            id="issue: the first assessment is baseline, so one is needed",
        ),
        pytest.param(
            lambda d: d["assessments"][1]["target"][0].pop("id"),
            "assessments[1].target[0].id",
            "required",
            id="a lesion without id is named by position",
        ),
    ],
)
def test_document_validation(mutate: Any, field: str, problem: str) -> None:
    data = document(
        scan(0, [target("T1", 20.0)], [non_target("N1")]),
        scan(56, [target("T1", 15.0)], [non_target("N1")]),
    )
    mutate(data)
    error = _error(data)
    assert (error.field, problem in error.problem) == (field, True), str(error)


def test_non_object_document() -> None:
    assert _error([1, 2]).problem == "the document must be a JSON object"


@pytest.mark.parametrize(
    ("mm", "nodal"),
    [
        pytest.param(10.0, False, id="2.2: LD = 10 mm is measurable (>=)"),
        pytest.param(15.0, True, id="2.2: SA = 15 mm node is measurable (>=)"),
    ],
)
def test_boundary_targets_are_accepted(mm: float, nodal: bool) -> None:
    data = document(
        scan(0, [target("A", mm, organ="mediastinum" if nodal else "liver", nodal=nodal)])
    )
    assert evaluate_response(data).timepoints[0].sum_mm == mm


def test_eligibility_conflict_can_be_overridden_with_a_reason() -> None:
    """2.2: a node of SA 12 mm as target blocks the baseline unless overridden with a reason."""
    node = target("N", 12.0, **NODE)
    assert "below 15 mm" in _error(document(scan(0, [node]))).problem
    reason = {"eligibility_override_reason": "only measurable disease; PI decision 2026-01-06"}
    evaluation = evaluate_response(document(scan(0, [{**node, **reason}])))
    assert evaluation.timepoints[0].sum_mm == 12
    assert "TARGET_ELIGIBILITY_OVERRIDDEN" in evaluation.flags


def test_override_does_not_lift_the_target_limits() -> None:
    """2.3: the limits reject a sixth target / a third per organ whatever the reason."""
    reason = {"eligibility_override_reason": "reader"}
    targets = [{**t, **reason} for t in _liver_lung_targets(3)]
    targets[2]["organ"] = "liver"
    assert "at most 2 per organ" in _error(document(scan(0, targets))).problem


@pytest.mark.parametrize(
    ("settings", "extra", "flag"),
    [
        pytest.param(
            {"allow_treated_lesion_as_target": True},
            {},
            None,
            id="2.2 [CONFIG allow_treated_lesion_as_target = true]: protocol allows it",
        ),
        pytest.param(
            {},
            {"eligibility_override_reason": "clear growth after ablation"},
            "TARGET_ELIGIBILITY_OVERRIDDEN",
            id="2.2: treated lesion that clearly progressed, kept with a reason",
        ),
    ],
)
def test_previously_treated_target_when_allowed(
    settings: dict[str, Any], extra: dict[str, Any], flag: str | None
) -> None:
    lesion = target("A", 30.0, previously_treated=True, **extra)
    evaluation = evaluate_response(document(scan(0, [lesion]), **settings))
    assert evaluation.timepoints[0].sum_mm == 30
    assert ("TARGET_ELIGIBILITY_OVERRIDDEN" in evaluation.flags) == (flag is not None)
