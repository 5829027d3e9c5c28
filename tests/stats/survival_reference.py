"""Shared access to the R survival reference (tests/reference/survival_reference.R) and its data."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ikctrial.stats.io import read_table

REPO = Path(__file__).parents[2]
REFERENCE = REPO / "tests" / "reference"
ADTTE = REPO.parent / "shared" / "data" / "cdiscpilot01" / "adtte.xpt"
RTOL = 1e-6
_R_SPECIAL = {"NA": np.nan, "NaN": np.nan, None: np.nan, "Inf": np.inf, "-Inf": -np.inf}


@cache
def reference() -> dict[str, Any]:
    """The JSON written by survival_reference.R."""
    return json.loads((REFERENCE / "survival_reference.json").read_text())  # type: ignore[no-any-return]


def cases(kind: str) -> list[Any]:
    """Reference cases of one kind (km, logrank, cox) as pytest params named after the case."""
    import pytest

    return [pytest.param(case, id=case["name"]) for case in reference()[kind]]


@cache
def _table(name: str) -> pd.DataFrame:
    if name == "adtte":
        return read_table(ADTTE)
    return pd.read_csv(REFERENCE / "data" / f"survival_{name}.csv")


def table(name: str) -> pd.DataFrame:
    """The input table a case names (a copy, so tests cannot alter the cache)."""
    return _table(name).copy()


def numbers(values: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Reference values as floats ("NA"/"NaN" as NaN, "Inf" as infinity); a scalar as 1 element."""
    listed = values if isinstance(values, list) else [values]
    return np.array(
        [_R_SPECIAL.get(v, v) if isinstance(v, str) or v is None else v for v in listed],
        dtype=np.float64,
    )


def assert_matches(ours: Any, theirs: Any, what: str) -> None:
    """Agreement with R to 1e-6 relative (NaN where R has NA)."""
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(ours, dtype=np.float64)),
        numbers(theirs),
        rtol=RTOL,
        atol=0.0,
        equal_nan=True,
        err_msg=what,
    )


def event_options(case: dict[str, Any]) -> dict[str, str | None]:
    """The case's event column (``event``) or ADaM censoring column (``censor``)."""
    return {"event": case.get("event"), "censor": case.get("censor")}
