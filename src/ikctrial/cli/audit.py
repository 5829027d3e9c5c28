"""``ikctrial audit``: verify the hash-chained audit trail and export it (CSV or JSON)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import typer

from ikctrial.cli.common import emit_json, fail_input, stderr, stdout
from ikctrial.errors import InputError
from ikctrial.web.bootstrap import django_command

app = typer.Typer()


def parse_moment(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime (naive values are UTC)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not an ISO 8601 date or date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Recompute every hash and link of the audit trail; exit 1 if any event fails."""
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
    if not verdict.ok:
        raise typer.Exit(code=1)


@app.command("export")
def export(
    since: str | None = typer.Option(None, help="Start (ISO 8601, inclusive; naive = UTC)."),
    until: str | None = typer.Option(None, help="End (ISO 8601, exclusive; naive = UTC)."),
    export_format: str = typer.Option("csv", "--format", help="csv or json."),
    out: Path = typer.Option(Path("-"), "--out", help="Output file ('-' for standard output)."),
) -> None:
    """Write the audit events of a time window as CSV (one line per changed field) or JSON."""
    try:
        start, end = parse_moment(since, "since"), parse_moment(until, "until")
        if export_format not in ("csv", "json"):
            raise InputError("format", f"{export_format!r} is not one of csv, json")
        if start is not None and end is not None and end < start:
            raise InputError("until", "must not be before since")
    except InputError as exc:
        fail_input(exc)
    with django_command():
        from ikctrial.web.audit.services import events_between, export_chunks

        counted = _Counter(events_between(start, end))
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
