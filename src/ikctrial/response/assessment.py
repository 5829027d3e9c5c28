"""What a reader records at one imaging time point, and the codes the response rules return.

The same lesion types serve RECIST 1.1 and mRECIST (domain.md 3.7): under mRECIST ``diameter_mm`` of
a non-nodal target is the viable (arterially enhancing) diameter; nodes are always followed by
their short axis. Diameters are ``Decimal`` built from the number's shortest decimal text, so
``35.5`` is exactly 35.5 and no binary rounding can move a 20 % / 30 % / 5 mm boundary
(domain.md section 0).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr

TOO_SMALL_TO_MEASURE_MM = Decimal(5)
"""Value entered into the sum for a target that is visible but too small to measure (2.4)."""


class Criteria(StrEnum):
    """Which response criteria the engine applies (one engine, two rule sets: domain.md 3.6)."""

    RECIST_1_1 = "RECIST1.1"
    MRECIST = "mRECIST"


class NonTargetStatus(StrEnum):
    """Reader's status of one non-target lesion at one time point (2.6)."""

    ABSENT = "absent"
    PRESENT = "present"
    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    NOT_EVALUATED = "not_evaluated"


class NewLesions(StrEnum):
    """New-lesion status of one time point (2.7)."""

    NONE = "none"
    EQUIVOCAL = "equivocal"
    UNEQUIVOCAL = "unequivocal"


class Response(StrEnum):
    """Response codes of interfaces.md; ``BASELINE`` is the overall code of the first assessment."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    BASELINE = "BASELINE"


class Modality(StrEnum):
    """Imaging used for response: contrast CT or MRI, never ultrasound (2.1)."""

    CT = "CT"
    MRI = "MRI"


class EffusionCytology(StrEnum):
    """Cytology of an effusion or ascites: under mRECIST it is PD only when positive (3.4)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    NOT_DONE = "not_done"


def _millimetres(value: Any) -> Any:
    """Accept a JSON number (not a bool, not a string) and make it an exact ``Decimal``."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number of millimetres")
    return Decimal(str(value))


def _iso_date(value: Any) -> Any:
    """Accept ``YYYY-MM-DD`` text (or a date), never a number of seconds."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date (YYYY-MM-DD)") from None


Millimetres = Annotated[
    Decimal, BeforeValidator(_millimetres), Field(ge=0, allow_inf_nan=False, max_digits=12)
]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Text = Annotated[StrictStr, Field(min_length=1)]
EquivocalPdDate = Literal["first_seen", "confirmation"]
"""When an equivocal new lesion is later confirmed: PD dated to its first sighting or to the
confirming scan (only mRECIST lets the protocol choose, 3.5)."""

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class TargetMeasurement(BaseModel):
    """One target lesion at one time point; ``diameter_mm`` None means not evaluated."""

    model_config = _FROZEN

    id: Text
    organ: Text
    nodal: StrictBool
    diameter_mm: Millimetres | None
    too_small_to_measure: StrictBool = False
    longest_diameter_mm: Millimetres | None = Field(
        default=None,
        description="mRECIST only: the whole lesion's longest diameter, to check measurability.",
    )
    reproducible: StrictBool = True
    infiltrative: StrictBool = False
    portal_vein_thrombus: StrictBool = False
    previously_treated: StrictBool = Field(
        default=False,
        description="Irradiated, ablated or embolized before baseline: non-target by default.",
    )
    eligibility_override_reason: Text | None = Field(
        default=None,
        description="Reader's reason to keep a baseline target that fails a size or flag check.",
    )

    def sum_value_mm(self) -> Decimal | None:
        """The value this lesion adds to the sum (2.4): measured, 5 mm if TSTM, None if missing."""
        if self.too_small_to_measure:
            return TOO_SMALL_TO_MEASURE_MM
        return self.diameter_mm


class NonTargetObservation(BaseModel):
    """One non-target lesion at one time point (2.6, 3.4)."""

    model_config = _FROZEN

    id: Text
    organ: Text
    status: NonTargetStatus
    nodal: StrictBool = False
    short_axis_mm: Millimetres | None = None
    effusion_cytology: EffusionCytology | None = None


class Assessment(BaseModel):
    """One imaging time point; the first assessment of a series is the baseline."""

    model_config = _FROZEN

    date: IsoDate
    target: tuple[TargetMeasurement, ...] = ()
    non_target: tuple[NonTargetObservation, ...] = ()
    new_lesions: NewLesions | None = Field(
        default=None, description="Required after baseline; None at baseline means none."
    )
    modality: Modality | None = None
    afp_within_normal_limits: StrictBool | None = Field(
        default=None, description="Needed for non-target CR when marker normalization is on."
    )


class ResponseInput(BaseModel):
    """The input document of ``ikctrial recist evaluate`` (interfaces.md) with optional settings.

    Optional keys beyond interfaces.md carry the configuration of domain.md 2.2, 2.6, 2.9 and
    3.3-3.5.
    """

    model_config = _FROZEN

    criteria: Criteria = Criteria.RECIST_1_1
    confirmation_required: StrictBool = False
    min_sd_days: Annotated[int, Field(strict=True, ge=0)] = 49
    confirmation_min_days: Annotated[int, Field(strict=True, ge=1)] = 28
    allow_ne_between_confirmation: StrictBool = True
    require_marker_normalization_for_cr: StrictBool = False
    allow_treated_lesion_as_target: StrictBool = False
    mrecist_pd_min_abs_increase_mm: Millimetres | None = None
    mrecist_equivocal_pd_date: EquivocalPdDate | None = None
    randomization_date: IsoDate | None = None
    new_anticancer_therapy_date: IsoDate | None = None
    slice_thickness_mm: Millimetres | None = None
    assessments: Annotated[tuple[Assessment, ...], Field(min_length=1)]


Lesion = TargetMeasurement | NonTargetObservation


def _organ_name(lesion: Lesion) -> str:
    """The organ as one spelling: ``porta_hepatis``, ``Porta  hepatis`` -> ``PORTA HEPATIS``."""
    return " ".join(lesion.organ.replace("_", " ").split()).upper()


def organ_key(lesion: Lesion) -> str:
    """The organ a lesion counts against: every lymph node counts as one organ (2.3)."""
    return "LYMPH NODE" if lesion.nodal else _organ_name(lesion)


def is_porta_hepatis_node(lesion: Lesion) -> bool:
    """Whether a node lies at the porta hepatis (organ ``porta_hepatis`` / ``porta hepatis``)."""
    return lesion.nodal and _organ_name(lesion) == "PORTA HEPATIS"
