"""Commands of the ``ikctrial protocol`` group."""

from __future__ import annotations

import typer

app = typer.Typer()
