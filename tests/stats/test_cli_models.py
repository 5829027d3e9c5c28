"""``ikctrial stats rate`` and ``ikctrial stats mmrm`` (interfaces.md, "Other endpoint models").

The commands are run through the Typer app on the R reference data (tests/reference/data), so the
JSON they print is held to the same R values as the models (tests/stats/test_rates.py and
test_mmrm.py give the tolerances); bad input must exit 2 with one stderr line naming file and
column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from ikctrial.cli.main import app

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
REFERENCE = json.loads((REFERENCE_DIR / "models_reference.json").read_text())
RATE_CSV = REFERENCE_DIR / REFERENCE["rate"]["data"]
MMRM_CSV = REFERENCE_DIR / REFERENCE["mmrm"]["data"]
RATE_ARGS = ["--count", "tace_repeats", "--exposure", "followup_years", "--group", "arm"]
MMRM_ARGS = ["--subject", "subject", "--visit", "visit", "--response", "chg", "--arm", "arm"]

runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, ["stats", *args])


def _case(section: str, name: str) -> dict[str, Any]:
    return next(c for c in REFERENCE[section]["cases"] if c["name"] == name)


@pytest.mark.parametrize(
    ("options", "case_name"),
    [
        (["--model", "negbin", "--covariates", "bclc,age"], "negbin_adjusted"),
        (["--model", "poisson"], "poisson_unadjusted"),
        (["--model", "poisson", "--robust"], "poisson_robust_unadjusted"),
    ],
)
def test_rate_json_matches_r(options: list[str], case_name: str) -> None:
    """interfaces.md: model, rate_ratio, ci, p, rates, theta (theta as glm.nb, null for Poisson)."""
    result = _run("rate", str(RATE_CSV), *RATE_ARGS, *options, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    case = _case("rate", case_name)
    assert document["model"] == case["model"]
    assert document["rate_ratio"] == pytest.approx(case["rate_ratio"], rel=1e-6)
    assert document["ci"] == pytest.approx(case["ci"], rel=1e-6)
    assert document["p"] == pytest.approx(case["p"], rel=1e-6)
    assert document["rates"] == pytest.approx(REFERENCE["rate"]["crude_rates"], rel=1e-9)
    if case["theta"] is None:
        assert document["theta"] is None
    else:
        assert document["theta"] == pytest.approx(case["theta"], rel=1e-6)


@pytest.mark.parametrize("suffix", ["parquet", "xpt"])
def test_rate_reads_parquet_and_xpt(tmp_path: Path, suffix: str) -> None:
    """DATA may be CSV, Parquet or SAS XPORT v5 (names of at most 8 characters, as ADaM has them):
    same answer from each."""
    table = pd.read_csv(RATE_CSV).rename(
        columns={"tace_repeats": "TACEN", "followup_years": "FUYRS", "arm": "ARM"}
    )
    path = tmp_path / f"rate.{suffix}"
    if suffix == "parquet":
        table.to_parquet(path)
    else:
        import pyreadstat

        pyreadstat.write_xport(table, str(path), file_format_version=5)
    args = ["--count", "TACEN", "--exposure", "FUYRS", "--group", "ARM"]
    result = _run("rate", str(path), *args, "--json")
    assert result.exit_code == 0, result.stderr
    expected = _case("rate", "negbin_unadjusted")
    assert json.loads(result.stdout)["rate_ratio"] == pytest.approx(
        expected["rate_ratio"], rel=1e-6
    )


def test_filter_selects_rows_first() -> None:
    """--filter (as the survival commands): a pandas query applied before the model."""
    result = _run("rate", str(RATE_CSV), *RATE_ARGS, "--filter", "bclc == 'B'", "--json")
    assert result.exit_code == 0, result.stderr
    expected = int((pd.read_csv(RATE_CSV)["bclc"] == "B").sum())
    assert json.loads(result.stdout)["n"] == expected
    bad = _run("mmrm", str(MMRM_CSV), *MMRM_ARGS, "--filter", "chg >>> 1", "--json")
    assert bad.exit_code == 2
    assert "--filter" in bad.stderr


def test_rate_table_without_json() -> None:
    result = _run("rate", str(RATE_CSV), *RATE_ARGS)
    assert result.exit_code == 0, result.stderr
    for text in ("CONTROL", "IKC", "rate ratio", "negbin", "theta"):
        assert text in result.stdout


@pytest.mark.parametrize("baseline", [["--baseline", "base"], []], ids=["adjusted", "unadjusted"])
def test_mmrm_json_matches_nlme(baseline: list[str]) -> None:
    """interfaces.md: covariance "unstructured", visits[{visit, difference, se, ci, p, lsmeans}],
    loglik_reml; difference is IKC - CONTROL."""
    result = _run("mmrm", str(MMRM_CSV), *MMRM_ARGS, *baseline, "--df", "residual", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    case = _case("mmrm", "baseline_adjusted" if baseline else "unadjusted")
    assert document["df_method"] == "residual"
    assert document["covariance"] == "unstructured"
    assert document["loglik_reml"] == pytest.approx(case["loglik_reml"], rel=1e-9)
    for got, expected in zip(document["visits"], case["visits"], strict=True):
        assert got["visit"] == expected["visit"]
        assert got["difference"] == pytest.approx(expected["difference"], rel=1e-6)
        assert got["se"] == pytest.approx(expected["se"], rel=1e-6)
        assert got["lsmeans"] == pytest.approx(expected["lsmeans"], rel=1e-6)
        assert got["p"] == pytest.approx(expected["p"], rel=1e-6)
        assert got["ci"] == pytest.approx(expected["ci"], rel=1e-6)
        assert got["df"] == expected["df"]


def test_mmrm_default_df_is_satterthwaite() -> None:
    result = _run("mmrm", str(MMRM_CSV), *MMRM_ARGS, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["df_method"] == "satterthwaite"
    expected = _case("mmrm", "unadjusted")["visits"]
    for got, reference in zip(document["visits"], expected, strict=True):
        assert got["df"] == pytest.approx(reference["satterthwaite"]["df"], rel=1e-6)
        assert got["p"] == pytest.approx(reference["satterthwaite"]["p"], rel=1e-6)
        assert got["ci"] == pytest.approx(reference["satterthwaite"]["ci"], rel=1e-6)


def test_mmrm_table_without_json() -> None:
    result = _run("mmrm", str(MMRM_CSV), *MMRM_ARGS, "--baseline", "base")
    assert result.exit_code == 0, result.stderr
    for text in ("WEEK 4", "WEEK 24", "CONTROL", "REML log-likelihood -329.5656"):
        assert text in result.stdout


def _write(tmp_path: Path, source: Path, change: Any) -> Path:
    table = pd.read_csv(source)
    path = tmp_path / "input.csv"
    change(table).to_csv(path, index=False)
    return path


def _set(column: str, row: int, value: Any) -> Any:
    def change(table: pd.DataFrame) -> pd.DataFrame:
        table = table.astype({column: object})
        table.loc[row, column] = value
        return table

    return change


@pytest.mark.parametrize(
    ("command", "change", "options", "message"),
    [
        # issue 5 item 6: unknown column, negative exposure, non-integer counts, one group level,
        # a visit with no data: exit 2, one line naming the file, the column and the problem.
        ("rate", None, ["--covariates", "ecog"], "ecog: unknown column"),
        ("rate", _set("followup_years", 3, -1.0), [], "followup_years: -1.0: exposure must be > 0"),
        (
            "rate",
            _set("tace_repeats", 5, 1.5),
            [],
            "tace_repeats: 1.5: counts must be non-negative",
        ),
        ("rate", lambda t: t.assign(arm="IKC"), [], "arm: needs exactly 2 levels"),
        ("rate", None, ["--model", "zip"], "model: 'zip' is not one of poisson, negbin"),
        ("mmrm", None, ["--baseline", "cd8"], "cd8: unknown column"),
        (
            "mmrm",
            lambda t: t.assign(chg=t["chg"].where(t["visit"] != "WEEK 8")),
            [],
            "visit: visit 'WEEK 8' has no chg data",
        ),
        ("mmrm", lambda t: t.assign(arm="IKC"), [], "arm: needs exactly 2 levels"),
        ("mmrm", None, ["--df", "kr"], "df: 'kr' is not one of satterthwaite, residual"),
    ],
)
def test_bad_input_exits_2_naming_file_and_column(
    tmp_path: Path, command: str, change: Any, options: list[str], message: str
) -> None:
    source, args = (RATE_CSV, RATE_ARGS) if command == "rate" else (MMRM_CSV, MMRM_ARGS)
    path = source if change is None else _write(tmp_path, source, change)
    result = _run(command, str(path), *args, *options, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: ")
    assert message in lines[0]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = _run("rate", str(tmp_path / "absent.csv"), *RATE_ARGS, "--json")
    assert result.exit_code == 2
    assert "absent.csv" in result.stderr
