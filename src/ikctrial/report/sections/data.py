"""What the report sections read: the analysis datasets, the arms by name in protocol order, the
data cut-off, and the few views several sections share (ITT subjects, randomization strata).

Nothing here computes a statistic; it selects records and joins ADSL variables onto them by
``USUBJID`` (ADaM's own key) so a section can hand one frame to ``ikctrial.stats`` or a figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from ikctrial.errors import InputError
from ikctrial.report.figures.style import require

STRATA = {"STRBCLC": "BCLC stage", "STRCP": "Child-Pugh class"}
"""The randomization strata as ADSL holds them (as randomized), with their labels."""
STRATUM = "_STRATUM"
"""The column naming each subject's stratum (the combination of the factors of ``STRATA``)."""


@dataclass(frozen=True)
class AnalysisData:
    """The analysis datasets and the study facts the sections need."""

    adam: Mapping[str, pd.DataFrame]
    arms: tuple[str, ...]
    """Arm names (as TRTP / TRT01P hold them) in protocol order."""
    experimental: str
    control: str
    cutoff: date

    def dataset(self, name: str) -> pd.DataFrame:
        """One dataset; an InputError naming it when the inputs lack it."""
        try:
            return self.adam[name]
        except KeyError:
            raise InputError(name, "is not among the analysis datasets") from None

    @property
    def adsl_itt(self) -> pd.DataFrame:
        """ADSL records of the intention-to-treat population (all randomized, domain.md 7.7)."""
        adsl = self.dataset("ADSL")
        require(adsl, ["USUBJID", "ITTFL", "TRT01P"], "ADSL")
        return adsl[adsl["ITTFL"] == "Y"]

    def itt_records(self, name: str) -> pd.DataFrame:
        """Records of a BDS dataset belonging to ITT subjects."""
        rows = self.dataset(name)
        require(rows, ["USUBJID"], name)
        return rows[rows["USUBJID"].isin(self.adsl_itt["USUBJID"])]

    def with_adsl(self, rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """``rows`` with ADSL ``columns`` joined by USUBJID (replacing same-named columns)."""
        adsl = self.dataset("ADSL")
        require(adsl, ["USUBJID", *columns], "ADSL")
        kept = rows.drop(columns=[c for c in columns if c in rows.columns])
        return kept.merge(adsl[["USUBJID", *columns]], on="USUBJID", how="left")

    def arm_group(self, values: pd.Series) -> pd.Series:
        """Arm names as a categorical with the control arm first, so an engine that compares the
        second level with the first (rates, MMRM) gives experimental vs control."""
        return pd.Series(
            pd.Categorical(values, categories=[self.control, self.experimental]),
            index=values.index,
        )


def with_stratum(data: AnalysisData, rows: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``rows`` with the subject's randomization stratum in ``STRATUM``, and None; or the rows
    unchanged and why they cannot be stratified (a stratum factor missing for some subject)."""
    joined = data.with_adsl(rows, list(STRATA))
    incomplete = [label for column, label in STRATA.items() if joined[column].isna().any()]
    if incomplete:
        return rows, f"{incomplete[0]} as randomized is missing for some patients"
    stratum = joined["STRBCLC"].astype(str) + " / " + joined["STRCP"].astype(str)
    return joined.assign(**{STRATUM: stratum.to_numpy()}), None
