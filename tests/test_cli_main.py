"""The command line's front door: version, help, and the demo's options (run in tests/demo)."""

from __future__ import annotations

from typer.testing import CliRunner

from ikctrial import __version__
from ikctrial.cli.main import app

runner = CliRunner()


def test_version_prints_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == __version__


def test_help_lists_command_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("protocol", "eligibility", "demo"):
        assert group in result.stdout


def test_demo_help_lists_its_options() -> None:
    result = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--subjects", "--seed", "--out"):
        assert option in result.stdout
