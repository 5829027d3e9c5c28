"""Commands of the ``ikctrial stats`` group."""

from __future__ import annotations

import typer

app = typer.Typer()
