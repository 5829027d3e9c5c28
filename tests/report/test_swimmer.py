"""Swimmer plot: lanes are time on study from ADSL, marks are the ADEX and ADTTE records."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle
from tests.report.synthetic_trial import CONTROL, CUTOFF, IKC, Trial, png_size

from ikctrial.errors import InputError
from ikctrial.report.figures.swimmer import swimmer_figure
from ikctrial.report.html import figure_png


def test_lanes_are_days_on_study_grouped_by_arm_longest_first(trial: Trial) -> None:
    plot = swimmer_figure(
        trial.adsl,
        adex=trial.adex,
        adtte=trial.adtte,
        cutoff=CUTOFF,
        arm_order=[IKC, CONTROL],
        time_unit="days",
    )
    lanes = plot.lanes
    assert lanes.arm.tolist() == [IKC] * 30 + [CONTROL] * 30
    for arm in (IKC, CONTROL):
        assert (np.diff(lanes.loc[lanes.arm == arm, "days"]) <= 0).all()
    adsl = trial.adsl.set_index("USUBJID")
    end = pd.to_datetime(adsl.EOSDT).fillna(pd.Timestamp(CUTOFF))
    expected = (end - pd.to_datetime(adsl.RANDDT)).dt.days + 1
    assert lanes.days.tolist() == expected[lanes.USUBJID].tolist()
    assert lanes.ongoing.tolist() == adsl.EOSDT.isna()[lanes.USUBJID].tolist()
    bars = [p.get_width() for p in plot.figure.axes[0].patches if isinstance(p, Rectangle)]
    assert bars == pytest.approx(lanes.days.tolist())


def test_marks_are_the_exposure_and_event_records(trial: Trial) -> None:
    plot = swimmer_figure(trial.adsl, adex=trial.adex, adtte=trial.adtte, cutoff=CUTOFF)
    counts = plot.marks.kind.value_counts()
    assert counts["IKC infusion"] == int((trial.adex.EXTRT == "IKC").sum())
    assert counts["TACE session"] == int((trial.adex.EXTRT == "TACE").sum())
    assert counts["Progression"] == int((trial.adtte.CNSR == 0).sum())
    assert "Death" not in counts
    events = trial.adtte[trial.adtte.CNSR == 0].set_index("USUBJID")
    progression = plot.marks[plot.marks.kind == "Progression"].set_index("USUBJID").day
    assert progression.tolist() == events.AVAL[progression.index].tolist()  # ADT - RANDDT + 1
    assert png_size(figure_png(plot.figure, dpi=50))[0] == 350


def test_death_is_marked_as_death() -> None:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["A"],
            "TRT01P": [IKC],
            "RANDDT": [date(2025, 1, 1)],
            "EOSDT": [date(2025, 3, 1)],
        }
    )
    adtte = pd.DataFrame(
        {
            "USUBJID": ["A"],
            "PARAMCD": ["PFS"],
            "CNSR": [0],
            "ADT": [date(2025, 3, 1)],
            "EVNTDESC": ["DEATH"],
        }
    )
    plot = swimmer_figure(adsl, adtte=adtte)
    assert plot.marks.to_dict("records") == [{"USUBJID": "A", "kind": "Death", "day": 60.0}]


def test_patients_on_study_need_a_cutoff(trial: Trial) -> None:
    with pytest.raises(InputError) as error:
        swimmer_figure(trial.adsl)
    assert error.value.field == "cutoff"


def test_end_before_randomization_is_rejected() -> None:
    adsl = pd.DataFrame(
        {
            "USUBJID": ["A"],
            "TRT01P": [IKC],
            "RANDDT": [date(2025, 1, 2)],
            "EOSDT": [date(2024, 12, 1)],
        }
    )
    with pytest.raises(InputError, match="ends before randomization"):
        swimmer_figure(adsl)
