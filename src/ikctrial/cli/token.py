"""``ikctrial token create NAME``: issue an API token (printed once; only its hash is stored)."""

from __future__ import annotations

import typer

from ikctrial.cli.common import emit_json

app = typer.Typer()


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The user the token acts as."),
    as_json: bool = typer.Option(False, "--json", help="Print {user, token, prefix} as JSON."),
) -> None:
    """Print a new API token for ``Authorization: Bearer TOKEN``."""
    from ikctrial.web.bootstrap import django_command

    with django_command() as operator:
        from ikctrial.web.sites.services import token_create

        record, token = token_create(actor=operator, username=name, source="cli")
    if as_json:
        emit_json({"user": name, "token": token, "prefix": record.prefix})
    else:
        typer.echo(token)
