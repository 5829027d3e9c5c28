"""Commands of the ``ikctrial ctcae`` group: CTCAE v5.0 grades of lab values (interfaces.md,
"Adverse-event grading"; domain.md 6.2)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, read_json, stdout
from ikctrial.errors import InputError

app = typer.Typer()


@app.command("grade")
def grade(
    file: Path = typer.Argument(
        ..., help='JSON {"results": [{"id", "test", "value", "unit", "lln", "uln", "baseline"}]}.'
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """CTCAE v5.0 term and grade (0-4) of each lab value (domain.md 6.2).

    Baseline-dependent rules apply to ALT, AST, bilirubin, creatinine (and INR on
    anticoagulants); the grade is null when a missing baseline could change it.
    """
    from ikctrial.clinical.ctcae import lab_grades, lab_results

    try:
        graded = lab_grades(lab_results(read_json(file)))
    except InputError as error:
        fail_input(error if error.source else error.with_source(str(file)))
    if as_json:
        emit_json({"results": [g.to_dict() for g in graded]})
        return
    table = Table(title="CTCAE v5.0 lab grades (domain.md 6.2)")
    for column in ("id", "term", "grade"):
        table.add_column(column, justify="right" if column == "grade" else "left")
    for g in graded:
        table.add_row(str(g.id), g.term, "unknown" if g.grade is None else str(g.grade))
    stdout.print(table)
