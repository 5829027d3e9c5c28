"""mRECIST on the same engine: viable diameters, no 5 mm floor, HCC rules (domain.md 3, 3.8)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.response.builders import day, document, non_target, scan, target

from ikctrial.errors import InputError
from ikctrial.response import NewLesions, Response, evaluate_response
from ikctrial.response.new_lesions import new_liver_nodule_status


def _m1(criteria: str) -> dict[str, Any]:
    """Domain.md 3.8 M1: A (LD/VD) 60/55 -> 58/15 -> 57/0; B 30/30 -> 28/0 -> 27/0."""
    readings = [(0, (60, 55), (30, 30)), (56, (58, 15), (28, 0)), (112, (57, 0), (27, 0))]
    scans = []
    for elapsed, a, b in readings:
        if criteria == "mRECIST":
            lesions = [
                target("A", a[1], longest_diameter_mm=a[0]),
                target("B", b[1], longest_diameter_mm=b[0]),
            ]
        else:
            lesions = [target("A", a[0]), target("B", b[0])]
        scans.append(scan(elapsed, lesions))
    return document(*scans, criteria=criteria)


@pytest.mark.parametrize(
    ("criteria", "sums", "pcts", "calls"),
    [
        pytest.param(
            "RECIST1.1",
            [90, 86, 84],
            [-4.44, -6.67],
            ["SD", "SD"],
            id="3.8 M1: RECIST 1.1 on longest diameters -> SD, SD",
        ),
        pytest.param(
            "mRECIST",
            [85, 15, 0],
            [-82.35, -100.0],
            ["PR", "CR"],
            id="3.8 M1 / 3.3 step 3: viable diameters -> PR, then CR (no enhancement)",
        ),
    ],
)
def test_m1_necrosis_after_tace(
    criteria: str, sums: list[int], pcts: list[float], calls: list[str]
) -> None:
    timepoints = evaluate_response(_m1(criteria)).to_dict()["timepoints"]
    assert [t["sum_mm"] for t in timepoints] == sums
    assert [t["pct_change_from_baseline"] for t in timepoints[1:]] == pcts
    assert [t["target_response"] for t in timepoints[1:]] == calls
    assert [t["overall_response"] for t in timepoints[1:]] == calls


def _m2(**settings: Any) -> dict[str, Any]:
    """VBASE 20 -> VNADIR 10 -> VSUM 12 (+20 %, +2 mm)."""
    return document(
        scan(0, [target("A", 20.0, longest_diameter_mm=30.0)]),
        scan(56, [target("A", 10.0, longest_diameter_mm=30.0)]),
        scan(112, [target("A", 12.0, longest_diameter_mm=30.0)]),
        criteria="mRECIST",
        **settings,
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param({}, "PD", id="3.8 M2 / 3.3: published mRECIST has no 5 mm floor -> PD"),
        pytest.param(
            {"mrecist_pd_min_abs_increase_mm": 5},
            "PR",
            id="3.8 M2 / 3.3 [CONFIG floor_mm = 5]: +2 mm is not PD",
        ),
        pytest.param(
            {"mrecist_pd_min_abs_increase_mm": 2},
            "PD",
            id="3.3 [CONFIG]: +2 mm meets a 2 mm floor (>=)",
        ),
    ],
)
def test_m2_progression_floor(settings: dict[str, Any], expected: str) -> None:
    point = evaluate_response(_m2(**settings)).to_dict()["timepoints"][2]
    assert point["target_response"] == expected


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        pytest.param(
            "mRECIST",
            Response.PD,
            id="3.3 step 1: assessed VSUM +20 % (+4.4 mm) vs VNADIR with a target missing",
        ),
        pytest.param("RECIST1.1", Response.NE, id="2.5 step 3: the same +4.4 mm is NE by RECIST"),
    ],
)
def test_missing_target_and_the_progression_floor(criteria: str, expected: Response) -> None:
    data = document(
        scan(0, [target("A", 12.0), target("B", 10.0, organ="lung")]),
        scan(56, [target("A", 26.4), target("B", None, organ="lung")]),
        criteria=criteria,
    )
    assert evaluate_response(data).timepoints[1].target_response is expected


def _ascites(cytology: str | None, criteria: str) -> dict[str, Any]:
    extra = {} if cytology is None else {"effusion_cytology": cytology}
    return document(
        scan(0, [target("A", 30.0)], [non_target("ASC", organ="peritoneum")]),
        scan(
            112,
            [target("A", 28.0)],
            [non_target("ASC", "unequivocal_progression", organ="peritoneum", **extra)],
        ),
        criteria=criteria,
    )


@pytest.mark.parametrize(
    ("cytology", "criteria", "expected"),
    [
        pytest.param(
            "not_done",
            "mRECIST",
            "NON_CR_NON_PD",
            id="3.8 M3 / 3.4: ascites without cytology is not PD under mRECIST",
        ),
        pytest.param("negative", "mRECIST", "NON_CR_NON_PD", id="3.4: negative cytology -> not PD"),
        pytest.param("positive", "mRECIST", "PD", id="3.8 M3 / 3.4: malignant cytology -> PD"),
        pytest.param(
            "not_done",
            "RECIST1.1",
            "PD",
            id="2.6: RECIST 1.1 takes the reader's unequivocal progression",
        ),
    ],
)
def test_m3_effusion_needs_positive_cytology(cytology: str, criteria: str, expected: str) -> None:
    evaluation = evaluate_response(_ascites(cytology, criteria))
    point = evaluation.timepoints[1]
    assert point.non_target_response == expected
    flagged = "EFFUSION_WITHOUT_POSITIVE_CYTOLOGY" in point.flags
    assert flagged == (expected != "PD")


@pytest.mark.parametrize(
    ("criteria", "short_axis_mm", "problem"),
    [
        pytest.param("RECIST1.1", 17.0, None, id="3.8 M4 / 2.2: RECIST 1.1 target from SA 15"),
        pytest.param(
            "mRECIST",
            17.0,
            "below 20 mm",
            id="3.8 M4 / 3.4: porta hepatis node < 20 mm is not malignant",
        ),
        pytest.param("mRECIST", 20.0, None, id="3.4: porta hepatis node of 20 mm is a target"),
    ],
)
def test_m4_porta_hepatis_node(criteria: str, short_axis_mm: float, problem: str | None) -> None:
    node = target("PH", short_axis_mm, organ="porta_hepatis", nodal=True)
    data = document(scan(0, [node]), criteria=criteria)
    if problem is None:
        assert evaluate_response(data).timepoints[0].sum_mm == Decimal(str(short_axis_mm))
    else:
        with pytest.raises(InputError, match=problem) as info:
            evaluate_response(data)
        assert info.value.field == "assessments[0].target.PH"


def test_porta_hepatis_non_target_node_below_20_mm_is_rejected_under_mrecist() -> None:
    """3.4: an mRECIST porta hepatis node below 20 mm SA is not a malignant lesion."""
    node = non_target("PHN", organ="porta hepatis", nodal=True, short_axis_mm=17.0)
    data = document(scan(0, [target("A", 30.0)], [node]), criteria="mRECIST")
    with pytest.raises(InputError, match="not a malignant node"):
        evaluate_response(data)
    assert evaluate_response({**data, "criteria": "RECIST1.1"}).timepoints[0].sum_mm == 30


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        pytest.param(
            {"diameter_mm": 0, "longest_diameter_mm": 30},
            "arterial enhancement",
            id="3.2: an mRECIST target must enhance (VD > 0)",
        ),
        pytest.param(
            {"diameter_mm": 8},
            "give longest_diameter_mm",
            id="3.2: VD < 10 mm needs the LD to show the lesion is measurable",
        ),
        pytest.param(
            {"diameter_mm": 8, "longest_diameter_mm": 9.5},
            "not measurable",
            id="3.2 / 2.2: LD < 10 mm is not measurable",
        ),
        pytest.param(
            {"diameter_mm": 31, "longest_diameter_mm": 30},
            "exceeds the longest",
            id="3.1: the viable part cannot exceed the lesion",
        ),
        pytest.param(
            {"diameter_mm": 8, "longest_diameter_mm": 25},
            None,
            id="3.2: small viable part of a measurable lesion is a valid target",
        ),
    ],
)
def test_mrecist_target_eligibility(entry: dict[str, Any], problem: str | None) -> None:
    data = document(scan(0, [{**target("A", None), **entry}]), criteria="mRECIST")
    if problem is None:
        assert evaluate_response(data).timepoints[0].sum_mm == entry["diameter_mm"]
    else:
        with pytest.raises(InputError, match=problem):
            evaluate_response(data)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        pytest.param(
            "mrecist_pd_min_abs_increase_mm", 5, id="2.5: RECIST 1.1 fixes the 5 mm floor"
        ),
        pytest.param(
            "mrecist_equivocal_pd_date",
            "confirmation",
            id="2.7: RECIST 1.1 dates PD to first sighting",
        ),
    ],
)
def test_mrecist_settings_are_refused_for_recist(setting: str, value: Any) -> None:
    data = document(scan(0, [target("A", 30.0)]), **{setting: value})
    with pytest.raises(InputError, match="mRECIST only") as info:
        evaluate_response(data)
    assert info.value.field == setting


def test_longest_diameter_is_refused_for_recist() -> None:
    data = document(scan(0, [target("A", 30.0, longest_diameter_mm=30.0)]))
    with pytest.raises(InputError, match="mRECIST non-nodal targets only"):
        evaluate_response(data)


@pytest.mark.parametrize(
    ("diameter_mm", "typical", "first_seen_mm", "expected"),
    [
        pytest.param(
            12,
            True,
            None,
            NewLesions.UNEQUIVOCAL,
            id="3.5: >= 10 mm with hyperenhancement and washout -> new HCC",
        ),
        pytest.param(10, True, None, NewLesions.UNEQUIVOCAL, id="3.5: exactly 10 mm typical"),
        pytest.param(12, False, None, NewLesions.EQUIVOCAL, id="3.5: >= 10 mm, atypical"),
        pytest.param(8, True, None, NewLesions.EQUIVOCAL, id="3.8 M5 day 56: 8 mm typical"),
        pytest.param(19, True, 8, NewLesions.UNEQUIVOCAL, id="3.8 M5 day 112: grew 11 mm"),
        pytest.param(15, False, 5, NewLesions.UNEQUIVOCAL, id="3.5: growth of exactly 10 mm"),
        pytest.param(14, False, 5, NewLesions.EQUIVOCAL, id="3.5: growth 9 mm, atypical"),
    ],
)
def test_new_liver_nodule_status(
    diameter_mm: int, typical: bool, first_seen_mm: int | None, expected: NewLesions
) -> None:
    status = new_liver_nodule_status(
        Decimal(diameter_mm),
        typical_vascular_pattern=typical,
        first_seen_diameter_mm=None if first_seen_mm is None else Decimal(first_seen_mm),
    )
    assert status is expected


def _m5(criteria: str, **settings: Any) -> dict[str, Any]:
    """Domain.md 3.8 M5: equivocal nodule at day 56, confirmed at day 112."""
    return document(
        scan(0, [target("A", 40.0)]),
        scan(56, [target("A", 38.0)], new_lesions="equivocal"),
        scan(112, [target("A", 37.0)], new_lesions="unequivocal"),
        criteria=criteria,
        **settings,
    )


@pytest.mark.parametrize(
    ("criteria", "settings", "pd_day", "day_56_overall"),
    [
        pytest.param("mRECIST", {}, 56, "PD", id="3.5 / 3.8 M5: PD dated day 56 (default)"),
        pytest.param(
            "mRECIST",
            {"mrecist_equivocal_pd_date": "confirmation"},
            112,
            "SD",
            id="3.5 [CONFIG mrecist_equivocal_pd_date = confirmation]: day 112",
        ),
        pytest.param("RECIST1.1", {}, 56, "PD", id="2.7: RECIST 1.1 first-sighting date"),
    ],
)
def test_m5_equivocal_nodule_dating(
    criteria: str, settings: dict[str, Any], pd_day: int, day_56_overall: str
) -> None:
    evaluation = evaluate_response(_m5(criteria, **settings))
    assert evaluation.progression_date is not None
    assert evaluation.progression_date.isoformat() == day(pd_day)
    assert evaluation.timepoints[1].overall_response == day_56_overall


def test_mrecist_nodal_target_follows_the_recist_node_rule() -> None:
    """3.3 step 3 with 3.4 (other nodes follow RECIST 1.1): VD 0 and node SA < 10 mm is CR."""
    node = {"organ": "mediastinum", "nodal": True}
    data = document(
        scan(0, [target("A", 30.0), target("N", 16.0, **node)]),
        scan(56, [target("A", 0), target("N", 8.0, **node)]),
        scan(112, [target("A", 0), target("N", 12.0, **node)]),
        criteria="mRECIST",
    )
    evaluation = evaluate_response(data)
    assert [t.target_response for t in evaluation.timepoints[1:]] == [Response.CR, Response.PD]
    assert "REAPPEARANCE_AFTER_CR" in evaluation.timepoints[2].flags


@pytest.mark.parametrize(
    ("flags", "criteria", "problem"),
    [
        pytest.param(
            {"portal_vein_thrombus": True},
            "mRECIST",
            "never an mRECIST target",
            id="3.4: malignant PVTT is non-target, never target",
        ),
        pytest.param(
            {"infiltrative": True},
            "mRECIST",
            "infiltrative",
            id="3.2: infiltrative / ill-defined HCC -> non-target",
        ),
        pytest.param(
            {"reproducible": False},
            "mRECIST",
            "repeated measurement",
            id="3.2: target must be suitable for repeated measurement",
        ),
        pytest.param(
            {"infiltrative": True},
            "RECIST1.1",
            None,
            id="3.7: target lists may differ; the mRECIST flags do not bind RECIST 1.1",
        ),
    ],
)
def test_mrecist_reader_flags(flags: dict[str, bool], criteria: str, problem: str | None) -> None:
    data = document(scan(0, [target("A", 30.0, **flags)]), criteria=criteria)
    if problem is None:
        assert evaluate_response(data).timepoints[0].sum_mm == 30
    else:
        with pytest.raises(InputError, match=problem) as info:
            evaluate_response(data)
        assert info.value.field == "assessments[0].target.A"


@pytest.mark.parametrize(
    ("b_mm", "expected_target", "expected_overall"),
    [
        pytest.param(
            None,
            Response.NE,
            Response.NE,
            id="3.3 steps 1-2: VNADIR 0, a target missing, assessed VSUM 0 is no increase -> NE",
        ),
        pytest.param(0, Response.CR, Response.PR, id="3.3 step 3: every VD 0 again -> CR"),
        pytest.param(
            2.0, Response.PD, Response.PD, id="3.3 step 4: any viable tumor back from VNADIR 0"
        ),
    ],
)
def test_progression_from_a_zero_viable_nadir(
    b_mm: float | None, expected_target: Response, expected_overall: Response
) -> None:
    lung = {"organ": "lung"}
    data = document(
        scan(0, [target("A", 30.0), target("B", 20.0, **lung)], [non_target("PVTT")]),
        scan(56, [target("A", 0), target("B", 0, **lung)], [non_target("PVTT")]),
        scan(112, [target("A", 0), target("B", b_mm, **lung)], [non_target("PVTT")]),
        criteria="mRECIST",
    )
    point = evaluate_response(data).timepoints[2]
    assert (point.target_response, point.overall_response) == (expected_target, expected_overall)
    assert "CR_WITH_SUM_INCREASE" not in point.flags


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param(["absent", "absent"], "CR", id="3.4 CR: enhancement gone in all non-targets"),
        pytest.param(
            ["absent", "present"], "NON_CR_NON_PD", id="3.4 IR/SD: enhancement persists in one"
        ),
        pytest.param(
            ["present", "unequivocal_progression"],
            "PD",
            id="3.4 PD: unequivocal progression of a non-target (not an effusion)",
        ),
        pytest.param(["absent", "not_evaluated"], "NE", id="3.4 NE: a non-target not assessed"),
    ],
)
def test_mrecist_non_target_categories(statuses: list[str], expected: str) -> None:
    """3.4 categories; with no target disease table B gives the same overall code (3.6)."""
    baseline = [non_target("HCC", organ="liver"), non_target("PVTT")]
    follow = [
        non_target(lesion["id"], status, organ=lesion["organ"])
        for lesion, status in zip(baseline, statuses, strict=True)
    ]
    data = document(scan(0, [], baseline), scan(56, [], follow), criteria="mRECIST")
    point = evaluate_response(data).to_dict()["timepoints"][1]
    assert (point["non_target_response"], point["overall_response"]) == (expected, expected)
