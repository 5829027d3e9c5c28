"""``ikctrial audit``: verify the hash-chained audit trail and export it (CSV or JSON)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import typer

from ikctrial.cli.common import emit_json, fail_input, stderr, stdout
from ikctrial.errors import InputError
from ikctrial.web.audit.window import window_bounds
from ikctrial.web.bootstrap import django_command

app = typer.Typer()


def parse_moment(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 date or date-time option (``window_bounds`` makes it UTC)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not an ISO 8601 date or date-time") from None
    return moment


@app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Recompute every hash and link of the audit trail and report the first event that fails.

    Exits 0 whatever the verdict (the JSON's ``ok`` and the printed line say it); 2 on bad input.
    """
    with django_command():
        from ikctrial.web.audit.services import verify_chain

        verdict = verify_chain()
    if as_json:
        emit_json(verdict.as_dict())
    elif verdict.ok:
        stdout.print(f"audit trail intact: {verdict.events} events verified")
    else:
        stdout.print(
            f"[bold red]audit trail broken[/]: first bad event {verdict.first_bad_event} "
            f"({verdict.events} events)"
        )


@app.command("export")
def export(
    since: str | None = typer.Option(None, help="Start (ISO 8601, inclusive; naive = UTC)."),
    until: str | None = typer.Option(None, help="End (ISO 8601, exclusive; naive = UTC)."),
    export_format: str = typer.Option("csv", "--format", help="csv or json."),
    out: Path = typer.Option(Path("-"), "--out", help="Output file ('-' for standard output)."),
) -> None:
    """Write the audit events of a time window as CSV (one line per changed field) or JSON.

    The operator holds the database, so the export keeps every event, including the concealed
    randomization slots and the list's seed (the API withholds them from most roles).
    """
    try:
        start, end = window_bounds(parse_moment(since, "since"), parse_moment(until, "until"))
        if export_format not in ("csv", "json"):
            raise InputError("format", f"{export_format!r} is not one of csv, json")
    except InputError as exc:
        fail_input(exc)
    with django_command() as operator:
        from ikctrial.web.audit.selectors import events_in_window
        from ikctrial.web.audit.services import export_chunks

        counted = _Counter(events_in_window(operator, start, end))
        if str(out) == "-":
            _write(export_chunks(counted, export_format), sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                _write(export_chunks(counted, export_format), handle)
    stderr.print(f"exported {counted.count} audit events to {out}")


class _Counter:
    """Counts the events as the export consumes them."""

    def __init__(self, events: Any) -> None:
        self.events = events
        self.count = 0

    def __iter__(self) -> Any:
        for event in self.events:
            self.count += 1
            yield event


def _write(chunks: Any, handle: TextIO) -> None:
    for chunk in chunks:
        handle.write(chunk)
    handle.flush()
