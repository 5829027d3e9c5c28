"""Commands of the ``ikctrial endpoints`` group."""

from __future__ import annotations

import typer

app = typer.Typer()
