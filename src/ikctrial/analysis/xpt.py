"""Strict SAS XPORT version 5 files (the regulatory submission format, domain.md 10.3).

pyreadstat writes and reads the bytes; this module decides what may be written. Every limit of
XPT v5 is checked BEFORE anything touches the disk (names <= 8 characters, upper-case letters,
digits and underscore starting with a letter; labels <= 40; character values <= 200 bytes and
ASCII; numbers finite), and the first violation is an ``InputError`` naming the dataset, the
variable and the row. Nothing is truncated or transliterated silently. The file is written to a
temporary file beside the target and renamed, so a failed write never leaves half a dataset.

A variable's type comes from its column: numeric dtypes are numbers, ``datetime64`` columns are
dates (or datetimes when some value is not at midnight), object columns take the type of their
values. An object column with no values at all is character, so give a date or numeric variable
that may be entirely missing a typed column (``datetime64``, ``float``), as
``adam.metadata.conform`` does.

Dates: a column of ``datetime.date`` values (or ``datetime64`` values that are all midnight dates)
becomes a SAS date (days since 1960-01-01) with format ``DATE9.``; a column of
``datetime.datetime`` values becomes a SAS datetime (seconds since 1960-01-01T00:00:00) with format
``DATETIME20.``. Reading converts both back (pyreadstat recognises the formats).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from ikctrial.analysis.files import replaced_atomically
from ikctrial.errors import InputError

NAME_MAX = 8
LABEL_MAX = 40
CHAR_MAX_BYTES = 200
DATE_FORMAT = "DATE9."
DATETIME_FORMAT = "DATETIME20."
SAS_EPOCH = dt.date(1960, 1, 1)
_SAS_EPOCH_DATETIME = dt.datetime(1960, 1, 1)
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class XptMetadata:
    """What an XPT file says about its dataset besides the values."""

    dataset_name: str
    dataset_label: str
    column_labels: dict[str, str]
    column_formats: dict[str, str]
    """SAS display format of each formatted variable (e.g. ``DATE9``); absent when none."""
    storage_widths: dict[str, int]
    """Bytes per value: 8 for numbers, the declared length for character variables."""


def check_name(name: object, field: str, what: str) -> str:
    """An XPT v5 dataset or variable name, or an InputError saying which rule it breaks."""
    if not isinstance(name, str):
        raise InputError(field, f"{what} {name!r} is not a string")
    if len(name) > NAME_MAX:
        raise InputError(field, f"{what} {name!r} is longer than {NAME_MAX} characters")
    if not _NAME.match(name):
        raise InputError(
            field,
            f"{what} {name!r} must be upper-case letters, digits or underscore, "
            "starting with a letter",
        )
    return name


def check_label(label: object, field: str, what: str) -> str:
    """An XPT v5 label (ASCII, at most 40 characters)."""
    if not isinstance(label, str):
        raise InputError(field, f"{what} {label!r} is not a string")
    _require_ascii(label, field, what)
    if len(label) > LABEL_MAX:
        raise InputError(
            field, f"{what} is {len(label)} characters (XPT v5 allows {LABEL_MAX}): {label!r}"
        )
    return label


def _require_ascii(text: str, field: str, what: str) -> None:
    for position, char in enumerate(text):
        if ord(char) > 127:
            raise InputError(
                field,
                f"{what} has the non-ASCII character {char!r} at position {position + 1} "
                "(XPT v5 is ASCII only)",
            )


def _column_kind(values: pd.Series, field: str) -> str:
    """'numeric', 'char', 'date' or 'datetime' for one column; mixed or unsupported is an error."""
    if pd.api.types.is_bool_dtype(values):
        raise InputError(field, "boolean column: store a flag as 'Y'/'N' text or 0/1 numbers")
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            raise InputError(field, "time-zone aware datetimes cannot be stored in XPT")
        present = values.dropna()
        return "date" if (present == present.dt.normalize()).all() else "datetime"
    kinds: set[str] = set()
    for position, value in enumerate(values):
        if _missing(value):
            continue
        if isinstance(value, str):
            kinds.add("char")
        elif isinstance(value, dt.datetime):
            kinds.add("datetime")
        elif isinstance(value, dt.date):
            kinds.add("date")
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool
        ):
            kinds.add("numeric")
        else:
            raise InputError(
                f"{field}[{position}]", f"{type(value).__name__} value {value!r} is not supported"
            )
        if len(kinds) > 1:
            raise InputError(
                f"{field}[{position}]",
                f"mixes {' and '.join(sorted(kinds))} values; a variable has one type",
            )
    return kinds.pop() if kinds else "char"


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _check_chars(values: pd.Series, field: str) -> pd.Series:
    """Character values, checked for ASCII and the 200-byte limit; missing becomes ''."""
    out = values.astype(object).where(values.notna(), "")
    for position, value in enumerate(out):
        _require_ascii(value, f"{field}[{position}]", "value")
        if len(value) > CHAR_MAX_BYTES:
            raise InputError(
                f"{field}[{position}]",
                f"value is {len(value)} bytes (XPT v5 allows {CHAR_MAX_BYTES}); "
                "split it (e.g. into --TEST and SUPP--) rather than truncate",
            )
    return out


def _check_numbers(values: pd.Series, field: str) -> pd.Series:
    """Finite floats (NaN is SAS missing); infinities are errors."""
    numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
    for position, (value, number) in enumerate(zip(values, numbers, strict=True)):
        if not _missing(value) and math.isnan(number):
            raise InputError(f"{field}[{position}]", f"{value!r} is not a number")
        if math.isinf(number):
            raise InputError(f"{field}[{position}]", f"{value!r}: XPT cannot store infinity")
    return numbers


def _sas_days(values: pd.Series) -> pd.Series:
    def days(value: Any) -> float:
        if _missing(value):
            return math.nan
        day = value.date() if isinstance(value, (dt.datetime, pd.Timestamp)) else value
        return float((day - SAS_EPOCH).days)

    return values.map(days).astype(np.float64)


def _sas_seconds(values: pd.Series) -> pd.Series:
    def seconds(value: Any) -> float:
        if _missing(value):
            return math.nan
        moment = pd.Timestamp(value).to_pydatetime()
        return (moment - _SAS_EPOCH_DATETIME).total_seconds()

    return values.map(seconds).astype(np.float64)


def xpt_ready(
    df: pd.DataFrame,
    *,
    dataset_name: str,
    dataset_label: str,
    column_labels: Mapping[str, str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame as XPT v5 stores it (dates as SAS numbers) and the formats to declare.

    Raises ``InputError`` at the first value, name or label that XPT v5 cannot hold exactly.
    """
    name = check_name(dataset_name, "dataset_name", "dataset name")
    check_label(dataset_label, name, "dataset label")
    if df.columns.duplicated().any():
        repeated = df.columns[df.columns.duplicated()][0]
        raise InputError(f"{name}.{repeated}", "variable appears twice")
    unknown = sorted(set(column_labels) - {str(c) for c in df.columns})
    if unknown:
        raise InputError(f"{name}.{unknown[0]}", "label given for a variable not in the dataset")
    out: dict[str, pd.Series] = {}
    formats: dict[str, str] = {}
    for column in df.columns:
        field = f"{name}.{column}"
        variable = check_name(column, field, "variable name")
        if variable not in column_labels:
            raise InputError(field, "variable has no label")
        check_label(column_labels[variable], field, "variable label")
        values = df[column].reset_index(drop=True)
        kind = _column_kind(values, field)
        if kind == "char":
            out[variable] = _check_chars(values, field)
        elif kind == "numeric":
            out[variable] = _check_numbers(values, field)
        elif kind == "date":
            out[variable] = _sas_days(values)
            formats[variable] = DATE_FORMAT
        else:
            out[variable] = _sas_seconds(values)
            formats[variable] = DATETIME_FORMAT
    ready = pd.DataFrame(out, columns=list(out))
    _reject_blank_records(ready, name)
    return ready, formats


def _reject_blank_records(ready: pd.DataFrame, name: str) -> None:
    """A record of only blank text is indistinguishable from XPT padding: readers drop it."""
    if ready.empty or any(pd.api.types.is_numeric_dtype(ready[c]) for c in ready.columns):
        return
    blank = (ready.map(lambda value: not str(value).strip())).all(axis=1)
    if blank.any():
        position = int(np.flatnonzero(blank.to_numpy())[0])
        raise InputError(
            f"{name}[{position}]",
            "record is entirely blank and has no numeric variable; XPT readers would drop it",
        )


def write_xpt(
    df: pd.DataFrame,
    path: str | Path,
    *,
    dataset_name: str,
    dataset_label: str,
    column_labels: Mapping[str, str],
) -> None:
    """Write one dataset as an XPT v5 file after checking every limit; all or nothing."""
    ready, formats = xpt_ready(
        df, dataset_name=dataset_name, dataset_label=dataset_label, column_labels=column_labels
    )
    with replaced_atomically(path) as temporary:
        pyreadstat.write_xport(
            ready,
            temporary,
            file_label=dataset_label,
            column_labels={c: column_labels[c] for c in ready.columns},
            table_name=dataset_name,
            file_format_version=5,
            variable_format=formats,
        )


def format_name(declared: str) -> str:
    """A SAS format as its name (``DATE9``), whether the reader gives it with the terminating
    period (``DATE9.``, pyreadstat >= 1.3) or without; a width.decimals format keeps its point."""
    return declared[:-1] if declared.endswith(".") else declared


def read_xpt(path: str | Path, *, encoding: str | None = None) -> tuple[pd.DataFrame, XptMetadata]:
    """Read an XPT file: values (SAS dates as ``datetime.date``) and dataset metadata.

    ``encoding`` is for files that are not ASCII (the CDISC pilot ``ts.xpt`` needs ``cp1252``).
    """
    source = str(path)
    if not Path(path).is_file():
        raise InputError("", "file not found", source=source)
    try:
        if encoding is None:
            df, meta = pyreadstat.read_xport(source)
        else:
            df, meta = pyreadstat.read_xport(source, encoding=encoding)
    except (pyreadstat.ReadstatError, UnicodeDecodeError) as exc:
        raise InputError("", f"not a readable XPT file ({exc})", source=source) from None
    names = list(meta.column_names)
    labels = [label or "" for label in meta.column_labels]
    formats = {
        name: format_name(fmt)
        for name, fmt in meta.original_variable_types.items()
        if fmt is not None
    }
    metadata = XptMetadata(
        dataset_name=meta.table_name or "",
        dataset_label=meta.file_label or "",
        column_labels=dict(zip(names, labels, strict=True)),
        column_formats=formats,
        storage_widths=dict(meta.variable_storage_width),
    )
    return df, metadata
