"""The hazard ratio of one arm against another as a report shows it, from ``ikctrial.stats.cox``,
or the reason it cannot be estimated (domain.md 7.5).

A Cox model has no finite estimate when a subset has no events, or events in one arm only (the
partial likelihood keeps rising as the coefficient runs to infinity): a report prints "NE" with the
reason there, never a number, so these cases are detected before (no events, one arm) or by the
engine (its separation warning) and named.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikctrial.errors import InputError
from ikctrial.stats.cox import CoxPH, CoxSeparationWarning, Ties

_EXPERIMENTAL = "_experimental_arm"


@dataclass(frozen=True)
class ArmHazardRatio:
    """Hazard ratio of ``experimental`` vs ``reference`` with its Wald CI and p, or why not."""

    experimental: Hashable
    reference: Hashable
    n: dict[Hashable, int]
    events: dict[Hashable, int]
    hazard_ratio: float
    lower: float
    upper: float
    p: float
    level: float
    not_estimable: str | None

    @property
    def estimable(self) -> bool:
        """Whether the model gave a finite hazard ratio."""
        return self.not_estimable is None


def _not_estimable(
    experimental: Hashable,
    reference: Hashable,
    n: dict[Hashable, int],
    events: dict[Hashable, int],
    level: float,
    reason: str,
) -> ArmHazardRatio:
    nan = float("nan")
    return ArmHazardRatio(experimental, reference, n, events, nan, nan, nan, nan, level, reason)


def arm_hazard_ratio(
    data: pd.DataFrame,
    *,
    arm: str,
    experimental: Hashable,
    reference: Hashable,
    time: str = "AVAL",
    censor: str = "CNSR",
    strata: str | None = None,
    ties: Ties = "efron",
    level: float = 0.95,
) -> ArmHazardRatio:
    """Cox hazard ratio of the ``experimental`` arm vs the ``reference`` arm on the rows of ``data``
    in either arm (ADaM ``CNSR``: 0 = event), stratified by ``strata`` when given."""
    rows = data[data[arm].isin([experimental, reference])]
    is_event = rows[censor] == 0
    n = {a: int((rows[arm] == a).sum()) for a in (experimental, reference)}
    events = {a: int((is_event & (rows[arm] == a)).sum()) for a in (experimental, reference)}
    missing_arm = [a for a in (experimental, reference) if n[a] == 0]
    if missing_arm:
        reason = f"no patients in {missing_arm[0]}"
        return _not_estimable(experimental, reference, n, events, level, reason)
    if sum(events.values()) == 0:
        return _not_estimable(experimental, reference, n, events, level, "no events")
    without = [a for a in (experimental, reference) if events[a] == 0]
    if without:  # all events in one arm: infinite estimate, even where the engine does not warn
        return _not_estimable(
            experimental, reference, n, events, level, f"no events in {without[0]}"
        )
    frame = rows.assign(**{_EXPERIMENTAL: (rows[arm] == experimental).astype(np.float64)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", CoxSeparationWarning)
        try:
            fit = CoxPH(ties=ties, level=level).fit(
                frame, time=time, censor=censor, covariates=[_EXPERIMENTAL], strata=strata
            )
        except CoxSeparationWarning:
            reason = "separation (infinite estimate)"
            return _not_estimable(experimental, reference, n, events, level, reason)
        except InputError as error:  # the engine's own "not estimable", e.g. no contrast at risk
            return _not_estimable(experimental, reference, n, events, level, error.problem)
    result = fit.result_
    lower, upper = result.hr_ci
    return ArmHazardRatio(
        experimental=experimental,
        reference=reference,
        n=n,
        events=events,
        hazard_ratio=float(np.exp(result.coef[0])),
        lower=float(lower[0]),
        upper=float(upper[0]),
        p=float(result.p_values[0]),
        level=level,
        not_estimable=None,
    )
