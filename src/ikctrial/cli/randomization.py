"""``ikctrial randomization generate --seed S [--size N] [--replace] [--user NAME]``."""

from __future__ import annotations

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, stdout

app = typer.Typer()


@app.command("generate")
def generate(
    seed: int = typer.Option(..., "--seed", min=0, help="Seed (draw it with a secure generator)."),
    size: int | None = typer.Option(
        None, "--size", min=1, help="Slots per stratum (default: target enrollment)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Replace the list (only before any subject is randomized)."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Generate as this user (must be a statistician or admin)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Create the concealed randomization list for the protocol's strata (arms never printed)."""
    from ikctrial.web.bootstrap import django_command

    with django_command() as operator:
        from ikctrial.web.randomization.services import randomization_generate
        from ikctrial.web.sites.selectors import staff_by_username

        actor = staff_by_username(user).user if user else operator
        summary = randomization_generate(
            actor=actor, seed=seed, size=size, replace=replace, source="cli"
        )
    document = {
        "list_id": summary.list_id,
        "method": summary.method,
        "protocol_version": summary.protocol_version,
        "strata": summary.strata,
        "slots_per_stratum": summary.slots_per_stratum,
        "block_sizes": summary.block_sizes,
        "replaced_list_id": summary.replaced_list_id,
    }
    if as_json:
        emit_json(document)
        return
    table = Table(title=f"Randomization list {summary.list_id} ({summary.method}), concealed")
    table.add_column("stratum")
    table.add_column("slots", justify="right")
    for key in summary.strata:
        table.add_row(key, str(summary.slots_per_stratum.get(key, "-")))
    stdout.print(table)
