"""Translatable display labels for codes the core and services return (never a rule)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ikctrial.clinical.visit_schedule import PlannedVisit, VisitKind

ROLE: dict[str, Promise] = {
    "investigator": _("investigator"),
    "coordinator": _("study coordinator"),
    "cell_lab": _("cell lab"),
    "qa": _("quality assurance"),
    "pharmacist": _("pharmacist"),
    "data_manager": _("data manager"),
    "monitor": _("monitor"),
    "statistician": _("statistician"),
    "admin": _("administrator"),
    "reader": _("independent radiology reader"),
}

SUBJECT_STATUS: dict[str, Promise] = {
    "screened": _("screened, not consented"),
    "screen_failed": _("screen failed"),
    "consented": _("consented"),
    "randomized": _("randomized"),
    "randomized_in_error": _("randomized in error"),
}

CRITERION_RESULT: dict[str, Promise] = {
    "pass": _("pass"),
    "fail": _("fail"),
    "unknown": _("unknown"),
}

CRITERION_NAME: dict[str, Promise] = {
    "I1_age": _("Age 20 to 79 years"),
    "I2_hcc_diagnosis": _("HCC diagnosed"),
    "I3_bclc": _("BCLC stage B or C"),
    "I4_no_prior_tace": _("No previous TACE"),
    "I5_child_pugh": _("Child-Pugh A or B"),
    "I6_ecog": _("ECOG 0 to 2"),
    "I7_consent": _("Signed informed consent"),
    "E1_recent_therapy": _("No anticancer therapy or other trial within 4 weeks"),
    "E2_hiv_htlv": _("Not an HIV or HTLV carrier"),
    "E3_active_infection": _("No active infection"),
    "E4_life_threatening": _("No other life-threatening disease"),
    "E5_pregnancy": _("Not pregnant or breast-feeding; contraception if needed"),
}

CRITERION_KIND: dict[str, Promise] = {"inclusion": _("inclusion"), "exclusion": _("exclusion")}

VISIT_KIND: dict[VisitKind, Promise] = {
    VisitKind.SCREENING: _("Screening"),
    VisitKind.IMMUNE_BASELINE: _("Baseline immune panel"),
    VisitKind.RANDOMIZATION: _("Randomization"),
    VisitKind.FIRST_TACE: _("First TACE"),
    VisitKind.IMAGING: _("Tumor imaging %(number)s"),
    VisitKind.IMMUNE_PANEL: _("Immune panel %(number)s"),
    VisitKind.BLOOD_DRAW: _("Blood draw for lot %(number)s"),
    VisitKind.INFUSION: _("IKC infusion %(number)s"),
    VisitKind.END_OF_STUDY: _("End of study"),
}

VISIT_STATUS: dict[str, Promise] = {
    "upcoming": _("upcoming"),
    "due": _("due"),
    "overdue": _("overdue"),
    "done": _("done"),
    "out_of_window": _("out of window"),
}


def visit_label(visit: PlannedVisit) -> str:
    """The visit's name in the active language, with its number where it has one."""
    label = str(VISIT_KIND[visit.kind])
    return label % {"number": visit.number} if visit.number is not None else label
