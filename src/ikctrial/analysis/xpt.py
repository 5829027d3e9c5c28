"""Strict SAS XPORT version 5 files (the regulatory submission format, domain.md 10.3).

This module decides what may be written. Every limit of XPT v5 is checked BEFORE anything
touches the disk (names <= 8 characters, upper-case letters, digits and underscore starting with
a letter; labels <= 40; character values <= 200 bytes and ASCII; numbers finite and within IBM
floating-point range), and the first violation is an ``InputError`` naming the dataset, the
variable, the row and (when the dataset has USUBJID) the subject. Nothing is truncated or
transliterated silently. The file is written to a temporary file beside the target and renamed,
so a failed write never leaves half a dataset.

Two writers: ``write_xpt`` hands a whole DataFrame to pyreadstat (which also reads every file);
the streamed one (``XptPlan`` then ``xpt_writer``, or ``write_xpt_stream``) takes a dataset as
chunks in two passes, checking and sizing every variable first, then encoding chunk by chunk
with ``analysis.xport_v5``, so memory is bounded by a chunk. Both give the same file from the
NAMESTR records on (the tests compare them byte for byte).

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyreadstat

from ikctrial.analysis.files import replaced_atomically
from ikctrial.analysis.xport_v5 import (
    NUMERIC_WIDTH,
    IbmRangeError,
    Layout,
    ObservationWriter,
    Variable,
    ibm_float,
)
from ikctrial.errors import InputError

NAME_MAX = 8
LABEL_MAX = 40
CHAR_MAX_BYTES = 200
DATE_FORMAT = "DATE9."
DATETIME_FORMAT = "DATETIME20."
SAS_EPOCH = dt.date(1960, 1, 1)
_SAS_EPOCH_DATETIME = dt.datetime(1960, 1, 1)
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_FORMATS = {"date": DATE_FORMAT, "datetime": DATETIME_FORMAT}


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


@dataclass(frozen=True)
class _Rows:
    """Where a chunk's rows sit in their dataset, so a bad value names its row and subject."""

    offset: int = 0
    subjects: Sequence[object] | None = None
    """The chunk's USUBJID values, when the dataset has them."""

    def error(self, field: str, position: int, problem: str) -> InputError:
        """An InputError at ``field[row]``, naming the subject when known."""
        who = "" if self.subjects is None else f" (USUBJID {self.subjects[position]})"
        return InputError(f"{field}[{self.offset + position}]", problem + who)


def _rows_of(df: pd.DataFrame, offset: int = 0) -> _Rows:
    subjects = df["USUBJID"].tolist() if "USUBJID" in df.columns else None
    return _Rows(offset, subjects)


def _observed_kind(values: pd.Series, field: str, rows: _Rows) -> tuple[str | None, bool]:
    """'numeric', 'char', 'date' or 'datetime' as the values show it (None: an untyped column
    without values), and whether the column is ``datetime64`` (its date or datetime kind then
    follows the values: midnight only is a date); mixed or unsupported values are errors."""
    if pd.api.types.is_bool_dtype(values):
        raise InputError(field, "boolean column: store a flag as 'Y'/'N' text or 0/1 numbers")
    if pd.api.types.is_numeric_dtype(values):
        return "numeric", False
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            raise InputError(field, "time-zone aware datetimes cannot be stored in XPT")
        present = values.dropna()
        return ("date" if (present == present.dt.normalize()).all() else "datetime"), True
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
            raise rows.error(
                field, position, f"{type(value).__name__} value {value!r} is not supported"
            )
        if len(kinds) > 1:
            raise rows.error(
                field,
                position,
                f"mixes {' and '.join(sorted(kinds))} values; a variable has one type",
            )
    return (kinds.pop() if kinds else None), False


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _check_chars(values: pd.Series, field: str, rows: _Rows) -> pd.Series:
    """Character values, checked for ASCII and the 200-byte limit; missing becomes ''."""
    out = values.astype(object).where(values.notna(), "")
    for position, value in enumerate(out):
        if not isinstance(value, str):
            raise rows.error(field, position, f"{value!r} is not text")
        if not value.isascii():
            try:
                _require_ascii(value, field, "value")
            except InputError as error:
                raise rows.error(field, position, error.problem) from None
        if len(value) > CHAR_MAX_BYTES:
            raise rows.error(
                field,
                position,
                f"value is {len(value)} bytes (XPT v5 allows {CHAR_MAX_BYTES}); "
                "split it (e.g. into --TEST and SUPP--) rather than truncate",
            )
    return out


def _check_numbers(values: pd.Series, field: str, rows: _Rows) -> pd.Series:
    """Finite floats (NaN is SAS missing) within IBM range; infinities are errors."""
    numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
    for position, (value, number) in enumerate(zip(values, numbers, strict=True)):
        if not _missing(value) and math.isnan(number):
            raise rows.error(field, position, f"{value!r} is not a number")
        if math.isinf(number):
            raise rows.error(field, position, f"{value!r}: XPT cannot store infinity")
    try:
        ibm_float(numbers.to_numpy())
    except IbmRangeError as error:
        raise rows.error(field, error.position, str(error)) from None
    return numbers


def _sas_days(values: pd.Series) -> pd.Series:
    if values.empty:  # a dataset without records still declares its date variables
        return pd.Series(dtype=np.float64)

    def days(value: Any) -> float:
        if _missing(value):
            return math.nan
        day = value.date() if isinstance(value, (dt.datetime, pd.Timestamp)) else value
        return float((day - SAS_EPOCH).days)

    return values.map(days).astype(np.float64)


def _sas_seconds(values: pd.Series) -> pd.Series:
    if values.empty:  # a dataset without records still declares its date variables
        return pd.Series(dtype=np.float64)

    def seconds(value: Any) -> float:
        if _missing(value):
            return math.nan
        moment = pd.Timestamp(value).to_pydatetime()
        return (moment - _SAS_EPOCH_DATETIME).total_seconds()

    return values.map(seconds).astype(np.float64)


def _convert(values: pd.Series, kind: str, field: str, rows: _Rows) -> pd.Series:
    """One column as XPT stores it: text, or float64 numbers (dates as SAS days or seconds)."""
    if kind == "char":
        return _check_chars(values, field, rows)
    if kind == "numeric":
        return _check_numbers(values, field, rows)
    if kind == "date":
        return _sas_days(values)
    return _sas_seconds(values)


def _check_header(name: object, label: object) -> str:
    checked = check_name(name, "dataset_name", "dataset name")
    check_label(label, checked, "dataset label")
    return checked


def _check_variable(name: str, column: object, column_labels: Mapping[str, str]) -> str:
    """A variable's name and label, checked; the checked name."""
    field = f"{name}.{column}"
    variable = check_name(column, field, "variable name")
    if variable not in column_labels:
        raise InputError(field, "variable has no label")
    check_label(column_labels[variable], field, "variable label")
    return variable


def _check_unique(df: pd.DataFrame, name: str) -> None:
    if df.columns.duplicated().any():
        repeated = df.columns[df.columns.duplicated()][0]
        raise InputError(f"{name}.{repeated}", "variable appears twice")


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
    name = _check_header(dataset_name, dataset_label)
    _check_unique(df, name)
    unknown = sorted(set(column_labels) - {str(c) for c in df.columns})
    if unknown:
        raise InputError(f"{name}.{unknown[0]}", "label given for a variable not in the dataset")
    rows = _rows_of(df)
    out: dict[str, pd.Series] = {}
    formats: dict[str, str] = {}
    for column in df.columns:
        variable = _check_variable(name, column, column_labels)
        field = f"{name}.{variable}"
        values = df[column].reset_index(drop=True)
        kind = _observed_kind(values, field, rows)[0] or "char"
        out[variable] = _convert(values, kind, field, rows)
        if kind in _FORMATS:
            formats[variable] = _FORMATS[kind]
    ready = pd.DataFrame(out, columns=list(out))
    _reject_blank_records(ready, name, rows)
    return ready, formats


def _reject_blank_records(ready: pd.DataFrame, name: str, rows: _Rows) -> None:
    """A record of only blank text is indistinguishable from XPT padding: readers drop it."""
    if ready.empty or any(pd.api.types.is_numeric_dtype(ready[c]) for c in ready.columns):
        return
    blank = (ready.map(lambda value: not str(value).strip())).all(axis=1)
    if blank.any():
        position = int(np.flatnonzero(blank.to_numpy())[0])
        raise rows.error(
            name,
            position,
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


@dataclass
class _Column:
    """What pass 1 has learnt of one variable."""

    kind: str | None = None
    typed: bool = True
    """Every date or datetime seen came from a ``datetime64`` column (the two kinds merge)."""
    width: int = 1


def _merged(column: _Column, kind: str, typed: bool) -> str | None:
    """The variable's kind once a chunk of ``kind`` is added; None when the two conflict."""
    if column.kind is None or column.kind == kind:
        return kind
    if {column.kind, kind} == {"date", "datetime"} and column.typed and typed:
        return "datetime"
    return None


def _format_parts(declared: str) -> tuple[str, int]:
    """A format as the NAMESTR record stores it: ``DATE9.`` is name ``DATE``, width 9."""
    name = declared.rstrip(".").rstrip("0123456789")
    return name, int(declared.rstrip(".")[len(name) :] or 0)


@dataclass(frozen=True)
class XptLayout:
    """A dataset's variables as pass 1 found them: what the streamed writer declares."""

    layout: Layout
    kinds: dict[str, str]
    """Variable -> 'char', 'numeric', 'date' or 'datetime'."""

    @property
    def columns(self) -> list[str]:
        """The variables in file order."""
        return [v.name for v in self.layout.variables]

    @property
    def text_lengths(self) -> dict[str, int]:
        """Declared length of each text variable (what Define-XML states)."""
        return {v.name: v.width for v in self.layout.variables if not v.numeric}


class XptPlan:
    """Pass 1 of a streamed XPT v5 file: every chunk's names, labels and values are checked as
    ``xpt_ready`` checks a whole frame, and each variable's type and longest value are kept.

    ``column_labels`` lists every variable the dataset may have, in file order; the layout has
    those that some chunk had. Rows are counted across chunks, so an error names the row in the
    dataset (and the USUBJID of a dataset that has one).
    """

    def __init__(self, dataset_name: str, dataset_label: str, column_labels: Mapping[str, str]):
        self.name = _check_header(dataset_name, dataset_label)
        self.label = dataset_label
        self.column_labels = dict(column_labels)
        self.rows = 0
        self.columns: dict[str, _Column] = {}

    def add(self, chunk: pd.DataFrame) -> None:
        """Check one chunk and learn from it."""
        _check_unique(chunk, self.name)
        rows = _rows_of(chunk, self.rows)
        for column in chunk.columns:
            variable = _check_variable(self.name, column, self.column_labels)
            field = f"{self.name}.{variable}"
            values = chunk[column].reset_index(drop=True)
            kind, typed = _observed_kind(values, field, rows)
            seen = self.columns.setdefault(variable, _Column())
            if kind is None:
                continue
            merged = _merged(seen, kind, typed)
            if merged is None:
                first = int(np.flatnonzero(values.notna().to_numpy())[0])
                raise rows.error(
                    field, first, f"mixes {seen.kind} and {kind} values; a variable has one type"
                )
            seen.kind, seen.typed = merged, seen.typed and typed
            ready = _convert(values, merged, field, rows)
            if merged == "char":
                seen.width = max(seen.width, *(len(value) for value in ready))
        self.rows += len(chunk)

    def layout(self) -> XptLayout:
        """The variables found, in ``column_labels`` order (untyped ones without values: text)."""
        if not self.columns:
            raise InputError(self.name, "the dataset has no variable")
        variables = []
        kinds = {}
        for name in (n for n in self.column_labels if n in self.columns):
            column = self.columns[name]
            kind = column.kind or "char"
            format_name, format_width = _format_parts(_FORMATS.get(kind, ""))
            variables.append(
                Variable(
                    name=name,
                    label=self.column_labels[name],
                    numeric=kind != "char",
                    width=column.width if kind == "char" else NUMERIC_WIDTH,
                    format_name=format_name,
                    format_width=format_width,
                )
            )
            kinds[name] = kind
        return XptLayout(Layout(self.name, self.label, tuple(variables)), kinds)


class XptWriter:
    """Pass 2: a dataset's chunks written as observations in the layout that pass 1 found."""

    def __init__(self, out: BinaryIO, layout: XptLayout, created: dt.datetime) -> None:
        self.layout = layout
        self.rows = 0
        self.observations = ObservationWriter(out, layout.layout, created)
        self.text_only = all(kind == "char" for kind in layout.kinds.values())

    def write(self, chunk: pd.DataFrame) -> None:
        """Convert one chunk (its columns must be the layout's) and append its observations."""
        name = self.layout.layout.name
        if list(chunk.columns) != self.layout.columns:
            raise ValueError(f"{name}: chunk columns {list(chunk.columns)} are not the layout's")
        rows = _rows_of(chunk, self.rows)
        ready = {
            column: _convert(chunk[column].reset_index(drop=True), kind, f"{name}.{column}", rows)
            for column, kind in self.layout.kinds.items()
        }
        for variable in self.layout.layout.variables:
            if variable.numeric:
                continue
            for position, value in enumerate(ready[variable.name]):
                if len(value) > variable.width:
                    raise rows.error(
                        f"{name}.{variable.name}",
                        position,
                        f"value is {len(value)} bytes, longer than the {variable.width} the first "
                        "pass found: the data changed during the export; export again",
                    )
        if self.text_only:
            _reject_blank_records(pd.DataFrame(ready), name, rows)
        self.observations.write(
            [
                values.to_numpy(dtype=np.float64) if kind != "char" else values.tolist()
                for values, kind in zip(ready.values(), self.layout.kinds.values(), strict=True)
            ]
        )
        self.rows += len(chunk)


@contextmanager
def xpt_writer(
    path: str | Path, layout: XptLayout, *, created: dt.datetime | None = None
) -> Iterator[XptWriter]:
    """An ``XptWriter`` on a temporary file renamed to ``path`` only when the block succeeds."""
    moment = (created or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    with replaced_atomically(path) as temporary, temporary.open("wb") as out:
        writer = XptWriter(out, layout, moment)
        yield writer
        writer.observations.finish()


def write_xpt_stream(
    chunks: Callable[[], Iterable[pd.DataFrame]],
    path: str | Path,
    *,
    dataset_name: str,
    dataset_label: str,
    column_labels: Mapping[str, str],
    created: dt.datetime | None = None,
) -> XptLayout:
    """Write one dataset from chunks in bounded memory: ``chunks()`` is called twice, once to
    check every value and size the variables, once to write; all or nothing."""
    plan = XptPlan(dataset_name, dataset_label, column_labels)
    for chunk in chunks():
        plan.add(chunk)
    layout = plan.layout()
    with xpt_writer(path, layout, created=created) as writer:
        for chunk in chunks():
            writer.write(chunk.reindex(columns=layout.columns))
    return layout


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
