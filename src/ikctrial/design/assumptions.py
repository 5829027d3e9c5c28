"""Design assumptions for NCT03592706 that the registry does not give (domain.md 7.6).

The registry fixes 60 patients, 1:1, and 1 year of follow-up per patient (domain.md 1.1); it gives
no statistical analysis plan. domain.md 7.6 states the consequence: with at most 60 events the PFS
comparison is exploratory, and the power calculator must show what the registered design can
detect. The values below are ikctrial's planning defaults for that calculation, not protocol
facts; a sponsor replaces them with its own (every field is a parameter of the report).

- ``control_median_months`` 7: median PFS after TACE alone in intermediate/advanced HCC is
  commonly reported around 6-9 months; 7 is a planning value to be checked against the sponsor's
  sources [VERIFY].
- ``accrual_months`` 24: two years to randomize 60 patients at one or a few sites.
- ``patient_followup_months`` 12: the registry's 1 year per patient; the analysis comes when the
  last patient has completed it (``followup_after_accrual_months`` 12).
- ``dropout_rate`` 0.10 within 12 months (withdrawal or loss to follow-up before progression).
- one-sided ``alpha`` 0.025, the convention of domain.md 7.6's worked example.
"""

from __future__ import annotations

from dataclasses import dataclass

from ikctrial.design.parameters import Allocation

REGISTERED_ENROLLMENT = 60
"""Patients randomized in NCT03592706 (domain.md 1.1), used when no protocol file is loaded."""

REGISTERED_ALLOCATION = Allocation(1, 1)
"""IKC + TACE : TACE alone (domain.md 1.1)."""


@dataclass(frozen=True)
class DesignAssumptions:
    """Planning values for the design report (see the module docstring for their sources)."""

    control_median_months: float = 7.0
    accrual_months: float = 24.0
    patient_followup_months: float = 12.0
    followup_after_accrual_months: float = 12.0
    dropout_rate: float = 0.10
    alpha: float = 0.025
    sided: int = 1
    hazard_ratios: tuple[float, ...] = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
    target_powers: tuple[float, ...] = (0.8, 0.9)
