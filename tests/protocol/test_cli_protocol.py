"""``ikctrial protocol show`` and ``ikctrial protocol validate`` (interfaces.md "Protocol")."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ikctrial.cli.main import app
from ikctrial.protocol import CRITERION_IDS
from ikctrial.protocol.loader import built_in_protocol_text

runner = CliRunner()


def test_show_json_has_the_contract_keys() -> None:
    result = runner.invoke(app, ["protocol", "show", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    for key in (
        "nct_id",
        "title",
        "arms",
        "allocation_ratio",
        "target_enrollment",
        "eligibility",
        "schedule",
        "endpoints",
    ):
        assert key in document
    assert document["nct_id"] == "NCT03592706"
    assert document["arms"][0] == {"code": "IKC_TACE", "name": "IKC + TACE", "type": "experimental"}
    assert document["allocation_ratio"] == [1, 1]
    assert [c["id"] for c in document["eligibility"]["criteria"]] == list(CRITERION_IDS)
    assert document["eligibility"]["criteria"][0]["params"] == {
        "min_age": 20,
        "max_age_exclusive": 80,
    }


def test_show_summary() -> None:
    result = runner.invoke(app, ["protocol", "show"])
    assert result.exit_code == 0
    for text in ("NCT03592706", "IKC_TACE", "I1_age", "Endpoints", "pfs"):
        assert text in result.stdout


def test_show_other_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        built_in_protocol_text().replace("target_enrollment: 60", "target_enrollment: 90")
    )
    result = runner.invoke(app, ["protocol", "show", "--protocol", str(path), "--json"])
    assert json.loads(result.stdout)["target_enrollment"] == 90


def test_validate_built_in_copy(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(built_in_protocol_text())
    result = runner.invoke(app, ["protocol", "validate", str(path)])
    assert result.exit_code == 0
    assert "valid" in result.stdout


def test_validate_broken_copy_names_the_path_inside(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(built_in_protocol_text().replace("max_ecog: 2", "max_ecog: two"))
    result = runner.invoke(app, ["protocol", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}: eligibility.criteria[5].params.max_ecog: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_validate_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["protocol", "validate", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert "file not found" in result.stderr
