"""Reading analysis tables and validating survival columns (shared by the stats commands)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.stats.survival_reference import ADTTE

from ikctrial.errors import InputError
from ikctrial.stats.io import read_table, survival_columns

FRAME = pd.DataFrame(
    {"AVAL": [1.0, 2.5, 3.0], "CNSR": [0, 1, 0], "TRTP": ["A", "B", "A"], "EV": [1, 0, 1]}
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_table_round_trips(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    (FRAME.to_csv(path, index=False) if suffix == ".csv" else FRAME.to_parquet(path))
    pd.testing.assert_frame_equal(read_table(path), FRAME)


def test_read_table_reads_sas_xport() -> None:
    """The CDISC pilot ADTTE (.xpt) as ADaM: AVAL, CNSR, TRTP."""
    data = read_table(ADTTE)
    assert {"AVAL", "CNSR", "TRTP"} <= set(data.columns)
    assert len(data) == 254


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("t.xlsx", b"", "unknown table format"),
        ("missing.csv", None, "file not found"),
        ("bad.parquet", b"not parquet", "cannot read parquet"),
        ("bad.xpt", b"not xport", "cannot read xport"),
    ],
)
def test_read_table_errors_name_the_file(
    tmp_path: Path, name: str, content: bytes | None, problem: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        read_table(path)
    assert raised.value.source == str(path)
    assert problem in raised.value.problem


def test_censor_means_event_is_one_minus_cnsr() -> None:
    """ADaM: CNSR = 1 is censored, so event = 1 - CNSR."""
    columns = survival_columns(FRAME, time="AVAL", censor="CNSR", group="TRTP")
    assert columns.event.tolist() == [True, False, True]
    assert columns.group is not None
    assert columns.group.tolist() == ["A", "B", "A"]


def test_filter_is_applied_first() -> None:
    columns = survival_columns(FRAME, time="AVAL", event="EV", filter="TRTP == 'A'")
    np.testing.assert_array_equal(columns.time, [1.0, 3.0])


@pytest.mark.parametrize(
    ("change", "kwargs", "field", "problem"),
    [
        ({"AVAL": [1.0, -1.0, 2.0]}, {}, "AVAL", "negative"),
        ({"AVAL": [1.0, None, 2.0]}, {}, "AVAL", "missing"),
        ({"AVAL": [1.0, "x", 2.0]}, {}, "AVAL", "not a finite number"),
        ({"EV": [1, 2, 0]}, {}, "EV", "2 is not 0 or 1"),
        ({"EV": [1, None, 0]}, {}, "EV", "missing"),
        ({}, {"group": "ARM"}, "ARM", "unknown column"),
        ({}, {"filter": "AVAL >"}, "--filter", "invalid expression"),
        ({}, {"filter": "AVAL > 100"}, "--filter", "no rows"),
        ({}, {"censor": "CNSR"}, "--event", "exactly one"),
    ],
)
def test_bad_columns_name_the_column(
    change: dict[str, list[object]], kwargs: dict[str, str], field: str, problem: str
) -> None:
    frame = FRAME.assign(**change)
    with pytest.raises(InputError) as raised:
        survival_columns(frame, time="AVAL", event="EV", **kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field
    assert problem in raised.value.problem
