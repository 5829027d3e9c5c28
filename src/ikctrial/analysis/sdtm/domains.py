"""SDTM findings, events and interventions derived from the subjects' records (domain.md 10.1):
DM, DS, IE, EX, PR, AE, LB, VS, CM, SV, TU, TR and RS (RECIST 1.1 and mRECIST by RSCAT).

As for ADaM, ``*_records`` builds ONE subject's records, so subjects can be streamed;
``sdtm_datasets`` gathers them into DataFrames with the columns of ``VARIABLES`` (labels in
``attrs``) ready for the XPT writer. Dates are ISO 8601 text (``--DTC``). Trial design domains
(TS, TA, TE, TV, TI) come from the protocol: ``sdtm.trial_design``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from ikctrial.analysis.context import CRITERION_CATEGORY, AnalysisContext
from ikctrial.analysis.endpoints import (
    first_treatment_date,
    last_treatment_date,
    populations,
)
from ikctrial.analysis.records import (
    CriterionResponse,
    TrialSubject,
    check_subject,
    randomization_date,
)
from ikctrial.analysis.sdtm.trial_design import ie_test_code
from ikctrial.analysis.xpt import NAME_MAX
from ikctrial.errors import InputError

Record = dict[str, Any]

_COMMON = ("STUDYID", "DOMAIN", "USUBJID")
VARIABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "DM": (
        ("SUBJID", "Subject Identifier for the Study"),
        ("RFSTDTC", "Subject Reference Start Date/Time"),
        ("RFENDTC", "Subject Reference End Date/Time"),
        ("RFXSTDTC", "Date/Time of First Study Treatment"),
        ("RFXENDTC", "Date/Time of Last Study Treatment"),
        ("RFICDTC", "Date/Time of Informed Consent"),
        ("DTHDTC", "Date/Time of Death"),
        ("DTHFL", "Subject Death Flag"),
        ("SITEID", "Study Site Identifier"),
        ("BRTHDTC", "Date/Time of Birth"),
        ("AGE", "Age"),
        ("AGEU", "Age Units"),
        ("SEX", "Sex"),
        ("ARMCD", "Planned Arm Code"),
        ("ARM", "Description of Planned Arm"),
        ("ACTARMCD", "Actual Arm Code"),
        ("ACTARM", "Description of Actual Arm"),
    ),
    "DS": (
        ("DSSEQ", "Sequence Number"),
        ("DSTERM", "Reported Term for the Disposition Event"),
        ("DSDECOD", "Standardized Disposition Term"),
        ("DSCAT", "Category for Disposition Event"),
        ("DSSTDTC", "Start Date/Time of Disposition Event"),
    ),
    "IE": (
        ("IESEQ", "Sequence Number"),
        ("IETESTCD", "Incl/Excl Criterion Short Name"),
        ("IETEST", "Inclusion/Exclusion Criterion"),
        ("IECAT", "Inclusion/Exclusion Category"),
        ("IEORRES", "I/E Criterion Original Result"),
        ("IESTRESC", "I/E Criterion Result in Std Format"),
        ("IEDTC", "Date/Time of Collection"),
    ),
    "EX": (
        ("EXSEQ", "Sequence Number"),
        ("EXSPID", "Sponsor-Defined Identifier"),
        ("EXTRT", "Name of Treatment"),
        ("EXDOSE", "Dose"),
        ("EXDOSU", "Dose Units"),
        ("EXDOSFRM", "Dose Form"),
        ("EXROUTE", "Route of Administration"),
        ("EXLOT", "Lot Number"),
        ("EXSTDTC", "Start Date/Time of Treatment"),
        ("EXENDTC", "End Date/Time of Treatment"),
    ),
    "PR": (
        ("PRSEQ", "Sequence Number"),
        ("PRTRT", "Reported Name of Procedure"),
        ("PRCAT", "Category"),
        ("PRSCAT", "Subcategory"),
        ("PRDOSE", "Dose"),
        ("PRDOSU", "Dose Units"),
        ("PRSTDTC", "Start Date/Time of Procedure"),
    ),
    "AE": (
        ("AESEQ", "Sequence Number"),
        ("AETERM", "Reported Term for the Adverse Event"),
        ("AEDECOD", "Dictionary-Derived Term"),
        ("AETOXGR", "Standard Toxicity Grade"),
        ("AESER", "Serious Event"),
        ("AESDTH", "Results in Death"),
        ("AESLIFE", "Is Life Threatening"),
        ("AESHOSP", "Requires or Prolongs Hospitalization"),
        ("AESDISAB", "Persist or Signif Disability/Incapacity"),
        ("AESCONG", "Congenital Anomaly or Birth Defect"),
        ("AESMIE", "Other Medically Important Serious Event"),
        ("AEREL", "Causality"),
        ("AEOUT", "Outcome of Adverse Event"),
        ("AESTDTC", "Start Date/Time of Adverse Event"),
        ("AEENDTC", "End Date/Time of Adverse Event"),
    ),
    "LB": (
        ("LBSEQ", "Sequence Number"),
        ("LBTESTCD", "Lab Test or Examination Short Name"),
        ("LBTEST", "Lab Test or Examination Name"),
        ("LBCAT", "Category for Lab Test"),
        ("LBORRES", "Result or Finding in Original Units"),
        ("LBORRESU", "Original Units"),
        ("LBORNRLO", "Reference Range Lower Limit in Orig Unit"),
        ("LBORNRHI", "Reference Range Upper Limit in Orig Unit"),
        ("LBSTRESN", "Numeric Result/Finding in Standard Units"),
        ("LBSTRESU", "Standard Units"),
        ("LBNRIND", "Reference Range Indicator"),
        ("LBTOXGR", "Standard Toxicity Grade"),
        ("LBMETHOD", "Method of Test or Examination"),
        ("LBDTC", "Date/Time of Specimen Collection"),
    ),
    "VS": (
        ("VSSEQ", "Sequence Number"),
        ("VSTESTCD", "Vital Signs Test Short Name"),
        ("VSTEST", "Vital Signs Test Name"),
        ("VSORRES", "Result or Finding in Original Units"),
        ("VSORRESU", "Original Units"),
        ("VSSTRESN", "Numeric Result/Finding in Standard Units"),
        ("VSSTRESU", "Standard Units"),
        ("VSTPT", "Planned Time Point Name"),
        ("VSDTC", "Date/Time of Measurements"),
    ),
    "CM": (
        ("CMSEQ", "Sequence Number"),
        ("CMTRT", "Reported Name of Drug, Med, or Therapy"),
        ("CMCAT", "Category for Medication"),
        ("CMINDC", "Indication"),
        ("CMDOSTXT", "Dose Description"),
        ("CMROUTE", "Route of Administration"),
        ("CMSTDTC", "Start Date/Time of Medication"),
        ("CMENDTC", "End Date/Time of Medication"),
    ),
    "SV": (
        ("VISIT", "Visit Name"),
        ("SVSTDTC", "Start Date/Time of Visit"),
        ("SVENDTC", "End Date/Time of Visit"),
        ("SVSTDY", "Study Day of Start of Visit"),
        ("SVUPDES", "Description of Unplanned Visit"),
    ),
    "TU": (
        ("TUSEQ", "Sequence Number"),
        ("TULNKID", "Link ID"),
        ("TUTESTCD", "Tumor Identification Short Name"),
        ("TUTEST", "Tumor Identification Test Name"),
        ("TUORRES", "Tumor Identification Result"),
        ("TULOC", "Location of the Tumor"),
        ("TUMETHOD", "Method of Identification"),
        ("TUEVAL", "Evaluator"),
        ("TUDTC", "Date/Time of Tumor Identification"),
    ),
    "TR": (
        ("TRSEQ", "Sequence Number"),
        ("TRLNKID", "Link ID"),
        ("TRTESTCD", "Tumor Assessment Short Name"),
        ("TRTEST", "Tumor Assessment Test Name"),
        ("TRCAT", "Category for Tumor Assessment"),
        ("TRORRES", "Result or Finding in Original Units"),
        ("TRORRESU", "Original Units"),
        ("TRSTRESN", "Numeric Result/Finding in Standard Units"),
        ("TRSTRESU", "Standard Units"),
        ("TRMETHOD", "Method Used to Identify the Tumor"),
        ("TRDTC", "Date/Time of Tumor Measurement"),
    ),
    "RS": (
        ("RSSEQ", "Sequence Number"),
        ("RSTESTCD", "Assessment Short Name"),
        ("RSTEST", "Assessment Name"),
        ("RSCAT", "Category for Assessment"),
        ("RSORRES", "Result or Finding in Original Units"),
        ("RSSTRESC", "Character Result/Finding in Std Format"),
        ("RSEVAL", "Evaluator"),
        ("RSDTC", "Date/Time of Assessment"),
    ),
}
"""Each domain's variables after STUDYID, DOMAIN, USUBJID, with their SDTM labels."""

DATASET_LABELS: dict[str, str] = {
    "DM": "Demographics",
    "DS": "Disposition",
    "IE": "Inclusion/Exclusion Criteria Not Met",
    "EX": "Exposure",
    "PR": "Procedures",
    "AE": "Adverse Events",
    "LB": "Laboratory Test Results",
    "VS": "Vital Signs",
    "CM": "Concomitant/Prior Medications",
    "SV": "Subject Visits",
    "TU": "Tumor/Lesion Identification",
    "TR": "Tumor/Lesion Results",
    "RS": "Disease Response and Clin Classification",
}
COMMON_LABELS = {
    "STUDYID": "Study Identifier",
    "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier",
}
NUMERIC: frozenset[str] = frozenset(
    {"AGE", "EXDOSE", "PRDOSE", "LBSTRESN", "VSSTRESN", "TRSTRESN", "SVSTDY"}
    | {f"{domain}SEQ" for domain in VARIABLES}
)
"""Numeric variables (all others are text)."""

_LAB_CODES = {
    "bilirubin": "BILI",
    "neutrophils": "NEUT",
    "platelets": "PLAT",
    "hemoglobin": "HGB",
    "lymphocytes": "LYM",
    "creatinine": "CREAT",
    "albumin": "ALB",
    "inr": "INR",
    "afp": "AFP",
    "CD4_CD8_ratio": "CD4CD8R",
    "Treg": "TREG",
    "IFN_gamma": "IFNG",
    "TNF_alpha": "TNFA",
}
_LAB_CATEGORIES = {
    "neutrophils": "HEMATOLOGY",
    "platelets": "HEMATOLOGY",
    "hemoglobin": "HEMATOLOGY",
    "lymphocytes": "HEMATOLOGY",
    "inr": "COAGULATION",
    "afp": "TUMOR MARKER",
}
_VITALS = {
    "SYSBP": ("Systolic Blood Pressure", "mmHg"),
    "DIABP": ("Diastolic Blood Pressure", "mmHg"),
    "PULSE": ("Pulse Rate", "beats/min"),
    "RESP": ("Respiratory Rate", "breaths/min"),
    "TEMP": ("Temperature", "C"),
    "OXYSAT": ("Oxygen Saturation", "%"),
    "WEIGHT": ("Weight", "kg"),
}
_RESPONSE_CODES = {"NON_CR_NON_PD": "NON-CR/NON-PD"}
_RS_TESTS = (
    ("TRGRESP", "Target Response", "target_response"),
    ("NTRGRESP", "Non-target Response", "non_target_response"),
    ("NEWLPROG", "New Lesion Progression", "new_lesions"),
    ("OVRLRESP", "Overall Response", "overall_response"),
)


def response_code(code: str) -> str:
    """A response as CDISC spells it (``NON_CR_NON_PD`` -> ``NON-CR/NON-PD``)."""
    return _RESPONSE_CODES.get(code, code)


def lab_test_code(test: str) -> str:
    """The <= 8 character LBTESTCD of a lab test or immune analyte."""
    code = _LAB_CODES.get(test, re.sub(r"[^A-Z0-9]", "", test.upper()))
    if not code or len(code) > NAME_MAX:
        raise InputError("test", f"{test!r} has no SDTM test code of at most {NAME_MAX} characters")
    return code


def lab_category(test: str) -> str:
    """LBCAT of a lab test (the immune panel is read as ``IMMUNE PANEL`` by the caller)."""
    return _LAB_CATEGORIES.get(test, "CHEMISTRY")


def _day(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def yes_no(flag: bool) -> str:
    """CDISC's Y / N for a flag (SDTM and ADaM alike)."""
    return "Y" if flag else "N"


def _number_text(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _sequenced(
    domain: str, subject: TrialSubject, ctx: AnalysisContext, rows: Iterable[Record]
) -> list[Record]:
    """Rows with the common keys and --SEQ 1, 2, ... in the order given."""
    head = {"STUDYID": ctx.study_id, "DOMAIN": domain, "USUBJID": ctx.usubjid(subject.subject_key)}
    return [{**head, f"{domain}SEQ": seq, **row} for seq, row in enumerate(rows, start=1)]


def dm_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Demographics; the birth date is exported as its year only (pseudonymous)."""
    arm = subject.arm
    assert arm is not None
    actual = populations(subject, ctx).actual_arm
    first, last = first_treatment_date(subject), last_treatment_date(subject)
    infusions = sorted(subject.infusions, key=lambda i: i.started_at)
    end = subject.exit.exit_date if subject.exit else None
    return [
        {
            "STUDYID": ctx.study_id,
            "DOMAIN": "DM",
            "USUBJID": ctx.usubjid(subject.subject_key),
            "SUBJID": subject.subject_key,
            "RFSTDTC": _day(first),
            "RFENDTC": _day(end or last),
            "RFXSTDTC": _day(infusions[0].started_at) if infusions else None,
            "RFXENDTC": _day(infusions[-1].stopped_at) if infusions else None,
            "RFICDTC": _day(subject.consent_date),
            "DTHDTC": _day(subject.death_date),
            "DTHFL": "Y" if subject.death_date else None,
            "SITEID": subject.site,
            "BRTHDTC": f"{subject.birth_date.year:04d}" if subject.birth_date else None,
            "AGE": subject.age,
            "AGEU": "YEARS" if subject.age is not None else None,
            "SEX": subject.sex,
            "ARMCD": arm,
            "ARM": ctx.arms[arm],
            "ACTARMCD": actual or "NOTTRT",
            "ACTARM": ctx.arms[actual] if actual else "Not Treated",
        }
    ]


def ds_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Consent and randomization milestones, then the end-of-study disposition."""
    rows: list[Record] = []
    if subject.consent_date is not None:
        rows.append(_ds("INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", subject.consent_date))
    rows.append(_ds("RANDOMIZED", "PROTOCOL MILESTONE", randomization_date(subject)))
    exit_ = subject.exit
    if exit_ is not None:
        term = "COMPLETED" if exit_.status == "completed" else exit_.reason.replace("_", " ")
        rows.append(_ds(term.upper() or "WITHDRAWN", "DISPOSITION EVENT", exit_.exit_date))
        if exit_.death_date is not None and term.upper() != "DEATH":
            rows.append(_ds("DEATH", "OTHER EVENT", exit_.death_date))
    return _sequenced("DS", subject, ctx, rows)


def _ds(term: str, category: str, day: dt.date) -> Record:
    return {"DSTERM": term, "DSDECOD": term, "DSCAT": category, "DSSTDTC": day.isoformat()}


def ie_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Only the criteria not met (an inclusion failed or an exclusion present)."""
    rows = []
    for criterion in subject.criteria:
        if criterion.result != "fail":
            continue
        inclusion = criterion.kind == "inclusion"
        answer = "N" if inclusion else "Y"
        rows.append(
            {
                "IETESTCD": ie_test_code(criterion.id),
                "IETEST": " ".join(criterion.text.split()),
                "IECAT": "INCLUSION" if inclusion else "EXCLUSION",
                "IEORRES": answer,
                "IESTRESC": answer,
                "IEDTC": _day(subject.screening_date),
            }
        )
    return _sequenced("IE", subject, ctx, rows)


def ex_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """One record per IKC infusion."""
    rows = [
        {
            "EXSPID": f"INFUSION {infusion.number}",
            "EXTRT": "IKC",
            "EXDOSE": infusion.cells_infused,
            "EXDOSU": "CELLS",
            "EXDOSFRM": "SUSPENSION",
            "EXROUTE": "INTRAVENOUS",
            "EXLOT": infusion.lot_id,
            "EXSTDTC": infusion.started_at.isoformat(timespec="minutes"),
            "EXENDTC": infusion.stopped_at.isoformat(timespec="minutes"),
        }
        for infusion in sorted(subject.infusions, key=lambda i: i.started_at)
    ]
    return _sequenced("EX", subject, ctx, rows)


def pr_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """One record per TACE session (first and repeat)."""
    rows = [
        {
            "PRTRT": "TRANSARTERIAL CHEMOEMBOLIZATION",
            "PRCAT": "FIRST TACE" if index == 0 else "REPEAT TACE",
            "PRSCAT": session.technique,
            "PRDOSE": session.dose_mg,
            "PRDOSU": "mg" if session.dose_mg is not None else None,
            "PRSTDTC": session.performed_on.isoformat(),
        }
        for index, session in enumerate(sorted(subject.tace, key=lambda t: t.performed_on))
    ]
    return _sequenced("PR", subject, ctx, rows)


def ae_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Adverse events with the six seriousness criteria and relatedness to IKC."""
    rows = [
        {
            "AETERM": event.verbatim_term,
            "AEDECOD": event.ctcae_term,
            "AETOXGR": str(event.grade),
            "AESER": yes_no(event.serious),
            "AESDTH": yes_no(event.results_in_death),
            "AESLIFE": yes_no(event.life_threatening),
            "AESHOSP": yes_no(event.hospitalization),
            "AESDISAB": yes_no(event.disability),
            "AESCONG": yes_no(event.congenital_anomaly),
            "AESMIE": yes_no(event.medically_important),
            "AEREL": "RELATED" if event.related_ikc else "NOT RELATED",
            "AEOUT": event.outcome.replace("_", " ").upper() or None,
            "AESTDTC": event.onset_date.isoformat(),
            "AEENDTC": _day(event.end_date),
        }
        for event in sorted(subject.adverse_events, key=lambda e: (e.onset_date, e.ctcae_term))
    ]
    return _sequenced("AE", subject, ctx, rows)


def _range_indicator(value: float | None, low: float | None, high: float | None) -> str | None:
    if value is None:
        return None
    if low is not None and value < low:
        return "LOW"
    if high is not None and value > high:
        return "HIGH"
    return "NORMAL" if low is not None or high is not None else None


def lb_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Labs and the immune panel (flow cytometry); a value below LLOQ is kept as ``<LLOQ``."""
    rows = []
    for lab in sorted(subject.labs, key=lambda v: (v.collected_on, v.test, v.unit)):
        immune = lab.category == "IMMUNE PANEL"
        result = f"<{lab.lloq:g}" if lab.below_lloq and lab.lloq is not None else None
        rows.append(
            {
                "LBTESTCD": lab_test_code(lab.test),
                "LBTEST": lab.test,
                "LBCAT": lab.category,
                "LBORRES": result or _number_text(lab.value),
                "LBORRESU": lab.unit or None,
                "LBORNRLO": _number_text(lab.lln),
                "LBORNRHI": _number_text(lab.uln),
                "LBSTRESN": None if lab.below_lloq else lab.value,
                "LBSTRESU": lab.unit or None,
                "LBNRIND": _range_indicator(lab.value, lab.lln, lab.uln),
                "LBTOXGR": None if lab.grade is None else str(lab.grade),
                "LBMETHOD": "FLOW CYTOMETRY" if immune and not lab.unit.startswith("pg") else None,
                "LBDTC": lab.collected_on.isoformat(),
            }
        )
    return _sequenced("LB", subject, ctx, rows)


def vs_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """One record per vital sign measured, with the infusion time point in VSTPT."""
    rows = []
    for vitals in sorted(subject.vitals, key=lambda v: v.measured_at):
        for code, (name, unit) in _VITALS.items():
            value = vitals.values.get(code)
            if value is None:
                continue
            rows.append(
                {
                    "VSTESTCD": code,
                    "VSTEST": name,
                    "VSORRES": _number_text(value),
                    "VSORRESU": unit,
                    "VSSTRESN": value,
                    "VSSTRESU": unit,
                    "VSTPT": vitals.timepoint.replace("_", " ").upper() or None,
                    "VSDTC": vitals.measured_at.isoformat(timespec="minutes"),
                }
            )
    return _sequenced("VS", subject, ctx, rows)


def cm_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Concomitant medications; new anticancer therapy has its own category (PFS rule 3)."""
    rows = [
        {
            "CMTRT": med.name,
            "CMCAT": "ANTICANCER THERAPY" if med.anticancer_therapy else "CONCOMITANT MEDICATION",
            "CMINDC": med.indication,
            "CMDOSTXT": med.dose or None,
            "CMROUTE": med.route.upper() or None,
            "CMSTDTC": med.start_date.isoformat(),
            "CMENDTC": _day(med.end_date),
        }
        for med in sorted(subject.medications, key=lambda m: (m.start_date, m.name))
    ]
    return _sequenced("CM", subject, ctx, rows)


def sv_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Visits as done; an out-of-window visit says so in SVUPDES (domain.md 1.5)."""
    head = {"STUDYID": ctx.study_id, "DOMAIN": "SV", "USUBJID": ctx.usubjid(subject.subject_key)}
    return [
        {
            **head,
            "VISIT": visit.code.upper(),
            "SVSTDTC": visit.done_on.isoformat(),
            "SVENDTC": visit.done_on.isoformat(),
            "SVSTDY": visit.study_day,
            "SVUPDES": "OUT OF WINDOW" if visit.out_of_window else None,
        }
        for visit in sorted(subject.visits, key=lambda v: v.done_on)
    ]


def tu_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Each lesion once, at the first assessment that shows it (TARGET, NON-TARGET, NEW)."""
    seen: set[str] = set()
    rows = []
    for assessment in sorted(subject.assessments, key=lambda a: a.assessed_on):
        for lesion in assessment.lesions:
            if lesion.id in seen:
                continue
            seen.add(lesion.id)
            rows.append(
                {
                    "TULNKID": lesion.id,
                    "TUTESTCD": "TUMIDENT",
                    "TUTEST": "Tumor Identification",
                    "TUORRES": lesion.role,
                    "TULOC": lesion.organ.upper(),
                    "TUMETHOD": assessment.modality or None,
                    "TUEVAL": "INVESTIGATOR",
                    "TUDTC": assessment.assessed_on.isoformat(),
                }
            )
    return _sequenced("TU", subject, ctx, rows)


def tr_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Lesion measurements (RECIST 1.1 diameters, mRECIST viable diameters), lesion states and
    the derived sums, by TRCAT."""
    rows: list[Record] = []
    for assessment in sorted(subject.assessments, key=lambda a: a.assessed_on):
        day = assessment.assessed_on.isoformat()
        method = assessment.modality or None
        for criteria in ctx.criteria:
            category = CRITERION_CATEGORY[criteria]
            viable = criteria == "mRECIST"
            for lesion in assessment.lesions:
                if lesion.role == "TARGET":
                    size = lesion.viable_diameter_mm if viable else lesion.diameter_mm
                    if viable:
                        code, name = "VIABDIAM", "Viable Tumor Longest Diameter"
                    elif lesion.nodal:
                        code, name = "LPERP", "Longest Perpendicular"
                    else:
                        code, name = "LDIAM", "Longest Diameter"
                    rows.append(
                        _tr(lesion.id, code, name, category, _number_text(size), size, day, method)
                    )
                elif lesion.status:
                    state = lesion.status.replace("_", " ").upper()
                    rows.append(
                        _tr(
                            lesion.id, "TUMSTATE", "Tumor State", category, state, None, day, method
                        )
                    )
            call = assessment.response(criteria)
            if call is not None and call.sum_mm is not None:
                rows.append(
                    _tr(
                        None,
                        "SUMDIAM",
                        "Sum of Diameter",
                        category,
                        _number_text(call.sum_mm),
                        call.sum_mm,
                        day,
                        method,
                    )
                )
    return _sequenced("TR", subject, ctx, rows)


def _tr(
    link: str | None,
    code: str,
    name: str,
    category: str,
    result: str | None,
    number: float | None,
    day: str,
    method: str | None,
) -> Record:
    measured = number is not None or (result is not None and code != "TUMSTATE")
    return {
        "TRLNKID": link,
        "TRTESTCD": code,
        "TRTEST": name,
        "TRCAT": category,
        "TRORRES": result if result is not None else "NOT EVALUATED",
        "TRORRESU": "mm" if measured else None,
        "TRSTRESN": number,
        "TRSTRESU": "mm" if measured else None,
        "TRMETHOD": method,
        "TRDTC": day,
    }


def _response_rows(
    call: CriterionResponse, category: str, evaluator: str, day: str
) -> list[Record]:
    """The RS rows of one call: target, non-target, new-lesion and overall response."""
    rows = []
    for code, name, attribute in _RS_TESTS:
        value = str(getattr(call, attribute))
        if not value:
            continue
        value = (
            ("Y" if value == "unequivocal" else "N") if code == "NEWLPROG" else response_code(value)
        )
        rows.append(
            {
                "RSTESTCD": code,
                "RSTEST": name,
                "RSCAT": category,
                "RSORRES": value,
                "RSSTRESC": value,
                "RSEVAL": evaluator,
                "RSDTC": day,
            }
        )
    return rows


def rs_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Target, non-target, new-lesion and overall response per time point, RSCAT per criterion
    (RECIST 1.1 and mRECIST); the baseline time point has no response. RSEVAL tells the
    investigator's series from the blinded central reader's (domain.md 10.1), which follows."""
    rows = []
    evaluators = {
        "INVESTIGATOR": subject.assessments,
        "INDEPENDENT ASSESSOR": subject.central_assessments,
    }
    for evaluator, series in evaluators.items():
        for assessment in sorted(series, key=lambda a: a.assessed_on):
            for criteria in ctx.criteria:
                call = assessment.response(criteria)
                if call is not None and call.overall_response != "BASELINE":
                    category = CRITERION_CATEGORY[criteria]
                    day = assessment.assessed_on.isoformat()
                    rows += _response_rows(call, category, evaluator, day)
    return _sequenced("RS", subject, ctx, rows)


SDTM_BUILDERS: dict[str, Callable[[TrialSubject, AnalysisContext], list[Record]]] = {
    "DM": dm_records,
    "DS": ds_records,
    "IE": ie_records,
    "EX": ex_records,
    "PR": pr_records,
    "AE": ae_records,
    "LB": lb_records,
    "VS": vs_records,
    "CM": cm_records,
    "SV": sv_records,
    "TU": tu_records,
    "TR": tr_records,
    "RS": rs_records,
}
"""Per-subject record builders of the subject-level SDTM domains."""


def columns(domain: str) -> list[str]:
    """The variables of a domain in order (SV has no DOMAIN-prefixed sequence)."""
    return [*_COMMON, *(name for name, _ in VARIABLES[domain])]


def column_labels(domain: str) -> dict[str, str]:
    """Variable labels of a domain, as ``write_xpt`` takes them."""
    return {**COMMON_LABELS, **dict(VARIABLES[domain])}


def domain_frame(domain: str, records: list[Record]) -> pd.DataFrame:
    """Records as the domain's DataFrame: every variable, numbers typed, text as objects."""
    names = columns(domain)
    frame = pd.DataFrame.from_records(records, columns=names)
    for name in names:
        if name in NUMERIC:
            frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
        else:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame.attrs["dataset_label"] = DATASET_LABELS[domain]
    frame.attrs["column_labels"] = column_labels(domain)
    return frame


def sdtm_datasets(
    subjects: Iterable[TrialSubject], ctx: AnalysisContext
) -> dict[str, pd.DataFrame]:
    """Every subject-level SDTM domain from a stream of subjects (each checked first)."""
    gathered: dict[str, list[Record]] = {name: [] for name in SDTM_BUILDERS}
    for subject in subjects:
        check_subject(subject)
        for name, build in SDTM_BUILDERS.items():
            gathered[name].extend(build(subject, ctx))
    return {name: domain_frame(name, records) for name, records in gathered.items()}
