"""Commands of the ``ikctrial endpoints`` group: endpoint derivation (interfaces.md, "Endpoint
derivation"; domain.md 7.1)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, read_json, stdout
from ikctrial.errors import InputError

app = typer.Typer()

# PARAMCD -> (ignore new anticancer therapy, ignore missed assessments), domain.md 7.1.
PFS_PARAMETERS: dict[str, tuple[bool, bool]] = {
    "PFS": (False, False),
    "PFSNACT": (True, False),
    "PFSMISS": (False, True),
}


@app.command("pfs")
def pfs(
    file: Path = typer.Argument(..., help="JSON with the imaging calendar and the subjects."),
    paramcd: str = typer.Option(
        "PFS",
        "--paramcd",
        help="PFS (primary), PFSNACT (new therapy ignored) or PFSMISS (missed scans ignored).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """PFS date, event flag and reason per subject (FDA 2018 censoring rules, domain.md 7.1).

    days = date - randomization_date + 1.
    """
    from ikctrial.analysis.pfs import pfs_input, pfs_outcomes

    if paramcd not in PFS_PARAMETERS:
        choices = ", ".join(PFS_PARAMETERS)
        fail_input(InputError("--paramcd", f"{paramcd!r} is not one of {choices}"))
    ignore_therapy, ignore_missed = PFS_PARAMETERS[paramcd]
    try:
        outcomes = pfs_outcomes(
            pfs_input(read_json(file)),
            ignore_new_anticancer_therapy=ignore_therapy,
            ignore_missed_assessments=ignore_missed,
        )
    except InputError as error:
        fail_input(error if error.source else error.with_source(str(file)))
    if as_json:
        emit_json({"subjects": [o.to_dict() for o in outcomes]})
        return
    table = Table(title=f"{paramcd}: progression-free survival (domain.md 7.1)")
    for column in ("id", "event", "date", "days", "reason"):
        table.add_column(column, justify="right" if column == "days" else "left")
    for o in outcomes:
        table.add_row(o.id, "event" if o.event else "censored", str(o.date), str(o.days), o.reason)
    stdout.print(table)
