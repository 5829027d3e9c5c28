"""The protocol as typed data: everything trial-specific lives in the YAML file, never in code.

Field names follow the [CONFIG ``key``] names of domain.md (sections 1.3, 1.4, 2.9, 8.2, 8.5, 9.4)
so a reader can go from the reference document to the file and back. Every model forbids unknown
keys, so a typo in a protocol file is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ikctrial.clinical.bclc import BclcStage
from ikctrial.clinical.child_pugh import ChildPughClass
from ikctrial.clinical.edit_checks import EditCheck
from ikctrial.protocol.validation import FieldRuleError

CRITERION_IDS: tuple[str, ...] = (
    "I1_age",
    "I2_hcc_diagnosis",
    "I3_bclc",
    "I4_no_prior_tace",
    "I5_child_pugh",
    "I6_ecog",
    "I7_consent",
    "E1_recent_therapy",
    "E2_hiv_htlv",
    "E3_active_infection",
    "E4_life_threatening",
    "E5_pregnancy",
)
"""The twelve criterion ids, in the order interfaces.md fixes for every eligibility output."""

P = TypeVar("P", bound=BaseModel)

NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0)]
HccDiagnosisMethod = Literal["CT", "MRI", "AFP", "angiography", "cytology", "biopsy"]
TherapyType = Literal[
    "chemotherapy", "radiotherapy", "immunotherapy", "hormone", "local", "targeted"
]


class StrictModel(BaseModel):
    """Base of every protocol model: unknown keys are errors and loaded values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Arm(StrictModel):
    """One treatment arm; ``code`` is what randomization lists and exports carry."""

    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    name: str
    type: Literal[
        "experimental",
        "active_comparator",
        "placebo_comparator",
        "sham_comparator",
        "no_intervention",
        "other",
    ]


class StratificationFactor(StrictModel):
    """A randomization stratum factor read from the eligibility ``derived`` output."""

    name: str
    source: Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$")]
    levels: Annotated[list[str], Field(min_length=2)]

    @model_validator(mode="after")
    def _levels_unique(self) -> StratificationFactor:
        _require_unique(self.levels, "levels", "")
        return self


def _default_stratification() -> list[StratificationFactor]:
    return [
        StratificationFactor(name="bclc", source="bclc", levels=["B", "C"]),
        StratificationFactor(name="child_pugh", source="child_pugh.class", levels=["A", "B"]),
    ]


class Randomization(StrictModel):
    """How arms are allocated (domain.md 9.4)."""

    method: Literal["stratified_permuted_blocks", "minimization"]
    block_sizes: Annotated[list[PositiveInt], Field(min_length=1)]
    minimization_probability: Annotated[float, Field(gt=0.5, le=1.0)] = 0.8
    stratification_factors: list[StratificationFactor] = Field(
        default_factory=_default_stratification
    )


class AgeParams(StrictModel):
    """I1: ``min_age`` <= age in completed years < ``max_age_exclusive``."""

    min_age: NonNegativeInt
    max_age_exclusive: PositiveInt

    @model_validator(mode="after")
    def _ordered(self) -> AgeParams:
        if self.max_age_exclusive <= self.min_age:
            raise FieldRuleError(
                "max_age_exclusive", f"must be greater than min_age ({self.min_age})"
            )
        return self


class HccDiagnosisParams(StrictModel):
    """I2: the diagnostic modalities that establish HCC under this protocol."""

    accepted_methods: Annotated[list[HccDiagnosisMethod], Field(min_length=1)]


class BclcParams(StrictModel):
    """I3: the BCLC stages that may enrol."""

    allowed_stages: Annotated[list[BclcStage], Field(min_length=1)]


class ChildPughParams(StrictModel):
    """I5: the Child-Pugh classes that may enrol."""

    allowed_classes: Annotated[list[ChildPughClass], Field(min_length=1)]


class EcogParams(StrictModel):
    """I6: highest ECOG grade that may enrol."""

    max_ecog: Annotated[int, Field(ge=0, le=5)]


class RecentTherapyParams(StrictModel):
    """E1: washout before screening for the listed therapy types and other trials."""

    washout_days: NonNegativeInt
    therapy_types: list[TherapyType]
    includes_other_trials: bool = True


class SerologyParams(StrictModel):
    """E2: age limit of a serology test before the EDC raises a query (never a fail)."""

    serology_max_age_days: NonNegativeInt


class LifeThreateningParams(StrictModel):
    """E4: hepatic encephalopathy excludes when an episode is within this many calendar months."""

    encephalopathy_window_months: PositiveInt


class PregnancyParams(StrictModel):
    """E5: age limit of a pregnancy test before the EDC raises a query (never a fail)."""

    pregnancy_test_max_age_days: NonNegativeInt


class NoParams(StrictModel):
    """A criterion whose rule has no protocol parameter."""


class _CriterionBase(StrictModel):
    kind: Literal["inclusion", "exclusion"]
    text: Annotated[str, Field(min_length=1)]


class AgeCriterion(_CriterionBase):
    id: Literal["I1_age"]
    params: AgeParams


class HccDiagnosisCriterion(_CriterionBase):
    id: Literal["I2_hcc_diagnosis"]
    params: HccDiagnosisParams


class BclcCriterion(_CriterionBase):
    id: Literal["I3_bclc"]
    params: BclcParams


class NoPriorTaceCriterion(_CriterionBase):
    id: Literal["I4_no_prior_tace"]
    params: NoParams = NoParams()


class ChildPughCriterion(_CriterionBase):
    id: Literal["I5_child_pugh"]
    params: ChildPughParams


class EcogCriterion(_CriterionBase):
    id: Literal["I6_ecog"]
    params: EcogParams


class ConsentCriterion(_CriterionBase):
    id: Literal["I7_consent"]
    params: NoParams = NoParams()


class RecentTherapyCriterion(_CriterionBase):
    id: Literal["E1_recent_therapy"]
    params: RecentTherapyParams


class HivHtlvCriterion(_CriterionBase):
    id: Literal["E2_hiv_htlv"]
    params: SerologyParams


class ActiveInfectionCriterion(_CriterionBase):
    id: Literal["E3_active_infection"]
    params: NoParams = NoParams()


class LifeThreateningCriterion(_CriterionBase):
    id: Literal["E4_life_threatening"]
    params: LifeThreateningParams


class PregnancyCriterion(_CriterionBase):
    id: Literal["E5_pregnancy"]
    params: PregnancyParams


Criterion = Annotated[
    AgeCriterion
    | HccDiagnosisCriterion
    | BclcCriterion
    | NoPriorTaceCriterion
    | ChildPughCriterion
    | EcogCriterion
    | ConsentCriterion
    | RecentTherapyCriterion
    | HivHtlvCriterion
    | ActiveInfectionCriterion
    | LifeThreateningCriterion
    | PregnancyCriterion,
    Field(discriminator="id"),
]


class Eligibility(StrictModel):
    """The twelve criteria with their texts and rule parameters, in output order."""

    criteria: list[Criterion]

    @model_validator(mode="after")
    def _all_twelve_in_order(self) -> Eligibility:
        for index, expected in enumerate(CRITERION_IDS):
            if index >= len(self.criteria):
                raise FieldRuleError("criteria", f"{expected} is missing (all twelve, in order)")
            if self.criteria[index].id != expected:
                raise FieldRuleError(
                    f"criteria[{index}].id",
                    f"{self.criteria[index].id!r} found where {expected} is expected "
                    "(all twelve criteria, in order)",
                )
        if len(self.criteria) > len(CRITERION_IDS):
            raise FieldRuleError(f"criteria[{len(CRITERION_IDS)}]", "only twelve criteria exist")
        return self

    def params_of(self, criterion_id: str) -> BaseModel:
        """The rule parameters of one criterion."""
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion.params
        raise KeyError(criterion_id)

    @property
    def age(self) -> AgeParams:
        """I1 parameters."""
        return self._typed("I1_age", AgeParams)

    @property
    def hcc_diagnosis(self) -> HccDiagnosisParams:
        """I2 parameters."""
        return self._typed("I2_hcc_diagnosis", HccDiagnosisParams)

    @property
    def bclc(self) -> BclcParams:
        """I3 parameters."""
        return self._typed("I3_bclc", BclcParams)

    @property
    def child_pugh(self) -> ChildPughParams:
        """I5 parameters."""
        return self._typed("I5_child_pugh", ChildPughParams)

    @property
    def ecog(self) -> EcogParams:
        """I6 parameters."""
        return self._typed("I6_ecog", EcogParams)

    @property
    def recent_therapy(self) -> RecentTherapyParams:
        """E1 parameters."""
        return self._typed("E1_recent_therapy", RecentTherapyParams)

    @property
    def life_threatening(self) -> LifeThreateningParams:
        """E4 parameters."""
        return self._typed("E4_life_threatening", LifeThreateningParams)

    def _typed(self, criterion_id: str, kind: type[P]) -> P:
        params = self.params_of(criterion_id)
        assert isinstance(params, kind)  # guaranteed by the discriminated union
        return params


class Infusion(StrictModel):
    """One planned IKC infusion: target elapsed day from randomization and its +/- window."""

    number: PositiveInt
    target_day: PositiveInt
    window_days: NonNegativeInt


class ImmunePanelVisit(StrictModel):
    """One immune-panel time point (elapsed day) and its +/- window."""

    day: PositiveInt
    window_days: NonNegativeInt


class DayWindow(StrictModel):
    """An interval of elapsed days, both ends included."""

    start_day: int
    end_day: int

    @model_validator(mode="after")
    def _ordered(self) -> DayWindow:
        if self.end_day < self.start_day:
            raise FieldRuleError("end_day", "must not be before start_day")
        return self


class Schedule(StrictModel):
    """The visit calendar and TACE/infusion rules of domain.md 1.3 and 1.4 (elapsed days)."""

    screening_window_days: NonNegativeInt
    baseline_imaging_max_age_days: NonNegativeInt
    baseline_lab_max_age_days: NonNegativeInt
    immune_baseline_window: DayWindow
    first_tace_window_days: NonNegativeInt
    manufacturing_lead_days: NonNegativeInt
    manufacturing_window_days: NonNegativeInt
    infusion_plan: Annotated[list[Infusion], Field(min_length=1)]
    repeat_tace: Literal["on_demand"] = "on_demand"
    """Repeat TACE in both arms when imaging shows TACE-treatable intrahepatic tumor (1.4)."""
    min_tace_interval_days: NonNegativeInt
    imaging_interval_days: PositiveInt
    imaging_window_days: NonNegativeInt
    imaging_days: Annotated[list[PositiveInt], Field(min_length=1)]
    immune_panel_days: list[ImmunePanelVisit]
    prelab_max_age_days: NonNegativeInt
    eos_day: PositiveInt
    eos_window_days: NonNegativeInt
    eos_imaging_skip_if_scan_within_days: NonNegativeInt
    tace_blackout_before_days: NonNegativeInt
    tace_blackout_after_days: NonNegativeInt
    min_infusion_gap_days: NonNegativeInt
    collision_policy: Literal["shift_minimal"]
    max_infusion_delay_days: NonNegativeInt
    allow_makeup: bool

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        for index, infusion in enumerate(self.infusion_plan):
            if infusion.number != index + 1:
                raise FieldRuleError(f"infusion_plan[{index}].number", f"must be {index + 1}")
        _require_increasing(
            [i.target_day for i in self.infusion_plan], "infusion_plan", ".target_day"
        )
        _require_increasing(self.imaging_days, "imaging_days", "")
        _require_increasing([v.day for v in self.immune_panel_days], "immune_panel_days", ".day")
        if self.immune_baseline_window.end_day > 0:
            raise FieldRuleError(
                "immune_baseline_window.end_day", "must be on or before randomization (day 0)"
            )
        last = max(self.infusion_plan[-1].target_day, self.imaging_days[-1])
        if self.eos_day < last:
            raise FieldRuleError(
                "eos_day", f"must not precede the last planned infusion or scan (day {last})"
            )
        return self


class Response(StrictModel):
    """Tumor-response settings (domain.md 2.9, 3.3, 3.7)."""

    primary_criterion: Literal["RECIST1.1", "mRECIST"]
    criteria: Annotated[list[Literal["RECIST1.1", "mRECIST"]], Field(min_length=1)]
    confirmation_required: bool
    confirmation_min_days: NonNegativeInt
    allow_ne_between_confirmation: bool
    sd_min_days: NonNegativeInt
    mrecist_pd_min_abs_increase_mm: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _primary_listed(self) -> Response:
        if self.primary_criterion not in self.criteria:
            raise FieldRuleError("primary_criterion", "must be one of criteria")
        return self


class Endpoint(StrictModel):
    """One endpoint with the definition an analyst needs to derive it."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    type: Literal["time_to_event", "continuous", "count", "binary", "longitudinal"]
    definition: str
    analysis: str


class Endpoints(StrictModel):
    """Primary and secondary endpoints (domain.md 1.1 and 7)."""

    primary: Annotated[list[Endpoint], Field(min_length=1)]
    secondary: list[Endpoint]
    per_protocol_min_infusions: NonNegativeInt = 9
    """Experimental-arm patients with fewer infusions leave the per-protocol set (domain.md 7.7)."""

    @model_validator(mode="after")
    def _ids_unique(self) -> Endpoints:
        _require_unique([e.id for e in self.primary], "primary", "id")
        primary_ids = {e.id for e in self.primary}
        for index, endpoint in enumerate(self.secondary):
            if endpoint.id in primary_ids:
                raise FieldRuleError(f"secondary[{index}].id", f"{endpoint.id!r} is also primary")
        _require_unique([e.id for e in self.secondary], "secondary", "id")
        return self


class ReleaseTest(StrictModel):
    """One lot-release test with its acceptance criterion (domain.md 8.2).

    A numeric test passes when the result lies within ``[min, max]`` (each end optional, open when
    its ``*_inclusive`` flag is false); a categorical test passes when the result equals
    ``expected``.
    """

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    method: str
    kind: Literal["numeric", "categorical"]
    unit: str | None = None
    min: float | None = None
    min_inclusive: bool = True
    max: float | None = None
    max_inclusive: bool = True
    expected: str | None = None
    required: bool = True
    available_at_infusion: bool = True

    @model_validator(mode="after")
    def _limits_match_kind(self) -> ReleaseTest:
        if self.kind == "categorical":
            if self.expected is None:
                raise FieldRuleError("expected", "required for a categorical test")
            if self.min is not None or self.max is not None:
                raise FieldRuleError("min" if self.min is not None else "max", "numeric tests only")
        elif self.expected is not None:
            raise FieldRuleError("expected", "categorical tests only")
        elif self.min is not None and self.max is not None and self.max < self.min:
            raise FieldRuleError("max", f"must not be below min ({self.min})")
        return self


class Product(StrictModel):
    """The IKC release specification and logistics settings (domain.md 8.1, 8.2, 8.5)."""

    name: str
    lot_mode: Literal["per_infusion", "single_collection_multi_lot"]
    shelf_life_hours: Annotated[float, Field(gt=0)] | None
    transport_temp_range_c: Annotated[list[float], Field(min_length=2, max_length=2)]
    release_tests: Annotated[list[ReleaseTest], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        low, high = self.transport_temp_range_c
        if high < low:
            raise FieldRuleError("transport_temp_range_c", "must be [low, high]")
        _require_unique([t.code for t in self.release_tests], "release_tests", "code")
        return self


class Protocol(StrictModel):
    """A whole trial protocol as the platform uses it."""

    nct_id: Annotated[str, Field(pattern=r"^NCT\d{8}$")]
    sponsor_study_id: str
    sponsor: str
    phase: str
    title: str
    version: str
    arms: Annotated[list[Arm], Field(min_length=2)]
    allocation_ratio: list[PositiveInt]
    target_enrollment: PositiveInt
    consent_versions: Annotated[list[str], Field(min_length=1)]
    randomization: Randomization
    eligibility: Eligibility
    schedule: Schedule
    response: Response
    endpoints: Endpoints
    product: Product
    edit_checks: list[EditCheck] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_field(self) -> Protocol:
        _require_unique([a.code for a in self.arms], "arms", "code")
        _require_unique([c.id for c in self.edit_checks], "edit_checks", "id")
        _require_unique(self.consent_versions, "consent_versions", "")
        if len(self.allocation_ratio) != len(self.arms):
            raise FieldRuleError(
                "allocation_ratio",
                f"has {len(self.allocation_ratio)} entries for {len(self.arms)} arms",
            )
        total = sum(self.allocation_ratio)
        for index, size in enumerate(self.randomization.block_sizes):
            if size % total:
                raise FieldRuleError(
                    f"randomization.block_sizes[{index}]",
                    f"{size} is not a multiple of the allocation total {total}",
                )
        _require_unique(
            [f.name for f in self.randomization.stratification_factors],
            "randomization.stratification_factors",
            "name",
        )
        planned = len(self.schedule.infusion_plan)
        if self.endpoints.per_protocol_min_infusions > planned:
            raise FieldRuleError(
                "endpoints.per_protocol_min_infusions",
                f"{self.endpoints.per_protocol_min_infusions} is more than the {planned} planned",
            )
        return self

    def arm_codes(self) -> list[str]:
        """Arm codes in file order (the order of ``allocation_ratio``)."""
        return [a.code for a in self.arms]


def _require_unique(values: list[str], field: str, attribute: str) -> None:
    """Name the first repeated value as ``field[i].attribute`` (or ``field[i]``)."""
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            suffix = f".{attribute}" if attribute else ""
            raise FieldRuleError(f"{field}[{index}]{suffix}", f"{value!r} is repeated")
        seen.add(value)


def _require_increasing(values: list[int], field: str, suffix: str) -> None:
    """Name the first value not above its predecessor as ``field[i]suffix``."""
    for index, (before, after) in enumerate(itertools.pairwise(values), start=1):
        if after <= before:
            raise FieldRuleError(f"{field}[{index}]{suffix}", f"{after} is not after {before}")
