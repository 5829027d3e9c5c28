"""``ikctrial odm import-metadata FILE [--json]``: another system's ODM metadata, printed.

The document is one an EDC would send: our own study metadata with two forms added (so the
expected content is known), written to a file and read through the command line.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ikctrial.analysis.odm import FormDefinition, add_forms, study_metadata, to_bytes
from ikctrial.cli.main import app
from ikctrial.protocol import load_protocol

runner = CliRunner()
FORMS = [
    FormDefinition(
        "F.TACE",
        "TACE procedure",
        [("IT.TACE.DATE", "performed_on", "date"), ("IT.TACE.DOSE", "dose_mg", "float")],
    ),
    FormDefinition("F.AE", "Adverse event", [("IT.AE.GRADE", "grade", "integer")]),
]


@pytest.fixture(scope="module")
def document() -> bytes:
    root = study_metadata(load_protocol(), created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    add_forms(root, event_oid="SE.OTHER", event_name="Other EDC forms", forms=FORMS)
    return to_bytes(root)


def _file(folder: Path, content: bytes) -> Path:
    path = folder / "metadata.xml"
    path.write_bytes(content)
    return path


def test_json_lists_forms_item_groups_and_items(tmp_path: Path, document: bytes) -> None:
    result = runner.invoke(
        app, ["odm", "import-metadata", str(_file(tmp_path, document)), "--json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    forms = {f["oid"]: f for f in found["forms"]}
    assert {"F.TACE", "F.AE"} <= set(forms)
    assert [g["oid"] for g in forms["F.TACE"]["item_groups"]] == ["IG.TACE"]
    groups = {g["oid"]: g for g in found["item_groups"]}
    assert [i["oid"] for i in groups["IG.TACE"]["items"]] == ["IT.TACE.DATE", "IT.TACE.DOSE"]
    items = {i["oid"]: i for i in found["items"]}
    assert (items["IT.TACE.DOSE"]["name"], items["IT.TACE.DOSE"]["data_type"]) == (
        "dose_mg",
        "float",
    )
    assert items["IT.AE.GRADE"]["data_type"] == "integer"
    event = next(e for e in found["events"] if e["oid"] == "SE.OTHER")
    assert [f["oid"] for f in event["forms"]] == ["F.TACE", "F.AE"]
    assert found["study_oid"].startswith("ST.")


def test_table_names_what_was_found(tmp_path: Path, document: bytes) -> None:
    result = runner.invoke(app, ["odm", "import-metadata", str(_file(tmp_path, document))])
    assert result.exit_code == 0, result.output
    for text in ("Forms", "Item groups", "Items", "F.TACE", "IG.AE", "IT.AE.GRADE", "dose_mg"):
        assert text in result.stdout, text


def test_choosing_an_absent_metadata_version(tmp_path: Path, document: bytes) -> None:
    path = _file(tmp_path, document)
    result = runner.invoke(app, ["odm", "import-metadata", str(path), "--metadata-version", "X"])
    assert result.exit_code == 2
    assert result.stderr == f"{path}: Study[0].MetaDataVersion: no MetaDataVersion with OID 'X'\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"<ODM><Study>", "not well-formed XML"),
        (b"<NotODM/>", "root element is 'NotODM'"),
        (b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"/>', "ODM.Study: no Study element"),
        (None, "is not defined in the MetaDataVersion"),  # a dangling reference
    ],
)
def test_malformed_file_is_one_line_and_exit_2(
    tmp_path: Path, document: bytes, content: bytes | None, problem: str
) -> None:
    broken = document.replace(b'ItemOID="IT.AE.GRADE"', b'ItemOID="IT.AE.NOPE"', 1)
    path = _file(tmp_path, broken if content is None else content)
    result = runner.invoke(app, ["odm", "import-metadata", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: ")
    assert problem in lines[0]


def test_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["odm", "import-metadata", str(tmp_path / "absent.xml")])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'absent.xml'}: file not found\n"
