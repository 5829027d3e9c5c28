"""``ikctrial user create NAME --role ROLE [--site SITE]... [--password-stdin]``."""

from __future__ import annotations

import sys

import typer

from ikctrial.cli.common import emit_json, stdout

app = typer.Typer()


@app.command("create")
def create(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", help="investigator, coordinator, cell_lab, qa, ..."),
    sites: list[str] = typer.Option([], "--site", help="A site the user works at (repeatable)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password (for the web pages) from stdin."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the user as JSON."),
) -> None:
    """Create a user with one role and its sites (API access: ``ikctrial token create``)."""
    from ikctrial.web.bootstrap import django_command

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with django_command() as operator:
        from ikctrial.web.sites.services import user_create

        staff = user_create(
            actor=operator,
            username=name,
            role=role,
            site_codes=sites,
            password=password,
            source="cli",
        )
        document = {
            "username": staff.user.get_username(),
            "role": staff.role,
            "sites": [m.site.code for m in staff.memberships.select_related("site")],
        }
    if as_json:
        emit_json(document)
    else:
        where = ", ".join(document["sites"]) or "no site"
        stdout.print(f"user {document['username']} ({document['role']}; {where}) created")
