"""Forms of the review pages: lesion tables, disagreement, queries, e-signatures and lock.

The lesion-table form only shapes input into the tumor-assessment record of the CRF service
(``crf.entries.TumorAssessmentEntry``); every rule is the service's or the core's, and an
``InputError`` lands on the form field it names (``attach_lesion_error``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ikctrial.errors import InputError
from ikctrial.web.crf.selectors import FORM_MODELS, json_number
from ikctrial.web.pages.forms import NOT_RECORDED, PageForm, tri_state

TARGET_ROWS = 5
"""RECIST 1.1 and mRECIST allow at most 5 target lesions (2 per organ)."""
NON_TARGET_ROWS = 5
ROW_TABLES = {"target": TARGET_ROWS, "non_target": NON_TARGET_ROWS}
"""The lesion tables of a time point and how many rows each has."""
ROW_PATH = re.compile(r"(?P<table>non_target|target)\[(?P<index>\d+)\](?:\.(?P<field>\w+))?")

MODALITIES = [NOT_RECORDED, ("CT", "CT"), ("MRI", "MRI")]
NEW_LESIONS = [
    ("none", _("none")),
    ("equivocal", _("equivocal")),
    ("unequivocal", _("unequivocal")),
]
NON_TARGET_STATUS = [
    ("present", _("present")),
    ("absent", _("absent")),
    ("unequivocal_progression", _("unequivocal progression")),
    ("not_evaluated", _("not evaluated")),
]
RESPONSES = [
    ("CR", "CR"),
    ("PR", "PR"),
    ("SD", "SD"),
    ("PD", "PD"),
    ("NON_CR_NON_PD", _("non-CR/non-PD")),
    ("NE", "NE"),
]
MEANINGS = [
    ("approval", _("Approved")),
    ("review", _("Reviewed")),
    ("responsibility", _("Responsible for the content")),
    ("authorship", _("Author")),
]


def _text(label: Any, max_length: int = 200, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=False, **kwargs)


def _mm(label: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=False, min_value=0, localize=False)


def _reason(label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label, required=False, help_text=help_text, widget=forms.Textarea(attrs={"rows": 2})
    )


def _row_fields(table: str) -> dict[str, forms.Field]:
    """The cells of one lesion row: id, organ, nodal, then the target diameters or the
    non-target status."""
    cells: dict[str, forms.Field] = {
        "id": _text(_("Lesion id"), 32),
        "organ": _text(_("Organ"), 100),
        "nodal": forms.BooleanField(label=_("Lymph node"), required=False),
    }
    if table == "target":
        cells["diameter_mm"] = _mm(_("Diameter (mm), RECIST 1.1"))
        cells["viable_diameter_mm"] = _mm(_("Viable diameter (mm), mRECIST"))
    else:
        cells["status"] = forms.ChoiceField(
            label=_("Status"), choices=[NOT_RECORDED, *NON_TARGET_STATUS], required=False
        )
    return cells


class LesionTableForm(PageForm):
    """One imaging time point: target and non-target lesion rows, new lesions (empty rows: none).

    ``blinded`` (the independent reader) leaves out the AFP status, a laboratory value.
    """

    assessed_on = forms.DateField(
        label=_("Imaging date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    modality = forms.ChoiceField(label=_("Modality"), choices=MODALITIES, required=False)
    new_lesions = forms.ChoiceField(label=_("New lesions"), choices=NEW_LESIONS)
    afp_within_normal_limits = tri_state(
        _("AFP within normal limits"), _("mRECIST: a complete response needs a normal AFP")
    )
    reason = _reason(_("Reason for change"), _("required when correcting a saved time point"))

    def __init__(self, *args: Any, blinded: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if blinded:
            del self.fields["afp_within_normal_limits"]
        for table, count in ROW_TABLES.items():
            for row in range(1, count + 1):
                for key, field in _row_fields(table).items():
                    field.template_name = "pages/review/_cell.html"
                    self.fields[f"{table}_{row}_{key}"] = field
        self._row_numbers: dict[str, list[int]] = {"target": [], "non_target": []}

    def rows(self, table: str) -> list[list[forms.BoundField]]:
        """The bound fields of each row of ``table`` (target, non_target), for the template."""
        return [
            [self[name] for name in self.fields if name.startswith(f"{table}_{row}_")]
            for row in range(1, ROW_TABLES[table] + 1)
        ]

    def target_rows(self) -> list[list[forms.BoundField]]:
        """Target lesion rows."""
        return self.rows("target")

    def non_target_rows(self) -> list[list[forms.BoundField]]:
        """Non-target lesion rows."""
        return self.rows("non_target")

    def clean(self) -> dict[str, Any]:
        """A row with anything in it needs its lesion id and organ; a non-target one its status."""
        cleaned = super().clean() or {}
        for table, count in ROW_TABLES.items():
            for row in range(1, count + 1):
                prefix = f"{table}_{row}_"
                values = {k: v for k, v in cleaned.items() if k.startswith(prefix)}
                if all(value is None or value == "" or value is False for value in values.values()):
                    continue
                for name in ("id", "organ") + (("status",) if table == "non_target" else ()):
                    if not values.get(prefix + name):
                        self.add_error(prefix + name, _("Required for a lesion row."))
        return cleaned

    def lesion_record(self) -> dict[str, Any]:
        """The tumor-assessment record of the CRF service (empty rows left out)."""
        data = self.cleaned_data
        record: dict[str, Any] = {
            "assessed_on": data["assessed_on"].isoformat(),
            "modality": data["modality"],
            "new_lesions": data["new_lesions"],
            "target": [],
            "non_target": [],
        }
        if data.get("afp_within_normal_limits") is not None:
            record["afp_within_normal_limits"] = data["afp_within_normal_limits"]
        self._row_numbers = {"target": [], "non_target": []}
        for table, count in ROW_TABLES.items():
            for row in range(1, count + 1):
                prefix = f"{table}_{row}_"
                if data[prefix + "id"]:
                    record[table].append(_lesion(table, prefix, data))
                    self._row_numbers[table].append(row)
        return record

    def field_of(self, path: str) -> str | None:
        """The form field showing a record path (``RECIST1.1.target[0].diameter_mm``), or None."""
        match = ROW_PATH.search(path)
        if match is not None:
            numbers = self._row_numbers[match["table"]]
            index = int(match["index"])
            if index < len(numbers):
                name = f"{match['table']}_{numbers[index]}_{match['field'] or 'id'}"
                fallback = f"{match['table']}_{numbers[index]}_id"
                return name if name in self.fields else fallback
        head = path.split(".")[-1]
        return head if head in self.fields else None


def _mm_value(value: Decimal | None) -> int | float | None:
    return None if value is None else json_number(value)


def _lesion(table: str, prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    """One filled lesion row as the tumor-assessment record has it."""
    lesion = {
        "id": data[prefix + "id"].strip(),
        "organ": data[prefix + "organ"].strip(),
        "nodal": data[prefix + "nodal"],
    }
    if table == "target":
        lesion["diameter_mm"] = _mm_value(data[prefix + "diameter_mm"])
        lesion["viable_diameter_mm"] = _mm_value(data[prefix + "viable_diameter_mm"])
    else:
        lesion["status"] = data[prefix + "status"]
    return lesion


def lesion_initial(record: Any) -> dict[str, Any]:
    """Form initial values from a stored lesion table (a site assessment or a reader's read)."""
    initial: dict[str, Any] = {
        "assessed_on": record.assessed_on,
        "modality": record.modality,
        "new_lesions": record.new_lesions,
    }
    if record.afp_within_normal_limits is not None:
        initial["afp_within_normal_limits"] = "yes" if record.afp_within_normal_limits else "no"
    for table, rows in (("target", record.target), ("non_target", record.non_target)):
        for number, row in enumerate(rows, start=1):
            for key, value in row.items():
                initial[f"{table}_{number}_{key}"] = value
    return initial


def attach_lesion_error(form: LesionTableForm, error: InputError) -> None:
    """Show a service or core ``InputError`` on the lesion field it names (else above the form)."""
    form.add_error(form.field_of(error.field), error.problem)


class DisagreementForm(PageForm):
    """The investigator's own call at a time point, with the reason (both calls are kept)."""

    investigator_response = forms.ChoiceField(
        label=_("Investigator's response"), choices=[("", "—"), *RESPONSES]
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, criteria: str, **kwargs: Any) -> None:
        """One form per criterion on a page: element ids carry the criterion."""
        slug = re.sub(r"\W", "_", criteria)
        super().__init__(*args, auto_id=f"id_{slug}_%s", **kwargs)


class QueryRaiseForm(PageForm):
    """A manual query on one field of one CRF record."""

    form = forms.ChoiceField(label=_("Form"), choices=[(name, name) for name in FORM_MODELS])
    record_id = forms.IntegerField(label=_("Record"), min_value=1)
    field = forms.CharField(label=_("Field"), max_length=64)
    text = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}))


class QueryAnswerForm(PageForm):
    """The site's answer."""

    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 3}))


class QueryCloseForm(PageForm):
    """Why the query is closed."""

    note = forms.CharField(label=_("Closing note"), widget=forms.Textarea(attrs={"rows": 2}))


class QueryFilterForm(PageForm):
    """Filters of the query listing (each optional)."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("any")),
            ("open", _("open")),
            ("answered", _("answered")),
            ("closed", _("closed")),
        ],
    )
    origin = forms.ChoiceField(
        label=_("Origin"),
        required=False,
        choices=[("", _("any")), ("manual", _("manual")), ("edit_check", _("edit check"))],
    )
    form = forms.ChoiceField(
        label=_("Form"), required=False, choices=[("", _("any"))] + [(n, n) for n in FORM_MODELS]
    )
    site = forms.CharField(label=_("Site"), required=False, max_length=16)
    subject_id = forms.IntegerField(label=_("Subject id"), required=False, min_value=1)

    def filters(self) -> dict[str, Any]:
        """The cleaned filters, empty ones left out."""
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None)}


class SignatureForm(PageForm):
    """21 CFR 11.50 and 11.200: the meaning of the signature and the password re-entered."""

    meaning = forms.ChoiceField(label=_("Meaning of the signature"), choices=MEANINGS)
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )


class LockForm(PageForm):
    """A signed freeze, lock or unlock; unlocking needs a reason."""

    action = forms.ChoiceField(label=_("Action"))
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    reason = _reason(_("Reason"), _("required to unlock"))

    def __init__(self, *args: Any, actions: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("action", actions)


SUBJECT_LOCK_ACTIONS = [("freeze", _("freeze")), ("lock", _("lock")), ("unlock", _("unlock"))]
STUDY_LOCK_ACTIONS = [("lock", _("lock")), ("unlock", _("unlock"))]
