"""The streamed XPT v5 writer (``xpt.write_xpt_stream``, ``xport_v5``) against pyreadstat.

pyreadstat is the oracle: a frame written whole by ``write_xpt`` (pyreadstat) and the same frame
written in chunks by our own writer must read back (with pyreadstat) identically: values, names,
labels, formats, storage widths and missing values.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikctrial.analysis.xport_v5 import RECORD, ibm_float
from ikctrial.analysis.xpt import read_xpt, write_xpt, write_xpt_stream
from ikctrial.errors import InputError

NAME, LABEL = "ADTTE", "Time-to-Event Analysis Dataset"
NAMESTR = b"HEADER RECORD*******NAMESTR HEADER RECORD"
LABELS = {
    "USUBJID": "Unique Subject Identifier",
    "PARAMCD": "Parameter Code",
    "AVAL": "Analysis Value",
    "ADT": "Analysis Date",
    "ADTM": "Analysis Datetime",
    "CNSDTDSC": "Censor Date Description",
}


def frame(rows: int = 7) -> pd.DataFrame:
    """Text (one all-missing), numbers with missing values, dates and datetimes."""
    return pd.DataFrame(
        {
            "USUBJID": [f"IVY02-{n:03d}" for n in range(rows)],
            "PARAMCD": ["PFS" if n % 2 else "OS" for n in range(rows)],
            "AVAL": [math.nan if n == 3 else 10.5 * n - 4 for n in range(rows)],
            "ADT": pd.to_datetime(
                [None if n == 2 else dt.date(2025, 1, 1 + n) for n in range(rows)]
            ),
            "ADTM": pd.to_datetime(
                [dt.datetime(2025, 1, 1, n, 30, 15) if n else None for n in range(rows)]
            ),
            "CNSDTDSC": pd.Series([None] * rows, dtype=object),
        }
    )


def split(df: pd.DataFrame, sizes: Sequence[int]) -> list[pd.DataFrame]:
    """The frame cut into consecutive chunks of the given sizes (the rest in the last)."""
    bounds = [0, *np.cumsum(sizes).tolist(), len(df)]
    return [df.iloc[a:b] for a, b in itertools.pairwise(bounds) if b > a or a == 0]


def both(
    df: pd.DataFrame,
    folder: Path,
    sizes: Sequence[int] = (),
    labels: dict[str, str] | None = None,
    label: str = LABEL,
) -> tuple[Path, Path]:
    """The frame written whole by pyreadstat and in chunks by the streamed writer."""
    labels = labels or {c: LABELS[c] for c in df.columns}
    whole, streamed = folder / "whole.xpt", folder / "streamed.xpt"
    write_xpt(df, whole, dataset_name=NAME, dataset_label=label, column_labels=labels)
    chunks = split(df, sizes)
    write_xpt_stream(
        lambda: iter(chunks),
        streamed,
        dataset_name=NAME,
        dataset_label=label,
        column_labels=labels,
    )
    return whole, streamed


def assert_same_file(whole: Path, streamed: Path) -> None:
    """pyreadstat reads the same values and metadata from both files."""
    expected, expected_meta = read_xpt(whole)
    actual, actual_meta = read_xpt(streamed)
    pd.testing.assert_frame_equal(expected, actual)
    assert actual_meta == expected_meta
    raw_expected, _ = pyreadstat.read_xport(str(whole), disable_datetime_conversion=True)
    raw_actual, meta = pyreadstat.read_xport(str(streamed), disable_datetime_conversion=True)
    pd.testing.assert_frame_equal(raw_expected, raw_actual)
    assert meta.number_rows == len(expected)
    assert streamed.stat().st_size % RECORD == 0
    # byte for byte from the NAMESTR header on: variable descriptors, IBM floats, blank padding
    # (before it only the creation stamps and the writing software's version differ)
    ours, theirs = streamed.read_bytes(), whole.read_bytes()
    assert ours[ours.index(NAMESTR) :] == theirs[theirs.index(NAMESTR) :]


@pytest.mark.parametrize(
    ("value", "ibm"),
    [
        # SAS TS-140 and IBM System/370 reference values
        (1.0, "4110000000000000"),
        (-1.0, "c110000000000000"),
        (-118.625, "c276a00000000000"),
        (0.1, "401999999999999a"),
        (1.5, "4118000000000000"),
        (0.0, "0000000000000000"),
        (16.0, "4210000000000000"),
        (1 / 16, "4010000000000000"),
        (math.nan, "2e00000000000000"),  # SAS missing "."
    ],
)
def test_ibm_float_reference_values(value: float, ibm: str) -> None:
    assert ibm_float([value]).tobytes().hex() == ibm


@pytest.mark.parametrize(("sizes"), [(), (1,), (3, 3), (1, 1, 1, 1, 1, 1), (6,)])
def test_streamed_equals_dataframe_path(tmp_path: Path, sizes: Sequence[int]) -> None:
    """However the rows are chunked, the file reads as pyreadstat's own."""
    assert_same_file(*both(frame(), tmp_path, sizes))


def test_empty_dataset_keeps_variables_and_types(tmp_path: Path) -> None:
    empty = frame().iloc[:0]
    whole, streamed = both(empty, tmp_path)
    assert_same_file(whole, streamed)
    back, meta = read_xpt(streamed)
    assert back.empty
    assert list(back.columns) == list(LABELS)
    # as in the DataFrame path: a datetime64 column without a time of day is a date
    assert meta.column_formats == {"ADT": "DATE9", "ADTM": "DATE9"}


def test_date_and_datetime_chunks_merge_like_a_whole_column(tmp_path: Path) -> None:
    """A datetime64 column is a date only if every value in the dataset is at midnight: a chunk
    of midnights followed by one with a time of day makes the variable a datetime."""
    df = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C"],
            "ADTM": pd.to_datetime(
                ["2025-01-01", "2025-01-02", "2025-01-03 08:00"], format="ISO8601"
            ),
        }
    )
    whole, streamed = both(df, tmp_path, (2,))
    assert_same_file(whole, streamed)
    assert read_xpt(streamed)[1].column_formats == {"ADTM": "DATETIME20"}


def test_untyped_empty_chunk_takes_the_type_of_later_chunks(tmp_path: Path) -> None:
    """An object column with no value in the first chunk is numeric when later chunks are."""
    df = pd.DataFrame({"USUBJID": ["A", "B"], "AVAL": pd.Series([None, 4.0], dtype=object)})
    streamed = tmp_path / "s.xpt"
    chunks = [df.iloc[:1], df.iloc[1:]]
    write_xpt_stream(
        lambda: chunks, streamed, dataset_name=NAME, dataset_label=LABEL, column_labels=LABELS
    )
    back, meta = read_xpt(streamed)
    assert meta.storage_widths == {"USUBJID": 1, "AVAL": 8}
    assert back["AVAL"].tolist()[1] == 4.0
    assert math.isnan(back["AVAL"].tolist()[0])


def test_pilot_adtte_streamed_round_trip(pilot_dir: Path, tmp_path: Path) -> None:
    """The CDISC pilot ADTTE read with pyreadstat and written in chunks of 50 rows by our writer
    reads back equal to the original and to pyreadstat's own writing of it."""
    original, meta = read_xpt(pilot_dir / "adtte.xpt")
    label = "AE Time To 1st Derm. Event Analysis"
    sizes = [50] * (len(original) // 50)
    whole, streamed = both(original, tmp_path, sizes, meta.column_labels, label)
    assert_same_file(whole, streamed)
    again, meta_again = read_xpt(streamed)
    pd.testing.assert_frame_equal(original, again)
    assert (meta_again.dataset_name, meta_again.dataset_label) == ("ADTTE", label)
    assert meta_again.column_labels == meta.column_labels
    dates = {k for k, v in meta.column_formats.items() if v == "DATE9"}
    assert dates
    assert {k for k, v in meta_again.column_formats.items() if v == "DATE9"} == dates


@settings(deadline=None, max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
            st.one_of(
                st.none(),
                st.floats(
                    allow_nan=False, allow_infinity=False, min_value=-1e70, max_value=1e70
                ).filter(lambda x: x == 0 or abs(x) > 1e-70),
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 5),
)
def test_any_value_reads_back_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, float | None]],
    chunk: int,
) -> None:
    """Any ASCII text <= 200 bytes and any double in IBM range round-trip exactly (the IEEE
    mantissa fits the IBM fraction), whatever the chunking."""
    df = pd.DataFrame(
        {
            "USUBJID": [row[0] for row in rows],
            "AVAL": pd.Series([row[1] for row in rows], dtype=float),
        }
    )
    df = df.assign(PARAMCD=["X"] * len(df))  # a record never entirely blank
    target = tmp_path_factory.mktemp("xpt") / "s.xpt"
    chunks = [df.iloc[i : i + chunk] for i in range(0, len(df), chunk)]
    write_xpt_stream(
        lambda: chunks, target, dataset_name=NAME, dataset_label=LABEL, column_labels=LABELS
    )
    back, meta = read_xpt(target)
    assert back["USUBJID"].tolist() == [s.rstrip() for s in df["USUBJID"]]
    assert np.array_equal(back["AVAL"].to_numpy(), df["AVAL"].to_numpy(), equal_nan=True)
    assert meta.storage_widths["USUBJID"] == max(1, *(len(s) for s in df["USUBJID"]))


@pytest.mark.parametrize(
    ("column", "values", "field", "problem"),
    [
        # each bad value is named by dataset, variable, row IN THE DATASET, and subject
        ("CNSDTDSC", ["ok", "x" * 201], "ADTTE.CNSDTDSC[4]", "201 bytes (XPT v5 allows 200)"),
        ("CNSDTDSC", ["ok", "5 \u00b5L"], "ADTTE.CNSDTDSC[4]", "non-ASCII character '\u00b5'"),
        ("AVAL", [1.0, float("inf")], "ADTTE.AVAL[4]", "infinity (USUBJID S4)"),
        ("AVAL", [1.0, 1e80], "ADTTE.AVAL[4]", "IBM floating-point range"),
        ("AVAL", [1.0, 1e-80], "ADTTE.AVAL[4]", "IBM floating-point range"),
        ("AVAL", [1.0, "one"], "ADTTE.AVAL[4]", "mixes char and numeric"),
        ("AVAL", [True, False], "ADTTE.AVAL[0]", "bool value True is not supported (USUBJID S0)"),
        ("EVNTDESCR", ["a", "b"], "ADTTE.EVNTDESCR", "longer than 8"),
    ],
)
def test_bad_values_name_dataset_variable_row_and_subject(
    tmp_path: Path, column: str, values: list[object], field: str, problem: str
) -> None:
    """Three chunks; the bad value is in the last one; nothing at all is written."""
    rows = [f"S{n}" for n in range(5)]
    first = pd.DataFrame({"USUBJID": rows[:3], column: pd.Series([values[0]] * 3, dtype=object)})
    last = pd.DataFrame({"USUBJID": rows[3:], column: pd.Series(values, dtype=object)})
    labels = {"USUBJID": "Unique Subject Identifier", column: "Some label"}
    with pytest.raises(InputError) as caught:
        write_xpt_stream(
            lambda: [first.iloc[:2], first.iloc[2:], last],
            tmp_path / "adtte.xpt",
            dataset_name=NAME,
            dataset_label=LABEL,
            column_labels=labels,
        )
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "label", "field", "problem"),
    [
        ("ADTTELONG", LABEL, "dataset_name", "longer than 8"),
        (NAME, "x" * 41, "ADTTE", "41 characters"),
        (NAME, "d\u00e9c\u00e8s", "ADTTE", "non-ASCII"),
    ],
)
def test_dataset_name_and_label_checked(
    tmp_path: Path, name: str, label: str, field: str, problem: str
) -> None:
    with pytest.raises(InputError) as caught:
        write_xpt_stream(
            lambda: [frame()],
            tmp_path / "a.xpt",
            dataset_name=name,
            dataset_label=label,
            column_labels=LABELS,
        )
    assert (caught.value.field, problem in caught.value.problem) == (field, True)
    assert list(tmp_path.iterdir()) == []


def test_a_variable_keeps_one_type_across_chunks(tmp_path: Path) -> None:
    """Numbers in the first chunk, text in the second: the first text value is reported."""
    chunks = [
        pd.DataFrame({"USUBJID": ["S0", "S1"], "AVAL": [1.0, 2.0]}),
        pd.DataFrame({"USUBJID": ["S2", "S3"], "AVAL": [None, "two"]}),
    ]
    with pytest.raises(InputError) as caught:
        write_xpt_stream(
            lambda: chunks,
            tmp_path / "a.xpt",
            dataset_name=NAME,
            dataset_label=LABEL,
            column_labels=LABELS,
        )
    assert caught.value.field == "ADTTE.AVAL[3]"
    assert caught.value.problem == (
        "mixes numeric and char values; a variable has one type (USUBJID S3)"
    )
    assert list(tmp_path.iterdir()) == []


def test_blank_record_of_text_only_dataset_rejected_in_any_chunk(tmp_path: Path) -> None:
    df = pd.DataFrame({"USUBJID": ["IVY02-001", "IVY02-002", ""]})
    with pytest.raises(InputError) as caught:
        write_xpt_stream(
            lambda: [df.iloc[:2], df.iloc[2:]],
            tmp_path / "a.xpt",
            dataset_name=NAME,
            dataset_label=LABEL,
            column_labels=LABELS,
        )
    assert caught.value.field == "ADTTE[2]"
    assert list(tmp_path.iterdir()) == []


def test_failed_streamed_write_keeps_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "adtte.xpt"
    both(frame(), tmp_path)
    (tmp_path / "streamed.xpt").rename(target)
    before = target.read_bytes()
    bad = frame().assign(AVAL=[float("inf")] * 7)
    with pytest.raises(InputError):
        write_xpt_stream(
            lambda: [bad], target, dataset_name=NAME, dataset_label=LABEL, column_labels=LABELS
        )
    assert target.read_bytes() == before


def test_data_changed_between_the_passes_is_refused(tmp_path: Path) -> None:
    """A value longer in pass 2 than pass 1 measured (a record saved meanwhile) is an error,
    never a truncated value."""
    passes = iter(
        [
            [pd.DataFrame({"USUBJID": ["S1", "S2"], "PARAMCD": ["PFS", "OS"]})],
            [pd.DataFrame({"USUBJID": ["S1", "S2"], "PARAMCD": ["PFS", "PFSBICR"]})],
        ]
    )
    with pytest.raises(InputError) as caught:
        write_xpt_stream(
            lambda: next(passes),
            tmp_path / "a.xpt",
            dataset_name=NAME,
            dataset_label=LABEL,
            column_labels=LABELS,
        )
    assert caught.value.field == "ADTTE.PARAMCD[1]"
    assert "the data changed during the export" in caught.value.problem
    assert list(tmp_path.iterdir()) == []
