"""Forms of the site pages: the screening record (interfaces.md "Eligibility") and consent.

The screening form only shapes input into the screening record; every rule (allowed values,
impossible values, dates against each other) is the core's, and a core ``InputError`` is shown on
the form field it names (``attach_input_error``). An empty field is left out of the record, so the
criteria that need it are ``unknown`` (domain.md 5), except where the form says what empty means:
no prior therapy rows = none, no other trial, no encephalopathy episode = never (all null or empty
in the record, as the interfaces.md example writes them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ikctrial.clinical.child_pugh import ASCITES_POINTS, ENCEPHALOPATHY_POINTS
from ikctrial.clinical.screening import HCC_METHODS, SEXES, THERAPY_TYPES
from ikctrial.clinical.units import ALBUMIN_UNITS, BILIRUBIN_UNITS
from ikctrial.errors import InputError

PRIOR_THERAPY_ROWS = 3
"""Rows for prior anticancer therapies on the form (criterion E1)."""

FIELD_TEMPLATE = "pages/_field.html"
"""Each field in its own box (label, help, errors, input), so the form grids line up."""

NOT_RECORDED = ("", _("not recorded"))
YES_NO = [NOT_RECORDED, ("yes", _("yes")), ("no", _("no"))]
PARTIAL_DATE_HELP = _("YYYY-MM-DD, or YYYY-MM / YYYY when the day or month is unknown")
END_DATE_HELP = _("YYYY-MM-DD, YYYY-MM, YYYY or 'ongoing'")

SEX_LABELS = {"male": _("male"), "female": _("female")}
ASCITES_LABELS = {"none": _("none"), "mild": _("mild"), "moderate_severe": _("moderate to severe")}
ENCEPHALOPATHY_LABELS = {
    "none": _("none"),
    "grade_1_2": _("grade 1-2"),
    "grade_3_4": _("grade 3-4"),
}
THERAPY_LABELS = {
    "chemotherapy": _("chemotherapy"),
    "radiotherapy": _("radiotherapy"),
    "immunotherapy": _("immunotherapy"),
    "hormone": _("hormone therapy"),
    "local": _("local tumor therapy"),
    "targeted": _("targeted therapy"),
}
HCC_METHOD_LABELS = {
    "CT": _("CT"),
    "MRI": _("MRI"),
    "AFP": _("AFP"),
    "angiography": _("angiography"),
    "cytology": _("cytology"),
    "biopsy": _("biopsy"),
}


def _choices(values: tuple[str, ...] | list[str], labels: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(value, labels.get(value, value)) for value in values]


def tri_state(label: Any, help_text: Any = "") -> forms.TypedChoiceField:
    """A yes / no / not recorded question (None when not recorded)."""
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
        help_text=help_text,
    )


def _choice(label: Any, choices: list[tuple[str, Any]]) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=[NOT_RECORDED, *choices], required=False)


def _number(label: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=False, localize=False)


def _json_number(value: Decimal) -> int | float:
    """A JSON number as the API receives it (the core rejects strings)."""
    return int(value) if value == value.to_integral_value() else float(value)


class PageForm(forms.Form):
    """A form whose fields render in their own boxes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.template_name = FIELD_TEMPLATE

    def set_choices(self, name: str, choices: Any) -> forms.ChoiceField:
        """Give the choice field ``name`` the choices known only when the form is made."""
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        return field


class ScreeningForm(PageForm):
    """The screening record, field by field (empty = missing)."""

    subject_ref = forms.CharField(label=_("Subject reference"), max_length=64, required=False)
    screening_date = forms.DateField(
        label=_("Screening date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    birth_date = forms.CharField(
        label=_("Birth date"), required=False, max_length=10, help_text=PARTIAL_DATE_HELP
    )
    sex = _choice(_("Sex"), _choices(SEXES, SEX_LABELS))
    consent_signed = tri_state(_("Informed consent signed"))
    consent_date = forms.DateField(
        label=_("Consent date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    consent_version = forms.CharField(label=_("Consent version"), max_length=32, required=False)
    hcc_methods = forms.MultipleChoiceField(
        label=_("HCC shown by"),
        choices=_choices(HCC_METHODS, HCC_METHOD_LABELS),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    nodules = forms.IntegerField(label=_("Number of nodules"), required=False)
    largest_mm = _number(_("Largest nodule (mm)"))
    vascular_invasion = tri_state(_("Macrovascular invasion"))
    extrahepatic_spread = tri_state(_("Extrahepatic spread"))
    ecog = _choice(_("ECOG performance status"), [(str(g), str(g)) for g in range(6)])
    bilirubin_value = _number(_("Total bilirubin"))
    bilirubin_unit = forms.ChoiceField(
        label=_("Bilirubin unit"), choices=_choices(BILIRUBIN_UNITS, {})
    )
    albumin_value = _number(_("Albumin"))
    albumin_unit = forms.ChoiceField(label=_("Albumin unit"), choices=_choices(ALBUMIN_UNITS, {}))
    inr_value = _number(_("INR"))
    afp_value = _number(_("AFP (ng/mL)"))
    ascites = _choice(_("Ascites"), _choices(tuple(ASCITES_POINTS), ASCITES_LABELS))
    encephalopathy = _choice(
        _("Hepatic encephalopathy"), _choices(tuple(ENCEPHALOPATHY_POINTS), ENCEPHALOPATHY_LABELS)
    )
    prior_tace = tri_state(_("Prior TACE"))
    other_trial_end_date = forms.CharField(
        label=_("Other clinical trial ended on"),
        required=False,
        max_length=10,
        help_text=_("empty: no other trial; else YYYY-MM-DD, YYYY-MM, YYYY or 'ongoing'"),
    )
    hiv = tri_state(_("HIV carrier"))
    htlv = tri_state(_("HTLV carrier"))
    active_infection = tri_state(_("Active infection"))
    active_cardiac_disease = tri_state(_("Active cardiac disease needing treatment"))
    encephalopathy_last_episode_date = forms.DateField(
        label=_("Last hepatic encephalopathy episode"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("empty: never"),
    )
    cns_disease = tri_state(_("CNS disease"))
    brain_or_meningeal_metastasis = tri_state(_("Brain or meningeal metastasis"))
    pregnant = tri_state(_("Pregnant"))
    breast_feeding = tri_state(_("Breast-feeding"))
    childbearing_potential = tri_state(_("Of child-bearing potential"))
    adequate_contraception = tri_state(_("Adequate contraception"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(1, PRIOR_THERAPY_ROWS + 1):
            self.fields[f"therapy_{row}_type"] = _choice(
                _("Prior therapy %(row)s") % {"row": row}, _choices(THERAPY_TYPES, THERAPY_LABELS)
            )
            self.fields[f"therapy_{row}_end_date"] = forms.CharField(
                label=_("Prior therapy %(row)s ended on") % {"row": row},
                required=False,
                max_length=10,
                help_text=END_DATE_HELP,
            )
            self.fields[f"therapy_{row}_type"].template_name = FIELD_TEMPLATE
            self.fields[f"therapy_{row}_end_date"].template_name = FIELD_TEMPLATE

    def therapy_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """The prior-therapy fields in pairs (type, end date), for the template."""
        return [
            (self[f"therapy_{row}_type"], self[f"therapy_{row}_end_date"])
            for row in range(1, PRIOR_THERAPY_ROWS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        """A therapy end date needs its therapy type."""
        cleaned = super().clean() or {}
        for row in range(1, PRIOR_THERAPY_ROWS + 1):
            if cleaned.get(f"therapy_{row}_end_date") and not cleaned.get(f"therapy_{row}_type"):
                self.add_error(f"therapy_{row}_type", _("Choose the therapy type."))
        return cleaned

    def screening_record(self) -> dict[str, Any]:
        """The screening record of interfaces.md built from the cleaned data (missing = absent)."""
        data = self.cleaned_data
        record: dict[str, Any] = {}

        def put(target: dict[str, Any], key: str, value: Any) -> None:
            if value is not None and value != "" and value != []:
                target[key] = value

        put(record, "subject_ref", data["subject_ref"].strip())
        put(record, "screening_date", data["screening_date"].isoformat())
        put(record, "birth_date", data["birth_date"].strip())
        put(record, "sex", data["sex"])
        consent: dict[str, Any] = {}
        put(consent, "signed", data["consent_signed"])
        put(consent, "date", data["consent_date"] and data["consent_date"].isoformat())
        put(consent, "version", data["consent_version"].strip())
        put(record, "consent", consent or None)
        if data["hcc_methods"]:
            record["hcc_diagnosis"] = {"methods": list(data["hcc_methods"])}
        tumor: dict[str, Any] = {}
        put(tumor, "nodules", data["nodules"])
        put(tumor, "largest_mm", data["largest_mm"] and _json_number(data["largest_mm"]))
        put(tumor, "vascular_invasion", data["vascular_invasion"])
        put(tumor, "extrahepatic_spread", data["extrahepatic_spread"])
        put(record, "tumor", tumor or None)
        put(record, "ecog", data["ecog"] and int(data["ecog"]))
        labs: dict[str, Any] = {}
        for lab, unit in (("bilirubin", True), ("albumin", True), ("inr", False), ("afp", False)):
            value = data[f"{lab}_value"]
            if value is None:
                continue
            labs[lab] = {"value": _json_number(value)}
            if unit:
                labs[lab]["unit"] = data[f"{lab}_unit"]
        if "afp" in labs:
            labs["afp"]["unit"] = "ng/mL"
        put(record, "labs", labs or None)
        put(record, "ascites", data["ascites"])
        put(record, "encephalopathy", data["encephalopathy"])
        put(record, "prior_tace", data["prior_tace"])
        therapies = [
            {"type": data[f"therapy_{row}_type"]}
            | (
                {"end_date": data[f"therapy_{row}_end_date"].strip()}
                if data[f"therapy_{row}_end_date"]
                else {}
            )
            for row in range(1, PRIOR_THERAPY_ROWS + 1)
            if data[f"therapy_{row}_type"]
        ]
        record["prior_therapies"] = therapies
        record["other_trial_end_date"] = data["other_trial_end_date"].strip() or None
        for flag in (
            "hiv",
            "htlv",
            "active_infection",
            "active_cardiac_disease",
            "cns_disease",
            "brain_or_meningeal_metastasis",
            "pregnant",
            "breast_feeding",
            "childbearing_potential",
            "adequate_contraception",
        ):
            put(record, flag, data[flag])
        episode = data["encephalopathy_last_episode_date"]
        record["encephalopathy_last_episode_date"] = episode and episode.isoformat()
        return record


_RECORD_PATH_TO_FIELD = {
    "consent.signed": "consent_signed",
    "consent.date": "consent_date",
    "consent.version": "consent_version",
    "hcc_diagnosis": "hcc_methods",
    "tumor.nodules": "nodules",
    "tumor.largest_mm": "largest_mm",
    "tumor.vascular_invasion": "vascular_invasion",
    "tumor.extrahepatic_spread": "extrahepatic_spread",
    "labs.bilirubin.value": "bilirubin_value",
    "labs.bilirubin.unit": "bilirubin_unit",
    "labs.albumin.value": "albumin_value",
    "labs.albumin.unit": "albumin_unit",
    "labs.inr.value": "inr_value",
    "labs.afp.value": "afp_value",
}


def form_field_of(record_path: str, form: forms.Form) -> str | None:
    """The form field showing a screening-record path (``labs.albumin.value``), or None."""
    if record_path.startswith("prior_therapies["):
        index, _sep, rest = record_path.removeprefix("prior_therapies[").partition("]")
        if index.isdigit():
            suffix = "end_date" if rest.startswith(".end_date") else "type"
            return f"therapy_{int(index) + 1}_{suffix}"
    path = record_path
    while path:
        field = _RECORD_PATH_TO_FIELD.get(path, path)
        if field in form.fields:
            return field
        path = path.rpartition(".")[0]
    return None


def attach_input_error(form: forms.Form, error: InputError) -> None:
    """Show a service or core ``InputError`` on the field it names (else above the form)."""
    form.add_error(form_field_of(error.field, form), error.problem)


class ConsentForm(PageForm):
    """A signed consent form (the service checks version and dates)."""

    version = forms.ChoiceField(label=_("Consent form version"))
    signed_on = forms.DateField(
        label=_("Signed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    signed_by = forms.CharField(label=_("Consent obtained by"), max_length=150)

    def __init__(self, *args: Any, versions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.set_choices("version", [(v, v) for v in versions])
        field.initial = versions[-1]
