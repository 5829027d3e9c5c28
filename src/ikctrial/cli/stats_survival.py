"""``ikctrial stats km|logrank|cox``: survival statistics matched to R survival (interfaces.md,
"Survival statistics"; domain.md 7.5)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, stdout
from ikctrial.errors import InputError

app = typer.Typer()

T = TypeVar("T")

DATA = typer.Argument(..., help="Table with one row per subject: CSV, Parquet or SAS XPORT (.xpt).")
TIME = typer.Option(..., "--time", help="Column with the time to event or censoring (>= 0).")
EVENT = typer.Option(None, "--event", help="Column with 1 = event, 0 = censored.")
CENSOR = typer.Option(None, "--censor", help="ADaM censoring column (CNSR): event = 1 - CNSR.")
FILTER = typer.Option(
    None, "--filter", help="pandas query applied first, e.g. \"PARAMCD == 'OS'\"."
)
LEVEL = typer.Option(0.95, "--level", help="Confidence level.")
JSON = typer.Option(False, "--json", help="Print one JSON document.")


def _numbers(option: str, text: str | None) -> list[float]:
    """Parse ``t1,t2,...`` into floats."""
    if not text:
        return []
    values = []
    for part in text.split(","):
        try:
            values.append(float(part))
        except ValueError:
            raise InputError(option, f"{part.strip()!r} is not a number") from None
    return values


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def _run(data: Path, compute: Callable[[Any], T]) -> T:
    """Read the table and compute; bad input exits 2 naming the file, column and problem."""
    from ikctrial.stats.io import read_table

    try:
        return compute(read_table(data))
    except InputError as error:
        fail_input(error if error.source else error.with_source(str(data)))


def _fmt(value: float | None, decimals: int = 4) -> str:
    return "NA" if value is None or value != value else f"{value:.{decimals}g}"


def _p(p: float) -> str:
    return "NA" if p != p else ("<0.0001" if p < 1e-4 else f"{p:.4f}")


def _none(value: float) -> float | None:
    return None if value != value else float(value)


@app.command("km")
def km(
    data: Path = DATA,
    time: str = TIME,
    event: str | None = EVENT,
    censor: str | None = CENSOR,
    group: str | None = typer.Option(
        None, "--group", help="Column whose levels get one curve each."
    ),
    strata: str | None = typer.Option(
        None,
        "--strata",
        help="Also split each group's curve by this column (adds 'stratum'; R ~ group + strata()).",
    ),
    conf_type: str = typer.Option(
        "log-log", "--conf-type", help="log-log (default), log or plain."
    ),
    times: str | None = typer.Option(None, "--times", help="Times for S(t) with CI: t1,t2."),
    at_risk_times: str | None = typer.Option(
        None, "--at-risk-times", help="Times for the numbers at risk: t1,t2."
    ),
    tau: float | None = typer.Option(
        None, "--tau", help="Restricted mean survival time up to this time (adds 'rmst')."
    ),
    filter: str | None = FILTER,
    level: float = LEVEL,
    as_json: bool = JSON,
) -> None:
    """Kaplan-Meier estimates per group: median with CI, S(t) at given times, numbers at risk."""
    from ikctrial.stats.io import survival_columns
    from ikctrial.stats.kaplan_meier import SurvivalCurve, survival_curves

    def compute(table: Any) -> tuple[list[SurvivalCurve], list[float], list[float]]:
        columns = survival_columns(
            table, time=time, event=event, censor=censor, group=group, strata=strata, filter=filter
        )
        curves = survival_curves(
            columns.time,
            columns.event,
            columns.group,
            strata=columns.strata,
            conf_type=conf_type,  # type: ignore[arg-type]  # checked by survival_curves
            level=level,
        )
        return curves, _numbers("--times", times), _numbers("--at-risk-times", at_risk_times)

    curves, at_times, risk_times = _run(data, compute)
    groups = []
    for curve in curves:
        median, low, high = curve.median
        survival, lower, upper = curve.survival_at(at_times)
        document: dict[str, Any] = {
            "group": curve.group if group else None,
            **({"stratum": curve.stratum} if strata else {}),
            "n": curve.n,
            "events": curve.events,
            "median": _none(median),
            "median_ci": [_none(low), _none(high)],
            "at_risk": [int(v) for v in curve.at_risk(risk_times)],
            "survival_at": [
                {"time": t, "survival": _none(s), "ci": [_none(lo), _none(hi)]}
                for t, s, lo, hi in zip(at_times, survival, lower, upper, strict=True)
            ],
        }
        if tau is not None:
            mean, se = curve.rmst(tau)
            document["rmst"] = {"tau": tau, "estimate": mean, "se": se}
        groups.append(document)
    if as_json:
        emit_json({"groups": groups, "conf_type": conf_type, "level": level})
        return
    summary = Table(title=f"Kaplan-Meier ({conf_type} {level:.0%} CI)")
    for column in ("group", "n", "events", "median", f"{level:.0%} CI"):
        summary.add_column(column, justify="left" if column == "group" else "right")
    if tau is not None:
        summary.add_column(f"RMST({tau:g}) (SE)", justify="right")
    labels = [
        ", ".join([*([str(c.group)] if group else []), *([str(c.stratum)] if strata else [])])
        or "all"
        for c in curves
    ]
    for label, doc in zip(labels, groups, strict=True):
        low, high = doc["median_ci"]
        row = [label, str(doc["n"]), str(doc["events"])]
        row += [_fmt(doc["median"]), f"{_fmt(low)} to {_fmt(high)}"]
        if tau is not None:
            row.append(f"{_fmt(doc['rmst']['estimate'])} ({_fmt(doc['rmst']['se'])})")
        summary.add_row(*row)
    stdout.print(summary)
    if at_times:
        landmarks = Table(title="Survival at given times")
        for column in ("group", "time", "S(t)", f"{level:.0%} CI"):
            landmarks.add_column(column, justify="left" if column == "group" else "right")
        for label, doc in zip(labels, groups, strict=True):
            for item in doc["survival_at"]:
                ci = f"{_fmt(item['ci'][0])} to {_fmt(item['ci'][1])}"
                landmarks.add_row(label, f"{item['time']:g}", _fmt(item["survival"]), ci)
        stdout.print(landmarks)
    if risk_times:
        risk = Table(title="Number at risk")
        risk.add_column("group")
        for t in risk_times:
            risk.add_column(f"{t:g}", justify="right")
        for label, doc in zip(labels, groups, strict=True):
            risk.add_row(label, *map(str, doc["at_risk"]))
        stdout.print(risk)


@app.command("logrank")
def logrank(
    data: Path = DATA,
    time: str = TIME,
    event: str | None = EVENT,
    censor: str | None = CENSOR,
    group: str = typer.Option(..., "--group", help="Column with the groups compared (2 or more)."),
    strata: str | None = typer.Option(None, "--strata", help="Stratify by this column."),
    filter: str | None = FILTER,
    as_json: bool = JSON,
) -> None:
    """Log-rank test (rho = 0) of equal survival across groups, optionally stratified (as R
    survdiff)."""
    from ikctrial.stats.logrank import LogrankResult, logrank_test

    def compute(table: Any) -> LogrankResult:
        return logrank_test(
            table, time=time, group=group, event=event, censor=censor, strata=strata, filter=filter
        )

    result = _run(data, compute)
    if as_json:
        emit_json(result.to_dict())
        return
    title = f"Log-rank test by {group}" + (f", stratified by {strata}" if strata else "")
    table = Table(title=title)
    table.add_column(group)
    for column in result.summary.columns:
        table.add_column(column, justify="right")
    for label, row in result.summary.iterrows():
        table.add_row(str(label), *(_fmt(float(v)) for v in row))
    stdout.print(table)
    stdout.print(f"Chisq = {result.chisq:.4f} on {result.df} df, p = {_p(result.p)}")


@app.command("cox")
def cox(
    data: Path = DATA,
    time: str = TIME,
    event: str | None = EVENT,
    censor: str | None = CENSOR,
    group: str | None = typer.Option(
        None, "--group", help="Treatment column, entered first as a (categorical) covariate."
    ),
    covariates: str | None = typer.Option(None, "--covariates", help="Covariate columns: a,b."),
    strata: str | None = typer.Option(None, "--strata", help="Separate baseline hazard per level."),
    ties: str = typer.Option("efron", "--ties", help="efron (default, as R) or breslow."),
    robust: bool = typer.Option(False, "--robust", help="Robust sandwich SEs (Lin-Wei)."),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        help="Cluster robust SEs by this column (e.g. USUBJID); implies --robust.",
    ),
    filter: str | None = FILTER,
    level: float = LEVEL,
    as_json: bool = JSON,
) -> None:
    """Cox proportional-hazards model (R coxph): HRs with Wald CIs, tests and log-likelihood."""
    from ikctrial.stats.cox import CoxPH, CoxResult, CoxSeparationWarning

    names = ([group] if group else []) + _names(covariates)

    def compute(table: Any) -> CoxResult:
        if not names:
            raise InputError("--covariates", "name at least one covariate (or --group)")
        model = CoxPH(ties=ties, robust=robust or cluster is not None, level=level)  # type: ignore[arg-type]
        model.fit(
            table,
            time=time,
            event=event,
            censor=censor,
            covariates=names,
            strata=strata,
            cluster=cluster,
            filter=filter,
        )
        return model.result_

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CoxSeparationWarning)
        result = _run(data, compute)
    for warning in caught:
        sys.stderr.write(f"warning: {warning.message}\n")
    if as_json:
        document = result.to_dict()
        chisq, df, p = result.likelihood_ratio_test
        document["tests"] = {
            name: {"chisq": c, "df": d, "p": q}
            for name, (c, d, q) in {
                "likelihood_ratio": (chisq, df, p),
                "wald": result.wald_test,
                "score": result.score_logrank_test,
            }.items()
        }
        document["infinite"] = result.infinite
        emit_json(document)
        return
    lower, upper = result.hr_ci
    robust_se = result.robust_se
    table = Table(title=f"Cox model ({result.ties} ties; n = {result.n}, events = {result.events})")
    table.add_column("covariate")
    columns = ["coef", "HR", f"{level:.0%} CI", "se", *([] if robust_se is None else ["robust se"])]
    for column in [*columns, "p"]:
        table.add_column(column, justify="right", no_wrap=True)
    for i, name in enumerate(result.names):
        cells = [
            _fmt(result.coef[i]),
            _fmt(float(result.summary["exp(coef)"].iloc[i])),
            f"{_fmt(lower[i])}-{_fmt(upper[i])}",
            _fmt(result.se[i]),
        ]
        if robust_se is not None:
            cells.append(_fmt(robust_se[i]))
        table.add_row(name, *cells, _p(float(result.p_values[i])))
    stdout.print(table)
    for label, (chisq, df, p) in (
        ("Likelihood ratio", result.likelihood_ratio_test),
        ("Wald" + (" (robust)" if robust_se is not None else ""), result.wald_test),
        ("Score (log-rank)", result.score_logrank_test),
    ):
        stdout.print(f"{label} test = {chisq:.4f} on {df} df, p = {_p(p)}")
    stdout.print(f"log-likelihood = {result.loglik:.4f} (null {result.loglik_null:.4f})")
