"""The safety section: treatment-emergent adverse events by worst CTCAE grade and arm, in the safety
population by treatment received (domain.md 6.1, 7.7), from ``tables.ae_table_by_worst_grade``."""

from __future__ import annotations

from ikctrial.errors import InputError
from ikctrial.report.document import Section, not_estimable, note
from ikctrial.report.html import table_html
from ikctrial.report.sections.data import AnalysisData
from ikctrial.report.tables import ae_table_by_worst_grade


def safety_section(data: AnalysisData) -> Section:
    """Patients with an AE per term at their worst grade, n (%) of the arm's safety population."""
    title = "Adverse events"
    try:
        table = ae_table_by_worst_grade(
            data.dataset("ADAE"),
            data.dataset("ADSL"),
            arm="TRT01A",
            arm_order=list(data.arms),
            term="AEDECOD",
            grade="AETOXGR",
            population="SAFFL",
            emergent="TRTEMFL",
        )
    except InputError as error:
        return Section("safety", title, not_estimable("Adverse-event table", str(error)))
    body = '<div class="wide">' + table_html(
        table,
        caption="Treatment-emergent adverse events by worst CTCAE v5.0 grade (safety population)",
    )
    body += "</div>"
    body += note(
        "Each patient is counted once per row, at the worst grade; percentages are of the arm's "
        "safety population (N in the header), arms by treatment received. Treatment-emergent: "
        "onset on or after the first study treatment (ADAE TRTEMFL)."
    )
    return Section("safety", title, body)
