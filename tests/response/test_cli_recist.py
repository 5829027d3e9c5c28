"""``ikctrial recist evaluate`` exactly as interfaces.md ("RECIST 1.1 and mRECIST") states it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.response.builders import day, document, non_target, scan, target
from typer.testing import CliRunner

from ikctrial.cli.main import app

runner = CliRunner()

INTERFACE_INPUT = {
    "criteria": "RECIST1.1",
    "confirmation_required": False,
    "min_sd_days": 42,
    "assessments": [
        {
            "date": "2026-01-04",
            "target": [{"id": "T1", "organ": "liver", "nodal": False, "diameter_mm": 50}],
            "non_target": [{"id": "N1", "organ": "lung", "status": "present"}],
            "new_lesions": "none",
        }
    ],
}
INTERFACE_OUTPUT = {
    "timepoints": [
        {
            "date": "2026-01-04",
            "sum_mm": 50,
            "pct_change_from_baseline": None,
            "pct_change_from_nadir": None,
            "target_response": None,
            "non_target_response": None,
            "new_lesions": "none",
            "overall_response": "BASELINE",
        }
    ],
    "best_overall_response": "NE",
    "progression_date": None,
    "best_pct_change": None,
}


def _write(tmp_path: Path, data: Any, name: str = "scan.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _evaluate(path: Path, *options: str) -> Any:
    return runner.invoke(app, ["recist", "evaluate", str(path), *options])


def test_interface_example_gives_the_interface_output(tmp_path: Path) -> None:
    result = _evaluate(_write(tmp_path, INTERFACE_INPUT), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == INTERFACE_OUTPUT
    assert result.stderr == ""


def test_follow_up_series_as_json(tmp_path: Path) -> None:
    """2.11 ex3 through the command: PR then PD dated to the day-112 scan."""
    data = document(
        scan(0, [target("T1", 60.0)], [non_target("N1")]),
        scan(56, [target("T1", 40.0)], [non_target("N1")]),
        scan(112, [target("T1", 48.0)], [non_target("N1")]),
    )
    result = _evaluate(_write(tmp_path, data), "--json")
    assert result.exit_code == 0, result.stderr
    output = json.loads(result.stdout)
    assert [t["overall_response"] for t in output["timepoints"]] == ["BASELINE", "PR", "PD"]
    assert output["timepoints"][2]["pct_change_from_nadir"] == 20.0
    assert (output["best_overall_response"], output["progression_date"]) == ("PR", day(112))
    assert output["best_pct_change"] == -33.33
    assert set(output) == set(INTERFACE_OUTPUT)
    assert all(set(t) == set(INTERFACE_OUTPUT["timepoints"][0]) for t in output["timepoints"])


def test_missing_target_gives_null_sum(tmp_path: Path) -> None:
    """interfaces.md: sum_mm is null when any target is not evaluated."""
    data = document(scan(0, [target("T1", 30.0)]), scan(56, [target("T1", None)]))
    output = json.loads(_evaluate(_write(tmp_path, data), "--json").stdout)
    assert output["timepoints"][1]["sum_mm"] is None
    assert output["timepoints"][1]["overall_response"] == "NE"


def test_readable_table_without_json(tmp_path: Path) -> None:
    data = document(scan(0, [target("T1", 50.0)]), scan(56, [target("T1", 35.0)]))
    result = runner.invoke(
        app, ["recist", "evaluate", str(_write(tmp_path, data))], terminal_width=160
    )
    assert result.exit_code == 0, result.stderr
    assert "Best overall response: PR" in result.stdout
    assert "-30.00" in result.stdout
    assert "RECIST1.1" in result.stdout


@pytest.mark.parametrize(
    ("content", "expected_line"),
    [
        pytest.param(
            document(
                scan(0, [target("T1", 30.0), target("T3", 20.0, organ="lung")]),
                scan(56, [target("T1", 30.0), target("T3", 20.0, organ="lung")]),
                scan(112, [target("T1", 30.0), target("T3", -4, organ="lung")]),
            ),
            "scan.json: assessments[2].target.T3.diameter_mm: -4: Input should be greater than or "
            "equal to 0",
            id="interfaces.md: lesion id and problem named",
        ),
        pytest.param(
            document(scan(0, [target("T3", 8.0)])),
            "scan.json: assessments[0].target.T3: longest diameter 8.0 mm is below 10 mm: not "
            "measurable, record it as a non-target lesion",
            id="2.2: non-measurable target at baseline",
        ),
        pytest.param(
            {**INTERFACE_INPUT, "min_sd_day": 42},
            "scan.json: min_sd_day: unknown key",
            id="interfaces.md: unknown keys exit 2",
        ),
        pytest.param(
            '{"criteria": "RECIST1.1",',
            "scan.json: invalid JSON at line 1 column 26: Expecting property name enclosed in "
            "double quotes",
            id="interfaces.md: malformed file",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, content: Any, expected_line: str) -> None:
    path = _write(tmp_path, content)
    result = _evaluate(path, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"{tmp_path}/{expected_line}\n"


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = _evaluate(tmp_path / "absent.json", "--json")
    assert (result.exit_code, result.stderr) == (2, f"{tmp_path}/absent.json: file not found\n")
