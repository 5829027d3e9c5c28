"""Hazard ratios the data cannot give are "not estimable" with the reason, never a number, even
where the Cox engine's own separation check does not fire (tiny trials a report must survive)."""

from __future__ import annotations

import pandas as pd
import pytest

from ikctrial.report.hazard_ratio import arm_hazard_ratio

CASES = [
    # (arm, AVAL, CNSR, stratum), the reason expected
    pytest.param(
        [("E", 39.0, 0, "s"), ("R", 336.0, 1, "s")],
        None,
        "no events in R",
        id="one event, in the experimental arm (the likelihood rises without bound)",
    ),
    pytest.param(
        [("E", 10.0, 1, "s"), ("E", 20.0, 1, "s"), ("R", 5.0, 0, "s"), ("R", 30.0, 0, "s")],
        None,
        "no events in E",
        id="events in the reference arm only",
    ),
    pytest.param(
        [("E", 39.0, 0, "a"), ("R", 336.0, 1, "b"), ("E", 100.0, 1, "c"), ("R", 50.0, 0, "d")],
        "stratum",
        "does not vary within the risk sets; its effect is not estimable",
        id="one patient per stratum (no contrast in any risk set)",
    ),
]


@pytest.mark.parametrize(("records", "strata", "reason"), CASES)
def test_not_estimable_with_the_reason(
    records: list[tuple[str, float, int, str]], strata: str | None, reason: str
) -> None:
    data = pd.DataFrame(records, columns=["arm", "AVAL", "CNSR", "stratum"])
    fit = arm_hazard_ratio(data, arm="arm", experimental="E", reference="R", strata=strata)
    assert fit.not_estimable == reason
    assert not fit.estimable
    assert pd.isna(fit.hazard_ratio)
    assert pd.isna(fit.lower)
    assert pd.isna(fit.upper)
