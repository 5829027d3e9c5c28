"""Commands of the ``ikctrial design`` group."""

from __future__ import annotations

import typer

app = typer.Typer()
