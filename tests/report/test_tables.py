"""Baseline characteristics and adverse events by worst grade: counts, percentages and summary
statistics on hand-built data, and the CDISC pilot's published demographics table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ikctrial.errors import InputError
from ikctrial.report.tables import (
    ANY_EVENT,
    ANY_GRADE,
    GRADE_3_OR_MORE,
    MISSING,
    ae_counts_by_worst_grade,
    ae_table_by_worst_grade,
    baseline_characteristics,
    exposure_summary,
)

PILOT_ADSL = Path("/work/shared/data/cdiscpilot01/adsl.xpt")


def _adsl() -> pd.DataFrame:
    """Three IKC patients aged 50, 60, 70 (M, M, F) and two controls aged 40, 80 (F, missing);
    one more control is outside the ITT population."""
    return pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D", "E", "F"],
            "TRT01P": ["IKC", "IKC", "IKC", "TACE", "TACE", "TACE"],
            "TRT01A": ["IKC", "IKC", "IKC", "TACE", "TACE", "TACE"],
            "AGE": [50, 60, 70, 40, 80, 99],
            "SEX": ["M", "M", "F", "F", None, "M"],
            "ITTFL": ["Y", "Y", "Y", "Y", "Y", "N"],
            "SAFFL": ["Y", "Y", "Y", "Y", "Y", "N"],
        }
    )


def test_baseline_table_on_a_hand_built_example() -> None:
    table = baseline_characteristics(
        _adsl(), continuous={"AGE": "Age (years)"}, categorical={"SEX": "Sex"}
    )
    assert table.columns.tolist() == ["IKC (N = 3)", "TACE (N = 2)", "Total (N = 5)"]
    expected = {
        ("Age (years)", "n"): ["3", "2", "5"],
        # mean (SD, n - 1): IKC 60 (10), TACE 60 (28.28), total 60 (15.81)
        ("Age (years)", "Mean (SD)"): ["60.0 (10.00)", "60.0 (28.28)", "60.0 (15.81)"],
        # quartiles by linear interpolation (R type 7): IKC 55, 65; TACE 50, 70; all 50, 70
        ("Age (years)", "Median (Q1, Q3)"): [
            "60.0 (55.0, 65.0)",
            "60.0 (50.0, 70.0)",
            "60.0 (50.0, 70.0)",
        ],
        ("Age (years)", "Min, max"): ["50.0, 70.0", "40.0, 80.0", "40.0, 80.0"],
        ("Sex", "F"): ["1 (33.3%)", "1 (50.0%)", "2 (40.0%)"],
        ("Sex", "M"): ["2 (66.7%)", "0 (0.0%)", "2 (40.0%)"],
        ("Sex", MISSING): ["0 (0.0%)", "1 (50.0%)", "1 (20.0%)"],
    }
    assert list(table.index) == list(expected)
    for key, row in expected.items():
        assert table.loc[key].tolist() == row, key


def test_single_patient_has_no_sd() -> None:
    adsl = _adsl().iloc[:4]
    table = baseline_characteristics(adsl, continuous={"AGE": "Age"}, categorical={})
    assert table.loc[("Age", "Mean (SD)"), "TACE (N = 1)"] == "40.0 (–)"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"continuous": {"SEX": "Sex"}, "categorical": {}}, "ADSL.SEX"),
        ({"continuous": {"WEIGHT": "Weight"}, "categorical": {}}, "ADSL.WEIGHT"),
        ({"continuous": {}, "categorical": {}, "population": "PPROTFL"}, "ADSL.PPROTFL"),
    ],
)
def test_baseline_bad_input(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as error:
        baseline_characteristics(_adsl(), **kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


@pytest.mark.skipif(not PILOT_ADSL.exists(), reason="shared CDISC pilot data not mounted")
def test_cdisc_pilot_demographics_match_the_published_table() -> None:
    """CDISCPILOT01 CSR Table 14-2.01 (ITT, reproduced by the R Consortium submission pilot 1):
    age mean (SD) 75.2 (8.59), 75.7 (8.29), 74.4 (7.89); median 76.0, 77.5, 76.0; women 53, 50,
    40; white 78, 78, 74."""
    import pyreadstat

    adsl, _ = pyreadstat.read_xport(str(PILOT_ADSL))
    arms = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    table = baseline_characteristics(
        adsl,
        continuous={"AGE": "Age"},
        categorical={"SEX": "Sex", "RACE": "Race"},
        arm_order=arms,
        total=False,
    )
    assert table.columns.tolist() == [
        "Placebo (N = 86)",
        "Xanomeline Low Dose (N = 84)",
        "Xanomeline High Dose (N = 84)",
    ]
    assert table.loc[("Age", "Mean (SD)")].tolist() == ["75.2 (8.59)", "75.7 (8.29)", "74.4 (7.89)"]
    assert [m.split()[0] for m in table.loc[("Age", "Median (Q1, Q3)")]] == ["76.0", "77.5", "76.0"]
    assert [c.split()[0] for c in table.loc[("Sex", "F")]] == ["53", "50", "40"]
    assert [c.split()[0] for c in table.loc[("Race", "WHITE")]] == ["78", "78", "74"]


def _adae() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A", "B", "D", "D", "E", "F", "C"],
            "AEDECOD": [
                "Pyrexia",
                "Pyrexia",
                "Fatigue",
                "Pyrexia",
                "Fatigue",
                "Nausea",
                "Nausea",
                "Nausea",
                "Nausea",
            ],
            "ATOXGR": ["1", "3", "2", "2", "5", None, "1", "4", "2"],
            "TRTEMFL": ["Y", "Y", "Y", "Y", "Y", "Y", "Y", "Y", ""],
        }
    )


def test_each_patient_counts_once_at_the_worst_grade() -> None:
    counts, denominators = ae_counts_by_worst_grade(_adae(), _adsl())
    assert denominators == {"IKC": 3, "TACE": 2}  # F is outside the safety population
    # A: pyrexia 1 then 3 -> grade 3 once; B: pyrexia 2. C's nausea is not treatment-emergent.
    assert counts.loc["Pyrexia", "IKC"][["1", "2", "3", ANY_GRADE, GRADE_3_OR_MORE]].tolist() == [
        0,
        1,
        1,
        2,
        1,
    ]
    # any adverse event: A worst 3, B worst 2 | D worst 5, E worst 1 (F excluded)
    assert counts.loc[ANY_EVENT, "IKC"][["2", "3", ANY_GRADE]].tolist() == [1, 1, 2]
    assert counts.loc[ANY_EVENT, "TACE"][["1", "5", ANY_GRADE, GRADE_3_OR_MORE]].tolist() == [
        1,
        1,
        2,
        1,
    ]
    # D's nausea has no grade: a Missing column appears and counts it
    assert counts.loc["Nausea", ("TACE", MISSING)] == 1
    assert counts.loc["Nausea", ("TACE", ANY_GRADE)] == 2
    # rows: any event, then terms by decreasing frequency (ties by name)
    assert counts.index.tolist() == [ANY_EVENT, "Fatigue", "Nausea", "Pyrexia"]


def test_printed_ae_table_uses_the_safety_denominators() -> None:
    table = ae_table_by_worst_grade(_adae(), _adsl())
    assert table.loc["Pyrexia", ("IKC (N = 3)", ANY_GRADE)] == "2 (66.7%)"
    assert table.loc[ANY_EVENT, ("TACE (N = 2)", "5")] == "1 (50.0%)"
    assert table.loc["Fatigue", ("TACE (N = 2)", "1")] == "0 (0.0%)"


def test_no_adverse_events_gives_a_zero_row() -> None:
    empty = _adae().iloc[0:0]
    counts, _ = ae_counts_by_worst_grade(empty, _adsl())
    assert counts.index.tolist() == [ANY_EVENT]
    assert int(np.asarray(counts.to_numpy()).sum()) == 0


def test_bad_grade_is_rejected() -> None:
    adae = _adae().assign(ATOXGR=["1", "3", "2", "2", "5", "6", "1", "4", "2"])
    with pytest.raises(InputError) as error:
        ae_counts_by_worst_grade(adae, _adsl())
    assert error.value.field == "ADAE.ATOXGR"


def test_exposure_summary_on_a_hand_built_example() -> None:
    """A: 12 infusions of 2e9 cells; B: 9 of 1e9; C: 3 of 1e9; controls none (domain.md 7.7: the
    per-protocol threshold is 9 of 12 infusions)."""
    adex = pd.DataFrame(
        {
            "USUBJID": ["A"] * 12 + ["B"] * 9 + ["C"] * 3 + ["D"],
            "EXTRT": ["IKC"] * 24 + ["TACE"],
            "EXDOSE": [2e9] * 12 + [1e9] * 12 + [np.nan],
        }
    )
    table = exposure_summary(adex, _adsl())
    ikc, control = table["IKC (N = 3)"], table["TACE (N = 2)"]
    assert ikc[("Patients given IKC", "n (%)")] == "3 (100.0%)"
    assert ikc[("Received ≥9 of 12", "n (%)")] == "2 (66.7%)"
    assert ikc[("Received all 12", "n (%)")] == "1 (33.3%)"
    assert ikc[("IKC administrations per treated patient", "Median (Q1, Q3)")] == "9.0 (6.0, 10.5)"
    # totals 24, 9 and 3 x 10^9: mean 12, SD sqrt((144 + 9 + 81) / 2) = 10.82
    assert ikc[("Viable cells infused per patient (×10⁹)", "Mean (SD)")] == "12.0 (10.82)"
    assert control[("Patients given IKC", "n (%)")] == "0 (0.0%)"
    unknown = exposure_summary(adex.assign(EXDOSE=adex.EXDOSE.where(adex.index != 0)), _adsl())
    assert unknown.loc[("Viable cells infused per patient (×10⁹)", "n"), "IKC (N = 3)"] == "2"
    assert control[("IKC administrations per treated patient", "n")] == "0"
