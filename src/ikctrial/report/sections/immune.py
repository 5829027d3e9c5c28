"""The immune-response section (domain.md 7.4): one MMRM per immune-panel marker on the ADLB records
used for analysis (``PARCAT1 = "IMMUNE PANEL"``, ``ANL01FL = "Y"``, post-baseline visits), change
from baseline with the baseline value as covariate, fitted by ``stats.mmrm.mmrm`` (unstructured
covariance, REML). Percentages are analysed as ``CHG``; counts, ratios and cytokines on the log
scale (``log(AVAL) - log(BASE)``, baseline ``log(BASE)``) and shown as ratios of geometric means.
A marker whose model cannot be fitted is listed with the reason."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikctrial.errors import InputError
from ikctrial.report.document import (
    Cell,
    Section,
    data_table,
    estimate_ci,
    figure,
    machine,
    note,
    paragraph,
)
from ikctrial.report.figures.km import format_p
from ikctrial.report.figures.mmrm_plot import mmrm_figure
from ikctrial.report.figures.style import require
from ikctrial.report.sections.data import AnalysisData
from ikctrial.stats.mmrm import MMRM, mmrm

IMMUNE_PANEL = "IMMUNE PANEL"
BASELINE_VISIT = "BASELINE"
ARM = "_ARM"
RESPONSE = "_RESPONSE"
COVARIATE = "_BASELINE"
UNITS = {
    "percent_lymphocytes": "% of lymphocytes",
    "percent_cd4": "% of CD4+",
    "cells_per_ul": "cells/µL",
    "pg_ml": "pg/mL",
}
"""ADLB PARAM unit codes as the report prints them."""


@dataclass(frozen=True)
class ImmuneResult:
    """Differences per marker and visit as shown (see ``MMRMPlot.differences``, with PARAMCD),
    and the markers not fitted with the reason."""

    differences: pd.DataFrame
    not_fitted: dict[str, str]


def is_percentage(param: str) -> bool:
    """Whether a marker is a percentage (analysed on the original scale, domain.md 7.4); counts,
    ratios and cytokines are analysed on the log scale."""
    text = param.lower()
    return "percent" in text or "%" in text


def marker_label(param: str) -> str:
    """PARAM with its unit code written out ("CD8 (cells_per_ul)" -> "CD8 (cells/µL)")."""
    for code, unit in UNITS.items():
        param = param.replace(code, unit)
    return param.replace("_", " ")


def immune_records(data: AnalysisData) -> pd.DataFrame:
    """Post-baseline analysis records of the immune panel of ITT subjects, with the arm as a
    control-first categorical in ``ARM``."""
    rows = data.itt_records("ADLB")
    require(
        rows,
        ["PARCAT1", "PARAMCD", "PARAM", "AVISIT", "ANL01FL", "AVAL", "BASE", "CHG", "TRTP"],
        "ADLB",
    )
    rows = rows[
        (rows["PARCAT1"] == IMMUNE_PANEL)
        & (rows["ANL01FL"] == "Y")
        & rows["AVISIT"].notna()
        & (rows["AVISIT"] != BASELINE_VISIT)
        & rows["TRTP"].isin(data.arms)
    ]
    return rows.assign(**{ARM: data.arm_group(rows["TRTP"])})


def _model_frame(rows: pd.DataFrame, logged: bool) -> pd.DataFrame:
    """The response and baseline covariate of one marker on its analysis scale."""
    if not logged:
        return rows.assign(**{RESPONSE: rows["CHG"], COVARIATE: rows["BASE"]})
    values = pd.to_numeric(rows["AVAL"])
    base = pd.to_numeric(rows["BASE"])
    if ((values <= 0) | (base <= 0)).any():
        raise InputError("ADLB.AVAL", "has values ≤ 0, which have no logarithm")
    return rows.assign(**{RESPONSE: np.log(values) - np.log(base), COVARIATE: np.log(base)})


def _fit(rows: pd.DataFrame, logged: bool) -> MMRM:
    """The marker's MMRM; an InputError when the fit is impossible or did not converge."""
    patients, visits = rows["USUBJID"].nunique(), rows["AVISIT"].nunique()
    if patients <= visits:
        raise InputError(
            "ADLB.USUBJID",
            f"{patients} patients cannot estimate an unstructured covariance of {visits} visits",
        )
    fit = mmrm(
        _model_frame(rows, logged),
        subject="USUBJID",
        visit="AVISIT",
        response=RESPONSE,
        arm=ARM,
        baseline=COVARIATE,
    )
    if not fit.converged:
        raise InputError("REML", "the fit did not converge")
    return fit


def immune_section(data: AnalysisData) -> tuple[Section, ImmuneResult]:
    """LS-mean differences (or ratios) per marker and visit, one figure per marker."""
    title = "Immune responses"
    empty = pd.DataFrame(columns=["paramcd", "marker", "visit", "estimate", "lower", "upper", "p"])
    try:
        rows = immune_records(data)
    except InputError as error:
        return Section("immune", title, paragraph(f"No immune analysis: {error}.")), ImmuneResult(
            empty, {}
        )
    if rows.empty:
        body = paragraph(
            "No immune-panel data: ADLB has no post-baseline IMMUNE PANEL analysis records "
            "(ANL01FL = Y), so no marker could be modelled."
        )
        return Section("immune", title, body), ImmuneResult(empty, {})
    figures = ""
    tables: list[pd.DataFrame] = []
    not_fitted: dict[str, str] = {}
    for paramcd, marker in rows.groupby("PARAMCD", sort=True):
        label = f"{marker_label(str(marker['PARAM'].iloc[0]))} [{paramcd}]"
        logged = not is_percentage(str(marker["PARAM"].iloc[0]))
        try:
            fit = _fit(marker, logged)
        except (InputError, np.linalg.LinAlgError) as error:
            not_fitted[label] = str(error)
            continue
        plot = mmrm_figure(
            {label: fit}, experimental=data.experimental, log_scale=[label] if logged else []
        )
        tables.append(plot.differences.assign(paramcd=str(paramcd), n=fit.n_subjects))
        scale = "log scale, ratio of geometric means" if logged else "change from baseline"
        figures += figure(
            plot.figure,
            title=f"{label}: MMRM by visit",
            caption=f"{fit.n_subjects} patients, {fit.n_obs} post-baseline values ({scale}). "
            "Left: LS mean per arm ± SE; right: "
            f"{data.experimental} vs {data.control} with 95% CI.",
        )
    differences = pd.concat(tables, ignore_index=True) if tables else empty
    body = ""
    if tables:
        body += data_table(
            ["Marker", "Visit", "Scale", "Estimate (95% CI)", "Nominal p"],
            [
                [
                    str(r["marker"]),
                    str(r["visit"]),
                    str(r["scale"]),
                    Cell(
                        estimate_ci(
                            r["estimate"], r["lower"], r["upper"], 3 if r["scale"] == "ratio" else 2
                        ),
                        {
                            "marker": str(r["paramcd"]),
                            "visit": str(r["visit"]),
                            "estimate": machine(r["estimate"]),
                        },
                    ),
                    format_p(float(r["p"])),
                ]
                for r in differences.to_dict("records")
            ],
            caption=f"LS-mean difference {data.experimental} − {data.control} per visit "
            "(percentages), or ratio of geometric means (counts, ratios, cytokines)",
            table_id="immune-differences",
        )
    if not_fitted:
        body += paragraph("Markers whose model could not be fitted:")
        body += data_table(
            ["Marker", "Reason"],
            [[m, why] for m, why in not_fitted.items()],
            caption="Immune markers not modelled",
            table_id="immune-not-fitted",
        )
    body += note(
        "MMRM of change from baseline: fixed effects baseline value, visit, arm and arm × visit; "
        "unstructured covariance across visits within patient, REML; Satterthwaite degrees of "
        "freedom (ikctrial.stats.mmrm). The engine's model has no baseline × visit or strata "
        "terms and no Kenward-Roger adjustment (domain.md 7.4 asks for them): a validated R/SAS "
        "run gives the reportable result. Missing visits are missing at random, not imputed."
    )
    body += figures
    return Section("immune", title, body), ImmuneResult(differences, not_fitted)
