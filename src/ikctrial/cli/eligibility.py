"""Commands of the ``ikctrial eligibility`` group."""

from __future__ import annotations

import typer

app = typer.Typer()
