"""The tumour-size sections (domain.md 7.2): waterfall plots of the best percentage change and
spider plots of the change over time, each for RECIST 1.1 (ADTR ``SUMDIAM``) and mRECIST
(``VSUMDIAM``), ITT by randomized arm, annotated from ADRS."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ikctrial.errors import InputError
from ikctrial.report.document import Section, figure, not_estimable, note
from ikctrial.report.figures.spider import spider_figure
from ikctrial.report.figures.style import require
from ikctrial.report.figures.tumour_size import PARAMETERS, TumourParameter
from ikctrial.report.figures.waterfall import best_changes, waterfall_figure
from ikctrial.report.sections.data import AnalysisData


def _records(data: AnalysisData, paramcd: str) -> pd.DataFrame:
    """ITT ADTR records of one tumour-size parameter; an InputError when there are none."""
    adtr = data.itt_records("ADTR")
    if "PARAMCD" not in adtr.columns or not (adtr["PARAMCD"] == paramcd).any():
        raise InputError("ADTR.PARAMCD", f"no {paramcd} records (no tumour measurement yet)")
    return adtr


def _per_criterion(kind: str, draw: Callable[[str, TumourParameter], str]) -> list[str]:
    """One part per tumour-size parameter: its figure, or why it cannot be drawn."""
    parts = []
    for paramcd, parameter in PARAMETERS.items():
        try:
            parts.append(draw(paramcd, parameter))
        except InputError as error:
            parts.append(not_estimable(f"{kind} ({parameter.title})", str(error)))
    return parts


def waterfall_section(data: AnalysisData) -> Section:
    """One waterfall per criterion, bars coloured by best overall response."""

    def draw(paramcd: str, parameter: TumourParameter) -> str:
        adtr = _records(data, paramcd)
        if best_changes(adtr, paramcd).empty:
            raise InputError(
                "ADTR.ANL01FL",
                "no patient has a baseline and a post-baseline complete assessment",
            )
        plot = waterfall_figure(
            adtr,
            paramcd=paramcd,
            colour_by="BOR",
            adrs=data.itt_records("ADRS"),
            adsl=data.adsl_itt,
        )
        return figure(
            plot.figure,
            title=(
                f"Best percentage change from baseline in the {parameter.quantity}, "
                f"{parameter.title}, one bar per patient (n = {len(plot.bars)}), coloured by "
                "best overall response, reference lines at +20% and −30%"
            ),
            caption=(
                "Sorted from the largest increase to the largest decrease (ITT); patients "
                "without a post-baseline complete assessment are counted under the axis."
            ),
        )

    parts = _per_criterion("Waterfall plot", draw)
    parts.append(
        note(
            "Best change: ADTR ANL01FL (the minimum post-baseline change up to the first "
            "progression). ADaM does not record whether a progression came from a new lesion or "
            "non-target progression, so no bar carries that mark."
        )
    )
    return Section("waterfall", "Best change in tumour size (waterfall plots)", "".join(parts))


def spider_section(data: AnalysisData) -> Section:
    """Spider plots (percentage change against weeks since randomization, panel per arm)."""

    def draw(paramcd: str, parameter: TumourParameter) -> str:
        adtr = data.with_adsl(_records(data, paramcd), ["RANDDT"])
        require(adtr, ["ABLFL", "PCHG"], "ADTR")
        post = adtr[(adtr["PARAMCD"] == paramcd) & (adtr["ABLFL"] != "Y")]
        if post["PCHG"].isna().all():  # an empty plot would say nothing: say why instead
            raise InputError("ADTR.PCHG", "no post-baseline complete assessment yet")
        plot = spider_figure(
            adtr,
            paramcd=paramcd,
            arm="TRTP",
            arm_order=list(data.arms),
            adrs=data.itt_records("ADRS"),
        )
        return figure(
            plot.figure,
            title=(
                f"Percentage change from baseline in the {parameter.quantity}, "
                f"{parameter.title}, against weeks since randomization, one line per patient "
                f"({plot.points['USUBJID'].nunique()} patients), one panel per arm, "
                "progression marked X"
            ),
            caption="Reference lines at +20% (progression) and −30% (partial response).",
        )

    parts = _per_criterion("Spider plot", draw)
    return Section("spider", "Tumour size over time (spider plots)", "".join(parts))
