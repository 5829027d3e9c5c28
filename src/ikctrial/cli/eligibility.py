"""Commands of the ``ikctrial eligibility`` group: check a screening record.

``check FILE --json`` prints exactly the interfaces.md "Eligibility" document and exits 0 whatever
the verdict; without ``--json`` a table of the criteria and the derived values. Bad input exits 2
with one stderr line naming the file, the field and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, read_json, stdout
from ikctrial.errors import InputError

app = typer.Typer()

RESULT_STYLES = {"pass": "green", "fail": "bold red", "unknown": "yellow"}
VERDICTS = {
    True: "[green]ELIGIBLE[/green]",
    False: "[bold red]NOT ELIGIBLE[/bold red]",
    None: "[yellow]UNDETERMINED (missing data)[/yellow]",
}


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


def _print_result(document: dict[str, Any], flags: tuple[str, ...]) -> None:
    table = Table(title=f"Eligibility of {_shown(document['subject_ref'])}")
    for column in ("criterion", "kind", "result", "reason"):
        table.add_column(column)
    for criterion in document["criteria"]:
        style = RESULT_STYLES[criterion["result"]]
        table.add_row(
            criterion["id"],
            criterion["kind"],
            f"[{style}]{criterion['result']}[/{style}]",
            criterion["reason"],
        )
    stdout.print(table)
    derived = document["derived"]
    cp = derived["child_pugh"]
    points = ", ".join(f"{k} {_shown(v)}" for k, v in cp["points"].items())
    stdout.print(f"Age: {_shown(derived['age'])}")
    stdout.print(f"Child-Pugh: score {_shown(cp['score'])}, class {_shown(cp['class'])} ({points})")
    stdout.print(
        f"ALBI: score {_shown(derived['albi']['score'])}, grade {_shown(derived['albi']['grade'])}"
    )
    stdout.print(f"BCLC: {_shown(derived['bclc'])}")
    if flags:
        stdout.print(f"Data-quality flags: {', '.join(flags)}")
    stdout.print(f"Verdict: {VERDICTS[document['eligible']]}")


@app.command("check")
def check_command(
    file: Path = typer.Argument(..., help="Screening record JSON (interfaces.md)."),
    protocol_file: Path | None = typer.Option(
        None, "--protocol", help="Protocol YAML file (default: the built-in NCT03592706 protocol)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Evaluate the protocol's eligibility criteria on a screening record (exit 0 any verdict)."""
    from ikctrial.clinical.eligibility import evaluate_eligibility
    from ikctrial.clinical.screening import screening_record_from_dict
    from ikctrial.protocol import load_protocol

    try:
        protocol = load_protocol(protocol_file)
        data = read_json(file)
        try:
            record = screening_record_from_dict(data)
        except InputError as exc:
            raise exc.with_source(str(file)) from None
    except InputError as exc:
        fail_input(exc)
    result = evaluate_eligibility(record, protocol)
    if as_json:
        emit_json(result.to_dict())
    else:
        _print_result(result.to_dict(), result.flags)
