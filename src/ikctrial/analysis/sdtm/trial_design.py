"""SDTM trial design domains TS, TA, TE, TV and TI generated from the protocol (domain.md 10.1).

The shapes follow the CDISC pilot (CDISCPILOT01) trial design datasets: the same variables, in the
same order, with the same labels. Every value comes from the protocol file; a parameter the protocol
does not hold (blinding, indication, sex of participants) is left out rather than guessed.

Planned study days (``VISITDY``): the protocol counts elapsed days from randomization (day 0), SDTM
study days have no day 0 and the reference start is day 1, so elapsed day ``d >= 0`` is study day
``d + 1`` and a negative elapsed day is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from pydantic import BaseModel

from ikctrial.errors import InputError
from ikctrial.protocol.model import Arm, Protocol

ETCD_MAX = 8
SCREENING_ELEMENT = "SCRN"

LABELS: dict[str, str] = {
    "STUDYID": "Study Identifier",
    "DOMAIN": "Domain Abbreviation",
    "TSSEQ": "Sequence Number",
    "TSPARMCD": "Trial Summary Parameter Short Name",
    "TSPARM": "Trial Summary Parameter",
    "TSVAL": "Parameter Value",
    "ARMCD": "Planned Arm Code",
    "ARM": "Description of Planned Arm",
    "TAETORD": "Order of Element within Arm",
    "ETCD": "Element Code",
    "ELEMENT": "Description of Element",
    "TABRANCH": "Branch",
    "TATRANS": "Transition Rule",
    "EPOCH": "Epoch",
    "TESTRL": "Rule for Start of Element",
    "TEENRL": "Rule for End of Element",
    "TEDUR": "Planned Duration of Element",
    "VISITNUM": "Visit Number",
    "VISIT": "Visit Name",
    "VISITDY": "Planned Study Day of Visit",
    "TVSTRL": "Visit Start Rule",
    "TVENRL": "Visit End Rule",
    "IETESTCD": "Incl/Excl Criterion Short Name",
    "IETEST": "Inclusion/Exclusion Criterion",
    "IECAT": "Inclusion/Exclusion Category",
    "TIRL": "Inclusion/Exclusion Criterion Rule",
}
"""SDTM variable labels of the trial design domains (as in the CDISC pilot files)."""

COLUMNS: dict[str, list[str]] = {
    "TS": ["STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL"],
    "TA": [
        "STUDYID",
        "DOMAIN",
        "ARMCD",
        "ARM",
        "TAETORD",
        "ETCD",
        "ELEMENT",
        "TABRANCH",
        "TATRANS",
        "EPOCH",
    ],
    "TE": ["STUDYID", "DOMAIN", "ETCD", "ELEMENT", "TESTRL", "TEENRL", "TEDUR"],
    "TV": ["STUDYID", "DOMAIN", "VISITNUM", "VISIT", "VISITDY", "ARMCD", "ARM", "TVSTRL", "TVENRL"],
    "TI": ["STUDYID", "DOMAIN", "IETESTCD", "IETEST", "IECAT", "TIRL"],
}

DATASET_LABELS: dict[str, str] = {
    "TS": "Trial Summary",
    "TA": "Trial Arms",
    "TE": "Trial Elements",
    "TV": "Trial Visits",
    "TI": "Trial Inclusion/Exclusion Criteria",
}

_PHASES = {"I", "I/II", "II", "II/III", "III", "IV"}
_CONTROL_TYPES = {
    "active_comparator": "ACTIVE",
    "placebo_comparator": "PLACEBO",
    "sham_comparator": "SHAM",
    "no_intervention": "NONE",
}


def study_day(elapsed_day: int) -> int:
    """SDTM planned study day of an elapsed day from randomization (no day 0)."""
    return elapsed_day + 1 if elapsed_day >= 0 else elapsed_day


def ie_test_code(criterion_id: str) -> str:
    """IETESTCD of a criterion id: ``I1_age`` -> ``IN01``, ``E5_pregnancy`` -> ``EX05``."""
    prefix = {"I": "IN", "E": "EX"}.get(criterion_id[:1])
    number = criterion_id[1:].split("_", 1)[0]
    if prefix is None or not number.isdigit():
        raise InputError("criterion_id", f"{criterion_id!r} is not an I<n>_ or E<n>_ criterion id")
    return f"{prefix}{int(number):02d}"


def _frame(domain: str, rows: list[dict[str, object]], study_id: str) -> pd.DataFrame:
    records = [{"STUDYID": study_id, "DOMAIN": domain, **row} for row in rows]
    return pd.DataFrame.from_records(records, columns=COLUMNS[domain])


def trial_summary(protocol: Protocol) -> pd.DataFrame:
    """TS: one row per parameter value (TSSEQ numbers repeated parameters from 1)."""
    if protocol.phase not in _PHASES:
        raise InputError("phase", f"{protocol.phase!r} is not one of {', '.join(sorted(_PHASES))}")
    if not any(a.type == "experimental" for a in protocol.arms):
        raise InputError("arms", "no experimental arm: the investigational treatment is unclear")
    comparators = [a for a in protocol.arms if a.type in _CONTROL_TYPES]
    total = sum(protocol.allocation_ratio)
    experimental_share = sum(
        ratio
        for arm, ratio in zip(protocol.arms, protocol.allocation_ratio, strict=True)
        if arm.type == "experimental"
    )
    age = protocol.eligibility.age
    parameters: list[tuple[str, str, Iterable[str]]] = [
        ("TITLE", "Trial Title", [protocol.title]),
        ("REGID", "Registry Identifier", [protocol.nct_id]),
        ("SPONSOR", "Clinical Study Sponsor", [protocol.sponsor]),
        ("STYPE", "Study Type", ["INTERVENTIONAL"]),
        ("TPHASE", "Trial Phase Classification", [f"PHASE {protocol.phase} TRIAL"]),
        ("INTMODEL", "Intervention Model", ["PARALLEL"]),
        ("NARMS", "Planned Number of Arms", [str(len(protocol.arms))]),
        ("PLANSUB", "Planned Number of Subjects", [str(protocol.target_enrollment)]),
        ("RANDOM", "Trial is Randomized", ["Y"]),
        ("RANDQT", "Randomization Quotient", [f"{experimental_share / total:g}"]),
        (
            "STRATFCT",
            "Stratification Factor",
            [f.name.upper() for f in protocol.randomization.stratification_factors],
        ),
        ("TRT", "Investigational Therapy or Treatment", [protocol.product.name]),
        ("COMPTRT", "Comparative Treatment Name", [a.name for a in comparators]),
        ("TCNTRL", "Control Type", sorted({_CONTROL_TYPES[a.type] for a in comparators})),
        ("AGEMIN", "Planned Minimum Age of Subjects", [f"P{age.min_age}Y"]),
        ("AGEMAX", "Planned Maximum Age of Subjects", [f"P{age.max_age_exclusive - 1}Y"]),
        ("LENGTH", "Trial Length", [f"P{protocol.schedule.eos_day}D"]),
        ("OUTMSPRI", "Primary Outcome Measure", [e.name for e in protocol.endpoints.primary]),
        ("OUTMSSEC", "Secondary Outcome Measure", [e.name for e in protocol.endpoints.secondary]),
    ]
    rows = [
        {"TSSEQ": float(seq), "TSPARMCD": code, "TSPARM": name, "TSVAL": value}
        for code, name, values in parameters
        for seq, value in enumerate(values, start=1)
    ]
    return _frame("TS", rows, protocol.sponsor_study_id)


def _arm_element_code(arm: Arm, index: int) -> str:
    if len(arm.code) > ETCD_MAX:
        raise InputError(
            f"arms[{index}].code", f"{arm.code!r} is longer than {ETCD_MAX} (SDTM ETCD limit)"
        )
    return arm.code


def trial_elements(protocol: Protocol) -> pd.DataFrame:
    """TE: screening, then one treatment element per arm lasting to the end-of-study visit."""
    schedule = protocol.schedule
    rows: list[dict[str, object]] = [
        {
            "ETCD": SCREENING_ELEMENT,
            "ELEMENT": "Screening",
            "TESTRL": "Informed consent",
            "TEENRL": (
                "Randomization, no more than "
                f"{schedule.screening_window_days} days after the start of screening"
            ),
            "TEDUR": "",
        }
    ]
    for index, arm in enumerate(protocol.arms):
        rows.append(
            {
                "ETCD": _arm_element_code(arm, index),
                "ELEMENT": arm.name,
                "TESTRL": f"Randomization to {arm.name}",
                "TEENRL": f"End-of-study visit (day {schedule.eos_day} after randomization)",
                "TEDUR": f"P{schedule.eos_day}D",
            }
        )
    return _frame("TE", rows, protocol.sponsor_study_id)


def trial_arms(protocol: Protocol) -> pd.DataFrame:
    """TA: per arm, the screening element (branching at randomization) then the arm's element."""
    rows: list[dict[str, object]] = []
    for index, arm in enumerate(protocol.arms):
        rows.append(
            {
                "ARMCD": arm.code,
                "ARM": arm.name,
                "TAETORD": 1.0,
                "ETCD": SCREENING_ELEMENT,
                "ELEMENT": "Screening",
                "TABRANCH": f"Randomized to {arm.name}",
                "TATRANS": "",
                "EPOCH": "SCREENING",
            }
        )
        rows.append(
            {
                "ARMCD": arm.code,
                "ARM": arm.name,
                "TAETORD": 2.0,
                "ETCD": _arm_element_code(arm, index),
                "ELEMENT": arm.name,
                "TABRANCH": "",
                "TATRANS": "",
                "EPOCH": "TREATMENT",
            }
        )
    return _frame("TA", rows, protocol.sponsor_study_id)


@dataclass
class _PlannedVisit:
    """Everything planned on one elapsed day, and which arms it is for (empty: all arms)."""

    day: int
    activities: list[str] = field(default_factory=list)
    arms: set[str] = field(default_factory=set)
    all_arms: bool = False


def _planned_visits(protocol: Protocol) -> list[_PlannedVisit]:
    schedule = protocol.schedule
    by_day: dict[int, _PlannedVisit] = {}

    def add(day: int, activity: str, arms: Iterable[str] | None) -> None:
        visit = by_day.setdefault(day, _PlannedVisit(day))
        visit.activities.append(activity)
        if arms is None:
            visit.all_arms = True
        else:
            visit.arms.update(arms)

    experimental = [a.code for a in protocol.arms if a.type == "experimental"]
    for infusion in schedule.infusion_plan:
        add(
            infusion.target_day,
            f"IKC infusion {infusion.number} (+/- {infusion.window_days} days)",
            experimental,
        )
    for number, day in enumerate(schedule.imaging_days, start=1):
        add(day, f"tumor imaging {number} (+/- {schedule.imaging_window_days} days)", None)
    for number, panel in enumerate(schedule.immune_panel_days, start=1):
        add(panel.day, f"immune panel {number} (+/- {panel.window_days} days)", None)
    return [by_day[day] for day in sorted(by_day)]


def trial_visits(protocol: Protocol) -> pd.DataFrame:
    """TV: screening, randomization, first TACE, one visit per planned day, end of study."""
    schedule = protocol.schedule
    arm_names = {a.code: a.name for a in protocol.arms}
    rows: list[dict[str, object]] = [
        {
            "VISIT": "SCREENING",
            "VISITDY": float("nan"),
            "ARMCD": "",
            "TVSTRL": f"Informed consent; up to {schedule.screening_window_days} days before "
            "randomization",
            "TVENRL": "Randomization",
        },
        {
            "VISIT": "RANDOMIZATION",
            "VISITDY": float(study_day(0)),
            "ARMCD": "",
            "TVSTRL": "Eligibility confirmed",
            "TVENRL": "Arm assigned",
        },
        {
            "VISIT": "FIRST TACE",
            "VISITDY": float("nan"),
            "ARMCD": "",
            "TVSTRL": f"Within {schedule.first_tace_window_days} days after randomization",
            "TVENRL": "End of the TACE procedure",
        },
    ]
    for visit in _planned_visits(protocol):
        arms = [""] if visit.all_arms else sorted(visit.arms)
        for arm in arms:
            rows.append(
                {
                    "VISIT": f"DAY {visit.day}",
                    "VISITDY": float(study_day(visit.day)),
                    "ARMCD": arm,
                    "TVSTRL": f"Day {visit.day} after randomization: "
                    + "; ".join(visit.activities),
                    "TVENRL": "",
                }
            )
    rows.append(
        {
            "VISIT": "END OF STUDY",
            "VISITDY": float(study_day(schedule.eos_day)),
            "ARMCD": "",
            "TVSTRL": f"Day {schedule.eos_day} after randomization "
            f"(+/- {schedule.eos_window_days} days)",
            "TVENRL": "",
        }
    )
    visit_numbers = {
        name: float(n) for n, name in enumerate(dict.fromkeys(r["VISIT"] for r in rows), 1)
    }
    for row in rows:
        row["VISITNUM"] = visit_numbers[str(row["VISIT"])]
        row["ARM"] = arm_names.get(str(row["ARMCD"]), "")
    return _frame("TV", rows, protocol.sponsor_study_id)


def _rule_text(params: BaseModel) -> str:
    """A criterion's protocol parameters as ``name=value`` pairs (the computable rule inputs)."""
    values = params.model_dump()
    return "; ".join(
        f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in values.items()
    )


def trial_inclusion_exclusion(protocol: Protocol) -> pd.DataFrame:
    """TI: the twelve criteria with IETESTCD IN01..IN07 / EX01..EX05 and the rule parameters."""
    rows: list[dict[str, object]] = [
        {
            "IETESTCD": ie_test_code(criterion.id),
            "IETEST": " ".join(criterion.text.split()),
            "IECAT": criterion.kind.upper(),
            "TIRL": _rule_text(criterion.params),
        }
        for criterion in protocol.eligibility.criteria
    ]
    return _frame("TI", rows, protocol.sponsor_study_id)


def trial_design_datasets(protocol: Protocol) -> dict[str, pd.DataFrame]:
    """All five trial design domains, keyed by domain name."""
    return {
        "TS": trial_summary(protocol),
        "TA": trial_arms(protocol),
        "TE": trial_elements(protocol),
        "TV": trial_visits(protocol),
        "TI": trial_inclusion_exclusion(protocol),
    }
