"""The trial report: a pure function from the analysis datasets (and the CONSORT counts, design
report, data cut-off and audit verdict) to one self-contained HTML document, with the key results
as plain data beside it.

Every number in the report comes from the ADaM datasets or from ``ikctrial.stats`` run on them
(through the figure and table builders of ``ikctrial.report``); the sections only select records
and format results. A section whose analysis cannot be done on the data (tiny trials, no events
in an arm, no immune panel) says what could not be estimated and why instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import pandas as pd

from ikctrial.design.report import DesignReport
from ikctrial.errors import InputError
from ikctrial.report.document import Section, escape, key_value_table
from ikctrial.report.figures.consort import ConsortCounts
from ikctrial.report.figures.km import format_median, format_p
from ikctrial.report.hazard_ratio import ArmHazardRatio
from ikctrial.report.sections.cutoff import audit_verdict, cutoff_section
from ikctrial.report.sections.data import AnalysisData
from ikctrial.report.sections.design import design_section
from ikctrial.report.sections.immune import immune_section
from ikctrial.report.sections.population import baseline_section, consort_section
from ikctrial.report.sections.safety import safety_section
from ikctrial.report.sections.survival import Median, forest_section, pfs_section
from ikctrial.report.sections.tace import tace_section
from ikctrial.report.sections.treatment import exposure_section, swimmer_section
from ikctrial.report.sections.tumour import spider_section, waterfall_section
from ikctrial.stats.logrank import LogrankResult
from ikctrial.stats.rates import RateRatio

TITLE_SECTION = "title"


@dataclass(frozen=True)
class StudyInfo:
    """The study as the report's title block names it."""

    nct_id: str
    sponsor_study_id: str
    title: str
    sponsor: str
    phase: str
    protocol_version: str
    arms: Mapping[str, str]
    """Arm code -> name, in protocol order."""
    experimental_arm: str
    control_arm: str
    """Codes of the experimental and the control arm."""


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report is built from."""

    study: StudyInfo
    adam: Mapping[str, pd.DataFrame]
    """"ADSL", "ADTTE", "ADRS", "ADTR", "ADLB", "ADAE", "ADEX", "ADTACE" as
    ``analysis.adam.datasets.adam_datasets`` builds them (TRTP/TRT01P hold arm names)."""
    consort: ConsortCounts
    design: DesignReport
    data_cutoff: datetime
    audit: Mapping[str, Any]
    """The audit-chain verdict: at least "ok", "events", "first_bad_event"."""
    generated_at: datetime


@dataclass(frozen=True)
class TrialReport:
    """The HTML document, its sections (id, title) in order, and the key results it shows.

    ``pfs_medians`` are in months; ``at_risk`` has one row per arm and one column per time in
    months (the ``km-at-risk`` table of the HTML). Results that could not be estimated are None
    (or absent) and the HTML says why.
    """

    html: str
    sections: tuple[tuple[str, str], ...]
    at_risk: pd.DataFrame
    pfs_medians: Mapping[str, Median]
    pfs_hazard_ratio: ArmHazardRatio | None
    pfs_stratified_by: str | None
    pfs_logrank: LogrankResult | None
    tace_rate_ratio: RateRatio | None
    tace_not_estimable: str | None
    immune_differences: pd.DataFrame
    immune_not_fitted: Mapping[str, str]
    audit_verdict: str

    def summary_lines(self) -> list[str]:
        """The key results as short lines, for a command line to print."""
        lines = [
            f"PFS {arm}: {format_median(m.median, m.lower, m.upper, 'months', 0.95)}, "
            f"{m.events}/{m.n} events"
            for arm, m in self.pfs_medians.items()
        ]
        hr = self.pfs_hazard_ratio
        if hr is not None and hr.estimable:
            strata = f"stratified by {self.pfs_stratified_by}" if self.pfs_stratified_by else ""
            lines.append(
                f"PFS HR {hr.experimental} vs {hr.reference}: {hr.hazard_ratio:.2f} "
                f"(95% CI {hr.lower:.2f}–{hr.upper:.2f}) {strata}".rstrip()
            )
        elif hr is not None:
            lines.append(f"PFS HR: not estimable ({hr.not_estimable})")
        if self.pfs_logrank is not None:
            lines.append(f"Log-rank {format_p(self.pfs_logrank.p)} (nominal)")
        rr = self.tace_rate_ratio
        if rr is not None:
            lines.append(
                f"Repeat-TACE rate ratio {rr.compared} vs {rr.reference}: {rr.rate_ratio:.2f} "
                f"(95% CI {rr.ci[0]:.2f}–{rr.ci[1]:.2f}, {rr.model})"
            )
        else:
            lines.append(f"Repeat-TACE rate ratio: not estimable ({self.tace_not_estimable})")
        if self.immune_not_fitted:
            lines.append(f"Immune markers not modelled: {', '.join(self.immune_not_fitted)}")
        lines.append(f"Audit chain: {self.audit_verdict}")
        return lines


def _stylesheet() -> str:
    """The report's CSS (screen and A4 print), shipped as package data."""
    return resources.files("ikctrial.report").joinpath("report.css").read_text(encoding="utf-8")


def _arm_names(study: StudyInfo) -> tuple[tuple[str, ...], str, str]:
    """Arm names in protocol order, and the experimental and control arm names."""
    for role, code in (
        ("experimental_arm", study.experimental_arm),
        ("control_arm", study.control_arm),
    ):
        if code not in study.arms:
            raise InputError(
                f"study.{role}", f"{code!r} is not one of the arms {list(study.arms)!r}"
            )
    if study.experimental_arm == study.control_arm:
        raise InputError("study.control_arm", "is the experimental arm")
    names = tuple(
        study.arms[c] for c in study.arms if c in (study.experimental_arm, study.control_arm)
    )
    return names, study.arms[study.experimental_arm], study.arms[study.control_arm]


def _title_section(inputs: ReportInputs, sections: list[Section]) -> Section:
    """The title block: study facts, cut-off, generation time and the contents."""
    study = inputs.study
    facts = {
        "Registry": study.nct_id,
        "Sponsor study ID": study.sponsor_study_id,
        "Sponsor": study.sponsor,
        "Phase": study.phase,
        "Protocol version": study.protocol_version,
        "Arms": "; ".join(f"{name} ({code})" for code, name in study.arms.items()),
        "Data cut-off": inputs.data_cutoff.isoformat(),
        "Generated": inputs.generated_at.isoformat(),
        "Audit chain": audit_verdict(inputs.audit),
    }
    contents = "".join(
        f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>' for s in sections
    )
    body = (
        f'<p class="subtitle">{escape(study.title)}</p>\n'
        + key_value_table(facts, table_id="study-info")
        + f"<nav><ol>{contents}</ol></nav>\n"
    )
    heading = f"<h1>{escape(_report_title(study))}</h1>"
    return Section(TITLE_SECTION, "Study", body, lead=heading)


def _report_title(study: StudyInfo) -> str:
    return f"{study.sponsor_study_id} ({study.nct_id}) trial report"


def _document(title: str, sections: list[Section]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>\n{_stylesheet()}</style>\n</head>\n<body>\n"
        + "".join(s.html for s in sections)
        + "</body>\n</html>\n"
    )


def build_report(inputs: ReportInputs) -> TrialReport:
    """The trial report of ``inputs``: HTML with every section, and the key results."""
    if inputs.data_cutoff.tzinfo is None:
        raise InputError("data_cutoff", "must be timezone-aware")
    arms, experimental, control = _arm_names(inputs.study)
    data = AnalysisData(
        adam=inputs.adam,
        arms=arms,
        experimental=experimental,
        control=control,
        cutoff=inputs.data_cutoff.date(),
    )
    pfs, pfs_result = pfs_section(data)
    tace, tace_result = tace_section(data)
    immune, immune_result = immune_section(data)
    body = [
        consort_section(inputs.consort),
        baseline_section(data),
        pfs,
        forest_section(data),
        waterfall_section(data),
        spider_section(data),
        swimmer_section(data),
        tace,
        immune,
        safety_section(data),
        exposure_section(data),
        design_section(
            inputs.design,
            sum(m.events for m in pfs_result.medians.values()) if pfs_result.medians else None,
        ),
        cutoff_section(inputs.data_cutoff, inputs.audit),
    ]
    sections = [_title_section(inputs, body), *body]
    return TrialReport(
        html=_document(_report_title(inputs.study), sections),
        sections=tuple((s.id, s.title) for s in sections),
        at_risk=pfs_result.at_risk,
        pfs_medians=pfs_result.medians,
        pfs_hazard_ratio=pfs_result.hazard_ratio,
        pfs_stratified_by=pfs_result.stratified_by,
        pfs_logrank=pfs_result.logrank,
        tace_rate_ratio=tace_result.rate_ratio,
        tace_not_estimable=tace_result.not_estimable,
        immune_differences=immune_result.differences,
        immune_not_fitted=immune_result.not_fitted,
        audit_verdict=audit_verdict(inputs.audit),
    )
