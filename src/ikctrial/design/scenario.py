"""One simulation scenario as flat, named parameters: what a user types or puts in a grid file.

The field names are those of ``ikctrial design simulate`` (``--control-median`` is
``control_median_months``) and of the grid YAML; ``trial_design()`` validates them and builds the
``TrialDesign`` the simulator runs, so every front door rejects the same bad values with the same
parameter name.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from ikctrial.design.parameters import (
    checked_positive,
    dropout_hazard_per_month,
    parse_allocation,
)
from ikctrial.design.piecewise import PiecewiseAccrual, PiecewiseExponential
from ikctrial.design.sample_size import FollowUp, analytic_power
from ikctrial.design.schoenfeld import power_for_events
from ikctrial.design.simulate import AtEvents, AtFollowUp, TrialDesign
from ikctrial.errors import InputError, input_error_from_validation


class Scenario(BaseModel):
    """A two-arm survival trial to simulate (months; allocation experimental:control)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int
    allocation: str = "1:1"
    hazard_ratio: float
    control_median_months: float | None = None
    control_hazards: list[float] | None = None
    hazard_starts: list[float] | None = None
    accrual_months: float
    accrual_starts: list[float] | None = None
    accrual_intensities: list[float] | None = None
    events: int | None = None
    followup_months: float | None = None
    alpha: float
    sided: int
    dropout_rate: float = 0.0
    dropout_months: float = 12.0
    patient_followup_months: float | None = None
    regular_accrual: bool = False

    @classmethod
    def parse(cls, values: dict[str, object]) -> Scenario:
        """Build from plain values; a type error becomes an ``InputError`` naming the field."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise input_error_from_validation(exc) from None

    def control_survival(self) -> PiecewiseExponential:
        """Control-arm survival: exponential from the median, or piecewise hazards."""
        if (self.control_median_months is None) == (self.control_hazards is None):
            raise InputError(
                "control_median_months", "give either a control median or control hazards"
            )
        if self.control_median_months is not None:
            checked_positive("control_median_months", self.control_median_months)
            return PiecewiseExponential.from_median(self.control_median_months)
        hazards = tuple(self.control_hazards or ())
        starts = tuple(self.hazard_starts or (0.0,))
        for hazard in hazards:
            checked_positive("control_hazards", hazard)
        if len(starts) != len(hazards):
            raise InputError("hazard_starts", "needs one start time per control hazard")
        return PiecewiseExponential(starts, hazards)

    def accrual(self) -> PiecewiseAccrual:
        """Uniform accrual over ``accrual_months``, or piecewise intensities."""
        months = checked_positive("accrual_months", self.accrual_months)
        if self.accrual_intensities is None:
            return PiecewiseAccrual.uniform(months)
        starts = tuple(self.accrual_starts or (0.0,))
        if len(starts) != len(self.accrual_intensities):
            raise InputError("accrual_starts", "needs one start time per accrual intensity")
        return PiecewiseAccrual(starts, months, tuple(self.accrual_intensities))

    def trial_design(self) -> TrialDesign:
        """The validated design the simulator runs."""
        if (self.events is None) == (self.followup_months is None):
            raise InputError("events", "give exactly one of events or followup_months")
        analysis: AtEvents | AtFollowUp = (
            AtEvents(self.events)
            if self.events is not None
            else AtFollowUp(self.followup_months or 0)
        )
        return TrialDesign(
            n_subjects=self.n,
            allocation=parse_allocation(self.allocation),
            control_survival=self.control_survival(),
            hazard_ratio=self.hazard_ratio,
            accrual=self.accrual(),
            analysis=analysis,
            alpha=self.alpha,
            sided=self.sided,
            dropout_hazard_per_month=dropout_hazard_per_month(
                self.dropout_rate, self.dropout_months
            ),
            patient_followup_months=self.patient_followup_months,
            regular_accrual=self.regular_accrual,
        )

    def schoenfeld_power(self) -> float | None:
        """Analytic (Schoenfeld) power for comparison: at the planned events, or at the expected
        events of a fixed-follow-up design with exponential survival and uniform accrual; None
        where no closed form applies (piecewise survival or accrual with fixed follow-up)."""
        design = self.trial_design()
        fraction = design.allocation.experimental_fraction
        if isinstance(design.analysis, AtEvents):
            return power_for_events(
                design.analysis.events,
                design.hazard_ratio,
                alpha=design.alpha,
                sided=design.sided,
                allocation_fraction=fraction,
            )
        if len(design.control_survival.hazards) > 1 or len(design.accrual.intensities) > 1:
            return None
        follow_up = FollowUp(
            accrual_months=self.accrual_months,
            followup_months=design.analysis.months,
            dropout_hazard_per_month=design.dropout_hazard_per_month,
            patient_followup_months=design.patient_followup_months,
        )
        return analytic_power(
            design.n_subjects,
            design.allocation,
            design.control_survival.hazards[0],
            design.hazard_ratio,
            follow_up,
            alpha=design.alpha,
            sided=design.sided,
        )
