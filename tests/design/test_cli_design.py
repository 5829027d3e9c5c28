"""``ikctrial design`` commands: JSON contracts (interfaces.md "Design") and exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from distributed import LocalCluster
from typer.testing import CliRunner

from ikctrial.cli.main import app

runner = CliRunner()

SIMULATE = [
    "design", "simulate", "--n", "60", "--allocation", "1:1", "--control-median", "7",
    "--hazard-ratio", "0.6", "--accrual-months", "24", "--events", "45", "--alpha", "0.025",
    "--sided", "1", "--seed", "42", "--trials", "3000",
]  # fmt: skip
SAMPLE_SIZE = [
    "design", "sample-size", "--hazard-ratio", "0.6", "--alpha", "0.025", "--sided", "1",
    "--power", "0.8",
]  # fmt: skip


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_sample_size_json_contract() -> None:
    # domain.md 7.6 worked value: 120.3 -> 121 events
    document = _json(SAMPLE_SIZE)
    assert document["events"] == 121
    assert document["events_exact"] == pytest.approx(120.3157, abs=1e-4)
    assert document["subjects"] is None


def test_sample_size_with_accrual_gives_subjects() -> None:
    document = _json(
        [*SAMPLE_SIZE, "--control-median", "7", "--accrual-months", "24",
         "--followup-months", "12", "--dropout-rate", "0.1"]
    )  # fmt: skip
    # rpact getSampleSizeSurvival: 159.2951 subjects (tests/reference/design_reference.json)
    assert document["subjects_exact"] == pytest.approx(159.2951, abs=1e-4)
    assert document["subjects"] == 160
    assert document["subjects_per_arm"] == {"experimental": 80, "control": 80}


def test_power_command() -> None:
    document = _json(
        ["design", "power", "--events", "45", "--hazard-ratio", "0.6", "--alpha", "0.025",
         "--sided", "1"]
    )  # fmt: skip
    assert round(document["power"], 2) == 0.40  # domain.md 7.6 table
    assert round(document["detectable_hazard_ratio_80"], 2) == 0.43


def test_simulate_json_contract_and_determinism() -> None:
    first = _json(SIMULATE)
    for key in ("power", "mc_se", "trials", "seconds", "trials_per_second", "median_study_months"):
        assert key in first
    assert first["trials"] == 3000
    again = _json([*SIMULATE, "--threads", "1"])
    for key in ("power", "mc_se", "median_study_months", "mean_events"):
        assert again[key] == first[key]


def test_simulate_fixed_follow_up() -> None:
    args = [a for a in SIMULATE if a not in ("--events", "45")]
    document = _json([*args, "--followup-months", "12"])
    assert document["median_study_months"] > 24
    assert 0 < document["mean_events"] < 60


@pytest.mark.parametrize(
    ("args", "replace", "option"),
    [
        (SAMPLE_SIZE, {"--hazard-ratio": "0"}, "--hazard-ratio"),
        (SAMPLE_SIZE, {"--hazard-ratio": "-0.5"}, "--hazard-ratio"),
        (SAMPLE_SIZE, {"--alpha": "0"}, "--alpha"),
        (SAMPLE_SIZE, {"--alpha": "0.6"}, "--alpha"),
        (SAMPLE_SIZE, {"--power": "1"}, "--power"),
        (SAMPLE_SIZE, {"--power": "0"}, "--power"),
        (SAMPLE_SIZE, {"--sided": "3"}, "--sided"),
        (SIMULATE, {"--events": "61"}, "--events"),
        (SIMULATE, {"--hazard-ratio": "0"}, "--hazard-ratio"),
        (SIMULATE, {"--alpha": "0.51"}, "--alpha"),
        (SIMULATE, {"--allocation": "1-1"}, "--allocation"),
        (SIMULATE, {"--control-median": "-7"}, "--control-median"),
        (SIMULATE, {"--accrual-months": "0"}, "--accrual-months"),
        (SIMULATE, {"--trials": "0"}, "--trials"),
        (SIMULATE, {"--n": "1"}, "--n"),
    ],
)
def test_bad_parameter_exits_2_naming_it(
    args: list[str], replace: dict[str, str], option: str
) -> None:
    changed = [replace.get(args[i - 1], a) if i else a for i, a in enumerate(args)]
    result = runner.invoke(app, [*changed, "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{option}: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_simulate_needs_exactly_one_analysis_rule() -> None:
    result = runner.invoke(app, [*SIMULATE, "--followup-months", "12", "--json"])
    assert result.exit_code == 2
    assert result.stderr.startswith("--events: ")


def _write_spec(path: Path, trials: int) -> Path:
    spec = {
        "trials": trials,
        "seed": 1,
        "base": {"n": 60, "control_median_months": 7, "accrual_months": 24, "events": 45,
                 "alpha": 0.025, "sided": 1},
        "vary": {"hazard_ratio": [0.5, 0.8]},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(spec))
    return path


def test_grid_on_a_dask_scheduler(tmp_path: Path) -> None:
    spec = _write_spec(tmp_path / "grid.yaml", 500)
    out = tmp_path / "results.parquet"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        result = runner.invoke(
            app,
            ["design", "grid", "--spec", str(spec), "--scheduler", cluster.scheduler_address,
             "--out", str(out), "--plot", str(tmp_path / "curves.svg")],
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    table = pd.read_parquet(out)
    assert list(table.hazard_ratio) == [0.5, 0.8]
    assert {"power", "mc_se", "expected_events", "expected_study_months"} <= set(table.columns)
    assert (tmp_path / "curves.svg").read_text().lstrip().startswith("<?xml")


def test_grid_inline_json_and_csv(tmp_path: Path) -> None:
    spec = _write_spec(tmp_path / "grid.yaml", 300)
    document = _json(["design", "grid", "--spec", str(spec), "--out", str(tmp_path / "r.csv")])
    assert [row["hazard_ratio"] for row in document["rows"]] == [0.5, 0.8]
    assert Path(document["plot"]).suffix == ".png"
    assert len(pd.read_csv(tmp_path / "r.csv")) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("trials: [", "cannot read YAML"),
        ("base: {n: 60}\nvary: {hazard_ratio: [0.5]}\nbogus: 1\n", "bogus: unknown key"),
    ],
)
def test_bad_grid_spec_exits_2_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    spec = tmp_path / "grid.yaml"
    spec.write_text(content)
    result = runner.invoke(app, ["design", "grid", "--spec", str(spec), "--json"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}: ")
    assert message in result.stderr


def test_grid_unreachable_scheduler_exits_2(tmp_path: Path) -> None:
    spec = _write_spec(tmp_path / "grid.yaml", 10)
    result = runner.invoke(
        app,
        ["design", "grid", "--spec", str(spec), "--scheduler", "tcp://127.0.0.1:9",
         "--connect-timeout", "1", "--json"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("--scheduler: ")


def test_report_writes_markdown_and_figures(tmp_path: Path) -> None:
    document = _json(["design", "report", "--out", str(tmp_path), "--trials", "400"])
    text = (tmp_path / "design-report.md").read_text()
    assert "what the registered design can detect" in text
    assert "power-curve.png" in text
    assert (tmp_path / "power-curve.png").stat().st_size > 0
    assert (tmp_path / "power-curve.svg").stat().st_size > 0
    assert document["rows"][0]["hazard_ratio"] == 0.4
    assert document["detectable_hazard_ratio"]["80"] < 0.6
