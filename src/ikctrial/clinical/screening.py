"""The screening record that eligibility is computed from (interfaces.md "Eligibility").

Parsing is strict: an unknown key, a wrong type, a unit outside the allowed list, a malformed date
or an impossible value is an ``InputError`` naming the field path (``labs.albumin.unit``). Any field
may be missing, which makes the criteria that need it ``unknown``. Two fields distinguish "absent"
(missing) from an explicit ``null``, which means "never": ``encephalopathy_last_episode_date`` and
``other_trial_end_date`` (domain.md 5). Optional fields beyond interfaces.md (allowed: fields may
be added, never renamed): ``tumor.diffuse`` (absent = false; forces the multinodular BCLC branch,
4.3), and ``ecog_cancer_related`` and ``investigator_bclc``, which only raise data-quality flags
(4.3, 5.4). Contradictions are impossible values too: ``pregnant`` or ``breast_feeding`` true with
``sex`` male, and ``encephalopathy_last_episode_date`` null ("never") with encephalopathy graded at
screening.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from ikctrial.clinical.bclc import BclcStage
from ikctrial.clinical.child_pugh import ASCITES_POINTS, ENCEPHALOPATHY_POINTS, NO_ENCEPHALOPATHY
from ikctrial.clinical.ecog import ecog_grade
from ikctrial.clinical.partial_date import PartialDate, parse_iso_date, parse_partial_date
from ikctrial.clinical.units import (
    AFP_UNITS,
    ALBUMIN_UNITS,
    BILIRUBIN_UNITS,
    albumin_g_dl,
    not_one_of,
)
from ikctrial.errors import InputError
from ikctrial.protocol.model import HccDiagnosisMethod, TherapyType
from ikctrial.protocol.validation import input_error

ALBUMIN_MAX_G_DL = Decimal(7)
"""Albumin above 7 g/dL is physiologically impossible (interfaces.md)."""
INR_MAX = Decimal(15)
"""INR above 15 is impossible (interfaces.md)."""

SEXES: tuple[str, ...] = ("male", "female")
FEMALE_ONLY_FLAGS: tuple[str, ...] = ("pregnant", "breast_feeding")
"""Flags that cannot be true for a male record (E5 would otherwise pass on "male" alone)."""
HCC_METHODS: tuple[str, ...] = get_args(HccDiagnosisMethod)
THERAPY_TYPES: tuple[str, ...] = get_args(TherapyType)
ONGOING = "ongoing"
Ongoing = Literal["ongoing"]
T = TypeVar("T")


def _rule_error(problem: str) -> PydanticCustomError:
    return PydanticCustomError("ikctrial_rule", "{problem}", {"problem": problem})


def _one_of(allowed: Sequence[str]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or value not in allowed:
            raise _rule_error(not_one_of(value, allowed))
        return value

    return check


def _adapted(rule: Callable[[Any, str], T]) -> Callable[[Any], T]:
    """A rule that raises ``InputError`` as a pydantic validator (pydantic adds the field path)."""

    def check(value: Any) -> T:
        try:
            return rule(value, "")
        except InputError as exc:
            raise _rule_error(exc.problem) from None

    return check


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, f"{value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(field, f"{value!r} is not a finite number")
    number = Decimal(str(value))
    if number < 0:
        raise InputError(field, f"{value!r} is negative (impossible)")
    return number


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"{value!r} is not an integer")
    if value < 1:
        raise InputError(field, f"{value!r} must be at least 1")
    return value


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(field, f"{value!r} is not true, false or null")
    return value


def _end_date(value: Any, field: str) -> PartialDate | str:
    return ONGOING if value == ONGOING else parse_partial_date(value, field)


_DATE_SCHEMA = WithJsonSchema({"type": "string", "format": "date"})
_PARTIAL_SCHEMA = WithJsonSchema({"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"})
_END_SCHEMA = WithJsonSchema({"type": "string", "pattern": r"^(ongoing|\d{4}(-\d{2}(-\d{2})?)?)$"})
_NUMBER_SCHEMA = WithJsonSchema({"type": "number", "minimum": 0})

Number = Annotated[Decimal, PlainValidator(_adapted(_decimal)), _NUMBER_SCHEMA]
Flag = Annotated[bool, PlainValidator(_adapted(_flag)), WithJsonSchema({"type": "boolean"})]
IsoDate = Annotated[date, PlainValidator(_adapted(parse_iso_date)), _DATE_SCHEMA]
BirthDate = Annotated[PartialDate, PlainValidator(_adapted(parse_partial_date)), _PARTIAL_SCHEMA]
EndDate = Annotated[PartialDate | Ongoing, PlainValidator(_adapted(_end_date)), _END_SCHEMA]
Count = Annotated[int, PlainValidator(_adapted(_count)), WithJsonSchema({"type": "integer"})]
Ecog = Annotated[int, PlainValidator(_adapted(ecog_grade)), WithJsonSchema({"type": "integer"})]


def _choice(allowed: Sequence[str]) -> PlainValidator:
    return PlainValidator(_one_of(allowed), json_schema_input_type=Literal[tuple(allowed)])


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Consent(_Record):
    """Consent as it feeds criterion I7 (the signed form itself is recorded elsewhere)."""

    signed: Flag | None = None
    date: IsoDate | None = None
    version: str | None = None


class HccDiagnosis(_Record):
    """The diagnostic modalities that showed HCC."""

    methods: list[Annotated[HccDiagnosisMethod, _choice(HCC_METHODS)]] | None = None


class Tumor(_Record):
    """Tumor burden for BCLC; ``vascular_invasion`` is macrovascular invasion (domain.md 4.3)."""

    nodules: Count | None = None
    largest_mm: Number | None = None
    vascular_invasion: Flag | None = None
    extrahepatic_spread: Flag | None = None
    diffuse: Flag | None = None


class BilirubinLab(_Record):
    """Total bilirubin."""

    value: Number
    unit: Annotated[str, _choice(BILIRUBIN_UNITS)]


class AlbuminLab(_Record):
    """Serum albumin."""

    value: Number
    unit: Annotated[str, _choice(ALBUMIN_UNITS)]


class InrLab(_Record):
    """International normalized ratio (no unit)."""

    value: Number


class AfpLab(_Record):
    """Alpha-fetoprotein (stored beside the diagnosis judgement, domain.md 5.4)."""

    value: Number
    unit: Annotated[str, _choice(AFP_UNITS)]


class Labs(_Record):
    """Screening laboratory values."""

    bilirubin: BilirubinLab | None = None
    albumin: AlbuminLab | None = None
    inr: InrLab | None = None
    afp: AfpLab | None = None


class PriorTherapy(_Record):
    """One prior anticancer therapy; ``end_date`` may be partial or ``ongoing``."""

    type: Annotated[TherapyType, _choice(THERAPY_TYPES)]
    end_date: EndDate | None = None


class ScreeningRecord(_Record):
    """A screening record (interfaces.md); None = missing unless a field says otherwise."""

    subject_ref: str | None = None
    screening_date: IsoDate | None = None
    birth_date: BirthDate | None = None
    sex: Annotated[str, _choice(SEXES)] | None = None
    consent: Consent | None = None
    hcc_diagnosis: HccDiagnosis | None = None
    tumor: Tumor | None = None
    ecog: Ecog | None = None
    ecog_cancer_related: Flag | None = None
    investigator_bclc: Annotated[BclcStage, _choice(get_args(BclcStage))] | None = None
    labs: Labs | None = None
    ascites: Annotated[str, _choice(tuple(ASCITES_POINTS))] | None = None
    encephalopathy: Annotated[str, _choice(tuple(ENCEPHALOPATHY_POINTS))] | None = None
    prior_tace: Flag | None = None
    prior_therapies: list[PriorTherapy] | None = None
    other_trial_end_date: EndDate | None = None
    hiv: Flag | None = None
    htlv: Flag | None = None
    active_infection: Flag | None = None
    active_cardiac_disease: Flag | None = None
    encephalopathy_last_episode_date: IsoDate | None = None
    cns_disease: Flag | None = None
    brain_or_meningeal_metastasis: Flag | None = None
    pregnant: Flag | None = None
    breast_feeding: Flag | None = None
    childbearing_potential: Flag | None = None
    adequate_contraception: Flag | None = None

    def given(self, field: str) -> bool:
        """True when the key was present in the input (even as null)."""
        return field in self.model_fields_set


def _check_possible(record: ScreeningRecord) -> None:
    """Reject values that cannot be true, naming the field."""
    labs = record.labs
    if labs is not None and labs.albumin is not None:
        albumin = labs.albumin
        if albumin_g_dl(albumin.value, albumin.unit) > ALBUMIN_MAX_G_DL:
            raise InputError(
                "labs.albumin.value",
                f"{albumin.value} {albumin.unit} is above {ALBUMIN_MAX_G_DL} g/dL (impossible)",
            )
    if labs is not None and labs.inr is not None and labs.inr.value > INR_MAX:
        raise InputError("labs.inr.value", f"{labs.inr.value} is above {INR_MAX} (impossible)")
    if record.sex == "male":
        for field in FEMALE_ONLY_FLAGS:
            if getattr(record, field):
                raise InputError(field, "true is impossible for sex male")
    if (
        record.encephalopathy not in (None, NO_ENCEPHALOPATHY)
        and record.given("encephalopathy_last_episode_date")
        and record.encephalopathy_last_episode_date is None
    ):
        raise InputError(
            "encephalopathy_last_episode_date",
            f"null (never) contradicts encephalopathy {record.encephalopathy!r} at screening",
        )
    screening = record.screening_date
    if screening is None:
        return
    if record.birth_date is not None and record.birth_date.earliest > screening:
        raise InputError(
            "birth_date", f"{record.birth_date} is after the screening date {screening.isoformat()}"
        )
    episode = record.encephalopathy_last_episode_date
    if episode is not None and episode > screening:
        raise InputError(
            "encephalopathy_last_episode_date",
            f"{episode.isoformat()} is after the screening date {screening.isoformat()}",
        )


def screening_record_from_dict(data: Mapping[str, Any]) -> ScreeningRecord:
    """Validate a screening record given as parsed JSON; bad input raises ``InputError``."""
    if not isinstance(data, Mapping):
        raise InputError("", "a screening record must be a JSON object")
    try:
        record = ScreeningRecord.model_validate(dict(data))
    except ValidationError as exc:
        raise input_error(exc) from None
    _check_possible(record)
    return record
