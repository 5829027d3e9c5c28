"""Commands of the ``ikctrial ctcae`` group."""

from __future__ import annotations

import typer

app = typer.Typer()
