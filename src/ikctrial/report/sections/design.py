"""The design section: what the registered sample size can detect (``design.report.DesignReport``:
expected events, Schoenfeld and simulated power, events and patients needed per hazard ratio,
detectable hazard ratios) and the consequence domain.md 7.6 states for the report."""

from __future__ import annotations

from ikctrial.design.report import DesignReport
from ikctrial.report.document import Section, bullet_list, data_table, number, paragraph

STATEMENT = (
    "Consequence (domain.md 7.6): the PFS comparison is exploratory and estimation-focused. The "
    "report presents hazard ratios, medians and rates with confidence intervals; p-values are "
    "labelled nominal, and a non-significant result is not evidence of no effect."
)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def design_section(report: DesignReport, observed_events: int | None) -> Section:
    """The design table, the detectable hazard ratios and the 7.6 statement; ``observed_events``
    (the PFS events in the analysis datasets) puts the data beside the plan."""
    a, table = report.assumptions, report.table
    targets = [round(100 * p) for p in a.target_powers]
    sided = "one-sided" if a.sided == 1 else "two-sided"
    detectable = []
    for power, hr in report.detectable_hazard_ratio.items():
        if hr is None:
            detectable.append(f"No hazard ratio is detected with {_percent(power)} power.")
        else:
            detectable.append(
                f"With {_percent(power)} power it detects a hazard ratio of {hr:.2f} or smaller "
                f"(a {_percent(1 - hr)} or larger reduction of the hazard)."
            )
    body = paragraph(
        f"Registered design: {report.n_subjects} patients, allocation {report.allocation}, each "
        f"followed {a.patient_followup_months:g} months; log-rank test of PFS, {sided} "
        f"α = {a.alpha:g}. Planning assumptions (ikctrial defaults, not protocol facts): control "
        f"median PFS {a.control_median_months:g} months (exponential), accrual "
        f"{a.accrual_months:g} months, analysis {a.followup_after_accrual_months:g} months after "
        f"the last randomization, dropout {_percent(a.dropout_rate)} in 12 months; simulated power "
        f"from {report.trials:,} trials per hazard ratio (seed {report.seed})."
    )
    body += bullet_list(
        [
            *detectable,
            f"Even if every patient progressed, {report.n_subjects} patients give at most "
            f"{report.n_subjects} events.",
            *(
                []
                if observed_events is None
                else [f"PFS events in the analysis datasets at this cut-off: {observed_events}."]
            ),
        ]
    )
    header = [
        "HR",
        "Expected events",
        "Schoenfeld power",
        "Simulated power (± MC SE)",
        *(h for p in targets for h in (f"Events for {p}%", f"Patients for {p}%")),
    ]
    rows = [
        [
            f"{row['hazard_ratio']:.2f}",
            number(row["expected_events"], 1),
            number(row["schoenfeld_power"], 3),
            f"{row['power']:.3f} ± {row['mc_se']:.3f}",
            *(f"{row[f'{kind}_{p}']:.0f}" for p in targets for kind in ("events", "subjects")),
        ]
        for row in table.to_dict("records")
    ]
    body += data_table(
        header,
        rows,
        caption="Power of the registered design and the size needed, by hazard ratio",
        table_id="design-table",
    )
    body += paragraph(
        "Events needed are Schoenfeld's; patients needed = events / probability of an observed "
        "event under the same accrual, follow-up and dropout, rounded up to whole allocation "
        "blocks.",
        css_class="note",
    )
    body += paragraph(STATEMENT, css_class="statement")
    return Section("design", "What the sample size can detect", body)
