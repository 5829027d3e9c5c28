"""Commands of the ``ikctrial protocol`` group: show the protocol in force, validate a file.

``show --json`` prints the whole protocol document (interfaces.md "Protocol"); without ``--json``
a readable summary. ``validate FILE`` exits 0 with ``valid`` or 2 with one line naming the file,
the path inside it and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, stdout
from ikctrial.errors import InputError

if TYPE_CHECKING:
    from ikctrial.protocol import Protocol

app = typer.Typer()

PROTOCOL_OPTION_HELP = "Protocol YAML file (default: the built-in NCT03592706 protocol)."


def _param_text(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _print_summary(protocol: Protocol) -> None:
    stdout.print(
        f"[bold]{protocol.nct_id}[/bold] ({protocol.sponsor_study_id}), phase "
        f"{protocol.phase}, protocol version {protocol.version}"
    )
    stdout.print(protocol.title)
    stdout.print(f"Sponsor: {protocol.sponsor}")
    stdout.print(
        f"Target enrollment {protocol.target_enrollment}, allocation "
        f"{':'.join(str(r) for r in protocol.allocation_ratio)}, randomization "
        f"{protocol.randomization.method} (blocks {protocol.randomization.block_sizes}), strata: "
        + ", ".join(
            f"{f.name} {'/'.join(f.levels)}" for f in protocol.randomization.stratification_factors
        )
    )
    arms = Table(title="Arms")
    for column in ("code", "name", "type", "ratio"):
        arms.add_column(column)
    for arm, ratio in zip(protocol.arms, protocol.allocation_ratio, strict=True):
        arms.add_row(arm.code, arm.name, arm.type, str(ratio))
    stdout.print(arms)
    criteria = Table(title="Eligibility")
    for column in ("id", "kind", "text", "parameters"):
        criteria.add_column(column)
    for criterion in protocol.eligibility.criteria:
        params = ", ".join(
            f"{k}={_param_text(v)}" for k, v in criterion.params.model_dump().items()
        )
        criteria.add_row(criterion.id, criterion.kind, criterion.text, params)
    stdout.print(criteria)
    schedule = protocol.schedule
    infusions = ", ".join(str(i.target_day) for i in schedule.infusion_plan)
    stdout.print(f"Infusions (elapsed day): {infusions}")
    stdout.print(
        f"Imaging days: {', '.join(map(str, schedule.imaging_days))} "
        f"(+/-{schedule.imaging_window_days}); EOS day {schedule.eos_day} "
        f"(+/-{schedule.eos_window_days})"
    )
    endpoints = Table(title="Endpoints")
    for column in ("role", "id", "name", "type"):
        endpoints.add_column(column)
    for role, items in (
        ("primary", protocol.endpoints.primary),
        ("secondary", protocol.endpoints.secondary),
    ):
        for endpoint in items:
            endpoints.add_row(role, endpoint.id, endpoint.name, endpoint.type)
    stdout.print(endpoints)


@app.command("show")
def show_command(
    protocol_file: Path | None = typer.Option(None, "--protocol", help=PROTOCOL_OPTION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show the protocol in force."""
    from ikctrial.protocol import load_protocol

    try:
        protocol = load_protocol(protocol_file)
    except InputError as exc:
        fail_input(exc)
    if as_json:
        emit_json(protocol.model_dump(mode="json"))
    else:
        _print_summary(protocol)


@app.command("validate")
def validate_command(
    file: Path = typer.Argument(..., help="Protocol YAML file to check."),
) -> None:
    """Check a protocol file: exit 0 if valid, 2 with the reason otherwise."""
    from ikctrial.protocol import load_protocol

    try:
        protocol = load_protocol(file)
    except InputError as exc:
        fail_input(exc)
    typer.echo(f"{file}: valid ({protocol.nct_id}, protocol version {protocol.version})")
