"""Variable metadata of the ikctrial ADaM datasets (domain.md 10.2, with the sponsor dataset
ADTACE), as data, and ``conform``.

One table drives the datasets, the XPT labels and Define-XML: each variable has its ADaM name,
label (<= 40 characters), type, maximum length, codelist, origin and derivation text citing the
rule section of domain.md. ``conform`` turns a derived DataFrame into the dataset as submitted:
columns in metadata order, required variables present, types checked and normalised (dates as
``datetime64``), labels attached in ``DataFrame.attrs``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ikctrial.errors import InputError

DataType = Literal["text", "integer", "float", "date", "datetime"]
Origin = Literal["Derived", "Assigned", "Predecessor", "Collected", "Protocol"]
Core = Literal["Req", "Cond", "Perm"]


@dataclass(frozen=True)
class Variable:
    """One ADaM variable as Define-XML describes it."""

    name: str
    label: str
    data_type: DataType
    length: int
    core: Core
    origin: Origin
    derivation: str = ""
    codelist: str | None = None

    @property
    def required(self) -> bool:
        """ADaM IG core ``Req``: the variable must be in the dataset."""
        return self.core == "Req"


@dataclass(frozen=True)
class Dataset:
    """One ADaM dataset: its class, structure, keys and variables in submission order."""

    name: str
    label: str
    adam_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]

    def variable(self, name: str) -> Variable:
        """The metadata of one variable (KeyError if unknown)."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    @property
    def column_labels(self) -> dict[str, str]:
        """Variable labels keyed by name, as ``write_xpt`` takes them."""
        return {v.name: v.label for v in self.variables}


CODELISTS: dict[str, dict[str, str]] = {
    "NY": {"Y": "Yes", "N": "No"},
    "SEX": {"M": "Male", "F": "Female", "U": "Unknown", "UNDIFFERENTIATED": "Undifferentiated"},
    "ARMCD": {"IKC_TACE": "IKC + TACE", "TACE": "TACE alone"},
    # ADaM allows further positive codes for censoring reasons; ikctrial uses 0 and 1 (7.1)
    "CNSR": {"0": "Event", "1": "Censored"},
    "PARAMCD_TTE": {
        "PFS": "Progression-free survival (days)",
        "PFSMISS": "PFS, events after missed assessments counted",
        "PFSNACT": "PFS, new anticancer therapy ignored",
        "PFSCLIN": "PFS, clinical progression counted",
        "PFSMREC": "PFS per mRECIST",
        "PFSBICR": "PFS per blinded independent central review",
        "OS": "Overall survival (days)",
    },
    "PARAMCD_RS": {"OVR": "Overall response per time point", "BOR": "Best overall response"},
    "PARAMCD_TR": {
        "SUMDIAM": "Sum of target lesion diameters (mm)",
        "VSUMDIAM": "Sum of viable target lesion diameters (mm)",
    },
    "RESPONSE": {
        "CR": "Complete response",
        "PR": "Partial response",
        "SD": "Stable disease",
        "NON-CR/NON-PD": "Non-CR/non-PD",
        "PD": "Progressive disease",
        "NE": "Not evaluable",
    },
    "CRITERION": {"RECIST 1.1": "RECIST version 1.1", "MRECIST": "Modified RECIST for HCC"},
    "BCLC": {
        "0": "Very early",
        "A": "Early",
        "B": "Intermediate",
        "C": "Advanced",
        "D": "Terminal",
    },
    "CHILDPUGH": {"A": "Class A", "B": "Class B", "C": "Class C"},
    "EOSSTT": {
        "COMPLETED": "Completed",
        "DISCONTINUED": "Discontinued",
        "ONGOING": "Ongoing",
    },
    "TOXGR": {str(g): f"Grade {g}" for g in range(6)},
    "LBCAT": {
        "HEMATOLOGY": "Hematology",
        "CHEMISTRY": "Chemistry",
        "COAGULATION": "Coagulation",
        "TUMOR MARKER": "Tumor marker",
        "IMMUNE PANEL": "Immune panel (flow cytometry and cytokines)",
    },
    "PARAMCD_TACE": {"NTACER": "Number of repeat TACE sessions"},
}
"""Codelists (code -> decode) referenced by the variables below."""


def _v(
    name: str,
    label: str,
    data_type: DataType,
    length: int = 8,
    core: Core = "Req",
    origin: Origin = "Derived",
    derivation: str = "",
    codelist: str | None = None,
) -> Variable:
    return Variable(name, label, data_type, length, core, origin, derivation, codelist)


_SUBJECT = (
    _v("STUDYID", "Study Identifier", "text", 12, origin="Predecessor", derivation="DM.STUDYID"),
    _v("USUBJID", "Unique Subject Identifier", "text", 40, origin="Predecessor"),
    _v("SITEID", "Study Site Identifier", "text", 10, origin="Predecessor"),
)
_TRT = (
    _v("TRTP", "Planned Treatment", "text", 40, "Cond", derivation="ADSL.TRT01P"),
    _v("TRTA", "Actual Treatment", "text", 40, "Cond", derivation="ADSL.TRT01A"),
)


def _analysis_flag(derivation: str) -> Variable:
    """ANL01FL, the records an analysis reads; which records they are is the ``derivation``."""
    return _v(
        "ANL01FL", "Analysis Flag 01", "text", 1, "Cond", codelist="NY", derivation=derivation
    )


_PARAM = (
    _v("PARAMCD", "Parameter Code", "text", 8),
    _v("PARAM", "Parameter", "text", 200),
)

ADSL = Dataset(
    "ADSL",
    "Subject-Level Analysis Dataset",
    "SUBJECT LEVEL ANALYSIS DATASET",
    "One record per subject",
    ("STUDYID", "USUBJID"),
    (
        *_SUBJECT,
        _v("SUBJID", "Subject Identifier for the Study", "text", 20, origin="Predecessor"),
        _v(
            "AGE",
            "Age",
            "integer",
            core="Req",
            origin="Predecessor",
            derivation="Completed years at screening, domain reference 5.2",
        ),
        _v("AGEU", "Age Units", "text", 5, origin="Assigned"),
        _v("SEX", "Sex", "text", 16, origin="Predecessor", codelist="SEX"),
        _v("ARM", "Description of Planned Arm", "text", 40, origin="Predecessor"),
        _v("ARMCD", "Planned Arm Code", "text", 20, origin="Predecessor", codelist="ARMCD"),
        _v("ACTARM", "Description of Actual Arm", "text", 40, origin="Predecessor"),
        _v("TRT01P", "Planned Treatment for Period 01", "text", 40, derivation="DM.ARM"),
        _v("TRT01PN", "Planned Treatment for Period 01 (N)", "integer", core="Perm"),
        _v(
            "TRT01A",
            "Actual Treatment for Period 01",
            "text",
            40,
            derivation="Treatment received: IKC + TACE if any IKC infusion, domain reference 7.7",
        ),
        _v("TRT01AN", "Actual Treatment for Period 01 (N)", "integer", core="Perm"),
        _v("RANDDT", "Date of Randomization", "date", core="Cond"),
        _v(
            "TRTSDT",
            "Date of First Exposure to Treatment",
            "date",
            core="Cond",
            derivation="Date of first TACE or IKC infusion",
        ),
        _v("TRTEDT", "Date of Last Exposure to Treatment", "date", core="Cond"),
        _v(
            "ITTFL",
            "Intent-To-Treat Population Flag",
            "text",
            1,
            core="Cond",
            codelist="NY",
            derivation="Y if randomized, domain reference 7.7",
        ),
        _v(
            "SAFFL",
            "Safety Population Flag",
            "text",
            1,
            core="Cond",
            codelist="NY",
            derivation="Y if any TACE or IKC infusion received, domain reference 7.7",
        ),
        _v(
            "PPROTFL",
            "Per-Protocol Population Flag",
            "text",
            1,
            core="Cond",
            codelist="NY",
            derivation="ITT without major protocol deviations, domain reference 7.7",
        ),
        _v(
            "STRBCLC",
            "Stratum: BCLC Stage as Randomized",
            "text",
            1,
            "Perm",
            "Collected",
            codelist="BCLC",
        ),
        _v(
            "STRCP",
            "Stratum: Child-Pugh Class as Randomized",
            "text",
            1,
            "Perm",
            "Collected",
            codelist="CHILDPUGH",
        ),
        _v(
            "BCLCBL",
            "Baseline BCLC Stage",
            "text",
            1,
            "Perm",
            derivation="BCLC 2022, domain reference 4.3",
            codelist="BCLC",
        ),
        _v(
            "CPSCOREB",
            "Baseline Child-Pugh Score",
            "integer",
            core="Perm",
            derivation="Child-Pugh score, domain reference 4.1",
        ),
        _v(
            "CPCLASBL",
            "Baseline Child-Pugh Class",
            "text",
            1,
            "Perm",
            codelist="CHILDPUGH",
            derivation="Child-Pugh class, domain reference 4.1",
        ),
        _v(
            "ALBIBL",
            "Baseline ALBI Score",
            "float",
            core="Perm",
            derivation="ALBI score, domain reference 4.2",
        ),
        _v(
            "ECOGBL", "Baseline ECOG Performance Status", "integer", core="Perm", origin="Collected"
        ),
        _v("DTHDT", "Date of Death", "date", core="Perm"),
        _v("DTHFL", "Subject Died", "text", 1, "Perm", codelist="NY"),
        _v("EOSSTT", "End of Study Status", "text", 12, "Perm", codelist="EOSSTT"),
        _v(
            "DCSREAS",
            "Reason for Discontinuation from Study",
            "text",
            40,
            "Perm",
            derivation="DS withdrawal reason upper-cased (LOST TO FOLLOW-UP), OTHER if none "
            "given; null unless EOSSTT = DISCONTINUED, for the flow of domain reference 7.7",
        ),
    ),
)

ADTTE = Dataset(
    "ADTTE",
    "Time-to-Event Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per subject per parameter",
    ("STUDYID", "USUBJID", "PARAMCD"),
    (
        *_SUBJECT,
        *_TRT,
        _v("PARAMCD", "Parameter Code", "text", 8, codelist="PARAMCD_TTE"),
        _v("PARAM", "Parameter", "text", 200),
        _v(
            "STARTDT",
            "Time-to-Event Origin Date for Subject",
            "date",
            derivation="ADSL.RANDDT, domain reference 7.1",
        ),
        _v(
            "ADT",
            "Analysis Date",
            "date",
            core="Cond",
            derivation="Event or censoring date by the PFS scenario table, domain reference 7.1",
        ),
        _v(
            "AVAL",
            "Analysis Value",
            "float",
            derivation="ADT - STARTDT + 1 (days), domain reference 7.1",
        ),
        _v(
            "CNSR",
            "Censor",
            "integer",
            codelist="CNSR",
            derivation="0 for an event, 1 for censored, domain reference 7.1",
        ),
        _v(
            "EVNTDESC",
            "Event or Censoring Description",
            "text",
            60,
            "Perm",
            derivation="Scenario description, domain reference 7.1",
        ),
        _v("CNSDTDSC", "Censor Date Description", "text", 60, "Perm"),
        _v("SRCDOM", "Source Data", "text", 8, "Perm"),
        _v("SRCVAR", "Source Variable", "text", 8, "Perm"),
        _v("SRCSEQ", "Source Sequence Number", "integer", core="Perm"),
        _v(
            "ITTFL",
            "Intent-To-Treat Population Flag",
            "text",
            1,
            "Cond",
            "Predecessor",
            codelist="NY",
        ),
    ),
)

ADRS = Dataset(
    "ADRS",
    "Tumor Response Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per subject per parameter per criterion per assessment",
    ("STUDYID", "USUBJID", "PARCAT1", "PARAMCD", "ADT"),
    (
        *_SUBJECT,
        *_TRT,
        _v("PARAMCD", "Parameter Code", "text", 8, codelist="PARAMCD_RS"),
        _v("PARAM", "Parameter", "text", 200),
        _v("PARCAT1", "Parameter Category 1", "text", 10, codelist="CRITERION"),
        _v(
            "AVALC",
            "Analysis Value (C)",
            "text",
            13,
            codelist="RESPONSE",
            derivation="RECIST 1.1 overall response 2.8 and BOR 2.9; mRECIST 3.6",
        ),
        _v("AVAL", "Analysis Value", "integer", core="Perm"),
        _v(
            "ADT",
            "Analysis Date",
            "date",
            core="Cond",
            derivation="Date of the assessment (latest scan of the time point)",
        ),
        _analysis_flag("Y on the records used for best overall response, domain reference 2.9"),
    ),
)

ADTR = Dataset(
    "ADTR",
    "Tumor Results Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per subject per parameter per assessment",
    ("STUDYID", "USUBJID", "PARAMCD", "ADT"),
    (
        *_SUBJECT,
        *_TRT,
        _v("PARAMCD", "Parameter Code", "text", 8, codelist="PARAMCD_TR"),
        _v("PARAM", "Parameter", "text", 200),
        _v("ADT", "Analysis Date", "date", core="Cond"),
        _v(
            "AVAL",
            "Analysis Value",
            "float",
            derivation="Sum of diameters (mm), TSTM = 5 mm, domain reference 2.4 and 7.2",
        ),
        _v("BASE", "Baseline Value", "float", core="Cond"),
        _v("CHG", "Change from Baseline", "float", core="Cond"),
        _v(
            "PCHG",
            "Percent Change from Baseline",
            "float",
            core="Cond",
            derivation="100 x (AVAL - BASE) / BASE, domain reference 7.2",
        ),
        _v(
            "NADIR",
            "Nadir Value",
            "float",
            core="Perm",
            derivation="Smallest AVAL so far including baseline, domain reference 2.5",
        ),
        _v("ABLFL", "Baseline Record Flag", "text", 1, "Cond", codelist="NY"),
        _analysis_flag("Y on the best percentage change record, domain reference 7.2"),
    ),
)

ADLB = Dataset(
    "ADLB",
    "Laboratory Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per subject per parameter per analysis visit",
    ("STUDYID", "USUBJID", "PARAMCD", "ADT"),
    (
        *_SUBJECT,
        *_TRT,
        *_PARAM,
        _v("PARCAT1", "Parameter Category 1", "text", 20, "Perm", codelist="LBCAT"),
        _v("ADT", "Analysis Date", "date", core="Cond"),
        _v(
            "AVISIT",
            "Analysis Visit",
            "text",
            40,
            "Cond",
            derivation="BASELINE on the baseline record; immune panel: WEEK n (DAY d if not whole "
            "weeks) of the protocol visit whose window holds ADT - RANDDT, domain reference 7.4",
        ),
        _v(
            "AVISITN",
            "Analysis Visit (N)",
            "integer",
            core="Cond",
            derivation="Planned study day of AVISIT (RANDDT = day 0; baseline 0), domain "
            "reference 7.4",
        ),
        _v("AVAL", "Analysis Value", "float", core="Cond"),
        _v("BASE", "Baseline Value", "float", core="Cond"),
        _v("CHG", "Change from Baseline", "float", core="Cond"),
        _v("ABLFL", "Baseline Record Flag", "text", 1, "Cond", codelist="NY"),
        _analysis_flag(
            "Y on the baseline record and per parameter and AVISIT on the value closest "
            "to the planned day (earlier on a tie), domain reference 7.4"
        ),
        _v(
            "ATOXGR",
            "Analysis Toxicity Grade",
            "text",
            1,
            "Perm",
            codelist="TOXGR",
            derivation="CTCAE v5.0 lab grade, domain reference 6.2",
        ),
        _v("BTOXGR", "Baseline Toxicity Grade", "text", 1, "Perm", codelist="TOXGR"),
    ),
)

ADAE = Dataset(
    "ADAE",
    "Adverse Events Analysis Dataset",
    "OCCURRENCE DATA STRUCTURE",
    "One record per adverse event",
    ("STUDYID", "USUBJID", "AESEQ"),
    (
        *_SUBJECT,
        *_TRT,
        _v("AESEQ", "Sequence Number", "integer", origin="Predecessor"),
        _v("AETERM", "Reported Term for the Adverse Event", "text", 200, origin="Predecessor"),
        _v("AEDECOD", "Dictionary-Derived Term", "text", 200, origin="Predecessor"),
        _v(
            "AETOXGR", "Standard Toxicity Grade", "text", 1, "Perm", "Predecessor", codelist="TOXGR"
        ),
        _v("AESER", "Serious Event", "text", 1, "Perm", "Predecessor", codelist="NY"),
        _v(
            "AREL",
            "Analysis Causality",
            "text",
            20,
            "Perm",
            "Predecessor",
            derivation="AE.AEREL (relationship to IKC)",
        ),
        _v("ASTDT", "Analysis Start Date", "date", core="Cond"),
        _v("AENDT", "Analysis End Date", "date", core="Cond"),
        _v(
            "TRTEMFL",
            "Treatment Emergent Analysis Flag",
            "text",
            1,
            "Cond",
            codelist="NY",
            derivation="Y if ASTDT on or after ADSL.TRTSDT, domain reference 6",
        ),
    ),
)

ADEX = Dataset(
    "ADEX",
    "Exposure Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per subject per parameter, per administration for IKCDOSE and TACE",
    ("STUDYID", "USUBJID", "PARAMCD", "ASTDT"),
    (
        *_SUBJECT,
        *_TRT,
        *_PARAM,
        _v(
            "EXTRT",
            "Name of Treatment",
            "text",
            8,
            derivation="IKC for the IKC parameters, TACE for TACE sessions (SDTM EX/PR)",
        ),
        _v(
            "AVAL",
            "Analysis Value",
            "float",
            derivation="Infusions received (count), total viable cells infused, viable cells "
            "of one infusion (IKCDOSE) or 1 per TACE session",
        ),
        _v("AVALU", "Analysis Value Unit", "text", 20, "Perm"),
        _v("ASTDT", "Analysis Start Date", "date", core="Perm"),
        _v("AENDT", "Analysis End Date", "date", core="Perm"),
    ),
)

ADTACE = Dataset(
    "ADTACE",
    "Repeat TACE Frequency Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per subject",
    ("STUDYID", "USUBJID", "PARAMCD"),
    (
        *_SUBJECT,
        *_TRT,
        _v(
            "ITTFL",
            "Intent-To-Treat Population Flag",
            "text",
            1,
            "Cond",
            "Predecessor",
            "ADSL.ITTFL",
            codelist="NY",
        ),
        _v("PARAMCD", "Parameter Code", "text", 8, codelist="PARAMCD_TACE"),
        _v("PARAM", "Parameter", "text", 200),
        _v(
            "AVAL",
            "Analysis Value",
            "float",
            derivation="TACE sessions after the first one up to ENDDT (Y_i), domain reference 7.3",
        ),
        _v(
            "FUPYR",
            "Follow-up (years)",
            "float",
            derivation="(ENDDT - STARTDT + 1) / 365.25 (T_i), domain reference 7.3",
        ),
        _v("STARTDT", "Start Date of Follow-up", "date", derivation="ADSL.RANDDT"),
        _v(
            "ENDDT",
            "End Date of Follow-up",
            "date",
            derivation="END_i: earliest of end of study, death or withdrawal, else the last date "
            "known alive, domain reference 7.3",
        ),
    ),
)

ADAM_DATASETS: dict[str, Dataset] = {
    d.name: d for d in (ADSL, ADTTE, ADRS, ADTR, ADLB, ADAE, ADEX, ADTACE)
}
"""The ADaM datasets of domain.md 10.2 (ADTACE last, the sponsor's), keyed by name."""


def dataset_metadata(name: str) -> Dataset:
    """The metadata of one ADaM dataset, or an InputError naming the known ones."""
    try:
        return ADAM_DATASETS[name]
    except KeyError:
        known = ", ".join(ADAM_DATASETS)
        raise InputError("dataset", f"{name!r} is not one of {known}") from None


def _as_dates(values: pd.Series, field: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    for position, value in enumerate(values):
        if not (pd.isna(value) or isinstance(value, dt.date)):
            raise InputError(f"{field}[{position}]", f"{value!r} is not a date")
    return pd.to_datetime(values.astype(object))


def _as_numbers(values: pd.Series, variable: Variable, field: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) or not (
        pd.api.types.is_numeric_dtype(values) or values.isna().all()
    ):
        raise InputError(field, f"must be numeric ({variable.data_type})")
    numbers = values.astype("float64")
    if variable.data_type == "integer":
        fractional = numbers.notna() & (numbers != numbers.round())
        if fractional.any():
            position = int(fractional.to_numpy().nonzero()[0][0])
            raise InputError(f"{field}[{position}]", f"{values.iloc[position]!r} is not an integer")
        codes = CODELISTS.get(variable.codelist) if variable.codelist else None
        if codes is not None:
            outside = numbers.notna() & ~numbers.map(lambda n: f"{n:.0f}" in codes)
            if outside.any():
                position = int(outside.to_numpy().nonzero()[0][0])
                raise InputError(
                    f"{field}[{position}]",
                    f"{values.iloc[position]!r} is not in codelist {variable.codelist}",
                )
    return numbers


def _as_text(values: pd.Series, variable: Variable, field: str) -> pd.Series:
    codes = CODELISTS.get(variable.codelist) if variable.codelist else None
    for position, value in enumerate(values):
        if pd.isna(value):
            continue
        if not isinstance(value, str):
            raise InputError(f"{field}[{position}]", f"{value!r} is not text")
        if len(value) > variable.length:
            raise InputError(
                f"{field}[{position}]",
                f"{len(value)} characters, more than the declared length {variable.length}",
            )
        if codes is not None and value not in codes:
            raise InputError(
                f"{field}[{position}]", f"{value!r} is not in codelist {variable.codelist}"
            )
    return values.astype(object).where(values.notna(), None)


def conform(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The dataset as submitted: metadata column order, types checked, labels in ``attrs``.

    Required variables must be present; a permissible or conditional variable that is absent is
    left out (not invented). A column the metadata does not know is an error, since it would have
    no label and no Define-XML entry.
    """
    meta = dataset_metadata(dataset)
    known = {v.name for v in meta.variables}
    for column in df.columns:
        if column not in known:
            raise InputError(f"{dataset}.{column}", f"not a variable of {dataset}")
    out: dict[str, pd.Series] = {}
    for variable in meta.variables:
        field = f"{dataset}.{variable.name}"
        if variable.name not in df.columns:
            if variable.required:
                raise InputError(field, "required variable is missing")
            continue
        values = df[variable.name].reset_index(drop=True)
        if variable.data_type in {"date", "datetime"}:
            out[variable.name] = _as_dates(values, field)
        elif variable.data_type in {"integer", "float"}:
            out[variable.name] = _as_numbers(values, variable, field)
        else:
            out[variable.name] = _as_text(values, variable, field)
    result = pd.DataFrame(out, columns=list(out))
    result.attrs["dataset_name"] = meta.name
    result.attrs["dataset_label"] = meta.label
    result.attrs["column_labels"] = {c: meta.variable(c).label for c in result.columns}
    return result
