"""CONSORT 2010 flow diagram: counts must add up, and every count is drawn."""

from __future__ import annotations

import pytest
from tests.report.synthetic_trial import CONTROL, IKC, png_size

from ikctrial.errors import InputError
from ikctrial.report.figures.consort import ArmFlow, ConsortCounts, consort_figure
from ikctrial.report.html import figure_png


def _counts() -> ConsortCounts:
    return ConsortCounts(
        screened=84,
        excluded={"Did not meet inclusion criteria": 15, "Declined to participate": 9},
        arms=(
            ArmFlow(
                IKC,
                allocated=30,
                received=28,
                analysed=30,
                not_received={"Lot failed release testing": 2},
                lost_to_follow_up=1,
                discontinued={"Progression": 9, "Adverse event": 2},
            ),
            ArmFlow(
                CONTROL,
                allocated=30,
                received=30,
                analysed=29,
                lost_to_follow_up=2,
                excluded_from_analysis={"No baseline imaging": 1},
            ),
        ),
    )


def test_every_count_is_drawn() -> None:
    figure = consort_figure(_counts())
    # wrapped reasons continue on the next line: compare with whitespace collapsed
    text = " ".join(" ".join(t.get_text() for t in figure.axes[0].texts).split())
    for line in (
        "Assessed for eligibility (n = 84)",
        "Excluded (n = 24)",
        "Did not meet inclusion criteria (n = 15)",
        "Randomized (n = 60)",
        f"Allocated to {IKC} (n = 30)",
        "Received allocated intervention (n = 28)",
        "Did not receive allocated intervention (n = 2)",
        "Lot failed release testing (n = 2)",
        "Discontinued intervention (n = 11)",
        "Lost to follow-up (n = 2)",
        "Analysed (n = 29)",
        "No baseline imaging (n = 1)",
    ):
        assert line in text
    width, height = png_size(figure_png(figure, dpi=100))
    assert width == 750
    assert height > 500


@pytest.mark.parametrize(
    ("make", "field"),
    [
        # CONSORT: assessed = excluded + randomized
        (lambda: ConsortCounts(screened=80, excluded={"x": 10}, arms=_counts().arms), "screened"),
        # allocated = received + did not receive
        (lambda: ArmFlow(IKC, allocated=30, received=27, analysed=30), f"arms.{IKC}.received"),
        # allocated = analysed + excluded from analysis
        (lambda: ArmFlow(IKC, allocated=30, received=30, analysed=28), f"arms.{IKC}.analysed"),
        (
            lambda: ArmFlow(IKC, allocated=30, received=30, analysed=30, lost_to_follow_up=-1),
            f"arms.{IKC}.lost_to_follow_up",
        ),
        (lambda: ConsortCounts(screened=10, excluded={"x": -1}, arms=_counts().arms), "excluded.x"),
        (lambda: ConsortCounts(screened=0, excluded={}, arms=()), "arms"),
    ],
)
def test_counts_that_do_not_add_up_are_rejected(make: object, field: str) -> None:
    assert callable(make)
    with pytest.raises(InputError) as error:
        make()
    assert error.value.field == field
