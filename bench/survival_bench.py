"""Kaplan-Meier, log-rank and Cox (6 covariates, Efron ties): ikctrial.stats vs lifelines.

Usage: .venv/bin/python bench/survival_bench.py [--sizes 100000,1000000] [--repeat 3]

Simulated trial data: two arms, six covariates (arm, two normal, one binary, one uniform, one
Poisson count), exponential event times with proportional hazards and uniform censoring, times
rounded to 0.01 so that tied event times occur (Efron's correction matters). Both libraries get the
same pandas DataFrame in the same run; the table prints the best-of-``repeat`` wall time of each
(Cox: one run from 300,000 rows on, to keep the benchmark short on a shared machine),
the ratio ours / lifelines (targets: KM and log-rank <= 0.5, Cox <= 0.25) and, for Cox, the
largest relative difference between the two sets of coefficients (target <= 1e-6).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ikctrial.stats.cox import CoxPH
from ikctrial.stats.kaplan_meier import KaplanMeier
from ikctrial.stats.logrank import logrank_test

COVARIATES = ["arm", "x1", "x2", "x3", "x4", "x5"]
BETA = np.array([-0.5, 0.3, -0.2, 0.4, 0.1, 0.05])


def simulated(n: int, seed: int = 20260302) -> pd.DataFrame:
    """One row per patient: time, event and the six covariates."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.integers(0, 2, n),
            rng.normal(size=n),
            rng.normal(size=n),
            rng.integers(0, 2, n),
            rng.uniform(size=n),
            rng.poisson(2.0, n),
        ]
    ).astype(np.float64)
    survival = rng.exponential(size=n) / (0.1 * np.exp(x @ BETA))
    censor = rng.uniform(0.0, 30.0, n)
    frame = pd.DataFrame(x, columns=COVARIATES)
    frame["time"] = np.round(np.minimum(survival, censor), 2) + 0.01
    frame["event"] = (survival <= censor).astype(np.int64)
    return frame


def best_time(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time over ``repeat`` runs and the last result."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="Row counts, comma-separated.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per measurement (best kept).")
    args = parser.parse_args()
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test as lifelines_logrank

    console = Console(width=110)
    table = Table(title="ikctrial.stats vs lifelines (wall time, seconds)")
    for column in ("method", "rows", "ikctrial", "lifelines", "ratio", "target", "agreement"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for n in (int(s) for s in args.sizes.split(",")):
        cox_repeat = args.repeat if n < 300_000 else 1
        frame = simulated(n)
        arm_a, arm_b = frame[frame.arm == 0], frame[frame.arm == 1]

        ours_t, ours = best_time(
            lambda frame=frame: KaplanMeier().fit(frame, time="time", event="event"), args.repeat
        )
        theirs_t, theirs = best_time(
            lambda frame=frame: KaplanMeierFitter().fit(frame["time"], frame["event"]), args.repeat
        )
        curve = ours.curves_[0]
        km_gap = np.max(np.abs(curve.survival - theirs.survival_function_.iloc[1:, 0].to_numpy()))
        table.add_row(
            "Kaplan-Meier",
            f"{n:,}",
            f"{ours_t:.3f}",
            f"{theirs_t:.3f}",
            f"{ours_t / theirs_t:.2f}",
            "<= 0.50",
            f"max |dS| {km_gap:.1e}",
        )

        ours_t, ours = best_time(
            lambda frame=frame: logrank_test(frame, time="time", event="event", group="arm"),
            args.repeat,
        )
        theirs_t, theirs = best_time(
            lambda arm_a=arm_a, arm_b=arm_b: lifelines_logrank(
                arm_a["time"], arm_b["time"], arm_a["event"], arm_b["event"]
            ),
            args.repeat,
        )
        gap = abs(ours.chisq - theirs.test_statistic) / theirs.test_statistic
        table.add_row(
            "log-rank",
            f"{n:,}",
            f"{ours_t:.3f}",
            f"{theirs_t:.3f}",
            f"{ours_t / theirs_t:.2f}",
            "<= 0.50",
            f"rel chisq {gap:.1e}",
        )

        ours_t, ours = best_time(
            lambda frame=frame: CoxPH(ties="efron").fit(
                frame, time="time", event="event", covariates=COVARIATES
            ),
            cox_repeat,
        )
        theirs_t, theirs = best_time(
            lambda frame=frame: CoxPHFitter().fit(frame, duration_col="time", event_col="event"),
            cox_repeat,
        )
        lifelines_coef = theirs.params_[COVARIATES].to_numpy()
        gap = float(
            np.max(np.abs(ours.params_.to_numpy() - lifelines_coef) / np.abs(lifelines_coef))
        )
        table.add_row(
            "Cox (Efron, 6 cov.)",
            f"{n:,}",
            f"{ours_t:.3f}",
            f"{theirs_t:.3f}",
            f"{ours_t / theirs_t:.2f}",
            "<= 0.25",
            f"rel coef {gap:.1e}",
        )
    console.print(table)
    load = os.getloadavg()
    console.print(
        f"load average during the run (1/5/15 min): {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
