"""Forms of the case report form pages: each shapes its fields into the form's entry.

A form only turns page input into the entry of ``ikctrial.web.crf.entries`` (field names are the
entry's and the model's, so a service ``InputError`` and a data query land on the right field).
Every rule (allowed values, dates against consent and randomization, consistency between fields) is
the entry schema's or the CRF service's; controlled vocabularies are read from the entry schemas, so
a page never offers a value the service refuses. An empty optional field is left out of the entry.
"""

from __future__ import annotations

import types
from decimal import Decimal
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ikctrial.clinical.ctcae import RULES
from ikctrial.web.crf import entries
from ikctrial.web.crf.selectors import json_number, visit_rows
from ikctrial.web.pages import labels
from ikctrial.web.pages.forms import FIELD_TEMPLATE, PageForm
from ikctrial.web.subjects.models import Subject

AFP_UNIT = "ng/mL"
"""The AFP unit (AFP is recorded for the mRECIST AFP response, not graded by CTCAE)."""

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TEXTAREA = forms.Textarea(attrs={"rows": 3})
CHANGE_REASON = "change_reason"
"""The correction's reason field (not ``reason``: the end-of-study form has a reason of its own)."""

CODE_LABELS: dict[str, Promise] = {
    "pre_infusion": _("before the infusion"),
    "end_infusion": _("end of the infusion"),
    "post_infusion_1h": _("1 hour after the infusion"),
    "visit": _("at a visit"),
    "bland_TAE": _("bland TAE"),
    "related": _("related"),
    "probably": _("probably related"),
    "possibly": _("possibly related"),
    "unlikely": _("unlikely related"),
    "not_related": _("not related"),
    "expected": _("expected"),
    "unexpected": _("unexpected"),
    "none": _("none"),
    "delayed": _("infusion delayed"),
    "interrupted": _("infusion interrupted"),
    "dose_not_given": _("dose not given"),
    "permanently_discontinued": _("permanently discontinued"),
    "recovered": _("recovered"),
    "recovering": _("recovering"),
    "not_recovered": _("not recovered"),
    "recovered_with_sequelae": _("recovered with sequelae"),
    "fatal": _("fatal"),
    "unknown": _("unknown"),
    "completed": _("completed the study"),
    "withdrawn": _("withdrawn early"),
    "consent_withdrawn": _("consent withdrawn"),
    "adverse_event": _("adverse event"),
    "progression": _("disease progression"),
    "death": _("death"),
    "lost_to_follow_up": _("lost to follow-up"),
    "investigator_decision": _("investigator's decision"),
    "protocol_deviation": _("protocol deviation"),
    "other": _("other"),
    "percent_lymphocytes": _("% of lymphocytes"),
    "percent_cd4": _("% of CD4+ cells"),
    "cells_per_ul": _("cells/µL"),
    "ratio": _("ratio"),
    "pg_ml": _("pg/mL"),
}
"""Display labels of the entry schemas' codes (a code without a label shows as itself)."""


def literal_values(annotation: Any) -> list[str]:
    """The values of a ``Literal`` annotation, also inside unions (``LabTest | Literal["afp"]``)."""
    if get_origin(annotation) is Literal:
        return [str(value) for value in get_args(annotation)]
    if get_origin(annotation) in (Union, types.UnionType):
        return [value for arg in get_args(annotation) for value in literal_values(arg)]
    return []


def entry_choices(entry: type[entries.Entry], field: str) -> list[tuple[str, Any]]:
    """The choices the entry schema accepts for ``field`` (``""``: not recorded), labelled."""
    values = literal_values(entry.model_fields[field].annotation)
    return [
        (value, CODE_LABELS.get(value, _("not recorded") if value == "" else value))
        for value in values
    ]


def _choice(entry: type[entries.Entry], field: str, label: Promise, **kwargs: Any) -> forms.Field:
    choices = entry_choices(entry, field)
    required = "" not in dict(choices)
    return forms.ChoiceField(label=label, choices=choices, required=required, **kwargs)


def _date(label: Promise, *, required: bool = True, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DATE, **kwargs)


def _datetime(label: Promise, *, required: bool = True, **kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, required=required, widget=DATETIME, **kwargs)


def _number(label: Promise, *, required: bool = False, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=required, localize=False, **kwargs)


def _integer(label: Promise) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False)


def _text(label: Promise, *, required: bool = False, max_length: int = 200) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length)


def _flag(label: Promise, **kwargs: Any) -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False, **kwargs)


def display_value(value: Any) -> Any:
    """A stored value as a form shows it: decimals without the stored trailing zeros."""
    return json_number(value) if isinstance(value, Decimal) else value


class CrfForm(PageForm):
    """A CRF's fields; on a correction, also the reason for the change (the audit trail's).

    Every form takes the ``subject`` it is for (the visit form offers that subject's calendar).
    """

    form_name: ClassVar[str]
    title: ClassVar[Promise]
    list_fields: ClassVar[tuple[str, ...]]
    """The fields the form's record list shows, in order."""

    def __init__(self, *args: Any, subject: Subject, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields[CHANGE_REASON] = forms.CharField(
                label=_("Reason for the change"),
                widget=TEXTAREA,
                help_text=_("Kept in the audit trail with the earlier values."),
            )
            self.fields[CHANGE_REASON].template_name = FIELD_TEMPLATE

    @classmethod
    def initial_from(cls, record: Any) -> dict[str, Any]:
        """The form's fields filled from a saved record (for a correction)."""
        return {name: display_value(getattr(record, name)) for name in cls.base_fields}

    def entry_data(self) -> dict[str, Any]:
        """The cleaned input as the form's entry: empty optional fields left out, no reason."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != CHANGE_REASON and value is not None
        }

    def reason_for_change(self) -> str | None:
        """The reason for a correction (None on a first entry)."""
        reason: str | None = self.cleaned_data.get(CHANGE_REASON)
        return reason


class VisitForm(CrfForm):
    """A visit of the subject's calendar done on a date (the window is derived on save)."""

    form_name = "visit"
    title = _("Visits")
    list_fields = ("code", "done_on")

    code = forms.ChoiceField(label=_("Visit"))
    done_on = _date(_("Done on"))

    def __init__(self, *args: Any, subject: Subject, **kwargs: Any) -> None:
        super().__init__(*args, subject=subject, **kwargs)
        self.set_choices(
            "code", [(row.visit.code, labels.visit_label(row.visit)) for row in visit_rows(subject)]
        )


class LabForm(CrfForm):
    """A lab value with its unit and the sample's normal range (graded on save, CTCAE v5.0)."""

    form_name = "lab_result"
    title = _("Laboratory results")
    list_fields = ("collected_on", "test", "value", "unit", "lln", "uln", "on_anticoagulants")

    collected_on = _date(_("Collected on"))
    test = _choice(entries.LabEntry, "test", _("Test"))
    value = _number(_("Value"), required=True)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    lln = _number(_("Lower limit of normal (LLN)"))
    uln = _number(_("Upper limit of normal (ULN)"))
    on_anticoagulants = _flag(
        _("On anticoagulants"), help_text=_("INR is then graded against the baseline.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("unit", [("", _("not recorded"))] + [(unit, unit) for unit in lab_units()])


def lab_units() -> list[str]:
    """Every unit a graded test accepts (the core's table), then the AFP unit."""
    units = {unit for rule in RULES.values() for unit in rule.units if unit is not None}
    return [*sorted(units), AFP_UNIT]


def lab_reference() -> list[dict[str, Any]]:
    """Per test: the CTCAE v5.0 term it is graded under, its limit and the units it accepts."""
    rows = [
        {
            "test": test,
            "term": rule.term,
            "limit": (rule.limit or "").upper(),
            "units": [unit for unit in rule.units if unit is not None],
        }
        for test, rule in RULES.items()
    ]
    return [*rows, {"test": "afp", "term": "", "limit": "", "units": [AFP_UNIT]}]


class VitalSignsForm(CrfForm):
    """Vital signs at one time point."""

    form_name = "vital_signs"
    title = _("Vital signs")
    list_fields = (
        "measured_at",
        "timepoint",
        "systolic_mmhg",
        "diastolic_mmhg",
        "heart_rate_bpm",
        "respiratory_rate_per_min",
        "temperature_c",
        "spo2_percent",
        "weight_kg",
    )

    measured_at = _datetime(_("Measured at"))
    timepoint = _choice(entries.VitalSignsEntry, "timepoint", _("Time point"))
    systolic_mmhg = _integer(_("Systolic blood pressure (mmHg)"))
    diastolic_mmhg = _integer(_("Diastolic blood pressure (mmHg)"))
    heart_rate_bpm = _integer(_("Heart rate (beats/min)"))
    respiratory_rate_per_min = _integer(_("Respiratory rate (breaths/min)"))
    temperature_c = _number(_("Temperature (°C)"))
    spo2_percent = _number(_("SpO₂ (%)"))
    weight_kg = _number(_("Weight (kg)"))


class ImmunePanelForm(CrfForm):
    """One analyte of the immune panel; below the LLOQ, the LLOQ instead of a value."""

    form_name = "immune_panel"
    title = _("Immune panel")
    list_fields = ("collected_on", "analyte", "value", "unit", "below_lloq", "lloq")

    collected_on = _date(_("Collected on"))
    analyte = _choice(entries.ImmunePanelEntry, "analyte", _("Analyte"))
    value = _number(_("Value"))
    unit = _choice(entries.ImmunePanelEntry, "unit", _("Unit"))
    below_lloq = _flag(_("Below the lower limit of quantification"))
    lloq = _number(_("Lower limit of quantification (LLOQ)"))


class TaceForm(CrfForm):
    """One TACE session."""

    form_name = "tace_procedure"
    title = _("TACE procedures")
    list_fields = (
        "performed_on",
        "technique",
        "chemotherapy_agent",
        "dose_mg",
        "embolic_agent",
        "complete",
    )

    performed_on = _date(_("Performed on"))
    technique = _choice(entries.TaceEntry, "technique", _("Technique"))
    chemotherapy_agent = _text(_("Chemotherapy agent"), max_length=100)
    dose_mg = _number(_("Dose (mg)"))
    embolic_agent = _text(_("Embolic agent"), max_length=100)
    complete = _flag(_("Procedure completed as planned"), initial=True)
    notes = forms.CharField(label=_("Notes"), required=False, widget=TEXTAREA)


class ConMedForm(CrfForm):
    """A concomitant medication (an anticancer one censors PFS)."""

    form_name = "concomitant_medication"
    title = _("Concomitant medications")
    list_fields = (
        "name",
        "indication",
        "dose",
        "route",
        "start_date",
        "end_date",
        "ongoing",
        "anticancer_therapy",
    )

    name = _text(_("Medication"), required=True)
    indication = _text(_("Indication"), required=True)
    dose = _text(_("Dose"), max_length=100)
    route = _text(_("Route"), max_length=50)
    start_date = _date(_("Start date"))
    end_date = _date(_("End date"), required=False)
    ongoing = _flag(_("Ongoing"))
    anticancer_therapy = _flag(_("Anticancer therapy"))


EVENT_FIELDS = ("verbatim_term", "ctcae_term", "grade", "onset_date", "end_date", "ongoing")
CAUSALITY_FIELDS = (
    "relatedness_ikc",
    "relatedness_tace",
    "expectedness_ikc",
    "action_taken_ikc",
    "outcome",
)
SERIOUSNESS = (
    "results_in_death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "medically_important",
)
"""The six ICH E2A seriousness criteria (any one makes the event serious)."""


class AdverseEventForm(CrfForm):
    """An adverse event: CTCAE v5.0 term and grade, seriousness, relatedness to IKC and TACE."""

    form_name = "adverse_event"
    title = _("Adverse events")
    list_fields = (
        "verbatim_term",
        "ctcae_term",
        "grade",
        "onset_date",
        "end_date",
        "relatedness_ikc",
        "relatedness_tace",
        "outcome",
    )

    verbatim_term = _text(_("Event as reported (verbatim)"), required=True)
    ctcae_term = _text(_("CTCAE v5.0 term"), required=True)
    grade = forms.TypedChoiceField(
        label=_("CTCAE grade"), choices=[(str(g), str(g)) for g in range(1, 6)], coerce=int
    )
    onset_date = _date(_("Onset date"))
    end_date = _date(_("End date"), required=False)
    ongoing = _flag(_("Ongoing"), initial=True)
    results_in_death = _flag(_("Results in death"))
    life_threatening = _flag(_("Life-threatening"))
    hospitalization = _flag(_("Requires or prolongs hospitalization"))
    disability = _flag(_("Persistent or significant disability"))
    congenital_anomaly = _flag(_("Congenital anomaly or birth defect"))
    medically_important = _flag(_("Other medically important event"))
    relatedness_ikc = _choice(entries.AdverseEventEntry, "relatedness_ikc", _("Relatedness to IKC"))
    relatedness_tace = _choice(
        entries.AdverseEventEntry, "relatedness_tace", _("Relatedness to TACE")
    )
    expectedness_ikc = _choice(
        entries.AdverseEventEntry, "expectedness_ikc", _("Expectedness (IKC)")
    )
    action_taken_ikc = _choice(
        entries.AdverseEventEntry, "action_taken_ikc", _("Action taken with IKC")
    )
    outcome = _choice(entries.AdverseEventEntry, "outcome", _("Outcome"))
    site_aware_at = _datetime(
        _("Site became aware at"),
        required=False,
        help_text=_("Required for a serious event: starts the 24-hour report clock."),
    )
    sae_reported_at = _datetime(_("SAE reported to the sponsor at"), required=False)

    def event_fields(self) -> list[forms.BoundField]:
        """The event itself: terms, grade, dates."""
        return [self[name] for name in EVENT_FIELDS]

    def seriousness_fields(self) -> list[forms.BoundField]:
        """The six seriousness criteria, for their own fieldset."""
        return [self[name] for name in SERIOUSNESS]

    def causality_fields(self) -> list[forms.BoundField]:
        """Relatedness to IKC and to TACE, expectedness, action taken, outcome."""
        return [self[name] for name in CAUSALITY_FIELDS]

    def report_fields(self) -> list[forms.BoundField]:
        """The SAE report times (awareness starts the 24-hour clock)."""
        return [self["site_aware_at"], self["sae_reported_at"]]


class StudyExitForm(CrfForm):
    """End of study: completed, or withdrawn early with the reason."""

    form_name = "study_exit"
    title = _("End of study and withdrawal")
    list_fields = ("status", "exit_date", "reason", "last_contact_date", "death_date")

    status = _choice(entries.StudyExitEntry, "status", _("Status"))
    exit_date = _date(_("Exit date"))
    reason = _choice(entries.StudyExitEntry, "reason", _("Reason for withdrawal"))
    reason_detail = forms.CharField(label=_("Details"), required=False, widget=TEXTAREA)
    last_contact_date = _date(_("Last contact date"), required=False)
    death_date = _date(_("Date of death"), required=False)


CRF_FORMS: dict[str, type[CrfForm]] = {
    form.form_name: form
    for form in (
        VisitForm,
        LabForm,
        VitalSignsForm,
        ImmunePanelForm,
        TaceForm,
        ConMedForm,
        AdverseEventForm,
        StudyExitForm,
    )
}
"""The CRF pages by form name (the names of ``ikctrial.web.crf.selectors.FORM_MODELS``)."""

ONE_PER_SUBJECT = frozenset({StudyExitForm.form_name})
"""Forms with at most one record per subject (no "new" once one is recorded)."""
