"""``ikctrial eligibility check`` (interfaces.md "Eligibility": output shape, exit codes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ikctrial.cli.main import app
from ikctrial.protocol import CRITERION_IDS

runner = CliRunner()


def _write(tmp_path: Path, document: Any, name: str = "screening.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_json_output_has_the_documented_shape(
    tmp_path: Path, example_record: dict[str, Any]
) -> None:
    result = runner.invoke(
        app, ["eligibility", "check", str(_write(tmp_path, example_record)), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["subject_ref", "eligible", "criteria", "derived"]
    assert document["eligible"] is True
    assert [c["id"] for c in document["criteria"]] == list(CRITERION_IDS)
    assert document["derived"]["albi"] == {"score": -1.9798, "grade": 2}
    assert document["derived"]["child_pugh"]["score"] == 6
    assert document["derived"]["bclc"] == "C"


def test_ineligible_still_exits_0(tmp_path: Path, make_record: Any) -> None:
    path = _write(tmp_path, make_record({"hiv": True, "htlv": None}))
    result = runner.invoke(app, ["eligibility", "check", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["eligible"] is False


def test_table_output(tmp_path: Path, example_record: dict[str, Any]) -> None:
    result = runner.invoke(app, ["eligibility", "check", str(_write(tmp_path, example_record))])
    assert result.exit_code == 0
    for text in ("I1_age", "E5_pregnancy", "67 years", "Child-Pugh", "ALBI", "BCLC", "ELIGIBLE"):
        assert text in result.stdout


def test_table_shows_quality_flags(tmp_path: Path, make_record: Any) -> None:
    path = _write(tmp_path, make_record({"investigator_bclc": "B"}))
    result = runner.invoke(app, ["eligibility", "check", str(path)])
    assert result.exit_code == 0
    assert "BCLC_MISMATCH" in result.stdout


def test_other_protocol_file(tmp_path: Path, example_record: dict[str, Any]) -> None:
    from ikctrial.protocol.loader import built_in_protocol_text

    protocol = tmp_path / "strict.yaml"
    protocol.write_text(built_in_protocol_text().replace("max_ecog: 2", "max_ecog: 0"))
    path = _write(tmp_path, example_record)
    result = runner.invoke(
        app, ["eligibility", "check", str(path), "--protocol", str(protocol), "--json"]
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["criteria"][5]["reason"] == "ECOG 1 (max 0)"
    assert document["eligible"] is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nickname": "Bob"}, "nickname: unknown key"),
        ({"labs.albumin.unit": "mg/L"}, "labs.albumin.unit: 'mg/L' is not one of g/dL, g/L"),
        ({"labs.bilirubin.value": -1}, "labs.bilirubin.value: -1 is negative (impossible)"),
        ({"labs.albumin.value": 8}, "labs.albumin.value: 8 g/dL is above 7 g/dL (impossible)"),
        ({"labs.inr.value": 16}, "labs.inr.value: 16 is above 15 (impossible)"),
        (
            {"birth_date": "2026-05-01"},
            "birth_date: 2026-05-01 is after the screening date 2026-03-02",
        ),
        ({"screening_date": "2026-13-01"}, "screening_date: '2026-13-01' is not a valid date"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, make_record: Any, changes: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, make_record(changes))
    result = runner.invoke(app, ["eligibility", "check", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: {message}")


def test_invalid_json_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"subject_ref": "X",')
    result = runner.invoke(app, ["eligibility", "check", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}: invalid JSON at line 1")


def test_repeated_key_exits_2(tmp_path: Path, example_record: dict[str, Any]) -> None:
    # "hiv": true then "hiv": false would otherwise be read as false (JSON keeps the last)
    text = json.dumps(example_record).replace('"hiv": false', '"hiv": true, "hiv": false')
    path = _write(tmp_path, text)
    result = runner.invoke(app, ["eligibility", "check", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"{path}: hiv: duplicate key (JSON keeps the last silently)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pregnant": True}, "pregnant: true is impossible for sex male"),
        (
            {"encephalopathy": "grade_3_4"},
            "encephalopathy_last_episode_date: null (never) contradicts encephalopathy "
            "'grade_3_4' at screening",
        ),
    ],
)
def test_contradictory_record_exits_2(
    tmp_path: Path, make_record: Any, changes: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, make_record(changes))
    result = runner.invoke(app, ["eligibility", "check", str(path), "--json"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.strip() == f"{path}: {message}"


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eligibility", "check", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "file not found" in result.stderr
