"""Immune-panel MMRM plot: the drawn differences are the engine's (domain.md 7.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.report.synthetic_trial import CONTROL, IKC, png_size

from ikctrial.errors import InputError
from ikctrial.report.figures.mmrm_plot import mmrm_figure
from ikctrial.report.html import figure_png
from ikctrial.stats.mmrm import MMRM, mmrm


@pytest.fixture(scope="module")
def fitted() -> MMRM:
    """An MMRM of log change in a marker at weeks 4, 12 and 24 (seeded synthetic data)."""
    rng = np.random.default_rng(11)
    rows = [
        {
            "USUBJID": i,
            "AVISIT": f"WEEK {week}",
            "TRT01P": IKC if i < 15 else CONTROL,
            "BASE": base,
            "CHG": (0.2 * week / 24 if i < 15 else 0.0) + rng.normal(0, 0.3),
        }
        for i, base in enumerate(rng.normal(6.5, 0.4, 30))
        for week in (4, 12, 24)
    ]
    return mmrm(
        pd.DataFrame(rows),
        subject="USUBJID",
        visit="AVISIT",
        response="CHG",
        arm="TRT01P",
        baseline="BASE",
    )


def test_differences_are_the_engines(fitted: MMRM) -> None:
    # the engine reports second sorted level (TACE alone) minus first (IKC + TACE)
    assert fitted.arm_levels == (IKC, CONTROL)
    plot = mmrm_figure({"CD8+": fitted}, experimental=CONTROL)
    drawn = plot.differences
    assert drawn.visit.tolist() == ["WEEK 4", "WEEK 12", "WEEK 24"]
    assert drawn.estimate.tolist() == [v.difference for v in fitted.visits]
    assert drawn.lower.tolist() == [v.ci[0] for v in fitted.visits]
    assert drawn.p.tolist() == [v.p for v in fitted.visits]
    assert png_size(figure_png(plot.figure, dpi=100)) == (800, round(100 * (0.6 + 2.4)))


def test_experimental_first_level_turns_the_sign_only(fitted: MMRM) -> None:
    plot = mmrm_figure({"CD8+": fitted}, experimental=IKC)
    assert plot.differences.estimate.tolist() == [-v.difference for v in fitted.visits]
    assert plot.differences.lower.tolist() == [-v.ci[1] for v in fitted.visits]
    assert plot.differences.upper.tolist() == [-v.ci[0] for v in fitted.visits]
    assert "IKC + TACE vs TACE alone" in plot.figure.axes[1].get_ylabel()


def test_log_scale_markers_are_back_transformed(fitted: MMRM) -> None:
    plot = mmrm_figure(
        {"IFN-γ": fitted, "CD4/CD8": fitted}, log_scale=["IFN-γ"], experimental=CONTROL
    )
    ratio = plot.differences[plot.differences.marker == "IFN-γ"]
    assert ratio.estimate.to_numpy() == pytest.approx(np.exp([v.difference for v in fitted.visits]))
    assert set(ratio.scale) == {"ratio"}
    assert plot.figure.axes[0].get_yscale() == "log"
    assert plot.figure.axes[2].get_yscale() == "linear"
    assert len(plot.figure.axes) == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"log_scale": ["CD3+"]}, "log_scale"), ({"experimental": "Placebo"}, "experimental")],
)
def test_bad_arguments(fitted: MMRM, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as error:
        mmrm_figure({"CD8+": fitted}, **kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


def test_no_results_is_an_error() -> None:
    with pytest.raises(InputError):
        mmrm_figure({})
