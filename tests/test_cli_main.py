"""The command line's front door: version, help, and the demo that is not built yet."""

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


def test_demo_refuses_until_built() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 1
    assert "not built yet" in result.stderr
