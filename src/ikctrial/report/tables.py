"""The report's summary tables from ADaM-like data: baseline characteristics by arm (ADSL),
adverse events by worst CTCAE grade and arm (ADAE with ADSL denominators) and treatment exposure
(ADEX).

Conventions: percentages are of the arm's patients in the population (N in the column header),
one decimal; SD with n - 1; quartiles by linear interpolation (R ``quantile`` type 7, SAS
``QNTLDEF=5`` differs slightly for small n); each patient counts once per row, at the worst grade.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from ikctrial.errors import InputError
from ikctrial.report.figures.style import arm_levels, require

TOTAL = "Total"
ANY_EVENT = "Any adverse event"
GRADES = ("1", "2", "3", "4", "5")
ANY_GRADE = "Any grade"
GRADE_3_OR_MORE = "Grade ≥3"
MISSING = "Missing"
_DASH = "–"


def _population(data: pd.DataFrame, flag: str | None, dataset: str) -> pd.DataFrame:
    """Rows whose population flag is "Y" (all rows when ``flag`` is None)."""
    if flag is None:
        return data
    require(data, [flag], dataset)
    return data[data[flag] == "Y"]


def _header(arm: Hashable, n: int) -> str:
    return f"{arm} (N = {n})"


def _count_percent(count: int, total: int) -> str:
    """ "k (p%)" with one decimal; the percent is omitted when the denominator is 0."""
    if total == 0:
        return f"{count}"
    return f"{count} ({100.0 * count / total:.1f}%)"


def _number(value: float, decimals: int) -> str:
    return _DASH if not np.isfinite(value) else f"{value:.{decimals}f}"


def _continuous(values: pd.Series, decimals: int) -> dict[str, str]:
    """n, mean (SD), median (Q1, Q3) and range of the non-missing values; the SD gets one
    decimal more than the mean."""
    present = pd.to_numeric(values, errors="raise").dropna().astype(float)
    if present.empty:
        return {"n": "0", "Mean (SD)": _DASH, "Median (Q1, Q3)": _DASH, "Min, max": _DASH}
    q1, median, q3 = (float(q) for q in present.quantile([0.25, 0.5, 0.75]))
    sd = float(present.std(ddof=1)) if len(present) > 1 else float("nan")
    return {
        "n": f"{len(present)}",
        "Mean (SD)": f"{_number(float(present.mean()), decimals)} ({_number(sd, decimals + 1)})",
        "Median (Q1, Q3)": (
            f"{_number(median, decimals)} ({_number(q1, decimals)}, {_number(q3, decimals)})"
        ),
        "Min, max": f"{_number(float(present.min()), decimals)}, "
        f"{_number(float(present.max()), decimals)}",
    }


def _levels(values: pd.Series) -> list[Hashable]:
    """Category order: the categorical dtype's order, otherwise sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    return sorted(pd.unique(values.dropna()), key=str)


def baseline_characteristics(
    adsl: pd.DataFrame,
    *,
    continuous: Mapping[str, str],
    categorical: Mapping[str, str],
    arm: str = "TRT01P",
    arm_order: Sequence[Hashable] | None = None,
    population: str | None = "ITTFL",
    total: bool = True,
    decimals: int = 1,
) -> pd.DataFrame:
    """Baseline characteristics by arm: for each ``continuous`` column (column -> label) n,
    mean (SD), median (Q1, Q3: the interquartile range) and range; for each ``categorical``
    column n (%) per level, and a Missing row when values are missing. Rows are indexed by
    (characteristic, statistic); columns are "arm (N = n)" and, with ``total``, "Total (N = n)".
    """
    rows = _population(adsl, population, "ADSL")
    require(rows, [arm, *continuous, *categorical], "ADSL")
    arms = arm_levels(rows[arm], arm_order, f"ADSL.{arm}")
    groups: list[tuple[str, pd.DataFrame]] = [
        (_header(a, int((rows[arm] == a).sum())), rows[rows[arm] == a]) for a in arms
    ]
    if total:
        groups.append((_header(TOTAL, len(rows)), rows))
    cells: dict[str, dict[tuple[str, str], str]] = {name: {} for name, _ in groups}
    for name, group in groups:
        for column, label in continuous.items():
            try:
                summary = _continuous(group[column], decimals)
            except (ValueError, TypeError):
                raise InputError(f"ADSL.{column}", "is not numeric") from None
            for statistic, text in summary.items():
                cells[name][(label, statistic)] = text
        for column, label in categorical.items():
            for level in _levels(rows[column]):
                count = int((group[column] == level).sum())
                cells[name][(label, str(level))] = _count_percent(count, len(group))
            if rows[column].isna().any():
                count = int(group[column].isna().sum())
                cells[name][(label, MISSING)] = _count_percent(count, len(group))
    table = pd.DataFrame(cells)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["characteristic", "statistic"])
    return table


def _grade_numbers(grades: pd.Series, column: str) -> pd.Series:
    """CTCAE grades 1-5 as numbers (ADaM stores ``ATOXGR`` as text); missing stays missing."""
    numeric = pd.to_numeric(grades, errors="coerce")
    bad = grades.notna() & (numeric.isna() | ~numeric.isin([1, 2, 3, 4, 5]))
    if bad.any():
        raise InputError(f"ADAE.{column}", f"{grades[bad].iloc[0]!r} is not a CTCAE grade 1-5")
    return numeric


def ae_counts_by_worst_grade(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    arm: str = "TRT01A",
    arm_order: Sequence[Hashable] | None = None,
    term: str = "AEDECOD",
    grade: str = "ATOXGR",
    population: str | None = "SAFFL",
    emergent: str | None = "TRTEMFL",
) -> tuple[pd.DataFrame, dict[Hashable, int]]:
    """Patients per term and arm at their worst grade, and the arm denominators.

    Arms and denominators come from ADSL (``arm``, default the actual treatment, within the
    ``population`` flag); events from ADAE (treatment-emergent when ``emergent`` is given). Rows:
    "Any adverse event", then terms by decreasing frequency; columns (arm, grade) with grades
    1-5, Missing (only if some event has no grade), Any grade and Grade ≥3.
    """
    patients = _population(adsl, population, "ADSL")
    require(patients, ["USUBJID", arm], "ADSL")
    arms = arm_levels(patients[arm], arm_order, f"ADSL.{arm}")
    denominators = {a: int((patients[arm] == a).sum()) for a in arms}
    require(adae, ["USUBJID", term, grade], "ADAE")
    events = adae if emergent is None else _population(adae, emergent, "ADAE")
    events = events[events["USUBJID"].isin(patients["USUBJID"])]
    events = events.assign(
        _grade=_grade_numbers(events[grade], grade),
        _arm=events["USUBJID"].map(patients.set_index("USUBJID")[arm]),
    )
    any_event = events.assign(**{term: ANY_EVENT})
    both = pd.concat([any_event, events], ignore_index=True)
    worst = both.groupby(["USUBJID", "_arm", term], sort=False)["_grade"].max().reset_index()
    worst["_column"] = worst["_grade"].map(lambda g: MISSING if pd.isna(g) else str(int(g)))
    grades = list(GRADES) + ([MISSING] if (worst["_column"] == MISSING).any() else [])
    counts = (
        worst.groupby([term, "_arm", "_column"]).size().unstack(["_arm", "_column"], fill_value=0)
    )
    columns: dict[tuple[Hashable, str], pd.Series] = {}
    empty = pd.Series(0, index=counts.index)
    for a in arms:
        for g in grades:
            columns[(a, g)] = counts[(a, g)] if (a, g) in counts.columns else empty
        columns[(a, ANY_GRADE)] = pd.concat([columns[(a, g)] for g in grades], axis=1).sum(axis=1)
        columns[(a, GRADE_3_OR_MORE)] = columns[(a, "3")] + columns[(a, "4")] + columns[(a, "5")]
    table = pd.DataFrame(columns).astype(int)
    table.columns = pd.MultiIndex.from_tuples(list(columns), names=["arm", "grade"])
    if table.empty:
        table = table.reindex([ANY_EVENT], fill_value=0)
    frequency = pd.concat([table[(a, ANY_GRADE)] for a in arms], axis=1).sum(axis=1)
    terms = sorted(
        (t for t in table.index if t != ANY_EVENT), key=lambda t: (-int(frequency[t]), str(t))
    )
    table = table.loc[[ANY_EVENT, *terms]]
    table.index.name = term
    return table, denominators


def ae_table_by_worst_grade(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    arm: str = "TRT01A",
    arm_order: Sequence[Hashable] | None = None,
    term: str = "AEDECOD",
    grade: str = "ATOXGR",
    population: str | None = "SAFFL",
    emergent: str | None = "TRTEMFL",
) -> pd.DataFrame:
    """The AE table as printed: "n (%)" of the arm's safety population, columns
    ("arm (N = n)", grade) — see ``ae_counts_by_worst_grade``."""
    counts, denominators = ae_counts_by_worst_grade(
        adae,
        adsl,
        arm=arm,
        arm_order=arm_order,
        term=term,
        grade=grade,
        population=population,
        emergent=emergent,
    )
    return pd.concat(
        {
            _header(a, n): counts[a].map(lambda k, n=n: _count_percent(int(k), n))
            for a, n in denominators.items()
        },
        axis=1,
        names=["arm"],
    )


def exposure_summary(
    adex: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    arm: str = "TRT01A",
    arm_order: Sequence[Hashable] | None = None,
    treatment: str = "IKC",
    dose: str | None = "EXDOSE",
    dose_label: str = "Viable cells infused per patient (×10⁹)",
    dose_scale: float = 1e9,
    planned: int = 12,
    minimum: int = 9,
    population: str | None = "SAFFL",
    decimals: int = 1,
) -> pd.DataFrame:
    """Exposure to ``treatment`` by arm from ADEX (one record per administration, ``EXTRT``):
    patients with at least one, administrations per treated patient, patients reaching
    ``minimum`` (the per-protocol threshold, domain.md 7.7) and all ``planned``, and the total
    ``dose`` per treated patient divided by ``dose_scale``. Laid out as
    ``baseline_characteristics``."""
    patients = _population(adsl, population, "ADSL")
    require(patients, ["USUBJID", arm], "ADSL")
    require(adex, ["USUBJID", "EXTRT", *([dose] if dose else [])], "ADEX")
    arms = arm_levels(patients[arm], arm_order, f"ADSL.{arm}")
    given = adex[(adex["EXTRT"] == treatment) & adex["USUBJID"].isin(patients["USUBJID"])]
    per_patient = given.groupby("USUBJID").size()
    totals = None
    if dose:
        by_patient = given.groupby("USUBJID")[dose]
        # a patient with any unrecorded dose has an unknown total (left out of n), never a low one
        totals = (by_patient.sum() / dose_scale).where(by_patient.count() == by_patient.size())
    cells: dict[str, dict[tuple[str, str], str]] = {}
    for a in arms:
        mine = patients.loc[patients[arm] == a, "USUBJID"]
        counts = per_patient.reindex(mine, fill_value=0)
        n = len(mine)
        column: dict[tuple[str, str], str] = {
            (f"Patients given {treatment}", "n (%)"): _count_percent(int((counts > 0).sum()), n),
            (f"Received ≥{minimum} of {planned}", "n (%)"): _count_percent(
                int((counts >= minimum).sum()), n
            ),
            (f"Received all {planned}", "n (%)"): _count_percent(int((counts >= planned).sum()), n),
        }
        treated = counts[counts > 0]
        for statistic, text in _continuous(treated, decimals).items():
            column[(f"{treatment} administrations per treated patient", statistic)] = text
        if totals is not None:
            for statistic, text in _continuous(totals.reindex(treated.index), decimals).items():
                column[(dose_label, statistic)] = text
        cells[_header(a, n)] = column
    table = pd.DataFrame(cells)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["characteristic", "statistic"])
    return table
