"""Kaplan-Meier figure: drawn numbers come from the engine (domain.md 7.5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.report.synthetic_trial import CONTROL, IKC, Trial, png_size

from ikctrial.errors import InputError
from ikctrial.report.figures.km import (
    format_median,
    format_p,
    format_time,
    kaplan_meier_figure,
)
from ikctrial.report.html import figure_png
from ikctrial.stats.cox import CoxPH
from ikctrial.stats.kaplan_meier import KaplanMeier
from ikctrial.stats.logrank import logrank_test

# domain.md 7.5 worked example (10 patients, event = 1): median 8 (95% CI 2-NE), log-log.
WORKED = [(2, 1), (3, 1), (4, 0), (5, 1), (5, 1), (7, 0), (8, 1), (10, 1), (12, 0), (12, 0)]


def _worked_example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [f"P{i}" for i in range(len(WORKED))],
            "PARAMCD": "PFS",
            "AVAL": [float(t) for t, _ in WORKED],
            "CNSR": [1 - e for _, e in WORKED],
            "TRT01P": "All",
        }
    )


def _texts(figure: object) -> str:
    from matplotlib.figure import Figure

    assert isinstance(figure, Figure)
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    return "\n".join([*titles, *(t.get_text() for ax in figure.axes for t in ax.texts)])


def test_renders_png_of_the_requested_size(trial: Trial) -> None:
    drawn = kaplan_meier_figure(trial.adtte, arm_order=[CONTROL, IKC], width_in=7, height_in=5.5)
    png = figure_png(drawn.figure, dpi=100)
    assert len(png) > 10_000
    assert png_size(png) == (700, 550)


def test_at_risk_table_equals_engine_numbers_at_risk(trial: Trial) -> None:
    drawn = kaplan_meier_figure(trial.adtte, arm_order=[CONTROL, IKC], time_unit="months")
    fitted = KaplanMeier().fit(trial.adtte, time="AVAL", censor="CNSR", group="TRT01P")
    ticks_days = drawn.at_risk.columns.to_numpy(dtype=float) * 30.4375
    for curve in fitted.curves_:
        expected = curve.at_risk(ticks_days)
        np.testing.assert_array_equal(drawn.at_risk.loc[curve.group].to_numpy(), expected)
        # and the definition: patients whose time is >= t (domain.md 7.5, R summary(fit, times=))
        times = trial.adtte.loc[trial.adtte["TRT01P"] == curve.group, "AVAL"].to_numpy()
        by_hand = [(times >= t).sum() for t in ticks_days]
        np.testing.assert_array_equal(drawn.at_risk.loc[curve.group].to_numpy(), by_hand)


def test_at_risk_numbers_are_the_ones_drawn_under_the_plot(trial: Trial) -> None:
    drawn = kaplan_meier_figure(trial.adtte, arm_order=[CONTROL, IKC])
    table_ax = drawn.figure.axes[1]
    shown = [t.get_text() for t in table_ax.texts]
    expected = [str(v) for arm in drawn.at_risk.index for v in drawn.at_risk.loc[arm]]
    assert shown == expected
    assert [t.get_text() for t in table_ax.get_yticklabels()] == [CONTROL, IKC]
    np.testing.assert_allclose(drawn.figure.axes[0].get_xticks(), drawn.at_risk.columns)


def test_statistics_are_the_engines(trial: Trial) -> None:
    drawn = kaplan_meier_figure(trial.adtte, arm_order=[CONTROL, IKC], time_unit="days")
    summary = KaplanMeier().fit(trial.adtte, time="AVAL", censor="CNSR", group="TRT01P").summary
    pd.testing.assert_frame_equal(drawn.summary, summary.loc[[CONTROL, IKC]])
    cox = CoxPH().fit(trial.adtte, time="AVAL", censor="CNSR", covariates=["TRT01P"])
    # the engine codes TRT01P against its first sorted level (IKC + TACE): our HR is the inverse
    assert drawn.hazard_ratio is not None
    assert drawn.hazard_ratio.hazard_ratio == pytest.approx(1 / cox.hazard_ratios_.iloc[0])
    lower, upper = cox.result_.hr_ci
    assert drawn.hazard_ratio.lower == pytest.approx(1 / upper[0])
    assert drawn.hazard_ratio.upper == pytest.approx(1 / lower[0])
    logrank = logrank_test(trial.adtte, time="AVAL", group="TRT01P", censor="CNSR")
    assert drawn.logrank is not None
    assert drawn.logrank.p == pytest.approx(logrank.p)
    assert f"Log-rank {format_p(logrank.p)} (nominal)" in _texts(drawn.figure)


def test_months_rescale_the_engine_medians(trial: Trial) -> None:
    days = kaplan_meier_figure(trial.adtte, time_unit="days").summary
    months = kaplan_meier_figure(trial.adtte, time_unit="months").summary
    np.testing.assert_allclose(months["median"], days["median"] / 30.4375)


def test_worked_example_median_and_interval() -> None:
    """domain.md 7.5: median 8 months, CI 2 to NE (upper CI curve never reaches 0.5)."""
    drawn = kaplan_meier_figure(_worked_example(), time_unit="days", tick_step=2)
    row = drawn.summary.loc["All"]
    assert (row["median"], row["median_lower"]) == (8.0, 2.0)
    assert np.isnan(row["median_upper"])
    assert "median 8 days (95% CI 2–NE)" in _texts(drawn.figure)
    assert list(drawn.at_risk.columns) == [0, 2, 4, 6, 8, 10, 12]
    assert drawn.at_risk.loc["All"].tolist() == [10, 10, 8, 5, 4, 3, 2]
    assert drawn.hazard_ratio is None  # one arm: no comparison


def test_no_events_gives_not_estimable_hazard_ratio(trial: Trial) -> None:
    censored = trial.adtte.assign(CNSR=1)
    drawn = kaplan_meier_figure(censored, arm_order=[CONTROL, IKC])
    assert drawn.hazard_ratio is not None
    assert not drawn.hazard_ratio.estimable
    assert drawn.logrank is None
    assert "HR: not estimable (no events)" in _texts(drawn.figure)
    assert "NE" in _texts(drawn.figure)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_unit": "years"}, "time_unit"),
        ({"tick_step": 0.0}, "tick_step"),
        ({"paramcd": "OS"}, "ADTTE.PARAMCD"),
        ({"arm": "ARMX"}, "ADTTE.ARMX"),
        ({"arm_order": [IKC]}, "ADTTE.TRT01P"),
        ({"reference": "Placebo"}, "reference"),
    ],
)
def test_bad_arguments_name_the_field(trial: Trial, change: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as error:
        kaplan_meier_figure(trial.adtte, **change)  # type: ignore[arg-type]
    assert error.value.field == field


def test_two_records_of_one_subject_are_rejected(trial: Trial) -> None:
    doubled = pd.concat([trial.adtte, trial.adtte.iloc[:1]])
    with pytest.raises(InputError, match="more than one record"):
        kaplan_meier_figure(doubled)


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [(8.0, "days", "8"), (5.4867, "months", "5.5"), (float("nan"), "months", "NE")],
)
def test_format_time(value: float, unit: str, shown: str) -> None:
    assert format_time(value, unit) == shown  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("p", "shown"), [(0.04999, "p = 0.050"), (0.0004, "p < 0.001"), (float("nan"), "p = NE")]
)
def test_format_p(p: float, shown: str) -> None:
    assert format_p(p) == shown


PILOT_ADTTE = Path("/work/shared/data/cdiscpilot01/adtte.xpt")
PILOT_REFERENCE = Path(__file__).parents[1] / "reference" / "pilot_km_reference.json"


@pytest.mark.skipif(
    not (PILOT_ADTTE.exists() and PILOT_REFERENCE.exists()), reason="CDISC pilot data not present"
)
def test_cdisc_pilot_figure_matches_r_survival() -> None:
    """The at-risk table and medians drawn for the CDISC pilot TTDE equal R survfit's
    (tests/reference/pilot_km_reference.R: summary(fit, times = 0, 20, ...), quantile.survfit)."""
    import pyreadstat

    adtte, _ = pyreadstat.read_xport(str(PILOT_ADTTE))
    reference = json.loads(PILOT_REFERENCE.read_text())
    drawn = kaplan_meier_figure(
        adtte,
        paramcd="TTDE",
        arm="TRTA",
        time_unit="days",
        tick_step=20,
        y_label="Probability of no dermatologic event",
        time_origin="first dose",
    )
    assert drawn.figure.axes[0].get_xlabel() == "Time since first dose (days)"
    ticks = drawn.at_risk.columns.tolist()
    assert ticks == reference["times"][: len(ticks)]
    for arm, expected in reference["groups"].items():
        assert drawn.at_risk.loc[arm].tolist() == expected["at_risk"][: len(ticks)]
        row = drawn.summary.loc[arm]
        assert (row["n"], row["events"]) == (expected["n"], expected["events"])
        for column in ("median", "median_lower", "median_upper"):
            wanted = np.nan if expected[column] is None else expected[column]
            np.testing.assert_equal(row[column], wanted)
    assert drawn.hazard_ratio is None  # three arms: no single hazard ratio
    assert drawn.logrank is not None
    assert drawn.logrank.df == 2


@pytest.mark.parametrize(
    ("median", "lower", "upper", "shown"),
    [
        (8.0, 2.0, float("nan"), "median 8.0 months (95% CI 2.0–NE)"),  # domain.md 7.5 example
        (float("nan"), 5.1, float("nan"), "median not reached (95% CI 5.1–NE)"),
    ],
)
def test_format_median(median: float, lower: float, upper: float, shown: str) -> None:
    assert format_median(median, lower, upper, "months", 0.95) == shown
