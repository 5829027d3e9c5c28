"""File output of the standards layer: every file readable and valid, written all or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from ikctrial.analysis.odm import ODM_NS, read_metadata
from ikctrial.analysis.writers import (
    write_adam,
    write_define,
    write_study_metadata,
    write_trial_design,
)
from ikctrial.analysis.xml_schema import schema_errors
from ikctrial.analysis.xpt import read_xpt
from ikctrial.errors import InputError
from ikctrial.protocol import load_protocol

CREATED = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def test_trial_design_files(tmp_path: Path) -> None:
    written = write_trial_design(load_protocol(), tmp_path)
    assert [p.name for p in written] == ["ts.xpt", "ta.xpt", "te.xpt", "tv.xpt", "ti.xpt"]
    ti, meta = read_xpt(tmp_path / "ti.xpt")
    assert meta.dataset_name == "TI"
    assert len(ti) == 12


def adtte() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": ["IVY02"],
            "USUBJID": ["IVY02-001"],
            "SITEID": ["01"],
            "PARAMCD": ["PFS"],
            "PARAM": ["Progression-free survival (days)"],
            "STARTDT": [dt.date(2025, 1, 1)],
            "ADT": [dt.date(2025, 4, 28)],
            "AVAL": [118.0],
            "CNSR": [0],
        }
    )


def test_adam_file(tmp_path: Path) -> None:
    (target,) = write_adam({"ADTTE": adtte()}, tmp_path)
    back, meta = read_xpt(target)
    assert target.name == "adtte.xpt"
    assert meta.dataset_label == "Time-to-Event Analysis Dataset"
    assert back["ADT"].tolist() == [dt.date(2025, 4, 28)]


def test_adam_error_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_adam({"ADTTE": pd.DataFrame({"STUDYID": ["IVY02"]})}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_define_and_odm_files(tmp_path: Path) -> None:
    protocol = load_protocol()
    define = write_define(protocol, ["ADSL", "ADTTE"], tmp_path / "define.xml", created=CREATED)
    assert schema_errors(define.read_bytes(), "define-2.1") == []
    odm = write_study_metadata(protocol, tmp_path / "odm.xml", created=CREATED)
    assert read_metadata(odm).study_oid == "ST.IVY02"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["define.xml", "odm.xml"]


def test_define_lengths_match_xpt(tmp_path: Path) -> None:
    """Define-XML Length of each text variable equals the XPT file's declared length."""
    frames = {"ADTTE": adtte()}
    (xpt,) = write_adam(frames, tmp_path)
    define = write_define(
        load_protocol(), ["ADTTE"], tmp_path / "define.xml", created=CREATED, frames=frames
    )
    _, meta = read_xpt(xpt)
    root = etree.fromstring(define.read_bytes())
    ns = {"odm": ODM_NS}
    declared = {
        item.get("Name"): int(item.get("Length"))
        for item in root.iterfind(".//odm:ItemDef[@DataType='text']", ns)
        if item.get("Name") in meta.storage_widths
    }
    assert declared == {k: meta.storage_widths[k] for k in declared}
    assert declared["USUBJID"] == len("IVY02-001")
