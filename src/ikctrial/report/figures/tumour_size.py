"""What the waterfall and spider plots share: the ADTR tumour-size parameters (domain.md 7.2,
10.2), the response criterion each belongs to, and the ADRS records they are annotated from."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ikctrial.errors import InputError
from ikctrial.report.figures.style import require


@dataclass(frozen=True)
class TumourParameter:
    """An ADTR tumour-size parameter: its ADRS criterion (``PARCAT1``) and axis wording."""

    criterion: str
    title: str
    quantity: str


# ikctrial's ADTR codes (domain.md 10.2): RECIST 1.1 sum of diameters, mRECIST viable sum.
PARAMETERS = {
    "SUMDIAM": TumourParameter("RECIST 1.1", "RECIST 1.1", "sum of diameters"),
    "VSUMDIAM": TumourParameter("MRECIST", "mRECIST", "sum of viable tumour diameters"),
}


def tumour_parameter(paramcd: str) -> TumourParameter:
    """The parameter's description; an InputError for an unknown code."""
    try:
        return PARAMETERS[paramcd]
    except KeyError:
        known = ", ".join(PARAMETERS)
        raise InputError("ADTR.PARAMCD", f"{paramcd!r} is not one of {known}") from None


def parameter_records(adtr: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """ADTR records of one parameter (``PCHG`` in percent); an InputError when there are none."""
    require(adtr, ["USUBJID", "PARAMCD", "PCHG"], "ADTR")
    tumour_parameter(paramcd)
    rows = adtr[adtr["PARAMCD"] == paramcd]
    if rows.empty:
        raise InputError("ADTR.PARAMCD", f"no records of {paramcd!r}")
    return rows


def response_records(adrs: pd.DataFrame, paramcd: str, criterion: str) -> pd.DataFrame:
    """ADRS records of one parameter (``OVR`` or ``BOR``) under one criterion (``PARCAT1``, when
    the dataset has it)."""
    require(adrs, ["USUBJID", "PARAMCD", "AVALC"], "ADRS")
    rows = adrs[adrs["PARAMCD"] == paramcd]
    if "PARCAT1" in rows.columns:
        rows = rows[rows["PARCAT1"].astype(str).str.upper() == criterion.upper()]
    return rows
