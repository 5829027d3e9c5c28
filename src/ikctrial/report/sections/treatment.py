"""The treatment sections: the swimmer plot of time on study with treatment and progression
marked, and IKC exposure (infusions, cells, product timeline) by arm.

The swimmer plot draws what ADaM holds: lanes from randomization to the end of follow-up (ADTACE
``ENDDT``, domain.md 7.3: the earliest of end of study, death, withdrawal, last contact and the data
cut-off), each IKC infusion and TACE session (ADEX per-administration records) and the PFS event
(ADTTE).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ikctrial.errors import InputError
from ikctrial.report.document import Section, figure, not_estimable, note, paragraph
from ikctrial.report.figures.style import require
from ikctrial.report.figures.swimmer import swimmer_figure
from ikctrial.report.html import table_html
from ikctrial.report.sections.data import AnalysisData
from ikctrial.report.tables import baseline_characteristics

PER_ADMINISTRATION = ("IKCDOSE", "TACE")
"""ADEX parameters with one record per administration."""
INFUSIONS = "NINF"
CELLS = "TOTCELL"
PLANNED_INFUSIONS = 12
PER_PROTOCOL_INFUSIONS = 9
"""Infusions planned per patient (domain.md 1.1) and the per-protocol minimum (7.7 default)."""
CELL_SCALE = 1e9


def _exposure_parameter(adex: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """One ADEX summary record per subject of ``paramcd``, indexed by USUBJID."""
    rows = adex[adex["PARAMCD"] == paramcd]
    if rows["USUBJID"].duplicated().any():
        duplicate = rows.loc[rows["USUBJID"].duplicated(), "USUBJID"].iloc[0]
        raise InputError("ADEX.USUBJID", f"{duplicate!r} has more than one {paramcd} record")
    indexed: pd.DataFrame = rows.set_index("USUBJID")
    return indexed


def _administrations(data: AnalysisData, subjects: pd.Series) -> pd.DataFrame:
    """Marks for the swimmer plot: ADEX's per-administration records (each IKC infusion and each
    TACE session, with ``EXTRT`` and ``ASTDT``) of the patients drawn."""
    adex = data.dataset("ADEX")
    require(adex, ["USUBJID", "PARAMCD", "EXTRT", "ASTDT"], "ADEX")
    given = adex[adex["PARAMCD"].isin(PER_ADMINISTRATION) & adex["USUBJID"].isin(subjects)]
    return given[["USUBJID", "EXTRT", "ASTDT"]]


def swimmer_section(data: AnalysisData) -> Section:
    """Time on study per patient, grouped by arm, with infusions and PFS events marked."""
    title = "Time on study (swimmer plot)"
    try:
        adsl = data.adsl_itt
        require(adsl, ["RANDDT", "EOSSTT"], "ADSL")
        adtace = data.dataset("ADTACE")
        require(adtace, ["USUBJID", "ENDDT"], "ADTACE")
        end = adsl["USUBJID"].map(adtace.drop_duplicates("USUBJID").set_index("USUBJID")["ENDDT"])
        lanes = adsl.assign(EOSDT=end.where(adsl["EOSSTT"] != "ONGOING"))
        without_end = lanes["EOSDT"].isna() & (lanes["EOSSTT"] != "ONGOING")
        lanes = lanes[~without_end]
        if lanes.empty:
            raise InputError("ADTACE.ENDDT", "no patient has an end of follow-up")
        plot = swimmer_figure(
            lanes[["USUBJID", "TRT01P", "RANDDT", "EOSDT"]],
            adex=_administrations(data, lanes["USUBJID"]),
            adtte=data.itt_records("ADTTE"),
            arm="TRT01P",
            arm_order=list(data.arms),
            cutoff=data.cutoff,
        )
    except InputError as error:
        return Section("swimmer", title, not_estimable("Swimmer plot", str(error)))
    notes = [
        "Lane: randomization to the end of follow-up (ADTACE ENDDT); arrow: on study at the data "
        f"cut-off ({data.cutoff.isoformat()}). Progression and death: the PFS event (ADTTE).",
        "Marks: each IKC infusion and each TACE session (ADEX IKCDOSE and TACE records).",
    ]
    if without_end.any():
        notes.append(f"{int(without_end.sum())} patients without an ADTACE record are not shown.")
    body = figure(
        plot.figure,
        title="Time on study by arm (ITT)",
        caption="One lane per patient, longest first within arm.",
        notes=notes,
    )
    return Section("swimmer", title, body)


def _infusion_band(count: float) -> str:
    """Infusions received against the plan and the per-protocol minimum."""
    if count <= 0:
        return "None"
    if count < PER_PROTOCOL_INFUSIONS:
        return f"1–{PER_PROTOCOL_INFUSIONS - 1}"
    if count < PLANNED_INFUSIONS:
        return f"{PER_PROTOCOL_INFUSIONS}–{PLANNED_INFUSIONS - 1}"
    return f"{PLANNED_INFUSIONS} or more"


def exposure_section(data: AnalysisData) -> Section:
    """IKC infusions and cells by actual arm (safety population), and the product timeline."""
    title = "IKC exposure"
    try:
        adsl = data.dataset("ADSL")
        require(adsl, ["USUBJID", "SAFFL", "TRT01A", "RANDDT"], "ADSL")
        safety = adsl[adsl["SAFFL"] == "Y"]
        if safety.empty:
            raise InputError("ADSL.SAFFL", "no patient is in the safety population")
        adex = data.dataset("ADEX")
        require(adex, ["USUBJID", "PARAMCD", "AVAL", "ASTDT", "AENDT"], "ADEX")
        infusions = _exposure_parameter(adex, INFUSIONS).reindex(safety["USUBJID"])
        cells = _exposure_parameter(adex, CELLS)["AVAL"].reindex(safety["USUBJID"])
    except InputError as error:
        return Section("exposure", title, not_estimable("Exposure", str(error)))
    count = infusions["AVAL"].to_numpy(dtype=float)
    infused = count > 0
    first = pd.to_datetime(infusions["ASTDT"]).to_numpy()
    last = pd.to_datetime(infusions["AENDT"]).to_numpy()
    randomized = pd.to_datetime(safety["RANDDT"]).to_numpy()
    day = np.timedelta64(1, "D")
    frame = pd.DataFrame(
        {
            "TRT01A": safety["TRT01A"].to_numpy(),
            "band": [_infusion_band(c) if np.isfinite(c) else None for c in count],
            "infusions": np.where(infused, count, np.nan),
            "cells": np.where(infused, cells.to_numpy(dtype=float) / CELL_SCALE, np.nan),
            "to_first": np.where(infused, (first - randomized) / day, np.nan),
            "span": np.where(infused, (last - first) / day, np.nan),
        }
    )
    frame["band"] = pd.Categorical(
        frame["band"],
        categories=[
            "None",
            f"1–{PER_PROTOCOL_INFUSIONS - 1}",
            f"{PER_PROTOCOL_INFUSIONS}–{PLANNED_INFUSIONS - 1}",
            f"{PLANNED_INFUSIONS} or more",
        ],
    )
    table = baseline_characteristics(
        frame,
        continuous={
            "infusions": "IKC infusions received (infused patients)",
            "cells": "Viable cells infused per patient, ×10⁹ (infused patients)",
            "to_first": "Days from randomization to first infusion",
            "span": "Days from first to last infusion",
        },
        categorical={"band": "IKC infusions received"},
        arm="TRT01A",
        arm_order=list(data.arms),
        population=None,
        total=False,
    )
    body = table_html(table, caption="IKC exposure by treatment received (safety population)")
    body += note(
        f"From ADEX {INFUSIONS} (infusions received, with the first and last infusion dates) and "
        f"{CELLS} (total viable cells). {PLANNED_INFUSIONS} infusions are planned; fewer than "
        f"{PER_PROTOCOL_INFUSIONS} excludes an IKC patient from the per-protocol population "
        "(domain.md 7.7). Patients are counted in the arm of the treatment they received."
    )
    if not infused.any():
        body += paragraph("No patient in the safety population has received an IKC infusion.")
    return Section("exposure", title, body)
