"""The repeat-TACE section (domain.md 7.3): repeat TACE sessions per patient-year by arm and the
rate ratio IKC + TACE vs TACE alone from ``stats.rates.rate_ratio`` on ADTACE: negative binomial
(NB2) with offset log(follow-up years), the randomization strata as covariates when the model can
hold them, and the engine's Poisson-with-sandwich fallback when the NB degenerates."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ikctrial.errors import InputError
from ikctrial.report.document import (
    Cell,
    Section,
    data_table,
    estimate_ci,
    machine,
    not_estimable,
    note,
    number,
)
from ikctrial.report.figures.km import format_p
from ikctrial.report.figures.style import require
from ikctrial.report.sections.data import STRATA, AnalysisData
from ikctrial.stats.rates import RateRatio, rate_ratio

PARAMCD = "NTACER"
GROUP = "arm"


@dataclass(frozen=True)
class TaceResult:
    """The rate ratio (None when it cannot be estimated, with the reason) and the model's data."""

    rate_ratio: RateRatio | None
    not_estimable: str | None
    adjusted_for: tuple[str, ...]


def tace_records(data: AnalysisData) -> pd.DataFrame:
    """ITT records of the repeat-TACE count with the arm as control-first categorical in
    ``GROUP`` and the randomization strata from ADSL."""
    rows = data.itt_records("ADTACE")
    require(rows, ["PARAMCD", "TRTP", "AVAL", "FUPYR"], "ADTACE")
    rows = rows[(rows["PARAMCD"] == PARAMCD) & rows["TRTP"].isin(data.arms)]
    rows = data.with_adsl(rows, list(STRATA))
    return rows.assign(**{GROUP: data.arm_group(rows["TRTP"])})


def _strata_covariates(rows: pd.DataFrame) -> list[str]:
    """The strata usable as covariates: known for every patient, with more than one level."""
    return [c for c in STRATA if rows[c].notna().all() and rows[c].nunique() > 1]


def fit_tace_rate(rows: pd.DataFrame) -> TaceResult:
    """The NB2 rate ratio on ``tace_records`` adjusted for the strata that fit; unadjusted when
    the adjusted model is not identifiable (e.g. a stratum level confounded with the arm) or
    saturated (as many terms as patients); not estimable when neither model is."""
    if rows.empty:
        return TaceResult(None, "ADTACE has no repeat-TACE records", ())
    covariates = _strata_covariates(rows)
    attempts = [covariates, []] if covariates else [[]]
    reason = ""
    for adjusted in attempts:
        try:
            fit = rate_ratio(rows, count="AVAL", exposure="FUPYR", group=GROUP, covariates=adjusted)
        except InputError as error:
            reason = str(error)
            if error.field in adjusted or error.field == "covariates":
                continue
            return TaceResult(None, reason, ())
        if fit.n > len(fit.coefficients):
            return TaceResult(fit, None, tuple(adjusted))
        reason = (
            f"{fit.n} patients for {len(fit.coefficients)} model terms: a saturated model has no "
            "residual variation to estimate a standard error from"
        )
    return TaceResult(None, reason, ())


def tace_section(data: AnalysisData) -> tuple[Section, TaceResult]:
    """The section and the fitted rate ratio."""
    title = "Repeat TACE (reduction of relapse)"
    try:
        rows = tace_records(data)
    except InputError as error:
        return Section("tace", title, not_estimable("Repeat-TACE rate", str(error))), TaceResult(
            None, str(error), ()
        )
    result = fit_tace_rate(rows)
    body = ""
    fit = result.rate_ratio
    if fit is not None:
        body += data_table(
            ["Arm", "Patients", "Repeat TACE sessions", "Patient-years", "Rate per patient-year"],
            [
                [
                    str(arm),
                    str(int((rows[GROUP] == arm).sum())),
                    str(fit.events[arm]),
                    number(fit.exposure[arm], 1),
                    Cell(number(fit.rates[arm], 3), {"rate": machine(fit.rates[arm])}),
                ]
                for arm in (fit.compared, fit.reference)
            ],
            caption="Repeat TACE sessions per patient-year by arm (crude: Σ sessions / Σ years)",
            table_id="tace-rates",
        )
        adjusted = ", ".join(STRATA[c] for c in result.adjusted_for) or "none"
        model = "negative binomial (NB2)" if fit.model == "negbin" else "Poisson"
        body += data_table(
            ["Comparison", "Rate ratio (95% CI)", "Nominal p"],
            [
                [
                    f"{fit.compared} vs {fit.reference}",
                    Cell(
                        estimate_ci(fit.rate_ratio, *fit.ci),
                        {
                            "rr": machine(fit.rate_ratio),
                            "lower": machine(fit.ci[0]),
                            "upper": machine(fit.ci[1]),
                        },
                    ),
                    Cell(format_p(fit.p), {"p": machine(fit.p)}),
                ]
            ],
            caption=f"Rate ratio: {model}, offset log(follow-up years), strata as covariates: "
            f"{adjusted}",
            table_id="tace-rate-ratio",
        )
        theta = "" if fit.theta is None else f" θ = {fit.theta:.3g}."
        details = [
            f"Model {model}, {fit.se_type} standard errors, Wald CI.{theta} Pearson χ²/df of the "
            f"Poisson fit: {number(fit.pearson_chi2_df, 2)}.",
        ]
        if fit.fallback:
            details.append(f"Fallback: {fit.fallback}.")
        missing = [label for c, label in STRATA.items() if c not in result.adjusted_for]
        if missing:
            details.append(
                f"Not adjusted for {', '.join(missing)}: the stratum is missing for some patient, "
                "has a single level, or cannot be estimated with the arm."
            )
        body += "".join(note(d) for d in details)
    else:
        body += not_estimable("Repeat-TACE rate ratio", result.not_estimable or "no data")
        if not rows.empty:
            body += data_table(
                ["Arm", "Patients", "Repeat TACE sessions", "Patient-years"],
                [
                    [
                        arm,
                        str(int((rows[GROUP] == arm).sum())),
                        f"{rows.loc[rows[GROUP] == arm, 'AVAL'].sum():.0f}",
                        number(rows.loc[rows[GROUP] == arm, "FUPYR"].sum(), 1),
                    ]
                    for arm in data.arms
                ],
                caption="Repeat TACE sessions and follow-up by arm (ADTACE)",
                table_id="tace-rates",
            )
    body += note(
        "Count: TACE sessions after the first during follow-up; follow-up from randomization to "
        "the earliest of end of study, death, withdrawal, last contact and the data cut-off "
        "(ADTACE FUPYR). Patients without TACE count with 0 sessions (ITT)."
    )
    return Section("tace", title, body), result
