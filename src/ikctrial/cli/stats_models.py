"""``ikctrial stats rate`` and ``ikctrial stats mmrm``: the non-survival endpoint models
(interfaces.md, "Other endpoint models"; domain.md 7.3 and 7.4)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, stderr, stdout
from ikctrial.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer()

DATA_HELP = (
    "Table with one row per patient (rate) or per patient and visit (mmrm): CSV, Parquet, XPT."
)
LEVEL_HELP = "Confidence level of the intervals."
RATE_HELP = (
    "Rates per unit of exposure by group and their ratio (Poisson / negative binomial).\n\n"
    "The rate ratio compares the second group level in sorted order with the first, from a "
    "log-link count model with offset log(exposure), as R glm(poisson) / MASS::glm.nb "
    "(domain.md 7.3)."
)
MMRM_HELP = (
    "MMRM: LS means and arm difference per visit (unstructured covariance, REML).\n\n"
    "Model response ~ baseline + visit * arm with an unstructured covariance across visits within "
    "subject, by REML as nlme::gls(corSymm, varIdent); the difference is the second arm level in "
    "sorted order minus the first (domain.md 7.4)."
)
FILTER_HELP = "pandas query applied first, e.g. \"ITTFL == 'Y'\"."


def _table(path: Path, expression: str | None) -> pd.DataFrame:
    from ikctrial.stats.io import apply_filter, read_table

    return apply_filter(read_table(path), expression)


def _number(value: Any, decimals: int = 4) -> str:
    return "NA" if value is None or value != value else f"{value:.{decimals}f}"


def _p_value(p: float) -> str:
    return "NA" if p != p else ("<0.0001" if p < 1e-4 else f"{p:.4f}")


@app.command("rate", help=RATE_HELP)
def rate(
    data: Path = typer.Argument(..., help=DATA_HELP),
    count: str = typer.Option(
        ..., "--count", help="Column with the event count (e.g. repeat TACE)."
    ),
    exposure: str = typer.Option(..., "--exposure", help="Column with the follow-up (e.g. years)."),
    group: str = typer.Option(..., "--group", help="Column with the two groups compared."),
    covariates: str = typer.Option("", "--covariates", help="Adjustment columns, comma-separated."),
    model: str = typer.Option("negbin", "--model", help="poisson or negbin (domain.md 7.3)."),
    robust: bool = typer.Option(
        False, "--robust", help="Sandwich (HC0) SEs for the Poisson model."
    ),
    filter_expression: str | None = typer.Option(None, "--filter", help=FILTER_HELP),
    level: float = typer.Option(0.95, "--level", help=LEVEL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Rates per unit of exposure by group and their ratio (help text: RATE_HELP)."""
    from ikctrial.stats.rates import rate_ratio

    try:
        table = _table(data, filter_expression)
        result = rate_ratio(
            table,
            count=count,
            exposure=exposure,
            group=group,
            covariates=[c.strip() for c in covariates.split(",") if c.strip()],
            model=model,  # type: ignore[arg-type]  # checked by rate_ratio
            robust=robust,
            level=level,
        )
    except InputError as error:
        fail_input(error if error.source else error.with_source(str(data)))
    if result.fallback:
        stderr.print(f"[yellow]note:[/] {result.fallback}")
    if as_json:
        emit_json(result.to_dict())
        return
    rates = Table(title=f"Rate per unit of {exposure} by {group}")
    for column in (group, "events", exposure, "rate"):
        rates.add_column(column, justify="left" if column == group else "right")
    for level_name in (result.reference, result.compared):
        rates.add_row(
            str(level_name),
            str(result.events[level_name]),
            _number(result.exposure[level_name], 2),
            _number(result.rates[level_name]),
        )
    stdout.print(rates)
    stdout.print(
        f"{result.model} ({result.se_type} SE{'' if result.theta is None else ', theta '}"
        f"{'' if result.theta is None else _number(result.theta)}): rate ratio "
        f"{result.compared} / {result.reference} = {_number(result.rate_ratio)} "
        f"({level:.0%} CI {_number(result.ci[0])} to {_number(result.ci[1])}), "
        f"p = {_p_value(result.p)}; Pearson chi2/df of the Poisson fit "
        f"{_number(result.pearson_chi2_df, 2)}"
    )


@app.command("mmrm", help=MMRM_HELP)
def mmrm(
    data: Path = typer.Argument(..., help=DATA_HELP),
    subject: str = typer.Option(..., "--subject", help="Column identifying the subject."),
    visit: str = typer.Option(..., "--visit", help="Column with the (post-baseline) visit."),
    response: str = typer.Option(..., "--response", help="Column with the response (e.g. change)."),
    arm: str = typer.Option(..., "--arm", help="Column with the two arms compared."),
    baseline: str | None = typer.Option(None, "--baseline", help="Baseline covariate column."),
    filter_expression: str | None = typer.Option(None, "--filter", help=FILTER_HELP),
    level: float = typer.Option(0.95, "--level", help=LEVEL_HELP),
    df: str = typer.Option(
        "satterthwaite", "--df", help="Degrees of freedom: satterthwaite (as R mmrm) or residual."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """MMRM LS means and arm differences per visit (help text: MMRM_HELP)."""
    from ikctrial.stats.mmrm import mmrm as fit_mmrm

    try:
        result = fit_mmrm(
            _table(data, filter_expression),
            subject=subject,
            visit=visit,
            response=response,
            arm=arm,
            baseline=baseline,
            level=level,
            df_method=df,  # type: ignore[arg-type]  # checked by mmrm
        )
    except InputError as error:
        fail_input(error if error.source else error.with_source(str(data)))
    if not result.converged:
        stderr.print("[yellow]warning:[/] REML did not converge; estimates are not reliable")
    if as_json:
        emit_json(result.to_dict())
        return
    first, second = result.arm_levels
    table = Table(
        title=f"MMRM {response}: unstructured covariance, REML "
        f"({result.n_subjects} subjects, {result.n_obs} observations)"
    )
    for column in (
        visit,
        f"LS mean {first}",
        f"LS mean {second}",
        f"{second} - {first}",
        "SE",
        f"{level:.0%} CI",
        "df",
        "p",
    ):
        table.add_column(column, justify="left" if column == visit else "right")
    for row in result.visits:
        table.add_row(
            str(row.visit),
            _number(row.lsmeans[first]),
            _number(row.lsmeans[second]),
            _number(row.difference),
            _number(row.se),
            f"{_number(row.ci[0])} to {_number(row.ci[1])}",
            _number(row.df, 1),
            _p_value(row.p),
        )
    stdout.print(table)
    stdout.print(
        f"REML log-likelihood {result.loglik_reml:.4f}; t tests with {result.df_method} df "
        "and model-based SEs (no Kenward-Roger SE adjustment)"
    )
