"""ADaM variable metadata and conform (domain.md 10.2, limits of 10.3)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ikctrial.analysis.adam.metadata import ADAM_DATASETS, CODELISTS, conform, dataset_metadata
from ikctrial.analysis.xpt import check_label, check_name, read_xpt, write_xpt
from ikctrial.errors import InputError

ALL = [(d.name, v) for d in ADAM_DATASETS.values() for v in d.variables]


def test_the_eight_datasets() -> None:
    """domain.md 10.2: the seven standard datasets, then the sponsor's ADTACE."""
    assert list(ADAM_DATASETS) == [
        "ADSL",
        "ADTTE",
        "ADRS",
        "ADTR",
        "ADLB",
        "ADAE",
        "ADEX",
        "ADTACE",
    ]


@pytest.mark.parametrize(("dataset", "variable"), ALL, ids=[f"{d}.{v.name}" for d, v in ALL])
def test_every_variable_fits_xpt_v5(dataset: str, variable: object) -> None:
    """domain.md 10.3: names <= 8 (upper case), labels <= 40 ASCII, text <= 200 bytes."""
    from ikctrial.analysis.adam.metadata import Variable

    assert isinstance(variable, Variable)
    check_name(variable.name, dataset, "variable name")
    check_label(variable.label, dataset, "label")
    assert 1 <= variable.length <= 200
    assert variable.codelist is None or variable.codelist in CODELISTS


@pytest.mark.parametrize("dataset", list(ADAM_DATASETS))
def test_keys_and_identifiers(dataset: str) -> None:
    meta = ADAM_DATASETS[dataset]
    names = [v.name for v in meta.variables]
    assert names[:2] == ["STUDYID", "USUBJID"]  # ADaM IG: identifiers first
    assert len(set(names)) == len(names)
    assert set(meta.keys) <= set(names)
    check_label(meta.label, dataset, "dataset label")


@pytest.mark.parametrize(
    ("dataset", "name", "data_type", "codelist"),
    [
        # domain.md 10.2: CNSR 0 = event, 1 = censored; AVAL in days
        ("ADTTE", "CNSR", "integer", "CNSR"),
        ("ADTTE", "AVAL", "float", None),
        ("ADTTE", "STARTDT", "date", None),
        ("ADRS", "AVALC", "text", "RESPONSE"),
        ("ADRS", "PARCAT1", "text", "CRITERION"),
        ("ADTR", "PCHG", "float", None),
        ("ADSL", "SAFFL", "text", "NY"),
        ("ADLB", "ATOXGR", "text", "TOXGR"),
        ("ADAE", "TRTEMFL", "text", "NY"),
    ],
)
def test_variable_conventions(
    dataset: str, name: str, data_type: str, codelist: str | None
) -> None:
    variable = ADAM_DATASETS[dataset].variable(name)
    assert variable.data_type == data_type
    assert variable.codelist == codelist


CONTRACT_VARIABLES = [
    # (dataset, variable, label, type, codelist, domain.md section its derivation cites)
    ("ADSL", "DCSREAS", "Reason for Discontinuation from Study", "text", None, "7.7"),
    ("ADLB", "PARCAT1", "Parameter Category 1", "text", "LBCAT", None),
    ("ADLB", "AVISITN", "Analysis Visit (N)", "integer", None, "7.4"),
    ("ADLB", "ANL01FL", "Analysis Flag 01", "text", "NY", "7.4"),
    ("ADTACE", "PARAMCD", "Parameter Code", "text", "PARAMCD_TACE", None),
    ("ADTACE", "AVAL", "Analysis Value", "float", None, "7.3"),
    ("ADTACE", "FUPYR", "Follow-up (years)", "float", None, "7.3"),
    ("ADTACE", "ENDDT", "End Date of Follow-up", "date", None, "7.3"),
]


@pytest.mark.parametrize(
    ("dataset", "name", "label", "data_type", "codelist", "section"),
    CONTRACT_VARIABLES,
    ids=[f"{c[0]}.{c[1]}" for c in CONTRACT_VARIABLES],
)
def test_report_variables(
    dataset: str, name: str, label: str, data_type: str, codelist: str | None, section: str | None
) -> None:
    """The variables the trial report reads (TACE rate 7.3, immune MMRM 7.4, flow 7.7): label
    within the XPT v5 limit of 40 characters, type, codelist and the rule the derivation cites."""
    variable = ADAM_DATASETS[dataset].variable(name)
    assert (variable.label, variable.data_type, variable.codelist) == (label, data_type, codelist)
    assert len(variable.label) <= 40
    assert section is None or f"domain reference {section}" in variable.derivation


def test_adtace_and_new_variables_in_order() -> None:
    """ADTACE's variables as the report reads them; DCSREAS follows EOSSTT; the ADLB visit
    variables sit with the other record variables."""
    adtace = ADAM_DATASETS["ADTACE"]
    assert [v.name for v in adtace.variables] == [
        "STUDYID",
        "USUBJID",
        "SITEID",
        "TRTP",
        "TRTA",
        "ITTFL",
        "PARAMCD",
        "PARAM",
        "AVAL",
        "FUPYR",
        "STARTDT",
        "ENDDT",
    ]
    assert len(adtace.label) <= 40
    adsl = [v.name for v in ADAM_DATASETS["ADSL"].variables]
    assert adsl[-2:] == ["EOSSTT", "DCSREAS"]
    adlb = [v.name for v in ADAM_DATASETS["ADLB"].variables]
    assert adlb[adlb.index("PARAM") :][:4] == ["PARAM", "PARCAT1", "ADT", "AVISIT"]
    assert adlb[adlb.index("AVISIT") + 1] == "AVISITN"
    assert adlb[adlb.index("ABLFL") + 1] == "ANL01FL"


def adtte_example() -> pd.DataFrame:
    """domain.md 10.2 example (RANDDT 2025-01-01), columns deliberately out of order."""
    return pd.DataFrame(
        {
            "CNSR": [0, 1],
            "AVAL": [118, 363],
            "USUBJID": ["IVY02-001", "IVY02-002"],
            "STUDYID": ["IVY02", "IVY02"],
            "SITEID": ["01", "01"],
            "PARAMCD": ["PFS", "PFS"],
            "PARAM": ["Progression-free survival (days)"] * 2,
            "STARTDT": [dt.date(2025, 1, 1)] * 2,
            "ADT": [dt.date(2025, 4, 28), dt.date(2025, 12, 29)],
            "EVNTDESC": ["DISEASE PROGRESSION", None],
            "CNSDTDSC": [None, "LAST ADEQUATE ASSESSMENT"],
        }
    )


def test_conform_orders_types_and_labels(tmp_path: Path) -> None:
    out = conform(adtte_example(), "ADTTE")
    meta = ADAM_DATASETS["ADTTE"]
    order = [v.name for v in meta.variables if v.name in out.columns]
    assert list(out.columns) == order
    assert out["AVAL"].dtype == "float64"
    assert out["CNSR"].dtype == "float64"
    assert pd.api.types.is_datetime64_any_dtype(out["ADT"])
    assert out.attrs["column_labels"]["CNSR"] == "Censor"
    # ADT - STARTDT + 1 = AVAL (domain.md 7.1) survives the XPT round trip
    write_xpt(
        out,
        tmp_path / "adtte.xpt",
        dataset_name="ADTTE",
        dataset_label=out.attrs["dataset_label"],
        column_labels=out.attrs["column_labels"],
    )
    back, xmeta = read_xpt(tmp_path / "adtte.xpt")
    days = [(a - s).days + 1 for a, s in zip(back["ADT"], back["STARTDT"], strict=True)]
    assert days == back["AVAL"].tolist() == [118.0, 363.0]
    assert xmeta.column_formats["ADT"] == "DATE9"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda df: df.drop(columns=["CNSR"]), "ADTTE.CNSR", "required"),
        (lambda df: df.assign(EXTRA=1), "ADTTE.EXTRA", "not a variable"),
        (lambda df: df.assign(CNSR=[0, 0.5]), "ADTTE.CNSR[1]", "not an integer"),
        (lambda df: df.assign(CNSR=[0, 2]), "ADTTE.CNSR[1]", "codelist"),
        (lambda df: df.assign(AVAL=["118", "363"]), "ADTTE.AVAL", "numeric"),
        (lambda df: df.assign(ADT=["2025-04-28", None]), "ADTTE.ADT[0]", "not a date"),
        (lambda df: df.assign(PARAMCD=["PFS", "TTDE"]), "ADTTE.PARAMCD[1]", "codelist"),
        (lambda df: df.assign(PARAMCD=["PFS", 7]), "ADTTE.PARAMCD[1]", "not text"),
        (lambda df: df.assign(EVNTDESC=["x" * 61, None]), "ADTTE.EVNTDESC[0]", "declared length"),
    ],
)
def test_conform_errors(change: object, field: str, problem: str) -> None:
    assert callable(change)
    df = change(adtte_example())
    with pytest.raises(InputError) as caught:
        conform(df, "ADTTE")
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_unknown_dataset() -> None:
    with pytest.raises(InputError, match="ADSL"):
        dataset_metadata("ADXX")
