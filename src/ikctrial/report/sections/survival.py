"""The progression-free survival sections (domain.md 7.1, 7.5): Kaplan-Meier curves by arm with the
numbers at risk, median PFS per arm, the Cox hazard ratio (Efron ties, stratified by the
randomization strata when that model is estimable) and the log-rank p, labelled nominal (7.6);
then the hazard ratio by subgroup.

Every number is read from ``figures.km.kaplan_meier_figure`` (``ikctrial.stats`` KM, log-rank,
Cox through ``report.hazard_ratio``) or ``figures.forest``; the section only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ikctrial.analysis.adam.metadata import CODELISTS
from ikctrial.errors import InputError
from ikctrial.report.document import (
    Cell,
    Section,
    data_table,
    estimate_ci,
    figure,
    machine,
    not_estimable,
    note,
    number,
    paragraph,
)
from ikctrial.report.figures.forest import forest_figure
from ikctrial.report.figures.km import format_p, kaplan_meier_figure
from ikctrial.report.figures.style import DAYS_PER_MONTH, require
from ikctrial.report.hazard_ratio import ArmHazardRatio, arm_hazard_ratio
from ikctrial.report.sections.data import STRATA, STRATUM, AnalysisData, with_stratum
from ikctrial.stats.logrank import LogrankResult

PFS = "PFS"
ARM = "TRTP"
TICK_MONTHS = 3.0
AGE_GROUP = "_AGEGROUP"
AGE_CUT = 65
NOMINAL = (
    "p-values are nominal: the trial is not powered for a confirmatory PFS comparison "
    "(see “What the sample size can detect”), so estimates and intervals are the result."
)


@dataclass(frozen=True)
class Median:
    """Median PFS of one arm (months) with its 95% CI; NaN where not reached (NE)."""

    n: int
    events: int
    median: float
    lower: float
    upper: float


@dataclass(frozen=True)
class PfsResult:
    """The PFS numbers the report shows: numbers at risk (arm x months), medians, the hazard ratio
    and what it was stratified by, and the log-rank test."""

    at_risk: pd.DataFrame
    medians: dict[str, Median]
    hazard_ratio: ArmHazardRatio | None
    stratified_by: str | None
    logrank: LogrankResult | None


_EMPTY = PfsResult(pd.DataFrame(), {}, None, None, None)


def pfs_records(data: AnalysisData) -> pd.DataFrame:
    """ITT records of the primary PFS parameter (ADTTE ``PARAMCD = "PFS"``)."""
    rows = data.itt_records("ADTTE")
    require(rows, ["PARAMCD", ARM, "AVAL", "CNSR"], "ADTTE")
    return rows[(rows["PARAMCD"] == PFS) & rows[ARM].isin(data.arms)]


def _hazard_model(
    data: AnalysisData, rows: pd.DataFrame
) -> tuple[pd.DataFrame, str | None, list[str]]:
    """The rows to fit, the strata column (None: unstratified) and notes on the choice: stratified
    by the randomization strata when that Cox model is estimable (domain.md 7.5)."""
    stratified, why_not = with_stratum(data, rows)
    if why_not is None:
        fit = arm_hazard_ratio(
            stratified,
            arm=ARM,
            experimental=data.experimental,
            reference=data.control,
            strata=STRATUM,
        )
        if fit.estimable:
            return stratified, STRATUM, []
        why_not = f"the stratified model is not estimable ({fit.not_estimable})"
    return rows, None, [f"Hazard ratio and log-rank test unstratified: {why_not}."]


def _at_risk_table(result: PfsResult) -> str:
    """The numbers at risk as drawn under the plot, one cell per arm and time; ``data-time`` is
    the time in days (ADTTE AVAL), ``data-months`` as labelled."""
    ticks = list(result.at_risk.columns)
    rows = [
        [
            Cell(str(arm), header=True),
            *(
                Cell(
                    str(int(result.at_risk.loc[arm, t])),
                    {
                        "arm": str(arm),
                        "time": machine(float(t) * DAYS_PER_MONTH),
                        "months": machine(float(t)),
                    },
                )
                for t in ticks
            ),
        ]
        for arm in result.at_risk.index
    ]
    return data_table(
        ["Months since randomization", *(f"{float(t):g}" for t in ticks)],
        rows,
        caption="Number at risk (patients with PFS time ≥ t)",
        table_id="km-at-risk",
    )


def _results_table(result: PfsResult, data: AnalysisData) -> str:
    """Median PFS per arm, then the hazard ratio and the log-rank p."""
    rows: list[list[Cell | str]] = [
        [
            arm,
            str(m.n),
            str(m.events),
            Cell(
                estimate_ci(m.median, m.lower, m.upper, 1),
                {"median": machine(m.median), "lower": machine(m.lower), "upper": machine(m.upper)},
            ),
        ]
        for arm, m in result.medians.items()
    ]
    table = data_table(
        ["Arm", "Patients", "Events", "Median PFS, months (95% CI)"],
        rows,
        caption="Median progression-free survival (Kaplan-Meier, log-log CI, Brookmeyer-Crowley)",
        table_id="pfs-medians",
    )
    hazard = result.hazard_ratio
    strata = result.stratified_by or "unstratified"
    comparison = f"{data.experimental} vs {data.control}"
    effect_rows: list[list[Cell | str]] = []
    if hazard is not None and hazard.estimable:
        effect_rows.append(
            [
                f"Hazard ratio, {comparison} (Cox, Efron ties, {strata})",
                Cell(
                    estimate_ci(hazard.hazard_ratio, hazard.lower, hazard.upper),
                    {
                        "hr": machine(hazard.hazard_ratio),
                        "lower": machine(hazard.lower),
                        "upper": machine(hazard.upper),
                    },
                ),
            ]
        )
    elif hazard is not None:
        effect_rows.append([f"Hazard ratio, {comparison}", f"NE ({hazard.not_estimable})"])
    else:
        effect_rows.append([f"Hazard ratio, {comparison}", "NE (one arm has no patients)"])
    if result.logrank is not None:
        p = result.logrank.p
        kind = "stratified" if result.logrank.stratified else "unstratified"
        effect_rows.append(
            [f"Log-rank test ({kind}), nominal p", Cell(format_p(p), {"p": machine(p)})]
        )
    else:
        effect_rows.append(["Log-rank test, nominal p", "NE (no events, or one arm only)"])
    table += data_table(
        ["Comparison", "Estimate (95% CI)"],
        effect_rows,
        caption="Treatment effect on PFS",
        table_id="pfs-effect",
    )
    return table


def pfs_section(data: AnalysisData) -> tuple[Section, PfsResult]:
    """The PFS section and its numbers."""
    title = "Progression-free survival"
    rows = pfs_records(data)
    if rows.empty:
        return Section("pfs", title, not_estimable("PFS", "ADTTE has no PFS records")), _EMPTY
    fitted, strata, notes = _hazard_model(data, rows)
    km = kaplan_meier_figure(
        fitted,
        paramcd=PFS,
        arm=ARM,
        arm_order=list(data.arms),
        reference=data.control,
        strata=strata,
        time_unit="months",
        tick_step=TICK_MONTHS,
    )
    medians = {
        str(arm): Median(
            n=int(row["n"]),
            events=int(row["events"]),
            median=float(row["median"]),
            lower=float(row["median_lower"]),
            upper=float(row["median_upper"]),
        )
        for arm, row in km.summary.iterrows()
    }
    stratified_by = " × ".join(STRATA.values()) if strata else None
    result = PfsResult(km.at_risk, medians, km.hazard_ratio, stratified_by, km.logrank)
    missing = [a for a in data.arms if a not in medians]
    body = figure(
        km.figure,
        title="Kaplan-Meier estimate of PFS by arm (ITT)",
        caption="Shaded: pointwise 95% confidence bands (log-log); +: censored; dotted: median. "
        "PFS per RECIST 1.1, investigator assessment; time from randomization.",
    )
    body += _at_risk_table(result)
    body += _results_table(result, data)
    if stratified_by:
        notes.append(
            f"Stratified by the randomization strata as randomized ({stratified_by}); "
            "a stratum in which a patient is alone or without events adds nothing to the fit."
        )
    notes += [f"No patients in {a}: no curve." for a in missing]
    notes.append(NOMINAL)
    body += "".join(note(n) for n in notes)
    return Section("pfs", title, body), result


def _subgroups(data: AnalysisData) -> pd.DataFrame:
    """ADSL of the ITT population with the subgroup columns as displayed (sex decoded, age
    grouped at 65 years)."""
    adsl = data.adsl_itt
    require(adsl, ["AGE", "SEX", "BCLCBL", "CPCLASBL"], "ADSL")
    levels = [f"< {AGE_CUT}", f"≥ {AGE_CUT}"]
    age = pd.to_numeric(adsl["AGE"])
    group = pd.Categorical(
        age.map(lambda a: levels[int(a >= AGE_CUT)], na_action="ignore"), categories=levels
    )
    return adsl.assign(
        SEX=adsl["SEX"].map(lambda s: CODELISTS["SEX"].get(s, s) if isinstance(s, str) else s),
        **{AGE_GROUP: group},
    )


def forest_section(data: AnalysisData) -> Section:
    """The hazard ratio overall and by BCLC stage, Child-Pugh class, sex and age group."""
    title = "PFS hazard ratio by subgroup"
    rows = pfs_records(data)
    if rows.empty:
        return Section("forest", title, not_estimable("Subgroup hazard ratios", "no PFS records"))
    subgroups = {
        "BCLCBL": "BCLC stage (baseline)",
        "CPCLASBL": "Child-Pugh class (baseline)",
        "SEX": "Sex",
        AGE_GROUP: "Age (years)",
    }
    try:
        plot = forest_figure(
            rows,
            subgroups=subgroups,
            experimental=data.experimental,
            reference=data.control,
            adsl=_subgroups(data),
            arm=ARM,
        )
    except InputError as error:
        return Section("forest", title, not_estimable("Subgroup hazard ratios", str(error)))
    table_rows: list[list[Cell | str]] = []
    for r in plot.table.to_dict("records"):
        estimable = r["not_estimable"] is None
        table_rows.append(
            [
                f"{r['subgroup']}: {r['level']}" if r["level"] else str(r["subgroup"]),
                f"{r['events_experimental']}/{r['n_experimental']}",
                f"{r['events_reference']}/{r['n_reference']}",
                estimate_ci(r["hazard_ratio"], r["lower"], r["upper"])
                if estimable
                else f"NE ({r['not_estimable']})",
                number(r["p"], 3) if estimable else "NE",
            ]
        )
    body = figure(
        plot.figure,
        title="Hazard ratio of PFS by subgroup",
        caption=f"Squares sized by events; diamond: all patients. {data.experimental} vs "
        f"{data.control}; unstratified Cox model (Efron ties) fitted within each subgroup.",
    )
    body += data_table(
        [
            "Subgroup",
            f"{data.experimental} events/n",
            f"{data.control} events/n",
            "HR (95% CI)",
            "Nominal p",
        ],
        table_rows,
        caption="Subgroup hazard ratios",
        table_id="forest-table",
    )
    body += note(
        "Descriptive: with this sample size the subgroup intervals are wide and no interaction "
        "test is made. A subgroup without events, or with events in one arm only, has no finite "
        "hazard ratio (NE)."
    )
    body += paragraph(NOMINAL, css_class="note")
    return Section("forest", title, body)
