"""``ikctrial report --out DIR [--user NAME] [--json]``: the trial report of the current data.

Writes ``report.html`` (self-contained) and ``report.pdf`` into DIR from the configured database,
through the same recorded path as the exports (``data_export`` with the ``report`` writer): the
report is in the audit trail with its files' SHA-256, and the web app shows the latest one.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ikctrial.cli.export import write_export


def report(
    out: Path = typer.Option(..., "--out", help="Folder to write the report into."),
    user: str | None = typer.Option(
        None, "--user", help="Report as this user (a statistician or data manager; their sites)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Write the trial report (HTML and PDF) of the current data into OUT."""
    write_export("report", out, user, as_json)
