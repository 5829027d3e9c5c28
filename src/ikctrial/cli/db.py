"""``ikctrial db migrate``: create or upgrade the database (``IKCTRIAL_DATABASE_URL``)."""

from __future__ import annotations

import sys

import typer

from ikctrial.cli.common import emit_json, stdout

app = typer.Typer()


@app.command("migrate")
def migrate(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Apply every migration (creates the SQLite file or the PostgreSQL tables)."""
    from ikctrial.web.bootstrap import django_command

    with django_command():
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.recorder import MigrationRecorder

        call_command("migrate", interactive=False, verbosity=1, stdout=sys.stderr)
        applied = MigrationRecorder(connection).applied_migrations()
        result = {
            "database": connection.vendor,
            "name": str(connection.settings_dict["NAME"]),
            "migrations": len(applied),
        }
    if as_json:
        emit_json(result)
    else:
        stdout.print(
            f"{result['database']} database {result['name']} is up to date "
            f"({result['migrations']} migrations applied)"
        )
