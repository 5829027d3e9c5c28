"""``ikctrial demo``: the whole simulated trial through the real system (not built yet)."""

from __future__ import annotations

from pathlib import Path

import typer

from ikctrial.cli.common import stderr


def demo(
    subjects: int = typer.Option(60, "--subjects", min=1, help="Number of randomized subjects."),
    seed: int = typer.Option(20180719, "--seed", help="Seed of the simulated trial."),
    out: Path = typer.Option(Path("ikctrial-demo"), "--out", help="Where to write the report."),
) -> None:
    """Run a whole simulated trial through the real services and write the report to OUT."""
    stderr.print(
        "[bold red]ikctrial demo is not built yet[/]: the end-to-end demo arrives with the "
        "'Trial report and the one-command demo' issue. "
        f"Nothing was run (subjects={subjects}, seed={seed}, out={out})."
    )
    raise typer.Exit(code=1)
