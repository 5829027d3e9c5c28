"""Entry point of the ``ikctrial`` command: one Typer app with a sub-app per command group."""

from __future__ import annotations

import importlib
import sys

import typer

from ikctrial import __version__
from ikctrial.errors import InputError

app = typer.Typer(
    name="ikctrial",
    help="Run the IKC + TACE trial NCT03592706 (and the next one) end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups: name -> modules, each holding a Typer ``app`` whose commands join the group (one
# group may gather commands from several modules). Modules keep their heavy imports (numpy, Django,
# Dask) inside the commands, so ``ikctrial --help`` stays fast.
GROUPS: dict[str, list[str]] = {
    "protocol": ["ikctrial.cli.protocol"],
    "eligibility": ["ikctrial.cli.eligibility"],
    "recist": ["ikctrial.cli.recist"],
    "stats": ["ikctrial.cli.stats_survival", "ikctrial.cli.stats_models"],
    "design": ["ikctrial.cli.design"],
    "endpoints": ["ikctrial.cli.endpoints"],
    "ctcae": ["ikctrial.cli.ctcae"],
    "audit": ["ikctrial.cli.audit"],
    "db": ["ikctrial.cli.db"],
    "site": ["ikctrial.cli.site"],
    "user": ["ikctrial.cli.user"],
    "token": ["ikctrial.cli.token"],
    "randomization": ["ikctrial.cli.randomization"],
    "export": ["ikctrial.cli.export"],
    "odm": ["ikctrial.cli.odm"],
}
GROUP_HELP: dict[str, str] = {
    "protocol": "Show and validate protocol files.",
    "eligibility": "Check a screening record against the protocol's eligibility criteria.",
    "recist": "Tumor response by RECIST 1.1 and mRECIST.",
    "stats": "Survival and endpoint statistics (matched to R).",
    "design": "Sample size, simulated power and scenario grids.",
    "endpoints": "Derive endpoints (PFS with FDA censoring rules).",
    "ctcae": "Grade lab values by CTCAE v5.0.",
    "audit": "Verify and export the hash-chained audit trail.",
    "db": "Create or upgrade the EDC database (IKCTRIAL_DATABASE_URL).",
    "site": "Register participating sites.",
    "user": "Create users with a role and their sites.",
    "token": "Issue API tokens.",
    "randomization": "Generate the concealed randomization list.",
    "export": "Standard exports: SDTM, ADaM (XPT v5), ODM 1.3.2, FHIR R5.",
    "odm": "Import CDISC ODM study metadata from another system.",
}
# Single commands: (name, module, function).
COMMANDS: list[tuple[str, str, str]] = [
    ("demo", "ikctrial.cli.demo", "demo"),
    ("serve", "ikctrial.cli.serve", "serve"),
    ("report", "ikctrial.cli.report", "report"),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """ikctrial command line."""


for _name, _modules in GROUPS.items():
    _group = typer.Typer(help=GROUP_HELP.get(_name), no_args_is_help=True)
    for _module in _modules:
        _group.registered_commands += importlib.import_module(_module).app.registered_commands
    app.add_typer(_group, name=_name)
for _name, _module, _func in COMMANDS:
    app.command(name=_name)(getattr(importlib.import_module(_module), _func))


def run() -> None:
    """Console-script entry: bad input anywhere becomes one stderr line and exit code 2."""
    try:
        app()
    except InputError as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(2)
