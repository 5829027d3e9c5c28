"""The population sections: the CONSORT flow diagram and the baseline characteristics by arm (ITT),
from ``figures.consort`` and ``tables.baseline_characteristics``."""

from __future__ import annotations

import pandas as pd

from ikctrial.analysis.adam.metadata import CODELISTS
from ikctrial.errors import InputError
from ikctrial.report.document import Section, figure, not_estimable, note
from ikctrial.report.figures.consort import ConsortCounts, consort_figure
from ikctrial.report.figures.style import require
from ikctrial.report.html import table_html
from ikctrial.report.sections.data import AnalysisData
from ikctrial.report.tables import baseline_characteristics


def consort_section(counts: ConsortCounts) -> Section:
    """The CONSORT 2010 flow of patients through the trial."""
    body = figure(
        consort_figure(counts),
        title="CONSORT flow diagram",
        caption=f"{counts.screened} patients assessed for eligibility, {counts.randomized} "
        "randomized; analysed by randomized arm (ITT).",
    )
    return Section("consort", "Patient flow (CONSORT)", body)


def _decoded(values: pd.Series, codelist: str) -> pd.Series:
    """Codes written out by the ADaM codelist (unknown codes kept), in codelist order."""
    codes = CODELISTS[codelist]
    order = [codes[c] for c in codes if (values == c).any()]
    order += sorted({str(v) for v in values.dropna() if v not in codes})
    return pd.Series(
        pd.Categorical(values.map(lambda v: codes.get(v, v)), categories=order), index=values.index
    )


def baseline_section(data: AnalysisData) -> Section:
    """Age, sex, BCLC stage, Child-Pugh class, ALBI score and ECOG status by arm (ITT)."""
    title = "Baseline characteristics"
    try:
        adsl = data.adsl_itt
        require(adsl, ["AGE", "SEX", "BCLCBL", "CPCLASBL", "ALBIBL", "ECOGBL"], "ADSL")
        ecog = pd.to_numeric(adsl["ECOGBL"])
        shown = adsl.assign(
            SEX=_decoded(adsl["SEX"], "SEX"),
            BCLCBL=adsl["BCLCBL"].map(
                lambda v: f"{v} ({CODELISTS['BCLC'].get(v, '?')})", na_action="ignore"
            ),
            ECOGBL=ecog.map(lambda v: f"{v:.0f}", na_action="ignore"),
        )
        table = baseline_characteristics(
            shown,
            continuous={"AGE": "Age (years)", "ALBIBL": "ALBI score"},
            categorical={
                "SEX": "Sex",
                "BCLCBL": "BCLC stage",
                "CPCLASBL": "Child-Pugh class",
                "ECOGBL": "ECOG performance status",
            },
            arm="TRT01P",
            arm_order=list(data.arms),
        )
    except InputError as error:
        return Section("baseline", title, not_estimable("Baseline table", str(error)))
    body = table_html(table, caption="Baseline characteristics by randomized arm (ITT)")
    body += note(
        "n (%) of the arm's randomized patients; SD with n − 1; Q1 and Q3 by linear "
        "interpolation. BCLC stage (2022) and Child-Pugh class at baseline (domain.md 4.1, 4.3)."
    )
    return Section("baseline", title, body)
