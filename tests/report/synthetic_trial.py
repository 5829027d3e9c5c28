"""Small synthetic ADaM-like datasets of a two-arm trial (domain.md 10.2), built from a seeded
generator so every figure test draws from the same reproducible data, and a PNG reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

IKC = "IKC + TACE"
CONTROL = "TACE alone"
CUTOFF = date(2026, 6, 30)


@dataclass(frozen=True)
class Trial:
    """The analysis datasets of one synthetic trial."""

    adsl: pd.DataFrame
    adtte: pd.DataFrame
    adtr: pd.DataFrame
    adrs: pd.DataFrame
    adae: pd.DataFrame
    adex: pd.DataFrame


def timepoint_response(pchg: float, new_lesion: bool) -> str:
    """Overall response per time point from the % change alone (RECIST 1.1 thresholds)."""
    if new_lesion or pchg >= 20.0:
        return "PD"
    if pchg <= -100.0:
        return "CR"
    if pchg <= -30.0:
        return "PR"
    return "SD"


def _tumour_series(
    rng: np.random.Generator,
    subject: str,
    arm: str,
    randomized: date,
    follow_up_days: int,
    base_mm: float,
    drift: float,
    paramcd: str,
    criterion: str,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """ADTR and ADRS records of one patient under one criterion (scans every 56 days until PD)."""
    tr: list[dict[str, object]] = [
        {
            "USUBJID": subject,
            "TRT01P": arm,
            "RANDDT": randomized,
            "PARAMCD": paramcd,
            "ADT": randomized - timedelta(days=7),
            "AVAL": base_mm,
            "BASE": base_mm,
            "PCHG": np.nan,
            "ABLFL": "Y",
            "ANL01FL": "",
        }
    ]
    rs: list[dict[str, object]] = []
    level = 0.0
    for day in range(56, follow_up_days + 1, 56):
        level = level + drift + float(rng.normal(0.0, 12.0))
        pchg = max(round(level, 1), -100.0)
        new_lesion = bool(rng.random() < 0.06)
        response = timepoint_response(pchg, new_lesion)
        scan = randomized + timedelta(days=day)
        tr.append(
            {
                "USUBJID": subject,
                "TRT01P": arm,
                "RANDDT": randomized,
                "PARAMCD": paramcd,
                "ADT": scan,
                "AVAL": base_mm * (1 + pchg / 100),
                "BASE": base_mm,
                "PCHG": pchg,
                "ABLFL": "",
                "ANL01FL": "",
            }
        )
        rs.append(
            {
                "USUBJID": subject,
                "PARAMCD": "OVR",
                "PARCAT1": criterion,
                "ADT": scan,
                "AVALC": response,
            }
        )
        if response == "PD":
            break
    post = [r for r in tr if r["ABLFL"] != "Y"]
    if post:
        best = min(post, key=lambda r: float(r["PCHG"]))  # type: ignore[arg-type]
        best["ANL01FL"] = "Y"
        order = ["CR", "PR", "SD", "PD"]
        bor = min((r["AVALC"] for r in rs), key=lambda v: order.index(str(v)))
        rs.append(
            {"USUBJID": subject, "PARAMCD": "BOR", "PARCAT1": criterion, "ADT": None, "AVALC": bor}
        )
    return tr, rs


def make_trial(seed: int, n_per_arm: int = 30) -> Trial:
    """A two-arm trial: ADSL, PFS in ADTTE, tumour sizes (ADTR), responses (ADRS), AEs, exposure."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_arm
    arms = np.repeat([IKC, CONTROL], n_per_arm)
    subjects = [f"IVY02-{i + 1:03d}" for i in range(n)]
    start = date(2025, 1, 6)
    randomized = [start + timedelta(days=int(d)) for d in np.sort(rng.integers(0, 300, n))]
    age = rng.integers(42, 80, n)
    adsl = pd.DataFrame(
        {
            "USUBJID": subjects,
            "TRT01P": arms,
            "TRT01A": arms,
            "RANDDT": randomized,
            "AGE": age,
            "AGEGR1": np.where(age < 65, "<65", ">=65"),
            "SEX": rng.choice(["M", "F"], n, p=[0.8, 0.2]),
            "BCLC": rng.choice(["A", "B", "C"], n, p=[0.25, 0.65, 0.10]),
            "CPCLASS": rng.choice(["A", "B"], n, p=[0.8, 0.2]),
            "ECOG": rng.choice([0, 1], n, p=[0.6, 0.4]),
            "ALBI": np.round(rng.normal(-2.5, 0.4, n), 2),
            "ITTFL": "Y",
            "SAFFL": np.where(rng.random(n) < 0.95, "Y", "N"),
        }
    )
    scale = np.where(arms == IKC, 330.0, 220.0)
    progression = np.ceil(rng.exponential(scale))
    censoring = np.array([(CUTOFF - r).days + 1 for r in randomized], dtype=float)
    dropout = np.where(rng.random(n) < 0.15, np.ceil(rng.uniform(1, 200, n)), np.inf)
    follow = np.minimum(censoring, dropout)
    aval = np.minimum(progression, follow)
    cnsr = (follow < progression).astype(int)
    adtte = pd.DataFrame(
        {
            "USUBJID": subjects,
            "TRT01P": arms,
            "PARAMCD": "PFS",
            "AVAL": aval,
            "CNSR": cnsr,
            "ADT": [r + timedelta(days=int(a) - 1) for r, a in zip(randomized, aval, strict=True)],
            "EVNTDESC": np.where(cnsr == 0, "DISEASE PROGRESSION", ""),
        }
    )
    ends = [r + timedelta(days=int(f) - 1) for r, f in zip(randomized, follow, strict=True)]
    adsl["EOSSTT"] = np.where(
        np.isfinite(dropout) & (dropout < censoring), "DISCONTINUED", "ONGOING"
    )
    adsl["EOSDT"] = [
        e if s == "DISCONTINUED" else None for e, s in zip(ends, adsl["EOSSTT"], strict=True)
    ]
    tr_rows: list[dict[str, object]] = []
    rs_rows: list[dict[str, object]] = []
    for i, subject in enumerate(subjects):
        drift = -8.0 if arms[i] == IKC else -3.0
        days = int(min(aval[i], follow[i]))
        if i % 17 == 5:
            days = 30  # no post-baseline scan: excluded from waterfall and spider
        for paramcd, criterion, shift in (
            ("SUMDIAM", "RECIST 1.1", 0.0),
            ("VSUMDIAM", "MRECIST", -15.0),
        ):
            tr, rs = _tumour_series(
                rng,
                subject,
                str(arms[i]),
                randomized[i],
                days,
                float(rng.uniform(30, 120)),
                drift + shift,
                paramcd,
                criterion,
            )
            tr_rows += tr
            rs_rows += rs
    terms = ["Fatigue", "Pyrexia", "Nausea", "Abdominal pain", "ALT increased", "Anaemia"]
    ae_rows = [
        {
            "USUBJID": subjects[i],
            "TRTA": arms[i],
            "AEDECOD": str(rng.choice(terms)),
            "ATOXGR": int(rng.choice([1, 2, 3, 4, 5], p=[0.45, 0.3, 0.17, 0.06, 0.02])),
            "TRTEMFL": "Y",
        }
        for i in range(n)
        for _ in range(int(rng.poisson(2.0)))
    ]
    ex_rows: list[dict[str, object]] = []
    for i, subject in enumerate(subjects):
        end = int(follow[i])
        for day in range(1, end, int(rng.integers(90, 150))):
            ex_rows.append(
                {"USUBJID": subject, "EXTRT": "TACE", "ASTDT": randomized[i] + timedelta(days=day)}
            )
        if arms[i] == IKC:
            for day in range(8, min(end, 8 + 28 * 12), 28):
                ex_rows.append(
                    {
                        "USUBJID": subject,
                        "EXTRT": "IKC",
                        "ASTDT": randomized[i] + timedelta(days=day),
                    }
                )
    return Trial(
        adsl=adsl,
        adtte=adtte,
        adtr=pd.DataFrame(tr_rows),
        adrs=pd.DataFrame(rs_rows),
        adae=pd.DataFrame(ae_rows, columns=["USUBJID", "TRTA", "AEDECOD", "ATOXGR", "TRTEMFL"]),
        adex=pd.DataFrame(ex_rows),
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's IHDR chunk (after checking the signature)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
