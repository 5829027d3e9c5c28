"""Commands of the ``ikctrial recist`` group: evaluate a series of tumor assessments.

``ikctrial recist evaluate FILE --json`` prints exactly the interfaces.md document; without
``--json`` a table of the time points, the best overall response and the reader-review flags.
Bad input exits 2 with one stderr line naming the file, the lesion and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, read_json, stdout
from ikctrial.errors import InputError

if TYPE_CHECKING:
    from ikctrial.response.recist import ResponseEvaluation

app = typer.Typer()


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _print_evaluation(evaluation: ResponseEvaluation) -> None:
    table = Table(
        title=f"Tumor response ({evaluation.criteria.value})",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
    )
    table.add_column("date", no_wrap=True)
    for column in ("day", "sum mm", "% base", "% nadir"):
        table.add_column(column, justify="right", no_wrap=True)
    for column in ("target", "non-target", "new", "overall"):
        table.add_column(column, no_wrap=True)
    for point in evaluation.timepoints:
        row = point.to_dict()
        table.add_row(
            row["date"],
            str(point.elapsed_days),
            "—" if row["sum_mm"] is None else str(row["sum_mm"]),
            _percent(point.pct_change_from_baseline),
            _percent(point.pct_change_from_nadir),
            row["target_response"] or "—",
            row["non_target_response"] or "—",
            row["new_lesions"],
            row["overall_response"],
        )
    stdout.print(table)
    for point in evaluation.timepoints:
        if point.flags:
            stdout.print(f"{point.date.isoformat()}: {', '.join(point.flags)}")
    summary = evaluation.to_dict()
    stdout.print(f"Best overall response: [bold]{summary['best_overall_response']}[/bold]")
    stdout.print(f"Progression date: {summary['progression_date'] or '—'}")
    stdout.print(f"Best change from baseline (%): {_percent(evaluation.best_pct_change)}")


@app.command("evaluate")
def evaluate_command(
    file: Path = typer.Argument(..., help="Assessments JSON (interfaces.md, RECIST 1.1/mRECIST)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Time-point responses, best overall response and progression date of one patient."""
    from ikctrial.response.recist import evaluate_response

    try:
        evaluation = evaluate_response(read_json(file))
    except InputError as exc:
        fail_input(exc if exc.source else exc.with_source(str(file)))
    if as_json:
        emit_json(evaluation.to_dict())
    else:
        _print_evaluation(evaluation)
