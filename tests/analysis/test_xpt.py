"""Strict XPT v5 writer and reader (domain.md 10.3): limits enforced, round trips exact."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikctrial.analysis.xpt import format_name, read_xpt, write_xpt
from ikctrial.errors import InputError

LABELS = {"USUBJID": "Unique Subject Identifier", "AVAL": "Analysis Value", "ADT": "Analysis Date"}


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": ["IVY02-001", "IVY02-002"],
            "AVAL": [118.0, 363.0],
            "ADT": [dt.date(2025, 4, 28), dt.date(2025, 12, 29)],
        }
    )


def write(df: pd.DataFrame, path: Path, **overrides: object) -> None:
    options: dict[str, object] = {
        "dataset_name": "ADTTE",
        "dataset_label": "Time-to-Event Analysis Dataset",
        "column_labels": LABELS,
    }
    options.update(overrides)
    write_xpt(df, path, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pilot_file", "name", "label"),
    [
        ("adtte.xpt", "ADTTE", "AE Time To 1st Derm. Event Analysis"),
        ("adsl.xpt", "ADSL", "Subject-Level Analysis Dataset"),
    ],
)
def test_pilot_round_trip(
    pilot_dir: Path, tmp_path: Path, pilot_file: str, name: str, label: str
) -> None:
    """The CDISC pilot ADTTE and ADSL survive our reader and writer value for value."""
    original, meta = read_xpt(pilot_dir / pilot_file)
    target = tmp_path / pilot_file
    write_xpt(
        original, target, dataset_name=name, dataset_label=label, column_labels=meta.column_labels
    )
    again, meta_again = read_xpt(target)
    pd.testing.assert_frame_equal(original, again)
    assert meta_again.dataset_name == name
    assert meta_again.dataset_label == label
    assert meta_again.column_labels == meta.column_labels
    dates = {k for k, v in meta.column_formats.items() if v == "DATE9"}
    assert dates
    assert {k for k, v in meta_again.column_formats.items() if v == "DATE9"} == dates
    # an independent reader (pyreadstat directly, no date conversion) sees SAS day numbers
    raw, raw_meta = pyreadstat.read_xport(str(target), disable_datetime_conversion=True)
    assert raw_meta.table_name == name
    first_date = sorted(dates)[0]
    expected_days = (original[first_date].iloc[0] - dt.date(1960, 1, 1)).days
    assert raw[first_date].iloc[0] == expected_days


def test_dates_are_sas_dates_with_format(tmp_path: Path) -> None:
    """ADaM numeric dates are days since 1960-01-01 with a date format (domain.md 10.3).

    Known SAS values: 1960-01-01 is day 0, 2000-01-01 is day 14610, 1959-12-31 is day -1.
    """
    df = frame().assign(ADT=[dt.date(1960, 1, 1), dt.date(2000, 1, 1)])
    df.loc[len(df)] = ["IVY02-003", 1.0, dt.date(1959, 12, 31)]
    write(df, tmp_path / "adtte.xpt")
    raw, meta = pyreadstat.read_xport(str(tmp_path / "adtte.xpt"), disable_datetime_conversion=True)
    assert raw["ADT"].tolist() == [0.0, 14610.0, -1.0]
    assert format_name(meta.original_variable_types["ADT"]) == "DATE9"


def test_datetimes_are_seconds_since_1960(tmp_path: Path) -> None:
    """ADaM datetimes are seconds since 1960-01-01T00:00:00 (domain.md 10.3)."""
    df = pd.DataFrame({"ADTM": [dt.datetime(1960, 1, 2, 0, 0, 30), None]})
    write_xpt(
        df,
        tmp_path / "x.xpt",
        dataset_name="X",
        dataset_label="X",
        column_labels={"ADTM": "Analysis Datetime"},
    )
    raw, meta = pyreadstat.read_xport(str(tmp_path / "x.xpt"), disable_datetime_conversion=True)
    assert raw["ADTM"].iloc[0] == 86430.0
    assert np.isnan(raw["ADTM"].iloc[1])
    assert format_name(meta.original_variable_types["ADTM"]) == "DATETIME20"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        # domain.md 10.3: dataset name <= 8 characters
        ({"dataset_name": "ADTTELONG"}, "dataset_name", "longer than 8"),
        ({"dataset_name": "adtte"}, "dataset_name", "upper-case"),
        # dataset label <= 40 characters, ASCII
        ({"dataset_label": "x" * 41}, "ADTTE", "41 characters"),
        ({"dataset_label": "Analyse \u00e9v\u00e9nement"}, "ADTTE", "non-ASCII"),
        # every variable needs a label of <= 40 ASCII characters
        ({"column_labels": {**LABELS, "AVAL": "y" * 41}}, "ADTTE.AVAL", "41 characters"),
        (
            {"column_labels": {k: v for k, v in LABELS.items() if k != "AVAL"}},
            "ADTTE.AVAL",
            "no label",
        ),
        ({"column_labels": {**LABELS, "CNSR": "Censor"}}, "ADTTE.CNSR", "not in the dataset"),
    ],
)
def test_names_and_labels_checked(
    tmp_path: Path, change: dict[str, object], field: str, problem: str
) -> None:
    target = tmp_path / "adtte.xpt"
    with pytest.raises(InputError) as caught:
        write(frame(), target, **change)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


@pytest.mark.parametrize(
    ("column", "values", "field", "problem"),
    [
        # variable names: <= 8, upper case letters/digits/underscore, starting with a letter
        ("EVNTDESCR", ["a", "b"], "ADTTE.EVNTDESCR", "longer than 8"),
        ("evntdesc", ["a", "b"], "ADTTE.evntdesc", "upper-case"),
        ("1PARAM", ["a", "b"], "ADTTE.1PARAM", "starting with a letter"),
        # character values <= 200 bytes, ASCII only ("uL", not the micro sign)
        ("LBORRESU", ["uL", "\u00b5L"], "ADTTE.LBORRESU[1]", "non-ASCII character '\u00b5'"),
        ("EVNTDESC", ["ok", "x" * 201], "ADTTE.EVNTDESC[1]", "201 bytes"),
        # one type per variable; no infinities; no booleans
        ("CNSR", [0, "1"], "ADTTE.CNSR[1]", "mixes"),
        ("CHG", [1.0, float("inf")], "ADTTE.CHG[1]", "infinity"),
        ("ANL01FL", [True, False], "ADTTE.ANL01FL", "boolean"),
        ("OBJ", [object(), None], "ADTTE.OBJ[0]", "not supported"),
    ],
)
def test_values_checked(
    tmp_path: Path, column: str, values: list[object], field: str, problem: str
) -> None:
    df = frame().assign(**{column: values})
    labels = {**LABELS, column: "Some label"}
    with pytest.raises(InputError) as caught:
        write(df, tmp_path / "adtte.xpt", column_labels=labels)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert list(tmp_path.iterdir()) == []


def test_exactly_200_bytes_and_40_characters_allowed(tmp_path: Path) -> None:
    df = frame().assign(EVNTDESC=["x" * 200, None])
    write(df, tmp_path / "a.xpt", column_labels={**LABELS, "EVNTDESC": "z" * 40})
    back, meta = read_xpt(tmp_path / "a.xpt")
    assert back["EVNTDESC"].tolist() == ["x" * 200, ""]
    assert meta.column_labels["EVNTDESC"] == "z" * 40


def test_all_missing_typed_columns_keep_their_type(tmp_path: Path) -> None:
    """A date or number variable with no values (e.g. DTHDT when nobody died) stays typed."""
    df = pd.DataFrame(
        {
            "USUBJID": ["IVY02-001"],
            "AVAL": pd.Series([None], dtype=float),
            "ADT": pd.Series([pd.NaT], dtype="datetime64[ns]"),
        }
    )
    write(df, tmp_path / "a.xpt")
    back, meta = read_xpt(tmp_path / "a.xpt")
    assert meta.column_formats == {"ADT": "DATE9"}
    assert np.isnan(back["AVAL"].iloc[0])
    assert pd.isna(back["ADT"].iloc[0])


def test_blank_record_of_text_only_dataset_rejected(tmp_path: Path) -> None:
    """An all-blank record of a text-only dataset looks like XPT padding: readers would drop it."""
    df = pd.DataFrame({"USUBJID": ["IVY02-001", ""]})
    with pytest.raises(InputError) as caught:
        write(df, tmp_path / "a.xpt", column_labels={"USUBJID": "Unique Subject Identifier"})
    assert caught.value.field == "ADTTE[1]"


def test_failed_write_keeps_existing_file(tmp_path: Path) -> None:
    """A rejected dataset leaves the previous file untouched (write to a temporary, then rename)."""
    target = tmp_path / "adtte.xpt"
    write(frame(), target)
    before = target.read_bytes()
    with pytest.raises(InputError):
        write(frame().assign(USUBJID=["\u00e9", "b"]), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adtte.xpt"]


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_xpt(tmp_path / "missing.xpt")
    bad = tmp_path / "bad.xpt"
    bad.write_text("not an xpt file")
    with pytest.raises(InputError) as caught:
        read_xpt(bad)
    assert caught.value.source == str(bad)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
            st.one_of(st.none(), st.integers(-(10**9), 10**9).map(float)),
            st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_round_trip_property(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, float | None, dt.date | None]]
) -> None:
    """Any ASCII text <= 200 bytes, integer-valued number and date reads back unchanged.

    (Trailing blanks are not significant in SAS character values, so they are compared stripped.)
    """
    df = pd.DataFrame(
        {
            "USUBJID": [row[0] for row in rows],
            "AVAL": pd.Series([row[1] for row in rows], dtype=float),
            "ADT": pd.to_datetime(pd.Series([row[2] for row in rows], dtype=object)),
        }
    )
    target = tmp_path_factory.mktemp("xpt") / "p.xpt"
    write(df, target)
    back, _ = read_xpt(target)
    assert back["USUBJID"].tolist() == [s.rstrip() for s in df["USUBJID"]]
    assert np.array_equal(
        back["AVAL"].to_numpy(), df["AVAL"].astype(float).to_numpy(), equal_nan=True
    )
    expected_dates = [None if pd.isna(v) else v.date() for v in df["ADT"]]
    assert [None if pd.isna(v) else v for v in back["ADT"]] == expected_dates
