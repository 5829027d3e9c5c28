"""``ikctrial stats km|logrank|cox`` as interfaces.md "Survival statistics" specifies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.stats.survival_reference import ADTTE, REFERENCE, assert_matches, reference
from typer.testing import CliRunner

from ikctrial.cli.main import app

runner = CliRunner()
TIES = REFERENCE / "data" / "survival_ties.csv"


def _json(*args: str) -> Any:
    result = runner.invoke(app, ["stats", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _case(kind: str, name: str) -> dict[str, Any]:
    return next(c for c in reference()[kind] if c["name"] == name)


def test_km_json_matches_r_on_adtte() -> None:
    """km: groups as they appear in the data, median with CI, at_risk, survival_at (R values)."""
    case = _case("km", "adtte_by_trtp")
    document = _json(
        "km",
        str(ADTTE),
        "--time",
        "AVAL",
        "--censor",
        "CNSR",
        "--group",
        "TRTP",
        "--times",
        "14,30,60,120",
        "--at-risk-times",
        "0,30,90,180",
    )
    assert [g["group"] for g in document["groups"]] == [g["group"] for g in case["groups"]]
    for ours, theirs in zip(document["groups"], case["groups"], strict=True):
        assert set(ours) >= {
            "group",
            "n",
            "events",
            "median",
            "median_ci",
            "at_risk",
            "survival_at",
        }
        assert ours["n"] == theirs["n_risk"][0]
        assert ours["events"] == sum(theirs["n_event"])
        assert_matches(ours["median"], theirs["quantile"]["estimate"][1], "median")
        assert_matches(
            ours["median_ci"], [theirs["quantile"][k][1] for k in ("lower", "upper")], "ci"
        )
        assert ours["at_risk"] == theirs["at_risk"]
        assert_matches(
            [s["survival"] for s in ours["survival_at"]], theirs["survival_at"]["surv"], "S"
        )
        assert_matches(
            [s["ci"][0] for s in ours["survival_at"]], theirs["survival_at"]["lower"], "l"
        )


def test_km_null_where_undefined() -> None:
    """No events: median and CI null; S beyond the last follow-up null."""
    document = _json(
        "km",
        str(REFERENCE / "data" / "survival_noevents.csv"),
        "--time",
        "time",
        "--event",
        "event",
        "--group",
        "arm",
        "--times",
        "20",
    )
    control = document["groups"][0]
    assert control["group"] == "control"
    assert control["median"] is None
    assert control["median_ci"] == [None, None]
    assert control["survival_at"] == [{"time": 20.0, "survival": None, "ci": [None, None]}]


def test_logrank_json_matches_r_stratified() -> None:
    case = _case("logrank", "adtte_trtp_by_sex")
    document = _json(
        "logrank",
        str(ADTTE),
        "--time",
        "AVAL",
        "--censor",
        "CNSR",
        "--group",
        "TRTP",
        "--strata",
        "SEX",
    )
    assert set(document) == {"chisq", "df", "p"}
    assert document["df"] == case["df"]
    assert_matches([document["chisq"], document["p"]], [case["chisq"], case["p"]], "logrank")


def test_cox_json_matches_r_with_cluster() -> None:
    case = _case("cox", "adtte_trtp_age_cluster_site")
    document = _json(
        "cox",
        str(ADTTE),
        "--time",
        "AVAL",
        "--censor",
        "CNSR",
        "--group",
        "TRTP",
        "--covariates",
        "AGE",
        "--robust",
        "--cluster",
        "SITEID",
    )
    assert list(document["coefficients"]) == case["names"]
    assert (document["n"], document["events"]) == (case["n"], case["events"])
    coefficients = document["coefficients"].values()
    assert_matches([c["coef"] for c in coefficients], case["coef"], "coef")
    assert_matches([c["robust_se"] for c in coefficients], case["robust_se"], "robust se")
    assert_matches([c["ci"][1] for c in coefficients], case["upper"], "upper")
    assert_matches(document["loglik"], case["loglik"][1], "loglik")


def test_cox_robust_se_null_without_robust() -> None:
    document = _json("cox", str(TIES), "--time", "time", "--event", "event", "--group", "arm")
    assert document["coefficients"]["armB"]["robust_se"] is None


@pytest.mark.parametrize("command", ["km", "logrank", "cox"])
def test_readable_tables_without_json(command: str) -> None:
    extra = {"km": ["--times", "5"], "logrank": ["--group", "arm"], "cox": ["--group", "arm"]}
    result = runner.invoke(
        app, ["stats", command, str(TIES), "--time", "time", "--event", "event", *extra[command]]
    )
    assert result.exit_code == 0, result.output
    assert not result.stdout.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            "t,e,g\n1,1,a\n-2,0,b\n",
            ["logrank", "--event", "e", "--group", "g"],
            "t: -2 is negative",
        ),
        ("t,e,g\n1,1,a\n,0,b\n", ["km", "--event", "e"], "t: 1 missing value(s)"),
        ("t,e,g\n1,1,a\n2,3,b\n", ["km", "--event", "e"], "e: 3 is not 0 or 1"),
        ("t,e,g\n1,1,a\n2,0,b\n", ["km", "--event", "x"], "x: unknown column"),
        ("t,e,g\n1,1,a\n2,0,a\n", ["logrank", "--event", "e", "--group", "g"], "g: has one level"),
        ("t,e,g\n1,1,a\n2,0,b\n", ["km", "--event", "e", "--conf-type", "arcsin"], "--conf-type"),
        (
            "t,e,g\n1,1,a\n2,0,b\n",
            ["cox", "--event", "e", "--ties", "exact", "--group", "g"],
            "--ties",
        ),
        (
            "t,e,g\n1,1,1\n2,0,1\n",
            ["cox", "--event", "e", "--covariates", "g"],
            "g: has zero variance",
        ),
    ],
)
def test_bad_input_exits_2_naming_file_and_column(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    path = tmp_path / "data.csv"
    path.write_text(content)
    command, *options = args
    result = runner.invoke(app, ["stats", command, str(path), "--time", "t", *options, "--json"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}: ")
    assert message in result.stderr
    assert result.stdout == ""


def test_cox_separation_warns_on_stderr_and_succeeds(tmp_path: Path) -> None:
    """Perfectly separated data: the coefficient diverges; a warning, not a hang or a crash."""
    path = tmp_path / "separated.csv"
    rows = [f"{t},1,{int(t > 10)}" for t in range(1, 21)]
    path.write_text("t,e,arm\n" + "\n".join(rows) + "\n")
    result = runner.invoke(
        app, ["stats", "cox", str(path), "--time", "t", "--event", "e", "--group", "arm", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "may be infinite" in result.stderr
    assert json.loads(result.stdout)["infinite"] == ["arm"]


def test_km_strata_curves_equal_the_curves_of_each_stratum() -> None:
    """--strata splits each group's curve by stratum (R ~ group + strata()): every curve equals
    the group's curve on that stratum's rows alone (--filter), groups varying slowest."""
    options = ["--time", "time", "--event", "event", "--times", "2,5,9", "--at-risk-times", "0,5"]
    split = _json("km", str(TIES), *options, "--group", "arm", "--strata", "site")
    assert [(g["group"], g["stratum"]) for g in split["groups"]] == [
        ("A", "s1"),
        ("A", "s2"),
        ("B", "s1"),
        ("B", "s2"),
    ]
    for curve in split["groups"]:
        alone = _json(
            "km", str(TIES), *options, "--group", "arm", "--filter", f"site == '{curve['stratum']}'"
        )
        (expected,) = [g for g in alone["groups"] if g["group"] == curve["group"]]
        assert {k: v for k, v in curve.items() if k != "stratum"} == expected


@pytest.mark.parametrize("suffix", [".parquet", ".xpt"])
@pytest.mark.parametrize(
    "args",
    [
        ["km", "--group", "arm", "--times", "5", "--at-risk-times", "0,5"],
        ["logrank", "--group", "arm", "--strata", "site"],
        ["cox", "--group", "arm", "--strata", "site", "--robust"],
    ],
    ids=["km", "logrank", "cox"],
)
def test_parquet_and_xpt_give_the_csv_results(tmp_path: Path, suffix: str, args: list[str]) -> None:
    """DATA may be CSV, Parquet or SAS XPORT: the same table gives the same document."""
    import pandas as pd
    import pyreadstat

    frame = pd.read_csv(TIES)
    path = tmp_path / f"ties{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        pyreadstat.write_xport(frame, str(path))
    command, *options = args
    common = ["--time", "time", "--event", "event", *options]
    assert _json(command, str(path), *common) == _json(command, str(TIES), *common)
