"""``ikctrial demo``: the whole simulated trial through the real system.

A fresh database (``OUT/ikctrial-demo.sqlite3``, or the empty database ``IKCTRIAL_DATABASE_URL``
names), the demo protocol file, sites, staff and the randomization list, then the virtual patients
day by day through the services (``ikctrial.demo``), with progress bars and a summary; then the
statistician's standard exports (``OUT/exports/<format>/``) and the trial report
(``OUT/report.html``, ``OUT/report.pdf``), each recorded in the audit trail (interfaces.md "Demo").
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import typer

from ikctrial.cli.common import stderr, stdout

SQLITE_NAME = "ikctrial-demo.sqlite3"


def _fresh_sqlite(out: Path) -> Path:
    """The demo's own SQLite file under OUT, removed first (with its WAL files) to start fresh."""
    path = (out / SQLITE_NAME).resolve()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path


def _require_empty_database() -> None:
    """A database given by URL is never wiped nor upgraded when it already holds a trial: any
    audit event (sites and users have them too) means it is not empty."""
    from django.db import connection

    from ikctrial.web.audit.models import AuditEvent
    from ikctrial.web.errors import ConflictError

    if AuditEvent._meta.db_table not in connection.introspection.table_names():
        return
    if AuditEvent.objects.exists():
        raise ConflictError(
            f"IKCTRIAL_DATABASE_URL: database {connection.settings_dict['NAME']} already holds "
            "trial data; the demo needs an empty database"
        )


def _print_summary(summary: dict[str, Any], drive_seconds: float, seconds: float) -> None:
    from rich.table import Table

    table = Table(title="Simulated trial", show_header=False)
    table.add_row("screened", str(summary["screened"]))
    reasons = ", ".join(f"{k} {v}" for k, v in summary["screen_failure_reasons"].items())
    table.add_row("screen failures", f"{summary['screen_failures']} ({reasons or 'none'})")
    arms = ", ".join(f"{arm} {n}" for arm, n in summary["randomized"].items())
    table.add_row("randomized", f"{sum(summary['randomized'].values())} ({arms})")
    table.add_row(
        "IKC infusions", f"{summary['infusions']} ({summary['bedside_overrides']} overrides)"
    )
    table.add_row("TACE sessions", str(summary["tace_sessions"]))
    table.add_row("tumor assessments (scans)", str(summary["tumor_assessments"]))
    moved = summary["immune_panels_at_consent"]
    table.add_row(
        "immune panel results",
        f"{summary['immune_panel_results']} ({moved} baseline panels dated at consent)",
    )
    table.add_row("adverse events", str(summary["adverse_events"]))
    audit = summary["audit"]
    verdict = "intact" if audit["ok"] else f"BROKEN at event {audit['first_bad_event']}"
    table.add_row("audit chain", f"{verdict} ({audit['events']} events)")
    table.add_row("elapsed", f"{seconds:.1f} s (trial {drive_seconds:.1f} s)")
    stdout.print(table)


def demo(
    subjects: int = typer.Option(60, "--subjects", min=2, help="Number of randomized subjects."),
    seed: int = typer.Option(20180719, "--seed", min=0, help="Seed of the simulated trial."),
    out: Path = typer.Option(
        Path("ikctrial-demo"),
        "--out",
        help="Where to write the report (and the demo's SQLite database).",
    ),
) -> None:
    """Run a whole simulated trial through the real services and write the report to OUT."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    from ikctrial.demo.driver import DemoError
    from ikctrial.demo.run import Progress, run_demo, write_outputs
    from ikctrial.demo.setup import write_demo_protocol

    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    given_url = os.environ.get("IKCTRIAL_DATABASE_URL")
    if not given_url:
        os.environ["IKCTRIAL_DATABASE_URL"] = f"sqlite:///{_fresh_sqlite(out)}"
    if not os.environ.get("IKCTRIAL_PROTOCOL"):
        os.environ["IKCTRIAL_PROTOCOL"] = str(write_demo_protocol(out).resolve())

    from ikctrial.web.bootstrap import django_command

    with django_command() as operator:
        from django.core.management import call_command
        from django.db import connection

        if given_url:
            _require_empty_database()
        call_command("migrate", interactive=False, verbosity=0)
        where = str(connection.settings_dict["NAME"])
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Bars(*columns, console=stderr, transient=False) as bars:
            screening = bars.add_task("patients screened", total=None)
            days = bars.add_task("trial days", total=None)

            def start(patients: int, span: int) -> None:
                bars.update(screening, total=patients)
                bars.update(days, total=span)

            progress = Progress(
                start=start,
                day=lambda elapsed: bars.update(days, completed=elapsed),
                screened=lambda: bars.advance(screening),
            )
            try:
                run = run_demo(subjects=subjects, seed=seed, operator=operator, progress=progress)
            except DemoError as exc:
                stderr.print(f"[bold red]the simulated trial stopped[/]: {exc}")
                raise typer.Exit(code=1) from None
        drive_seconds = time.perf_counter() - began
        with stderr.status("writing the exports and the report") as status:
            outputs = write_outputs(run.staff, out, lambda step: status.update(f"writing {step}"))
    _print_summary(run.summary, drive_seconds, time.perf_counter() - began)
    stdout.print(f"Trial database: {connection.vendor} {where}")
    for export_format, files in outputs.exports.items():
        stdout.print(f"{export_format} export: {files[0].parent}")
    for path in outputs.report:
        stdout.print(f"Report: {path}")
