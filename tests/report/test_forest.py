"""Forest plot: each hazard ratio is the engine's Cox model on the subgroup (domain.md 7.5); a
subgroup without a finite estimate is shown as not estimable."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from tests.report.synthetic_trial import CONTROL, IKC, Trial, png_size

from ikctrial.errors import InputError
from ikctrial.report.figures.forest import ALL_PATIENTS, forest_figure, subgroup_hazard_ratios
from ikctrial.report.html import figure_png
from ikctrial.stats.cox import CoxPH

SUBGROUPS = {"BCLC": "BCLC stage", "CPCLASS": "Child-Pugh class", "SEX": "Sex", "AGEGR1": "Age"}


def _texts(figure: Figure) -> list[str]:
    return [t.get_text() for ax in figure.axes for t in ax.texts]


def _engine_hazard_ratio(rows: pd.DataFrame) -> tuple[float, float, float]:
    """HR IKC vs control straight from CoxPH on TRT01P (coded against IKC, its first level)."""
    fit = CoxPH().fit(rows, time="AVAL", censor="CNSR", covariates=["TRT01P"])
    lower, upper = fit.result_.hr_ci
    return 1 / float(fit.hazard_ratios_.iloc[0]), 1 / float(upper[0]), 1 / float(lower[0])


def test_each_hazard_ratio_equals_the_engines_cox_on_the_subgroup(trial: Trial) -> None:
    table = subgroup_hazard_ratios(
        trial.adtte, adsl=trial.adsl, subgroups=SUBGROUPS, experimental=IKC, reference=CONTROL
    )
    merged = trial.adtte.merge(trial.adsl[["USUBJID", *SUBGROUPS]], on="USUBJID")
    checked = 0
    for row in table.itertuples(index=False):
        if row.subgroup == ALL_PATIENTS:
            subset = merged
        else:
            column = next(c for c, label in SUBGROUPS.items() if label == row.subgroup)
            subset = merged[merged[column].astype(str) == row.level]
        assert row.n == len(subset)
        assert row.events_experimental == int(((subset.TRT01P == IKC) & (subset.CNSR == 0)).sum())
        if row.not_estimable is not None:
            continue
        expected = _engine_hazard_ratio(subset)
        assert (row.hazard_ratio, row.lower, row.upper) == pytest.approx(expected, rel=1e-9)
        checked += 1
    assert checked >= 8


def test_figure_prints_the_table_values(trial: Trial) -> None:
    plot = forest_figure(
        trial.adtte, adsl=trial.adsl, subgroups=SUBGROUPS, experimental=IKC, reference=CONTROL
    )
    texts = _texts(plot.figure)
    for row in plot.table.itertuples(index=False):
        if row.not_estimable is None:
            assert f"{row.hazard_ratio:.2f} ({row.lower:.2f}–{row.upper:.2f})" in texts
        assert f"{row.events_experimental}/{row.n_experimental}" in texts
    png = figure_png(plot.figure, dpi=100)
    width, height = png_size(png)
    assert width == 800
    assert height == round(100 * plot.figure.get_figheight())


def _no_events_in(trial: Trial, column: str, value: str, arm: str | None = None) -> pd.DataFrame:
    """ADTTE with every patient of one subgroup level (optionally one arm of it) censored."""
    level = trial.adsl.set_index("USUBJID")[column]
    chosen = trial.adtte["USUBJID"].map(level) == value
    if arm is not None:
        chosen &= trial.adtte["TRT01P"] == arm
    return trial.adtte.assign(CNSR=np.where(chosen, 1, trial.adtte["CNSR"]))


@pytest.mark.parametrize(
    ("arm", "reason"),
    [
        (None, "no events"),  # Cox partial likelihood is flat: nothing to estimate
        (IKC, f"no events in {IKC}"),  # monotone likelihood: HR runs to 0
        (CONTROL, f"no events in {CONTROL}"),  # HR runs to infinity
    ],
)
def test_subgroup_without_events_is_not_estimable(
    trial: Trial, arm: str | None, reason: str
) -> None:
    adtte = _no_events_in(trial, "BCLC", "C", arm)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no separation warning may escape
        plot = forest_figure(
            adtte, adsl=trial.adsl, subgroups=SUBGROUPS, experimental=IKC, reference=CONTROL
        )
    row = plot.table[(plot.table.subgroup == "BCLC stage") & (plot.table.level == "C")].iloc[0]
    assert row.not_estimable == reason
    assert np.isnan(row.hazard_ratio)
    assert f"NE ({reason})" in _texts(plot.figure)
    assert png_size(figure_png(plot.figure, dpi=50))[0] == 400


def test_subgroup_with_one_arm_is_not_estimable(trial: Trial) -> None:
    adsl = trial.adsl.assign(ONLYIKC=np.where(trial.adsl.TRT01P == IKC, "yes", "no"))
    table = subgroup_hazard_ratios(
        trial.adtte, adsl=adsl, subgroups={"ONLYIKC": "Only"}, experimental=IKC, reference=CONTROL
    )
    assert set(table.loc[1:, "not_estimable"]) == {
        f"no patients in {CONTROL}",
        f"no patients in {IKC}",
    }


def test_ordered_categories_keep_their_order(trial: Trial) -> None:
    adsl = trial.adsl.assign(
        BCLC=pd.Categorical(trial.adsl.BCLC, categories=["C", "B", "A"], ordered=True)
    )
    table = subgroup_hazard_ratios(
        trial.adtte, adsl=adsl, subgroups={"BCLC": "BCLC"}, experimental=IKC, reference=CONTROL
    )
    assert table.level.tolist() == ["", "C", "B", "A"]


def test_missing_subgroup_column_is_named(trial: Trial) -> None:
    with pytest.raises(InputError) as error:
        subgroup_hazard_ratios(
            trial.adtte,
            adsl=trial.adsl,
            subgroups={"ECOGX": "ECOG"},
            experimental=IKC,
            reference=CONTROL,
        )
    assert error.value.field == "ADSL.ECOGX"
