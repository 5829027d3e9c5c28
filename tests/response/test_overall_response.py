"""Non-target response (domain.md 2.6) and the overall time-point tables A and B (2.8, 2.10)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.response.builders import document, non_target, scan, target

from ikctrial.errors import InputError
from ikctrial.response import (
    Criteria,
    NewLesions,
    NonTargetObservation,
    Response,
    evaluate_response,
)
from ikctrial.response.criteria import criteria_rules
from ikctrial.response.recist import non_target_response, overall_response

CR, PR, SD, PD, NE = Response.CR, Response.PR, Response.SD, Response.PD, Response.NE
NCNP = Response.NON_CR_NON_PD
NO, EQUIVOCAL, YES = NewLesions.NONE, NewLesions.EQUIVOCAL, NewLesions.UNEQUIVOCAL
RECIST = criteria_rules(Criteria.RECIST_1_1)


@pytest.mark.parametrize(
    ("target", "non_target", "new", "expected"),
    [
        pytest.param(CR, CR, NO, CR, id="2.8 A: CR / CR / no -> CR"),
        pytest.param(CR, None, NO, CR, id="2.8 A: CR / none at baseline / no -> CR"),
        pytest.param(CR, NCNP, NO, PR, id="2.8 A: CR / Non-CR/Non-PD / no -> PR"),
        pytest.param(CR, NE, NO, PR, id="2.8 A: CR / NE / no -> PR"),
        pytest.param(PR, CR, NO, PR, id="2.8 A: PR / CR / no -> PR"),
        pytest.param(PR, NCNP, NO, PR, id="2.8 A: PR / Non-CR/Non-PD / no -> PR"),
        pytest.param(PR, NE, NO, PR, id="2.8 A: PR / NE / no -> PR"),
        pytest.param(PR, None, NO, PR, id="2.8 A: PR / none / no -> PR"),
        pytest.param(SD, CR, NO, SD, id="2.8 A: SD / CR / no -> SD"),
        pytest.param(SD, NCNP, NO, SD, id="2.8 A: SD / Non-CR/Non-PD / no -> SD"),
        pytest.param(SD, NE, NO, SD, id="2.8 A: SD / NE / no -> SD"),
        pytest.param(NE, CR, NO, NE, id="2.8 A: NE / CR / no -> NE"),
        pytest.param(NE, NCNP, NO, NE, id="2.8 A: NE / Non-CR/Non-PD / no -> NE"),
        pytest.param(NE, NE, NO, NE, id="2.8 A: NE / NE / no -> NE"),
        pytest.param(PD, CR, NO, PD, id="2.8 A: target PD / any -> PD"),
        pytest.param(PD, NE, EQUIVOCAL, PD, id="2.8 A: target PD / NE -> PD"),
        pytest.param(CR, PD, NO, PD, id="2.8 A: any / non-target PD -> PD"),
        pytest.param(NE, PD, NO, PD, id="2.8 A: NE / non-target PD -> PD"),
        pytest.param(CR, CR, YES, PD, id="2.8 A: any / any / unequivocal new -> PD"),
        pytest.param(NE, NE, YES, PD, id="2.8 order: new lesion first, even when all NE"),
        pytest.param(SD, NCNP, EQUIVOCAL, SD, id="2.7: equivocal new lesion -> as if none"),
        pytest.param(CR, CR, EQUIVOCAL, CR, id="2.7: equivocal new lesion does not stop CR"),
        pytest.param(None, CR, NO, CR, id="2.8 B: CR / no -> CR"),
        pytest.param(None, NCNP, NO, NCNP, id="2.8 B: Non-CR/Non-PD kept, not SD"),
        pytest.param(None, NE, NO, NE, id="2.8 B: NE / no -> NE"),
        pytest.param(None, PD, NO, PD, id="2.8 B: unequivocal PD -> PD"),
        pytest.param(None, CR, YES, PD, id="2.8 B: any / unequivocal new -> PD"),
        pytest.param(None, NCNP, EQUIVOCAL, NCNP, id="2.8 B + 2.7: equivocal -> as if none"),
    ],
)
def test_overall_tables(
    target: Response | None, non_target: Response | None, new: NewLesions, expected: Response
) -> None:
    assert overall_response(target, non_target, new) is expected


def _lesion(status: str, **extra: Any) -> NonTargetObservation:
    return NonTargetObservation.model_validate(
        {"id": "N", "organ": "lung", "status": status, **extra}
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param(["unequivocal_progression", "present"], PD, id="2.6 step 1: any UP -> PD"),
        pytest.param(
            ["unequivocal_progression", "not_evaluated"],
            PD,
            id="2.6 steps 1-2: PD wins over a lesion not assessed",
        ),
        pytest.param(["not_evaluated", "absent"], NE, id="2.6 step 2: any not assessed -> NE"),
        pytest.param(["absent", "absent"], CR, id="2.6 step 3: all absent -> CR"),
        pytest.param(["absent", "present"], NCNP, id="2.6 step 4: otherwise Non-CR/Non-PD"),
        pytest.param(["present"], NCNP, id="2.6 step 4: present -> Non-CR/Non-PD"),
    ],
)
def test_non_target_steps(statuses: list[str], expected: Response) -> None:
    lesions = [_lesion(status) for status in statuses]
    assert non_target_response(lesions, rules=RECIST).response is expected


@pytest.mark.parametrize(
    ("short_axis_mm", "expected"),
    [
        pytest.param(9.9, CR, id="2.6: a non-target node with SA < 10 mm counts as absent"),
        pytest.param(10.0, NCNP, id="2.6: a node of 10 mm is still present"),
        pytest.param(None, NCNP, id="2.6: no SA entered -> the reader's status stands"),
    ],
)
def test_non_target_node_below_10_mm_is_absent(
    short_axis_mm: float | None, expected: Response
) -> None:
    extra = {} if short_axis_mm is None else {"short_axis_mm": Decimal(str(short_axis_mm))}
    node = _lesion("present", nodal=True, organ="mediastinum", **extra)
    assert non_target_response([node], rules=RECIST).response is expected


def test_non_target_present_again_after_cr_is_progression() -> None:
    """2.5 note (RECIST working group): reappearance of any lesion after an overall CR is PD."""
    call = non_target_response([_lesion("present")], rules=RECIST, after_complete_response=True)
    assert (call.response, call.flags) == (PD, ("REAPPEARANCE_AFTER_CR",))


@pytest.mark.parametrize(
    "criteria",
    [
        pytest.param("RECIST1.1", id="2.11 ex12 / 2.8 B: non-target only -> Non-CR/Non-PD"),
        pytest.param("mRECIST", id="3.6 / 3.4: table B under mRECIST, IR/SD stored as NCNP"),
    ],
)
def test_non_target_only_disease_example_12(criteria: str) -> None:
    """2.11 ex12 / 2.3 NO_MEASURABLE_DISEASE: table B, reported as Non-CR/Non-PD (not SD)."""
    lesions = [non_target("HCC", organ="liver"), non_target("PVTT")]
    data = document(scan(0, [], lesions), scan(56, [], lesions), criteria=criteria)
    evaluation = evaluate_response(data)
    point = evaluation.to_dict()["timepoints"][1]
    assert (point["sum_mm"], point["target_response"], point["overall_response"]) == (
        None,
        None,
        "NON_CR_NON_PD",
    )
    assert evaluation.best_overall_response is NCNP
    assert "NO_MEASURABLE_DISEASE" in evaluation.flags


@pytest.mark.parametrize(
    ("follow_up_mm", "expected_target", "expected_overall"),
    [
        pytest.param(0, "CR", "PR", id="2.10: non-target not assessed, target CR -> PR"),
        pytest.param(20.0, "PR", "PR", id="2.10: non-target not assessed, target PR -> PR"),
        pytest.param(35.0, "SD", "SD", id="2.10: non-target not assessed, target SD -> SD"),
    ],
)
def test_non_target_not_assessed_with_complete_targets(
    follow_up_mm: float, expected_target: str, expected_overall: str
) -> None:
    data = document(
        scan(0, [target("T1", 40.0)], [non_target("N1")]),
        scan(56, [target("T1", follow_up_mm)], [non_target("N1", "not_evaluated")]),
    )
    point = evaluate_response(data).to_dict()["timepoints"][1]
    assert (point["target_response"], point["non_target_response"]) == (expected_target, "NE")
    assert point["overall_response"] == expected_overall


def test_non_target_progression_makes_overall_pd_over_target_pr() -> None:
    """2.8 A: any / PD / any -> PD, dated to that scan (2.9 PD date)."""
    data = document(
        scan(0, [target("T1", 40.0)], [non_target("N1")]),
        scan(56, [target("T1", 20.0)], [non_target("N1", "unequivocal_progression")]),
    )
    evaluation = evaluate_response(data).to_dict()
    assert evaluation["timepoints"][1]["overall_response"] == "PD"
    assert evaluation["progression_date"] == data["assessments"][1]["date"]


@pytest.mark.parametrize(
    ("required", "afp_normal", "expected"),
    [
        pytest.param(False, None, "CR", id="2.6 step 3 [CONFIG off, default]: AFP not needed"),
        pytest.param(True, True, "CR", id="2.6 step 3 [CONFIG on]: all absent and AFP normal"),
        pytest.param(True, False, "NON_CR_NON_PD", id="2.6 step 3-4 [CONFIG on]: AFP raised"),
        pytest.param(True, None, "NE", id="section 0 tri-state [CONFIG on]: AFP unknown"),
    ],
)
def test_marker_normalization_for_non_target_cr(
    required: bool, afp_normal: bool | None, expected: str
) -> None:
    follow_up = scan(56, [target("T1", 0)], [non_target("N1", "absent")])
    if afp_normal is not None:
        follow_up["afp_within_normal_limits"] = afp_normal
    data = document(
        scan(0, [target("T1", 30.0)], [non_target("N1")]),
        follow_up,
        require_marker_normalization_for_cr=required,
    )
    point = evaluate_response(data).to_dict()["timepoints"][1]
    assert point["non_target_response"] == expected
    assert point["overall_response"] == ("CR" if expected == "CR" else "PR")


@pytest.mark.parametrize(
    ("baseline_modality", "follow_up_modality", "flagged"),
    [
        pytest.param("CT", "MRI", True, id="2.1: change of modality flagged MODALITY_CHANGED"),
        pytest.param("CT", "CT", False, id="2.1: same modality, no flag"),
        pytest.param("CT", None, False, id="2.1: modality not recorded, no flag"),
    ],
)
def test_modality_change_is_flagged(
    baseline_modality: str, follow_up_modality: str | None, flagged: bool
) -> None:
    follow_up = scan(56, [target("T1", 28.0)])
    if follow_up_modality is not None:
        follow_up["modality"] = follow_up_modality
    data = document({**scan(0, [target("T1", 30.0)]), "modality": baseline_modality}, follow_up)
    assert ("MODALITY_CHANGED" in evaluate_response(data).timepoints[1].flags) is flagged


def test_ultrasound_is_not_a_response_modality() -> None:
    """2.1: ultrasound must not be used to measure lesions."""
    data = document({**scan(0, [target("T1", 30.0)]), "modality": "US"})
    with pytest.raises(InputError, match="'CT' or 'MRI'") as info:
        evaluate_response(data)
    assert info.value.field == "assessments[0].modality"
