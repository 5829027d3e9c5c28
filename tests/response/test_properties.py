"""Invariants of the response rules, checked on generated series (hypothesis).

- Percentage changes depend only on ratios of sums (7.2, 2.5), so scaling every diameter by the
  same factor keeps them; under mRECIST (no absolute floor, 3.3) the responses, hence the best
  change up to the first PD, are kept too (the RECIST 1.1 5 mm floor is not scale-free).
- PD is monotone in growth from the nadir (2.5 step 5): a larger sum is never less progressed.
- The best overall response is never better than the best time-point response (2.9), and
  confirmation can only lower it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ikctrial.response import (
    Assessment,
    Criteria,
    NewLesions,
    Response,
    TargetMeasurement,
    TimepointCall,
    best_overall_response,
    evaluate_assessments,
)
from ikctrial.response.criteria import criteria_rules
from ikctrial.response.recist import target_response

RANK = {
    Response.NE: 0,
    Response.PD: 1,
    Response.SD: 2,
    Response.NON_CR_NON_PD: 2,
    Response.PR: 3,
    Response.CR: 4,
}
START = dt.date(2026, 1, 5)
tenths = st.integers(min_value=0, max_value=2000).map(lambda n: Decimal(n) / 10)
baseline_tenths = st.integers(min_value=100, max_value=1500).map(lambda n: Decimal(n) / 10)


def _series(
    baseline: list[Decimal], follow_ups: list[list[Decimal | None]], factor: Decimal = Decimal(1)
) -> list[Assessment]:
    def scan(index: int, sizes: list[Decimal | None]) -> Assessment:
        targets = tuple(
            TargetMeasurement(
                id=f"T{number}",
                organ=f"organ {number}",
                nodal=False,
                diameter_mm=None if size is None else size * factor,
            )
            for number, size in enumerate(sizes)
        )
        return Assessment(
            date=START + dt.timedelta(days=56 * index),
            target=targets,
            new_lesions=None if index == 0 else NewLesions.NONE,
        )

    return [scan(0, list[Decimal | None](baseline))] + [
        scan(index, sizes) for index, sizes in enumerate(follow_ups, start=1)
    ]


@st.composite
def target_series(draw: st.DrawFn) -> tuple[list[Decimal], list[list[Decimal | None]]]:
    baseline = draw(st.lists(baseline_tenths, min_size=1, max_size=3))
    size = st.one_of(st.none(), tenths) if draw(st.booleans()) else tenths
    follow_ups = draw(
        st.lists(st.lists(size, min_size=len(baseline), max_size=len(baseline)), max_size=5)
    )
    return baseline, follow_ups


@settings(max_examples=150, deadline=None)
@given(
    series=target_series(),
    factor=st.sampled_from([Decimal("1.5"), Decimal(2), Decimal("3.7"), Decimal(10)]),
    criteria=st.sampled_from(list(Criteria)),
)
def test_scaling_all_diameters_keeps_percentage_changes(
    series: tuple[list[Decimal], list[list[Decimal | None]]], factor: Decimal, criteria: Criteria
) -> None:
    """7.2 / 2.5: percentage changes are ratios of sums; mRECIST responses are scale-free too."""
    baseline, follow_ups = series
    plain = evaluate_assessments(_series(baseline, follow_ups), criteria=criteria)
    scaled = evaluate_assessments(_series(baseline, follow_ups, factor), criteria=criteria)
    for before, after in zip(plain.timepoints, scaled.timepoints, strict=True):
        assert before.pct_change_from_baseline == after.pct_change_from_baseline
        assert before.pct_change_from_nadir == after.pct_change_from_nadir
    if criteria is Criteria.MRECIST:
        assert plain.best_pct_change == scaled.best_pct_change, "same window up to first PD"
        assert [t.target_response for t in plain.timepoints] == [
            t.target_response for t in scaled.timepoints
        ]


@settings(max_examples=300, deadline=None)
@given(
    baseline=baseline_tenths,
    nadir_share=st.integers(min_value=0, max_value=100),
    current=tenths.filter(lambda mm: mm > 0),
    growth=tenths,
    criteria=st.sampled_from(list(Criteria)),
)
def test_progression_is_monotone_in_growth_from_nadir(
    baseline: Decimal, nadir_share: int, current: Decimal, growth: Decimal, criteria: Criteria
) -> None:
    """2.5 step 5 / 3.3 step 4: if a sum is PD against the nadir, any larger sum is PD too."""
    rules = criteria_rules(criteria)
    nadir = baseline * nadir_share / 100

    def call(mm: Decimal) -> Response:
        target = TargetMeasurement(id="T", organ="liver", nodal=False, diameter_mm=mm)
        return target_response(
            [target], baseline_sum_mm=baseline, nadir_mm=nadir, rules=rules
        ).response

    if call(current) is Response.PD:
        assert call(current + growth) is Response.PD


calls = st.lists(
    st.tuples(st.integers(min_value=1, max_value=60), st.sampled_from(list(RANK))),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    steps=calls,
    has_target_disease=st.booleans(),
    min_sd_days=st.sampled_from([0, 42, 49, 70]),
    allow_ne=st.booleans(),
)
def test_best_response_never_beats_the_best_time_point(
    steps: list[tuple[int, Response]], has_target_disease: bool, min_sd_days: int, allow_ne: bool
) -> None:
    """2.9: BOR <= best time-point response; with confirmation <= without."""
    elapsed, sequence = 0, []
    for gap, response in steps:
        elapsed += gap
        sequence.append(TimepointCall(elapsed, response))
    best_point = max((RANK[c.response] for c in sequence), default=RANK[Response.NE])
    results = [
        best_overall_response(
            sequence,
            has_target_disease=has_target_disease,
            confirmation_required=confirmation,
            min_sd_days=min_sd_days,
            allow_ne_between_confirmation=allow_ne,
        ).response
        for confirmation in (False, True)
    ]
    assert RANK[results[0]] <= best_point
    assert RANK[results[1]] <= RANK[results[0]]


@settings(max_examples=100, deadline=None)
@given(series=target_series(), confirmation=st.booleans())
def test_engine_best_response_never_beats_its_time_points(
    series: tuple[list[Decimal], list[list[Decimal | None]]], confirmation: bool
) -> None:
    """2.9 through the engine: BOR <= the best derived overall time-point response."""
    evaluation = evaluate_assessments(
        _series(*series), criteria=Criteria.RECIST_1_1, confirmation_required=confirmation
    )
    points = [RANK[t.overall_response] for t in evaluation.timepoints[1:]]
    assert RANK[evaluation.best_overall_response] <= max(points, default=RANK[Response.NE])
