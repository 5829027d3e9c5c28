"""The design report for NCT03592706: what the registered sample size can and cannot detect.

For each hazard ratio of the assumptions (0.4-0.9) it gives the expected PFS events of the
registered trial, Schoenfeld's power at those events, the simulated log-rank power (which accounts
for the random number of events and the small-sample behaviour of the test), and the events and
patients that 80 % and 90 % power would need under the same accrual, follow-up and dropout
(domain.md 7.6). The text is Markdown; the command line writes it next to the power-curve figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy.optimize import brentq

from ikctrial.design.assumptions import DesignAssumptions
from ikctrial.design.grid import GridSpec, run_grid
from ikctrial.design.parameters import Allocation, dropout_hazard_per_month
from ikctrial.design.sample_size import (
    FollowUp,
    analytic_power,
    expected_events,
    median_to_hazard,
    sample_size,
)


@dataclass(frozen=True)
class DesignReport:
    """Operating characteristics of a trial of ``n_subjects`` over a range of hazard ratios."""

    n_subjects: int
    allocation: Allocation
    assumptions: DesignAssumptions
    trials: int
    seed: int
    table: pd.DataFrame
    """One row per hazard ratio: expected_events, schoenfeld_power, power, mc_se, and
    events_<P> / subjects_<P> for each target power P (in %)."""
    detectable_hazard_ratio: dict[float, float | None]
    """The smallest benefit (largest HR < 1) detected with each target power; None if none is."""


def _follow_up(assumptions: DesignAssumptions) -> FollowUp:
    return FollowUp(
        accrual_months=assumptions.accrual_months,
        followup_months=assumptions.followup_after_accrual_months,
        dropout_hazard_per_month=dropout_hazard_per_month(assumptions.dropout_rate),
        patient_followup_months=assumptions.patient_followup_months,
    )


def _detectable(
    n_subjects: int, allocation: Allocation, assumptions: DesignAssumptions, power: float
) -> float | None:
    follow_up, hazard = _follow_up(assumptions), median_to_hazard(assumptions.control_median_months)

    def gap(log_hr: float) -> float:
        achieved = analytic_power(
            n_subjects,
            allocation,
            hazard,
            math.exp(log_hr),
            follow_up,
            alpha=assumptions.alpha,
            sided=assumptions.sided,
        )
        return achieved - power

    low, high = math.log(0.01), math.log(0.999)
    if gap(low) < 0 or gap(high) > 0:
        return None
    return math.exp(float(brentq(gap, low, high, xtol=1e-10)))


def design_report(
    n_subjects: int,
    allocation: Allocation,
    assumptions: DesignAssumptions | None = None,
    *,
    trials: int = 20_000,
    seed: int = 20260101,
) -> DesignReport:
    """Compute the report's numbers (simulation runs inline: a few seconds for 20 000 trials)."""
    assumptions = assumptions or DesignAssumptions()
    follow_up = _follow_up(assumptions)
    hazard = median_to_hazard(assumptions.control_median_months)
    spec = GridSpec.parse(
        {
            "trials": trials,
            "seed": seed,
            "base": {
                "n": n_subjects,
                "allocation": str(allocation),
                "control_median_months": assumptions.control_median_months,
                "accrual_months": assumptions.accrual_months,
                "followup_months": assumptions.followup_after_accrual_months,
                "patient_followup_months": assumptions.patient_followup_months,
                "dropout_rate": assumptions.dropout_rate,
                "alpha": assumptions.alpha,
                "sided": assumptions.sided,
            },
            "vary": {"hazard_ratio": list(assumptions.hazard_ratios)},
        }
    )
    simulated = run_grid(spec)
    table = simulated[["hazard_ratio", "schoenfeld_power", "power", "mc_se"]].copy()
    table.insert(
        1,
        "expected_events",
        [
            expected_events(n_subjects, allocation, hazard, hr, follow_up)
            for hr in table.hazard_ratio
        ],
    )
    table["simulated_events"] = simulated["expected_events"]
    for target in assumptions.target_powers:
        sizes = [
            sample_size(
                hr,
                alpha=assumptions.alpha,
                sided=assumptions.sided,
                power=target,
                allocation=allocation,
                control_hazard_per_month=hazard,
                follow_up=follow_up,
            )
            for hr in table.hazard_ratio
        ]
        table[f"events_{round(100 * target)}"] = [s.events for s in sizes]
        table[f"subjects_{round(100 * target)}"] = [s.subjects for s in sizes]
    return DesignReport(
        n_subjects=n_subjects,
        allocation=allocation,
        assumptions=assumptions,
        trials=trials,
        seed=seed,
        table=table,
        detectable_hazard_ratio={
            p: _detectable(n_subjects, allocation, assumptions, p)
            for p in assumptions.target_powers
        },
    )


def _percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def report_markdown(report: DesignReport, figure_file: str) -> str:
    """The report as Markdown, referring to the figure by ``figure_file``."""
    a, t = report.assumptions, report.table
    targets = [round(100 * p) for p in a.target_powers]
    sided = "one-sided" if a.sided == 1 else "two-sided"
    at_06 = t.iloc[int((t.hazard_ratio - 0.6).abs().to_numpy().argmin())]
    detect = report.detectable_hazard_ratio
    lines = [
        "# NCT03592706 (IVY02): what the registered design can detect",
        "",
        f"Registered design: **{report.n_subjects} patients**, allocation IKC + TACE : TACE "
        f"**{report.allocation}**, each patient followed {a.patient_followup_months:g} months. "
        "Primary comparison of progression-free survival by the log-rank test "
        f"({sided} α = {a.alpha:g}).",
        "",
        "## Assumptions (ikctrial planning defaults, domain.md 7.6; not protocol facts)",
        "",
        f"- control (TACE alone) median PFS {a.control_median_months:g} months, exponential;",
        f"- uniform accrual over {a.accrual_months:g} months; analysis "
        f"{a.followup_after_accrual_months:g} months after the last patient is randomized;",
        f"- dropout {_percent(a.dropout_rate)} within 12 months (exponential);",
        f"- proportional hazards; simulated power from {report.trials:,} trials per hazard ratio "
        f"(seed {report.seed}).",
        "",
        "## What the design can and cannot detect",
        "",
    ]
    for target, hr in detect.items():
        if hr is None:
            lines.append(f"- No hazard ratio is detected with {_percent(target)} power.")
        else:
            lines.append(
                f"- With {_percent(target)} power it detects only a hazard ratio of "
                f"**{hr:.2f} or smaller** (a {_percent(1 - hr)} or larger reduction of the hazard "
                "of progression or death)."
            )
    lines += [
        f"- At HR {at_06.hazard_ratio:.2f} it expects about {at_06.expected_events:.0f} events; "
        f"the simulated power is **{_percent(at_06.power)}** (Schoenfeld "
        f"{_percent(at_06.schoenfeld_power)}). {targets[0]} % power at HR "
        f"{at_06.hazard_ratio:.2f} would need {at_06[f'events_{targets[0]}']:.0f} events, "
        "i.e. about "
        f"{at_06[f'subjects_{targets[0]}']:.0f} patients under these assumptions.",
        f"- Even if every patient progressed, {report.n_subjects} patients give at most "
        f"{report.n_subjects} events; a realistic benefit (HR 0.6-0.8) is more likely missed "
        "than found.",
        "- Consequence (domain.md 7.6): the PFS comparison is exploratory and estimation-focused. "
        "Report hazard ratios, medians and rates with confidence intervals; label p-values "
        "nominal; a non-significant result is not evidence of no effect.",
        "",
        "## Power and required sample size by hazard ratio",
        "",
        "| HR | expected events | Schoenfeld power | simulated power (± MC SE) | "
        + " | ".join(f"events for {p} % | patients for {p} %" for p in targets)
        + " |",
        "|---" * (4 + 2 * len(targets)) + "|",
    ]
    for _, row in t.iterrows():
        needed = " | ".join(
            f"{row[f'events_{p}']:.0f} | {row[f'subjects_{p}']:.0f}" for p in targets
        )
        lines.append(
            f"| {row.hazard_ratio:.2f} | {row.expected_events:.1f} | {row.schoenfeld_power:.3f} "
            f"| {row.power:.3f} ± {row.mc_se:.3f} | {needed} |"
        )
    lines += [
        "",
        f"![Power by hazard ratio]({figure_file})",
        "",
        "Events needed are Schoenfeld's; patients needed = events / probability of an observed "
        "event under the same accrual, follow-up and dropout (domain.md 7.6), rounded up to whole "
        "allocation blocks. "
        "Reproduce with `ikctrial design report --out DIR`; change an assumption with "
        "`ikctrial design sample-size` / `simulate` / `grid`.",
        "",
    ]
    return "\n".join(lines)
