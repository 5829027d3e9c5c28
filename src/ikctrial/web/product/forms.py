"""Forms of the product pages: they only shape input for the product services.

Every rule (which event may follow, release specification, bedside checks) is the core's, applied
by the services; a service ``InputError`` is shown on the form field it names
(``attach_service_error``), a refusal (409) or a wrong signing password above the form or on the
password field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ikctrial.errors import InputError
from ikctrial.product.custody import NEEDS_REASON, CustodyCondition, CustodyEventType
from ikctrial.web.pages.crf_forms import CODE_LABELS
from ikctrial.web.pages.forms import PageForm, tri_state
from ikctrial.web.product import display
from ikctrial.web.product.services import (
    SERVICE_EVENTS,
    EventInput,
    InfusionInput,
    ReactionInput,
    VerifierEntries,
)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
INDEX = re.compile(r"^(\w+)\[(\d+)\]$")
OUTCOMES = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)
SERIOUS = ("hospitalization", "life_threatening", "results_in_death", "medically_important")


def _moment(label: Any) -> forms.DateTimeField:
    """A date and time, entered in the time zone the page shows."""
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%z"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


def _temperature(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, max_digits=5, decimal_places=1, localize=False
    )


def _text(label: Any, *, required: bool = True, max_length: int = 200) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length)


def _password() -> forms.CharField:
    return forms.CharField(
        label=_("Your password (electronic signature)"),
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def attach_service_error(form: forms.Form, error: InputError, aliases: dict[str, str]) -> None:
    """Show a service ``InputError`` on the field it names (``wristband[0]`` is
    ``wristband_1``; ``aliases`` maps service names to form fields), else above the form."""
    name = aliases.get(error.field, error.field)
    indexed = INDEX.match(name)
    if indexed:
        name = f"{indexed.group(1)}_{int(indexed.group(2)) + 1}"
    form.add_error(name if name in form.fields else None, error.problem)


class EventFields(PageForm):
    """Who-when-where-condition of a custody event (the user is the signed-in one)."""

    occurred_at = _moment(_("When"))
    location = _text(_("Where"))
    temperature_c = _temperature(_("Product temperature (°C)"))
    logger_id = _text(_("Data logger"), required=False, max_length=100)
    logger_min_c = _temperature(_("Logger minimum (°C)"))
    logger_max_c = _temperature(_("Logger maximum (°C)"))
    condition = forms.ChoiceField(
        label=_("Condition"),
        choices=[(c.value, display.CONDITION[c]) for c in CustodyCondition],
        initial=CustodyCondition.ACCEPTABLE.value,
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea({"rows": 2})
    )

    def event_input(self, **extra: Any) -> EventInput:
        """The service's event input from the cleaned data."""
        data = self.cleaned_data
        fields = {name: data[name] for name in EventFields.base_fields if name in data}
        fields.update(extra)
        for name in ("logger_id", "note"):
            fields[name] = fields.get(name) or ""
        return EventInput(**fields)


EVENT_ALIASES = {"collected_at": "occurred_at"}


class BloodDrawForm(EventFields):
    """A blood draw: the facility of the CoI and two independent patient identifiers."""

    facility = _text(_("Facility code (FIN)"), max_length=5)
    patient_identifier_1 = _text(_("Patient identifier 1 (e.g. full name)"))
    patient_identifier_2 = _text(_("Patient identifier 2 (e.g. date of birth)"))

    field_order = ("facility", "patient_identifier_1", "patient_identifier_2", "occurred_at")


RECORDABLE_EVENTS = [
    t for t in CustodyEventType if t not in SERVICE_EVENTS and t is not CustodyEventType.REVERSAL
]
"""Events a user records on the ledger page (draw, release and infusion have their own pages)."""


class CustodyEventForm(EventFields):
    """A hand-off or a manufacturing step; a quarantine decision needs its reason."""

    event_type = forms.ChoiceField(
        label=_("Event"), choices=[(t.value, display.EVENT_TYPE[t]) for t in RECORDABLE_EVENTS]
    )
    step = _text(_("Process step"), required=False, max_length=40)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        help_text=_("required for a quarantine or its lifting"),
    )

    field_order = ("event_type", "occurred_at", "location", "step")

    def clean(self) -> dict[str, Any]:
        """A quarantine or its lifting says why."""
        cleaned = super().clean() or {}
        event = cleaned.get("event_type")
        if event in {t.value for t in NEEDS_REASON} and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Say why (required for this event)."))
        return cleaned


class ReversalForm(EventFields):
    """A correction: a new event reversing an earlier one, with the reason."""

    reverses = forms.TypedChoiceField(label=_("Event to reverse"), coerce=int)
    reason = forms.CharField(
        label=_("Reason for the correction"), max_length=2000, widget=forms.Textarea({"rows": 2})
    )

    field_order = ("reverses", "reason", "occurred_at", "location")

    def __init__(self, *args: Any, events: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("reverses", [("", "—"), *events])


class DeriveForm(PageForm):
    """The next unit from this one; a bag names its infusion, volume and viable cells."""

    infusion_number = forms.IntegerField(
        label=_("Infusion number (bag)"), required=False, min_value=1
    )
    bag_volume_ml = forms.DecimalField(
        label=_("Bag volume (mL)"), required=False, max_digits=8, decimal_places=2, localize=False
    )
    viable_cells = forms.DecimalField(
        label=_("Viable cells in the bag"), required=False, max_digits=20, localize=False
    )


class QcForm(PageForm):
    """One QC result against a release test of the protocol."""

    test_code = forms.ChoiceField(label=_("Release test"))
    value = _text(_("Result"))
    preliminary = forms.BooleanField(label=_("Preliminary (in-process) result"), required=False)

    def __init__(self, *args: Any, tests: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("test_code", [("", "—"), *tests])


class SignForm(PageForm):
    """An electronic signature: the signer re-enters the password (21 CFR 11.200)."""

    password = _password()


class VerificationForm(SignForm):
    """One verifier's own entries at the bedside, signed "verified for administration"."""

    wristband_1 = _text(_("Wristband: patient identifier 1"))
    wristband_2 = _text(_("Wristband: patient identifier 2"))
    bag_label_patient_1 = _text(_("Bag label: patient identifier 1"))
    bag_label_patient_2 = _text(_("Bag label: patient identifier 2"))
    bag_label = _text(_("Bag id (scan or type)"), max_length=100)
    bag_intact = forms.BooleanField(label=_("Bag intact"), required=False)
    appearance_acceptable = forms.BooleanField(label=_("Appearance acceptable"), required=False)

    field_order = (
        "wristband_1",
        "wristband_2",
        "bag_label_patient_1",
        "bag_label_patient_2",
        "bag_label",
        "bag_intact",
        "appearance_acceptable",
        "password",
    )

    def entries(self) -> VerifierEntries:
        """The verifier's entries as the service takes them."""
        data = self.cleaned_data
        return VerifierEntries(
            wristband=(data["wristband_1"], data["wristband_2"]),
            bag_label_patient=(data["bag_label_patient_1"], data["bag_label_patient_2"]),
            bag_label=data["bag_label"],
            bag_intact=data["bag_intact"],
            appearance_acceptable=data["appearance_acceptable"],
        )


class CheckForm(PageForm):
    """The bag issued, the two verifications to use, the pre-infusion clinical checks."""

    verification_ids = forms.TypedMultipleChoiceField(
        label=_("Verifications (two different verifiers)"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    bag_id = _text(_("Bag id issued for this infusion"), max_length=100)
    body_temperature_c = _temperature(_("Body temperature (°C)"))
    vital_signs_acceptable = tri_state(_("Vital signs acceptable"))
    labs_drawn_on = forms.DateField(
        label=_("Pre-infusion labs drawn on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    labs_within_limits = tri_state(_("Pre-infusion labs within limits"))
    safety_hold = forms.BooleanField(label=_("Safety hold"), required=False)

    def __init__(self, *args: Any, verifications: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("verification_ids", verifications)

    def clinical(self) -> dict[str, Any]:
        """The pre-infusion clinical checks as the service takes them."""
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "body_temperature_c",
                "vital_signs_acceptable",
                "labs_drawn_on",
                "labs_within_limits",
                "safety_hold",
            )
        }


class InfusionForm(PageForm):
    """The infusion as given, and an infusion reaction if there was one (becomes an AE)."""

    started_at = _moment(_("Started"))
    stopped_at = _moment(_("Stopped"))
    volume_infused_ml = forms.DecimalField(
        label=_("Volume infused (mL)"), max_digits=8, decimal_places=2, localize=False
    )
    location = _text(_("Where"))
    temperature_c = _temperature(_("Bag temperature (°C)"))
    reaction = _text(_("Infusion reaction (empty: none)"), required=False)
    reaction_grade = forms.IntegerField(
        label=_("CTCAE grade"), required=False, min_value=1, max_value=5
    )
    reaction_onset_at = forms.DateTimeField(
        label=_("Reaction onset"),
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%z"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    reaction_outcome = forms.ChoiceField(
        label=_("Reaction outcome"),
        required=False,
        choices=[("", "—"), *((o, CODE_LABELS[o]) for o in OUTCOMES)],
    )
    hospitalization = forms.BooleanField(label=_("Serious: hospitalization"), required=False)
    life_threatening = forms.BooleanField(label=_("Serious: life-threatening"), required=False)
    results_in_death = forms.BooleanField(label=_("Serious: results in death"), required=False)
    medically_important = forms.BooleanField(
        label=_("Serious: medically important"), required=False
    )

    def clean(self) -> dict[str, Any]:
        """A reaction needs its grade, onset and outcome."""
        cleaned = super().clean() or {}
        if cleaned.get("reaction", "").strip():
            for name in ("reaction_grade", "reaction_onset_at", "reaction_outcome"):
                if cleaned.get(name) in (None, ""):
                    self.add_error(name, _("Required when a reaction is recorded."))
        return cleaned

    def infusion_input(self) -> InfusionInput:
        """The service's infusion input from the cleaned data."""
        data = self.cleaned_data
        reactions = []
        if data["reaction"].strip():
            reactions.append(
                ReactionInput(
                    description=data["reaction"].strip(),
                    ctcae_term="Infusion related reaction",
                    ctcae_grade=data["reaction_grade"],
                    onset_at=data["reaction_onset_at"],
                    serious={name: data[name] for name in SERIOUS},
                    outcome=data["reaction_outcome"],
                )
            )
        volume: Decimal = data["volume_infused_ml"]
        return InfusionInput(
            started_at=data["started_at"],
            stopped_at=data["stopped_at"],
            volume_infused_ml=volume,
            location=data["location"],
            temperature_c=data["temperature_c"],
            reactions=reactions,
        )
