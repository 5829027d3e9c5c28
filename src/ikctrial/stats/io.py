"""Reading analysis tables for the ``stats`` commands and validating the columns they name.

This is the command line's reader (the core modules take DataFrames): CSV, Parquet and SAS XPORT
(``.xpt``, the CDISC ADaM transport format). Every problem is an ``InputError`` naming the column
(or the file), so the CLI can report it in one line and exit 2.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ikctrial.errors import InputError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xpt": "xport"}


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, Parquet or SAS XPORT file into a DataFrame (format from the file suffix)."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            "",
            f"unknown table format {path.suffix!r} (use .csv, .parquet or .xpt)",
            source=str(path),
        )
    if not path.is_file():
        raise InputError("", "file not found", source=str(path))
    try:
        if kind == "csv":
            return pd.read_csv(path)
        if kind == "parquet":
            return pd.read_parquet(path)
        import pyreadstat

        frame, _ = pyreadstat.read_xport(str(path))
        return frame
    except Exception as exc:  # any reader failure is the file's problem, reported in one line
        raise InputError("", f"cannot read {kind} file ({exc})", source=str(path)) from None


def apply_filter(data: pd.DataFrame, expression: str | None) -> pd.DataFrame:
    """Rows matching a pandas query expression (``--filter``); all rows when it is None or empty."""
    if not expression:
        return data
    try:
        selected = data.query(expression)
    except Exception as exc:  # pandas raises many types for a bad expression
        raise InputError("--filter", f"invalid expression {expression!r} ({exc})") from None
    if not isinstance(selected, pd.DataFrame):
        raise InputError("--filter", f"{expression!r} is not a row filter")
    return selected


def require_columns(data: pd.DataFrame, names: Sequence[str]) -> None:
    """Raise an InputError naming the first column the table does not have."""
    for name in names:
        if name not in data.columns:
            known = ", ".join(map(str, data.columns))
            raise InputError(name, f"unknown column (columns are: {known})")


def complete_column(data: pd.DataFrame, name: str) -> pd.Series:
    """The column, with an InputError naming it if any value is missing."""
    require_columns(data, [name])
    column = data[name]
    missing = int(column.isna().sum())
    if missing:
        raise InputError(name, f"{missing} missing value(s)")
    return column


def numeric_values(data: pd.DataFrame, name: str) -> NDArray[np.float64]:
    """A complete column of finite numbers, as floats."""
    require_columns(data, [name])
    if pd.api.types.is_numeric_dtype(data[name]) and not pd.api.types.is_bool_dtype(data[name]):
        fast = data[name].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isfinite(fast).all():
            return fast
    column = complete_column(data, name)
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if bad.any():
        raise InputError(name, f"{column[bad].iloc[0]!r} is not a finite number")
    return values.to_numpy(dtype=np.float64)


def _zero_one(data: pd.DataFrame, name: str) -> NDArray[np.bool_]:
    values = numeric_values(data, name)
    bad = (values != 0) & (values != 1)
    if bad.any():
        raise InputError(name, f"{_shown(values[bad][0])} is not 0 or 1")
    return np.asarray(values == 1, dtype=np.bool_)


def _shown(value: Any) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


@dataclass(frozen=True)
class SurvivalColumns:
    """Validated survival data: times >= 0, events, and optional group / strata / cluster labels."""

    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    group: pd.Series | None
    strata: pd.Series | None
    cluster: pd.Series | None
    data: pd.DataFrame


def survival_columns(
    data: pd.DataFrame,
    *,
    time: str,
    event: str | None = None,
    censor: str | None = None,
    group: str | None = None,
    strata: str | None = None,
    cluster: str | None = None,
    filter: str | None = None,
) -> SurvivalColumns:
    """Validate and extract survival columns; exactly one of ``event`` (1 = event) or ``censor``
    (ADaM CNSR: 1 = censored, so event = 1 - CNSR). ``filter`` is applied first."""
    if (event is None) == (censor is None):
        raise InputError("--event", "give exactly one of --event or --censor")
    selected = apply_filter(data, filter)
    names = [n for n in (time, event, censor, group, strata, cluster) if n is not None]
    require_columns(selected, names)
    if selected.empty:
        raise InputError("--filter" if filter else time, "no rows to analyse")
    times = numeric_values(selected, time)
    if (times < 0).any():
        raise InputError(time, f"{_shown(times[times < 0][0])} is negative (times must be >= 0)")
    events = _zero_one(selected, event) if event is not None else ~_zero_one(selected, str(censor))

    def labels(name: str | None) -> pd.Series | None:
        return None if name is None else complete_column(selected, name).reset_index(drop=True)

    return SurvivalColumns(
        time=times,
        event=events,
        group=labels(group),
        strata=labels(strata),
        cluster=labels(cluster),
        data=selected,
    )


def level_codes(labels: pd.Series) -> tuple[NDArray[np.intp], list[Hashable]]:
    """Integer codes of labels and their levels in sorted order (as R orders factor levels)."""
    codes, levels = pd.factorize(labels, sort=True)
    return codes.astype(np.intp), list(levels)
