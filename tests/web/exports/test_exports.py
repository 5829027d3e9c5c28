"""Standard exports from the stored records: API and CLI, roles, audit, bad data, memory.

The files are read back (XPT with pyreadstat, ODM against the 1.3.2 XSD, FHIR with
fhir.resources) and compared with what was entered through the services (conftest).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from fhir.resources.bundle import Bundle
from lxml import etree
from typer.testing import CliRunner

from ikctrial.analysis.odm import read_metadata
from ikctrial.analysis.xml_schema import schema_errors
from ikctrial.cli.main import app
from ikctrial.web.sites.permissions import Role

EXPORTERS = (Role.STATISTICIAN, Role.DATA_MANAGER)
SDTM_DOMAINS = "ts ta te tv ti dm ds ie ex pr ae lb vs cm sv tu tr rs"
ADAM_DATASETS = "adsl adtte adrs adtr adlb adae adex adtace"
FILES = {
    "sdtm": {f"{d}.xpt" for d in SDTM_DOMAINS.split()},
    "adam": {f"{d}.xpt" for d in ADAM_DATASETS.split()} | {"define.xml"},
    "odm": {"metadata.xml", "clinical.xml"},
    "fhir": {"bundle.json"},
}
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


def _post(export_trial: Any, role: str, export_format: str) -> Any:
    return export_trial.trial.client(role).post(f"/api/v1/exports/{export_format}")


def _unzip(response: Any, folder: Path) -> dict[str, Path]:
    content = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(folder)
        return {name: folder / name for name in archive.namelist()}


def _xpt(path: Path) -> Any:
    frame, _ = pyreadstat.read_xport(str(path))
    return frame


@pytest.mark.parametrize("role", EXPORTERS)
@pytest.mark.parametrize("export_format", list(FILES))
def test_api_produces_each_export(
    export_trial: Any, tmp_path: Path, role: str, export_format: str
) -> None:
    """Each format answers a zip of its files, for both roles that may export."""
    response = _post(export_trial, role, export_format)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    assert set(_unzip(response, tmp_path)) == FILES[export_format]


def test_adam_from_the_record(export_trial: Any, tmp_path: Path) -> None:
    """ADSL, ADTTE, ADTR, ADLB, ADEX and ADTACE read back with pyreadstat match what was
    entered (the day-10 immune value is in no protocol visit window: no AVISIT, not analysed;
    one TACE each: no repeat session, followed up to the last date known alive)."""
    files = _unzip(_post(export_trial, Role.STATISTICIAN, "adam"), tmp_path)
    ikc = f"IVY02-{export_trial.screening_number(export_trial.ikc)}"
    control = f"IVY02-{export_trial.screening_number(export_trial.control)}"
    adsl = _xpt(files["adsl.xpt"]).set_index("USUBJID")
    assert sorted(adsl.index) == sorted([ikc, control])
    assert adsl.loc[ikc, "ARMCD"] == "IKC_TACE"
    assert adsl.loc[control, "ARMCD"] == "TACE"
    assert adsl.loc[ikc, "RANDDT"] == export_trial.randdt[export_trial.ikc]
    assert adsl.loc[ikc, "SAFFL"] == "Y"
    assert adsl.loc[ikc, "PPROTFL"] == "N"  # one infusion of twelve so far
    assert adsl.loc[control, "TRT01A"] == "TACE alone"
    adtte = _xpt(files["adtte.xpt"]).set_index(["USUBJID", "PARAMCD"])
    pfs = adtte.loc[(ikc, "PFS")]
    scan = export_trial.randdt[export_trial.ikc] + dt.timedelta(days=14)
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"]) == (scan, 15.0, 1.0)
    assert pfs["CNSDTDSC"] == "LAST ADEQUATE ASSESSMENT"
    adtr = _xpt(files["adtr.xpt"])
    sums = adtr[(adtr["USUBJID"] == ikc) & (adtr["PARAMCD"] == "SUMDIAM")]
    assert sums["AVAL"].tolist() == [40.0, 28.0]
    assert sums["PCHG"].tolist()[1] == pytest.approx(-30.0)
    adlb = _xpt(files["adlb.xpt"])
    alt = adlb[(adlb["USUBJID"] == ikc) & (adlb["PARAMCD"] == "ALT")]
    assert alt["CHG"].tolist()[1] == pytest.approx(100.0)
    cd8 = adlb[(adlb["USUBJID"] == ikc) & (adlb["PARAMCD"] == "CD8P")]
    assert cd8["CHG"].tolist()[1] == pytest.approx(11.5)
    assert cd8[["PARCAT1", "AVISIT", "ANL01FL"]].values.tolist() == [
        ["IMMUNE PANEL", "BASELINE", "Y"],
        ["IMMUNE PANEL", "", ""],
    ]
    assert cd8["AVISITN"].tolist()[0] == 0.0
    adex = _xpt(files["adex.xpt"]).set_index(["USUBJID", "PARAMCD"])
    assert adex.loc[(ikc, "NINF"), "AVAL"] == 1.0
    assert adex.loc[(ikc, "TOTCELL"), "AVAL"] == pytest.approx(5e9)
    adtace = _xpt(files["adtace.xpt"]).set_index("USUBJID")
    assert sorted(adtace.index) == sorted([ikc, control])
    for usubjid, subject_id in ((ikc, export_trial.ikc), (control, export_trial.control)):
        row = adtace.loc[usubjid]
        randdt = export_trial.randdt[subject_id]
        assert (row["PARAMCD"], row["AVAL"], row["STARTDT"]) == ("NTACER", 0.0, randdt)
        assert row["ENDDT"] >= randdt + dt.timedelta(days=14)  # no exit: last known alive
        assert row["FUPYR"] == pytest.approx(((row["ENDDT"] - randdt).days + 1) / 365.25)
    control_randdt = export_trial.randdt[export_trial.control]
    assert adtace.loc[control, "ENDDT"] == control_randdt + dt.timedelta(days=14)  # last form
    assert not schema_errors(files["define.xml"].read_bytes(), "define-2.1")


def test_adam_pfs_by_blinded_central_review(
    export_trial: Any, central_read: Any, tmp_path: Path
) -> None:
    """The reader's own series gives PFSBICR: the reader measures growth to PD on the scan the
    investigator called PR, so PFSBICR is an event while PFS stays censored. A second reader's
    later series does not mix in; the subject no reader read has no PFSBICR record. SDTM RS
    holds the reader's calls apart (RSEVAL)."""
    from ikctrial.web.sites.services import user_create

    ikc, control = export_trial.ikc, export_trial.control
    randdt = export_trial.randdt[ikc]
    before, scan = randdt - dt.timedelta(days=1), randdt + dt.timedelta(days=14)
    reader = export_trial.trial.users[Role.READER]
    central_read(reader, ikc, before, 40)
    central_read(reader, ikc, scan, 60)
    second = user_create(
        actor="test-operator", username="u_reader2", role=Role.READER, site_codes=["SITEA"]
    ).user
    central_read(second, ikc, before, 40)
    central_read(second, ikc, scan, 30)
    files = _unzip(_post(export_trial, Role.STATISTICIAN, "adam"), tmp_path)
    adtte = _xpt(files["adtte.xpt"]).set_index(["USUBJID", "PARAMCD"])
    subject = f"IVY02-{export_trial.screening_number(ikc)}"
    bicr, pfs = adtte.loc[(subject, "PFSBICR")], adtte.loc[(subject, "PFS")]
    assert (bicr["ADT"], bicr["AVAL"], bicr["CNSR"]) == (scan, 15.0, 0.0)
    assert bicr["EVNTDESC"] == "DISEASE PROGRESSION"
    assert (pfs["ADT"], pfs["CNSR"]) == (scan, 1.0)
    untouched = f"IVY02-{export_trial.screening_number(control)}"
    assert (untouched, "PFS") in adtte.index
    assert (untouched, "PFSBICR") not in adtte.index
    sdtm = _unzip(_post(export_trial, Role.STATISTICIAN, "sdtm"), tmp_path / "sdtm")
    rs = _xpt(sdtm["rs.xpt"])
    overall = rs[(rs["RSTESTCD"] == "OVRLRESP") & (rs["RSCAT"] == "RECIST 1.1")]
    ours = overall[overall["USUBJID"] == subject]
    assert ours[["RSEVAL", "RSORRES"]].values.tolist() == [
        ["INVESTIGATOR", "PR"],
        ["INDEPENDENT ASSESSOR", "PD"],
    ]


def test_sdtm_from_the_record(export_trial: Any, tmp_path: Path) -> None:
    """EX holds the infusion with its lot; PR the TACE; RS both criteria; other site absent."""
    files = _unzip(_post(export_trial, Role.DATA_MANAGER, "sdtm"), tmp_path)
    ikc = f"IVY02-{export_trial.screening_number(export_trial.ikc)}"
    ex = _xpt(files["ex.xpt"])
    assert ex["USUBJID"].tolist() == [ikc]
    assert ex["EXTRT"].tolist() == ["IKC"]
    assert ex["EXDOSE"].tolist() == [pytest.approx(5e9)]
    assert ex["EXLOT"].tolist() == [export_trial.lot_id]
    assert set(_xpt(files["pr.xpt"])["PRCAT"]) == {"FIRST TACE"}
    rs = _xpt(files["rs.xpt"])
    assert set(rs["RSCAT"]) == {"RECIST 1.1", "MRECIST"}
    dm = _xpt(files["dm.xpt"])
    other = f"IVY02-{export_trial.screening_number(export_trial.other_site)}"
    assert other not in set(dm["USUBJID"])
    assert len(dm) == 2
    assert set(_xpt(files["sv.xpt"])["VISIT"]) == {"FIRST_TACE"}


def test_odm_with_audit_records(export_trial: Any, tmp_path: Path) -> None:
    """Metadata and clinical data are valid ODM 1.3.2; each item carries its audit record."""
    files = _unzip(_post(export_trial, Role.STATISTICIAN, "odm"), tmp_path)
    for name in ("metadata.xml", "clinical.xml"):
        assert schema_errors(files[name].read_bytes(), "odm-1.3.2") == [], name
    root = etree.parse(str(files["clinical.xml"])).getroot()
    keys = {s.get("SubjectKey") for s in root.iter(f"{ODM}SubjectData")}
    assert keys == {
        export_trial.screening_number(export_trial.ikc),
        export_trial.screening_number(export_trial.control),
    }
    users = {u.get("UserOID") for u in root.iter(f"{ODM}UserRef")}
    assert "USR.test-operator" in users
    forms = {f.get("FormOID") for f in root.iter(f"{ODM}FormData")}
    assert {"F.TUMOR_ASSESSMENT", "F.TACE_PROCEDURE", "F.ADVERSE_EVENT"} <= forms
    metadata = read_metadata(files["metadata.xml"])  # every reference resolves
    defined = {item.oid for item in metadata.items}
    used = {i.get("ItemOID") for i in root.iter(f"{ODM}ItemData")}
    assert used <= defined
    assert {f.oid for f in metadata.forms} >= forms
    grade = next(
        i for i in root.iter(f"{ODM}ItemData") if i.get("ItemOID") == "IT.ADVERSE_EVENT.GRADE"
    )
    assert grade.get("Value") == "1"


def test_fhir_bundle(export_trial: Any, tmp_path: Path) -> None:
    """A valid R5 Bundle: the study, two patients and subjects, tumor-size observations."""
    files = _unzip(_post(export_trial, Role.STATISTICIAN, "fhir"), tmp_path)
    bundle = Bundle.model_validate_json(files["bundle.json"].read_text())
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds.count("ResearchStudy") == 1
    assert kinds.count("Patient") == kinds.count("ResearchSubject") == 2
    assert kinds.count("Observation") == 4


@pytest.mark.parametrize(
    "role", [r for r in Role.values if r not in {Role.STATISTICIAN, Role.DATA_MANAGER}]
)
def test_other_roles_refused(export_trial: Any, role: str) -> None:
    """Every other role answers 403 and nothing is exported or recorded."""
    from ikctrial.web.exports.models import DataExport

    if role not in export_trial.trial.tokens:
        pytest.fail(f"no user for role {role}")
    for path in ("/api/v1/exports/adam", "/api/v1/exports"):
        client = export_trial.trial.client(role)
        response = client.post(path) if path.endswith("adam") else client.get(path)
        assert response.status_code == 403, (path, response.content)
        assert "data.export" in response.json()["detail"]
    assert not DataExport.objects.exists()


def test_export_is_in_the_audit_trail(export_trial: Any) -> None:
    """The export is an audit event: who, which format, how many subjects, file digests."""
    from ikctrial.web.audit.models import AuditEvent
    from ikctrial.web.audit.services import verify_chain

    response = _post(export_trial, Role.STATISTICIAN, "odm")
    export_id = response["X-Export-Id"]
    event = AuditEvent.objects.get(model="exports.dataexport", object_pk=export_id)
    assert event.action == "create"
    assert event.actor == export_trial.trial.users[Role.STATISTICIAN].get_username()
    assert event.changes["export_format"] == [None, "odm"]
    assert event.changes["subjects"] == [None, 2]
    names = [f["name"] for f in event.changes["files"][1]]
    assert names == ["metadata.xml", "clinical.xml"]
    assert all(len(f["sha256"]) == 64 for f in event.changes["files"][1])
    assert verify_chain().ok
    listed = export_trial.trial.client(Role.DATA_MANAGER).get("/api/v1/exports").json()
    assert [(e["id"], e["format"]) for e in listed] == [(int(export_id), "odm")]


def test_unknown_format_is_422(export_trial: Any) -> None:
    response = _post(export_trial, Role.STATISTICIAN, "csv")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("format: 'csv' is not one of sdtm, adam")


def test_response_after_death_is_reported(export_trial: Any, enter_crf: Any) -> None:
    """A tumor response after the recorded death: 422 naming subject and field, nothing kept."""
    from ikctrial.web.exports.models import DataExport

    control = export_trial.control
    death = export_trial.randdt[control] + dt.timedelta(days=10)
    enter_crf(
        control,
        "study_exit",
        status="withdrawn",
        exit_date=death.isoformat(),
        reason="death",
        death_date=death.isoformat(),
    )
    for export_format in ("sdtm", "adam", "fhir"):
        response = _post(export_trial, Role.STATISTICIAN, export_format)
        assert response.status_code == 422, export_format
        number = export_trial.screening_number(control)
        assert response.json()["detail"] == (
            f"subjects[{number}].assessments[1].assessed_on: a tumor response on "
            f"{death + dt.timedelta(days=4)} is after the death on {death}"
        )
    assert not DataExport.objects.exists()


def test_streamed_export_memory_is_bounded(
    trial: Any, randomization_list: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five times the subjects (read in chunks of 50, XPT records written 100 at a time): the
    traced peak of every export stays about the same (linear growth would be fivefold)."""
    from ikctrial.analysis import exports
    from ikctrial.web.exports import records
    from ikctrial.web.exports.services import data_export

    monkeypatch.setattr(records, "CHUNK_SIZE", 50)
    monkeypatch.setattr(exports, "CHUNK_ROWS", 100)

    def peak(export_format: str, folder: Path) -> int:
        tracemalloc.start()
        try:
            data_export(actor="test-operator", export_format=export_format, folder=folder)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    _bulk_subjects(0, 100)
    formats = ("odm", "fhir", "sdtm", "adam")
    small = {f: peak(f, tmp_path / f"small-{f}") for f in formats}
    _bulk_subjects(100, 500)
    large = {f: peak(f, tmp_path / f"large-{f}") for f in formats}
    adsl, _ = pyreadstat.read_xport(str(tmp_path / "large-adam" / "adsl.xpt"))
    assert len(adsl) == 500
    for export_format in small:
        assert large[export_format] < 1.5 * small[export_format], (export_format, small, large)


def _bulk_subjects(start: int, stop: int) -> None:
    """Randomized subjects stored in bulk (audited), without forms: cheap volume."""
    from django.utils import timezone

    from ikctrial.web.audit.context import audit_context
    from ikctrial.web.randomization.models import Randomization, RandomizationList, Stratum
    from ikctrial.web.sites.models import Site
    from ikctrial.web.subjects.models import Subject

    site = Site.objects.get(code="SITEA")

    active = RandomizationList.objects.get(active=True)
    stratum = Stratum.objects.filter(randomization_list=active).first()
    record = {"birth_date": "1958-07-14", "sex": "male", "ecog": 1}
    with audit_context(actor="test-operator", reason="bulk test subjects"):
        subjects = Subject.objects.bulk_create(
            Subject(
                site=site,
                site_sequence=1000 + n,
                screening_number=f"BULK-{n:05d}",
                screening_record=record,
                screened_by="test-operator",
            )
            for n in range(start, stop)
        )
        Randomization.objects.bulk_create(
            Randomization(
                subject=subject,
                randomization_list=active,
                number=5000 + n,
                arm="TACE",
                stratum=stratum,
                randomized_by="test-operator",
                randomized_at=timezone.now(),
            )
            for n, subject in zip(range(start, stop), subjects, strict=True)
        )


def test_cli_writes_each_export(export_trial: Any, tmp_path: Path) -> None:
    """``ikctrial export FORMAT --out DIR --json`` writes the files and records the export."""
    from ikctrial.web.exports.models import DataExport

    runner = CliRunner()
    for export_format, names in FILES.items():
        out = tmp_path / export_format
        result = runner.invoke(app, ["export", export_format, "--out", str(out), "--json"])
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["subjects"] == 3  # the operator sees every site
        assert {f["name"] for f in document["files"]} == names
        assert {p.name for p in out.iterdir()} == names
    assert DataExport.objects.filter(requested_by__startswith="cli:").count() == 4
    as_user = runner.invoke(
        app, ["export", "sdtm", "--out", str(tmp_path / "u"), "--user", "u_monitor"]
    )
    assert as_user.exit_code == 2
    assert "data.export" in as_user.stderr
    assert not (tmp_path / "u").exists() or not any((tmp_path / "u").iterdir())
