"""Commands of the ``ikctrial design`` group: sample size, power, simulation, grids, the report.

Bad parameters exit 2 with one stderr line naming the option (``--hazard-ratio: must be > 0``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, stderr, stdout
from ikctrial.errors import InputError

app = typer.Typer()

# Core field names whose option is not simply ``--`` + the name with dashes.
_OPTION_OF_FIELD = {
    "control_median_months": "--control-median",
    "n_subjects": "--n",
    "allocation_fraction": "--allocation",
    "dropout_hazard_per_month": "--dropout-rate",
}


def _option(field: str) -> str:
    return _OPTION_OF_FIELD.get(field, "--" + field.replace("_", "-"))


@contextmanager
def _options_checked() -> Iterator[None]:
    """Turn an ``InputError`` about a parameter into exit 2 naming the command-line option."""
    try:
        yield
    except InputError as exc:
        if exc.source is None and exc.field:
            fail_input(InputError(_option(exc.field), exc.problem))
        fail_input(exc)


def _print_pairs(title: str, pairs: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    for key, value in pairs.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        table.add_row(key.replace("_", " "), "—" if value is None else str(value))
    stdout.print(table)


@app.command("sample-size")
def sample_size_command(
    hazard_ratio: float = typer.Option(..., "--hazard-ratio", help="Hazard ratio to detect."),
    alpha: float = typer.Option(..., "--alpha", help="Significance level, in (0, 0.5]."),
    sided: int = typer.Option(..., "--sided", help="1 or 2 (two-sided uses alpha/2 per tail)."),
    power: float = typer.Option(..., "--power", help="Target power, in (0, 1)."),
    allocation: str = typer.Option("1:1", "--allocation", help="experimental:control"),
    control_median: float | None = typer.Option(
        None, "--control-median", help="Control median survival, months (for subjects)."
    ),
    accrual_months: float | None = typer.Option(None, "--accrual-months"),
    followup_months: float | None = typer.Option(
        None, "--followup-months", help="Analysis this many months after accrual ends."
    ),
    dropout_rate: float = typer.Option(0.0, "--dropout-rate", help="P(dropout) within 12 months."),
    dropout_months: float = typer.Option(12.0, "--dropout-months"),
    patient_followup_months: float | None = typer.Option(
        None, "--patient-followup-months", help="Follow each patient at most this long."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Schoenfeld events (rounded up) and, given accrual and follow-up, the subjects they need."""
    from ikctrial.design.parameters import dropout_hazard_per_month, parse_allocation
    from ikctrial.design.sample_size import FollowUp, median_to_hazard, sample_size

    with _options_checked():
        ratio = parse_allocation(allocation)
        accrual_given = [control_median, accrual_months, followup_months]
        if any(v is not None for v in accrual_given) and None in accrual_given:
            raise InputError(
                "control_median_months",
                "subjects need --control-median, --accrual-months and --followup-months together",
            )
        follow_up = hazard = None
        if control_median is not None and accrual_months is not None:
            hazard = median_to_hazard(control_median)
            follow_up = FollowUp(
                accrual_months=accrual_months,
                followup_months=followup_months or 0.0,
                dropout_hazard_per_month=dropout_hazard_per_month(dropout_rate, dropout_months),
                patient_followup_months=patient_followup_months,
            )
        result = sample_size(
            hazard_ratio,
            alpha=alpha,
            sided=sided,
            power=power,
            allocation=ratio,
            control_hazard_per_month=hazard,
            follow_up=follow_up,
        )
    arms = result.subjects_per_arm
    document = {
        "events": result.events,
        "events_exact": result.events_exact,
        "method": "schoenfeld",
        "hazard_ratio": hazard_ratio,
        "alpha": alpha,
        "sided": sided,
        "power": power,
        "allocation": str(ratio),
        "allocation_fraction": ratio.experimental_fraction,
        "subjects": result.subjects,
        "subjects_exact": result.subjects_exact,
        "subjects_per_arm": None if arms is None else {"experimental": arms[0], "control": arms[1]},
        "event_probability": result.event_probability,
        "study_months": result.study_months,
    }
    if as_json:
        emit_json(document)
    else:
        _print_pairs("Sample size (Schoenfeld)", document)


@app.command("power")
def power_command(
    events: float = typer.Option(..., "--events", help="Number of events at the analysis."),
    hazard_ratio: float = typer.Option(..., "--hazard-ratio"),
    alpha: float = typer.Option(..., "--alpha"),
    sided: int = typer.Option(..., "--sided"),
    allocation: str = typer.Option("1:1", "--allocation", help="experimental:control"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Analytic log-rank power after a number of events, and the HR it detects with 80%/90%."""
    from ikctrial.design.parameters import parse_allocation
    from ikctrial.design.schoenfeld import detectable_hazard_ratio, power_for_events

    with _options_checked():
        fraction = parse_allocation(allocation).experimental_fraction
        value = power_for_events(
            events, hazard_ratio, alpha=alpha, sided=sided, allocation_fraction=fraction
        )
        detectable = {
            f"detectable_hazard_ratio_{round(100 * p)}": detectable_hazard_ratio(
                events, alpha=alpha, sided=sided, power=p, allocation_fraction=fraction
            )
            for p in (0.8, 0.9)
        }
    document = {
        "power": value,
        "events": events,
        "hazard_ratio": hazard_ratio,
        "alpha": alpha,
        "sided": sided,
        "allocation": allocation,
        "method": "schoenfeld",
        **detectable,
    }
    if as_json:
        emit_json(document)
    else:
        _print_pairs("Power (Schoenfeld)", document)


def _floats(text: str | None, field: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(field, f"{text!r} is not a comma-separated list of numbers") from None


@app.command("simulate")
def simulate_command(
    n: int = typer.Option(..., "--n", help="Patients randomized."),
    allocation: str = typer.Option("1:1", "--allocation", help="experimental:control"),
    control_median: float | None = typer.Option(
        None, "--control-median", help="Control median survival, months (exponential)."
    ),
    control_hazards: str | None = typer.Option(
        None, "--control-hazards", help="Piecewise control hazards per month, e.g. 0.08,0.12."
    ),
    hazard_starts: str | None = typer.Option(
        None, "--hazard-starts", help="Start month of each hazard piece, e.g. 0,6."
    ),
    hazard_ratio: float = typer.Option(..., "--hazard-ratio"),
    accrual_months: float = typer.Option(..., "--accrual-months"),
    accrual_starts: str | None = typer.Option(None, "--accrual-starts"),
    accrual_intensities: str | None = typer.Option(
        None, "--accrual-intensities", help="Relative entry rates per accrual piece."
    ),
    events: int | None = typer.Option(None, "--events", help="Analyse at the D-th event."),
    followup_months: float | None = typer.Option(
        None, "--followup-months", help="Analyse F months after the last patient entered."
    ),
    alpha: float = typer.Option(..., "--alpha"),
    sided: int = typer.Option(..., "--sided"),
    seed: int = typer.Option(..., "--seed"),
    trials: int = typer.Option(..., "--trials"),
    dropout_rate: float = typer.Option(0.0, "--dropout-rate", help="P(dropout) within 12 months."),
    dropout_months: float = typer.Option(12.0, "--dropout-months"),
    patient_followup_months: float | None = typer.Option(None, "--patient-followup-months"),
    regular_accrual: bool = typer.Option(
        False, "--regular-accrual", help="Evenly spaced entry times (rpact's convention)."
    ),
    threads: int = typer.Option(
        0, "--threads", help="Worker threads (0 = one per CPU); results do not depend on it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Simulated log-rank power of a two-arm survival trial (deterministic for a seed)."""
    from ikctrial.design.scenario import Scenario
    from ikctrial.design.simulate import simulate_power

    started = time.perf_counter()
    with _options_checked():
        scenario = Scenario.parse(
            {
                "n": n,
                "allocation": allocation,
                "hazard_ratio": hazard_ratio,
                "control_median_months": control_median,
                "control_hazards": _floats(control_hazards, "control_hazards"),
                "hazard_starts": _floats(hazard_starts, "hazard_starts"),
                "accrual_months": accrual_months,
                "accrual_starts": _floats(accrual_starts, "accrual_starts"),
                "accrual_intensities": _floats(accrual_intensities, "accrual_intensities"),
                "events": events,
                "followup_months": followup_months,
                "alpha": alpha,
                "sided": sided,
                "dropout_rate": dropout_rate,
                "dropout_months": dropout_months,
                "patient_followup_months": patient_followup_months,
                "regular_accrual": regular_accrual,
            }
        )
        design = scenario.trial_design()
        schoenfeld = scenario.schoenfeld_power()
        if trials < 1:
            raise InputError("trials", f"must be an integer >= 1 (got {trials})")
    result = simulate_power(
        design, trials=trials, seed=seed, threads=threads or (os.cpu_count() or 1)
    )
    seconds = time.perf_counter() - started
    document = {
        "power": result.power,
        "mc_se": result.mc_se,
        "trials": result.trials,
        "seconds": seconds,
        "trials_per_second": result.trials / seconds,
        "median_study_months": result.median_study_months,
        "mean_study_months": result.mean_study_months,
        "mean_events": result.mean_events,
        "mean_subjects": result.mean_subjects,
        "events_not_reached": result.events_not_reached,
        "rejections": result.rejections,
        "schoenfeld_power": schoenfeld,
        "seed": seed,
    }
    if as_json:
        emit_json(document)
    else:
        _print_pairs("Simulated power (log-rank)", document)


INLINE_GRID_TRIALS = 200_000
"""Grids with at most this many trials in all run inline; larger ones start a local Dask cluster."""


def _read_grid_spec(path: Path) -> Any:
    import yaml

    from ikctrial.design.grid import GridSpec

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("", "file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError("", f"cannot read YAML ({exc})", source=str(path)) from None
    try:
        return GridSpec.parse(document)
    except InputError as exc:
        raise exc.with_source(str(path)) from None


def _write_table(table: Any, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)


@app.command("grid")
def grid_command(
    spec_path: Path = typer.Option(..., "--spec", help="Grid spec (YAML): base, vary, trials."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."
    ),
    out: Path = typer.Option(
        Path("grid-results.parquet"), "--out", help="Tidy table (.parquet or .csv)."
    ),
    plot: Path | None = typer.Option(
        None, "--plot", help="Power curves (.png or .svg); default: next to --out, as .png."
    ),
    connect_seconds: float = typer.Option(
        20.0, "--connect-timeout", help="Seconds to wait for the --scheduler."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the table as one JSON document."),
) -> None:
    """Simulate every scenario of a grid (inline, local Dask cluster, or --scheduler)."""
    from contextlib import ExitStack

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ikctrial.design.grid import run_grid
    from ikctrial.design.power_curve import power_curve_figure

    with _options_checked():
        spec = _read_grid_spec(spec_path)
        cells = len(spec.scenarios())
    plot_path = plot or out.with_suffix(".png")
    with ExitStack() as stack:
        client = None
        if scheduler is not None or cells * spec.trials > INLINE_GRID_TRIALS:
            from distributed import Client, LocalCluster

            if scheduler is None:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=min(os.cpu_count() or 1, cells),
                        threads_per_worker=1,
                        dashboard_address=None,
                    )
                )
                client = stack.enter_context(Client(cluster))
            else:
                try:
                    client = stack.enter_context(Client(scheduler, timeout=f"{connect_seconds}s"))
                except OSError as exc:
                    fail_input(InputError("--scheduler", f"cannot connect to {scheduler} ({exc})"))
        progress = stack.enter_context(
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr,
            )
        )
        task = progress.add_task(f"{cells} scenarios x {spec.trials} trials", total=cells)
        table = run_grid(
            spec, client=client, on_cell=lambda done: progress.update(task, completed=done)
        )
    _write_table(table, out)
    figure = power_curve_figure(table, x=spec.plot.x, by=spec.plot.by)
    plot_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(plot_path)
    if as_json:
        emit_json({"out": str(out), "plot": str(plot_path), "rows": table.to_dict("records")})
        return
    shown = Table(title=f"Grid results ({out}, plot {plot_path})")
    varying = list(spec.vary)
    for column in [*varying, "power", "mc_se", "expected_events", "expected_study_months"]:
        shown.add_column(column.replace("_", " "), justify="right")
    for row in table.to_dict("records"):
        shown.add_row(
            *(str(row[c]) for c in varying),
            *(f"{row[c]:.4f}" for c in ("power", "mc_se")),
            *(f"{row[c]:.1f}" for c in ("expected_events", "expected_study_months")),
        )
    stdout.print(shown)


def _registered_design() -> tuple[int, Any, str]:
    """Enrollment and allocation from the protocol file when the protocol package exists."""
    from ikctrial.design.assumptions import REGISTERED_ALLOCATION, REGISTERED_ENROLLMENT
    from ikctrial.design.parameters import Allocation

    try:
        from ikctrial.protocol import load_protocol
    except ImportError:
        return REGISTERED_ENROLLMENT, REGISTERED_ALLOCATION, "registry defaults (domain.md 1.1)"
    protocol = load_protocol()
    ratio = [int(v) for v in protocol.allocation_ratio]
    kinds = [arm.type for arm in protocol.arms]
    first = kinds.index("experimental") if "experimental" in kinds else 0
    experimental = ratio[first]
    control = sum(ratio) - experimental
    source = f"protocol file {protocol.nct_id}"
    return int(protocol.target_enrollment), Allocation(experimental, control), source


@app.command("report")
def report_command(
    out: Path = typer.Option(..., "--out", help="Directory for design-report.md and the figure."),
    trials: int = typer.Option(20_000, "--trials", help="Simulated trials per hazard ratio."),
    seed: int = typer.Option(20260101, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as one JSON document."),
) -> None:
    """Design report for NCT03592706: power of the registered 60 patients, HR 0.4-0.9."""
    from ikctrial.design.power_curve import power_curve_figure
    from ikctrial.design.report import design_report, report_markdown

    with _options_checked():
        if trials < 1:
            raise InputError("trials", f"must be an integer >= 1 (got {trials})")
        n_subjects, allocation, source = _registered_design()
        stderr.print(f"design report: {n_subjects} patients, {allocation} from {source}")
        report = design_report(n_subjects, allocation, trials=trials, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    figure = power_curve_figure(
        report.table,
        title=f"NCT03592706: power with {n_subjects} patients ({allocation})",
    )
    for suffix in ("png", "svg"):
        figure.savefig(out / f"power-curve.{suffix}")
    markdown_path = out / "design-report.md"
    markdown_path.write_text(report_markdown(report, "power-curve.png"), encoding="utf-8")
    document = {
        "report": str(markdown_path),
        "figure": str(out / "power-curve.png"),
        "n_subjects": n_subjects,
        "allocation": str(allocation),
        "detectable_hazard_ratio": {
            str(round(100 * p)): hr for p, hr in report.detectable_hazard_ratio.items()
        },
        "rows": report.table.to_dict("records"),
    }
    if as_json:
        emit_json(document)
    else:
        stdout.print(f"design report written to {markdown_path}")
