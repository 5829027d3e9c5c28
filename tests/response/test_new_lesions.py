"""New lesions and the dating of progression (domain.md 2.7, 2.9 PD date, 2.11 example 10)."""

from __future__ import annotations

import pytest
from tests.response.builders import day, document, non_target, scan, target

from ikctrial.response import NewLesions, Response, evaluate_response
from ikctrial.response.new_lesions import first_sightings

NO, EQ, UN = NewLesions.NONE, NewLesions.EQUIVOCAL, NewLesions.UNEQUIVOCAL


def _example_10(*statuses: str) -> dict[str, object]:
    """2.11 ex10: targets -10 % (SD), non-target present; new-lesion status per follow-up."""
    scans = [scan(0, [target("T1", 50.0)], [non_target("N1")])]
    for number, status in enumerate(statuses, start=1):
        scans.append(scan(56 * number, [target("T1", 45.0)], [non_target("N1")], status))
    return document(*scans)


def test_example_10_equivocal_lesion_confirmed_later() -> None:
    """2.7 / 2.11 ex10: PD dated to day 56 where the nodule was first seen; day 56 re-derived."""
    evaluation = evaluate_response(_example_10("equivocal", "unequivocal"))
    first, second = evaluation.timepoints[1:]
    assert (first.overall_response, second.overall_response) == (Response.PD, Response.PD)
    assert first.target_response is Response.SD, "the target call itself is kept"
    assert {"EQUIVOCAL_NEW_LESION", "NEW_LESION_CONFIRMED_LATER"} <= set(first.flags)
    assert evaluation.progression_date is not None
    assert evaluation.progression_date.isoformat() == day(56)
    assert evaluation.best_overall_response is Response.PD


@pytest.mark.parametrize(
    ("statuses", "expected_overall", "pd_day"),
    [
        pytest.param(
            ["equivocal", "unequivocal"],
            ["PD", "PD"],
            56,
            id="2.11 ex10: equivocal day 56, confirmed day 112 -> PD dated day 56",
        ),
        pytest.param(["equivocal"], ["SD"], None, id="2.7: equivocal alone -> no PD yet"),
        pytest.param(
            ["equivocal", "none"],
            ["SD", "SD"],
            None,
            id="2.7: equivocal finding that resolves never becomes PD",
        ),
        pytest.param(["unequivocal"], ["PD"], 56, id="2.7: unequivocal new lesion -> PD"),
        pytest.param(
            ["equivocal", "equivocal", "unequivocal"],
            ["PD", "PD", "PD"],
            56,
            id="2.7: PD dated to the first of a run of equivocal sightings",
        ),
        pytest.param(
            ["equivocal", "none", "unequivocal"],
            ["SD", "SD", "PD"],
            168,
            id="2.7: a clear scan in between breaks the link to the earlier sighting",
        ),
    ],
)
def test_new_lesion_dating(
    statuses: list[str], expected_overall: list[str], pd_day: int | None
) -> None:
    evaluation = evaluate_response(_example_10(*statuses)).to_dict()
    assert [t["overall_response"] for t in evaluation["timepoints"][1:]] == expected_overall
    assert evaluation["progression_date"] == (None if pd_day is None else day(pd_day))


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param([NO, EQ, UN], {2: 1}, id="2.7: one equivocal sighting before confirmation"),
        pytest.param([NO, EQ, EQ, UN, UN], {3: 1}, id="2.7: first of the unbroken run"),
        pytest.param([NO, UN], {}, id="2.7: unequivocal at once needs no re-dating"),
        pytest.param([NO, EQ, NO, UN], {}, id="2.7: run broken by a clear scan"),
    ],
)
def test_first_sightings(statuses: list[NewLesions], expected: dict[int, int]) -> None:
    assert first_sightings(statuses) == expected
