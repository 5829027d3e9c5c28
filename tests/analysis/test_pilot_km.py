"""Kaplan-Meier of the CDISC pilot ADTTE (PARAMCD TTDE) against R survival.

The reference (tests/reference/pilot_km_reference.R -> .json) gives per TRTA the numbers at risk
at days 0, 20, ..., 200 (the at-risk table of the published pilot KM plot), the event counts and
the median with its log-log 95% CI. Event = 1 - CNSR (domain.md 10.2).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ikctrial.analysis.xpt import read_xpt
from ikctrial.stats.kaplan_meier import KaplanMeier, SurvivalCurve

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "pilot_km_reference.json").read_text()
)
GROUPS = list(REFERENCE["groups"])


@pytest.fixture(scope="module")
def curves(pilot_dir: Path) -> dict[str, SurvivalCurve]:
    adtte, _ = read_xpt(pilot_dir / "adtte.xpt")
    km = KaplanMeier(conf_type="log-log").fit(
        adtte, time="AVAL", censor="CNSR", group="TRTA", filter="PARAMCD == 'TTDE'"
    )
    return {str(curve.group): curve for curve in km.curves_}


def test_groups(curves: dict[str, SurvivalCurve]) -> None:
    assert sorted(curves) == sorted(GROUPS)


@pytest.mark.parametrize("group", GROUPS)
def test_numbers_at_risk(curves: dict[str, SurvivalCurve], group: str) -> None:
    expected = REFERENCE["groups"][group]["at_risk"]
    observed = curves[group].at_risk(REFERENCE["times"])
    assert observed.tolist() == expected


@pytest.mark.parametrize("group", GROUPS)
def test_counts_and_median(curves: dict[str, SurvivalCurve], group: str) -> None:
    reference = REFERENCE["groups"][group]
    curve = curves[group]
    assert (curve.n, curve.events) == (reference["n"], reference["events"])

    def same(value: float, expected: float | None) -> bool:
        return math.isnan(value) if expected is None else bool(np.isclose(value, expected))

    median, low, high = curve.median
    assert same(median, reference["median"])
    assert same(low, reference["median_lower"])
    assert same(high, reference["median_upper"])
