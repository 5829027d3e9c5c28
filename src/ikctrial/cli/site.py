"""``ikctrial site create CODE --name NAME [--timezone ZONE]``."""

from __future__ import annotations

import typer

from ikctrial.cli.common import emit_json, stdout
from ikctrial.web.sites.defaults import DEFAULT_SITE_TIMEZONE

app = typer.Typer()


@app.command("create")
def create(
    code: str = typer.Argument(..., help="Site code, e.g. TPE01 (capitals, digits, - or _)."),
    name: str = typer.Option(..., "--name", help="Hospital name."),
    timezone: str = typer.Option(
        DEFAULT_SITE_TIMEZONE, "--timezone", help="IANA time zone of the site's clocks."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the site as JSON."),
) -> None:
    """Register a participating site."""
    from ikctrial.web.bootstrap import django_command

    with django_command() as operator:
        from ikctrial.web.sites.services import site_create

        site = site_create(actor=operator, code=code, name=name, timezone=timezone, source="cli")
    document = {"code": site.code, "name": site.name, "timezone": site.timezone}
    if as_json:
        emit_json(document)
    else:
        stdout.print(f"site {site.code} ({site.name}, {site.timezone}) created")
