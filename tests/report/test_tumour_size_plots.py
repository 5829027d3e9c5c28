"""Waterfall and spider plots (domain.md 7.2): bars and lines are the ADTR values, sorted and
annotated as the rules say."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle
from tests.report.synthetic_trial import CONTROL, IKC, Trial, png_size

from ikctrial.errors import InputError
from ikctrial.report.figures.spider import spider_figure
from ikctrial.report.figures.style import RESPONSE_COLOURS, arm_colours
from ikctrial.report.figures.waterfall import best_changes, waterfall_figure
from ikctrial.report.html import figure_png


def _bar_heights(plot_figure: object) -> list[float]:
    from matplotlib.figure import Figure

    assert isinstance(plot_figure, Figure)
    ax = plot_figure.axes[0]
    return [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]


@pytest.mark.parametrize("paramcd", ["SUMDIAM", "VSUMDIAM"])
def test_bars_are_the_best_changes_sorted_from_increase_to_decrease(
    trial: Trial, paramcd: str
) -> None:
    plot = waterfall_figure(trial.adtr, paramcd=paramcd, adrs=trial.adrs, adsl=trial.adsl)
    flagged = trial.adtr[(paramcd == trial.adtr.PARAMCD) & (trial.adtr.ANL01FL == "Y")]
    expected = sorted(flagged.PCHG.tolist(), reverse=True)
    assert plot.bars.best_pchg.tolist() == expected
    assert _bar_heights(plot.figure) == pytest.approx(expected)
    assert all(np.diff(plot.bars.best_pchg) <= 0)
    by_subject = flagged.set_index("USUBJID").PCHG
    assert (plot.bars.best_pchg.to_numpy() == by_subject[plot.bars.USUBJID].to_numpy()).all()
    assert plot.not_shown == len(trial.adsl) - len(flagged)
    assert plot.not_shown > 0  # the footnote case is exercised
    assert f"{plot.not_shown} without a post-baseline" in plot.figure.axes[0].get_xlabel()
    assert png_size(figure_png(plot.figure, dpi=100)) == (700, 450)


def test_bars_are_coloured_by_best_overall_response(trial: Trial) -> None:
    plot = waterfall_figure(trial.adtr, adrs=trial.adrs)
    bor = trial.adrs[(trial.adrs.PARAMCD == "BOR") & (trial.adrs.PARCAT1 == "RECIST 1.1")]
    expected = plot.bars.USUBJID.map(bor.set_index("USUBJID").AVALC)
    assert plot.bars.category.tolist() == expected.tolist()
    colours = [
        to_hex(p.get_facecolor()).upper()
        for p in plot.figure.axes[0].patches
        if isinstance(p, Rectangle)
    ]
    assert colours == [str(RESPONSE_COLOURS[c]).upper() for c in expected]


def test_bars_coloured_by_arm(trial: Trial) -> None:
    plot = waterfall_figure(trial.adtr, colour_by="arm", arm_order=[IKC, CONTROL])
    palette = arm_colours([IKC, CONTROL])
    colours = [
        to_hex(p.get_facecolor()).upper()
        for p in plot.figure.axes[0].patches
        if isinstance(p, Rectangle)
    ]
    assert colours == [palette[a].upper() for a in plot.bars.category]


def test_worked_example_and_marked_patient() -> None:
    """domain.md 7.2: SOD 56.0 -> 42.0 -> 47.6 gives -25.0% and -15.0%, best -25.0%."""
    adtr = pd.DataFrame(
        {
            "USUBJID": ["A"] * 3 + ["B"] * 2,
            "PARAMCD": "SUMDIAM",
            "AVAL": [56.0, 42.0, 47.6, 40.0, 52.0],
            "PCHG": [np.nan, -25.0, -15.0, np.nan, 30.0],
            "ANL01FL": ["", "Y", "", "", "Y"],
            "TRT01P": IKC,
        }
    )
    plot = waterfall_figure(adtr, colour_by="arm", marked=["B"])
    assert plot.bars.best_pchg.tolist() == [30.0, -25.0]
    assert plot.bars.marked.tolist() == [True, False]
    assert [t.get_text() for t in plot.figure.axes[0].texts].count("*") == 1
    assert plot.not_shown is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"paramcd": "LDIAM"}, "ADTR.PARAMCD"),
        ({"colour_by": "BOR"}, "ADRS"),
        ({"colour_by": "site"}, "colour_by"),
    ],
)
def test_waterfall_bad_input(trial: Trial, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as error:
        waterfall_figure(trial.adtr, **kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


def test_two_best_change_records_are_rejected(trial: Trial) -> None:
    flagged = trial.adtr[trial.adtr.ANL01FL == "Y"].iloc[:1]
    with pytest.raises(InputError, match="more than one best-change record"):
        best_changes(pd.concat([trial.adtr, flagged]), "SUMDIAM")


def test_spider_points_are_the_post_baseline_changes(trial: Trial) -> None:
    plot = spider_figure(trial.adtr, adrs=trial.adrs, arm_order=[IKC, CONTROL])
    post = trial.adtr[(trial.adtr.PARAMCD == "SUMDIAM") & (trial.adtr.ABLFL != "Y")]
    assert len(plot.points) == len(post)
    weeks = (pd.to_datetime(post.ADT) - pd.to_datetime(post.RANDDT)).dt.days / 7
    assert sorted(plot.points.week) == pytest.approx(sorted(weeks))
    assert set(plot.points.week.round(6)) >= {8.0, 16.0}  # scans every 56 days
    # one line per patient, starting at 0% at randomization
    for ax, arm in zip(plot.figure.axes, [IKC, CONTROL], strict=True):
        patients = plot.points.loc[plot.points.arm == arm, "USUBJID"].nunique()
        lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert len(lines) == patients
        assert all(line.get_xdata()[0] == 0 and line.get_ydata()[0] == 0 for line in lines)


def test_spider_marks_progression_from_adrs(trial: Trial) -> None:
    plot = spider_figure(trial.adtr, adrs=trial.adrs)
    pd_records = trial.adrs[
        (trial.adrs.PARAMCD == "OVR")
        & (trial.adrs.PARCAT1 == "RECIST 1.1")
        & (trial.adrs.AVALC == "PD")
    ]
    assert plot.points.progression.sum() == len(pd_records)
    marked = plot.points[plot.points.progression]
    assert set(marked.USUBJID) == set(pd_records.USUBJID)
    assert png_size(figure_png(plot.figure, dpi=100)) == (800, 400)


def test_spider_week_from_dates() -> None:
    adtr = pd.DataFrame(
        {
            "USUBJID": ["A", "A"],
            "PARAMCD": "VSUMDIAM",
            "ADT": [date(2025, 1, 1), date(2025, 2, 26)],
            "RANDDT": date(2025, 1, 1),
            "ABLFL": ["Y", ""],
            "PCHG": [np.nan, -100.0],
            "TRT01P": CONTROL,
        }
    )
    with pytest.raises(InputError, match="no records of 'SUMDIAM'"):
        spider_figure(adtr)
    plot = spider_figure(adtr, paramcd="VSUMDIAM")
    assert plot.points[["week", "pchg"]].to_numpy().tolist() == [[8.0, -100.0]]


def test_spider_with_baseline_scans_only_draws_empty_panels(trial: Trial) -> None:
    """No post-baseline change yet: no point, no line, no progression mark, one panel per arm."""
    baseline = trial.adtr[trial.adtr.ABLFL == "Y"]
    plot = spider_figure(baseline, adrs=trial.adrs, arm_order=[IKC, CONTROL])
    assert plot.points.empty
    assert plot.points["progression"].dtype == bool
    assert len(plot.figure.axes) == 2
    for ax in plot.figure.axes:
        assert not [line for line in ax.get_lines() if line.get_marker() == "o"]
        marks = [line for line in ax.get_lines() if line.get_marker() == "X"]
        assert [len(line.get_xdata()) for line in marks] == [0]
