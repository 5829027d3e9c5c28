"""Best overall response from the time-point responses (domain.md 2.9, also for mRECIST 3.6).

Only time points up to and including the first PD count. Without confirmation the best of CR,
PR counts at once; SD (or Non-CR/Non-PD) counts only at ``elapsed >= min_sd_days``. With
confirmation a CR or PR needs a later time point at least as good ``confirmation_min_days`` or
more after it, with no PD in between (an NE in between is allowed by default); after a CR any
later disease other than CR is progression (the RECIST 1.1 reading of "CR then PR"), flagged
``CR_THEN_PR`` for reader adjudication.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ikctrial.response.assessment import Response

_DISEASE_CONTROL = frozenset({Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD})
_AT_LEAST_PR = frozenset({Response.CR, Response.PR})


@dataclass(frozen=True)
class TimepointCall:
    """One post-baseline overall response and its elapsed days from the reference date."""

    elapsed_days: int
    response: Response


@dataclass(frozen=True)
class BestResponse:
    """The best overall response and the flags raised while deriving it."""

    response: Response
    flags: tuple[str, ...] = ()


def _until_first_progression(calls: Sequence[TimepointCall]) -> list[TimepointCall]:
    window: list[TimepointCall] = []
    for call in calls:
        window.append(call)
        if call.response is Response.PD:
            break
    return window


def _disease_after_cr_is_progression(
    calls: list[TimepointCall],
) -> tuple[list[TimepointCall], tuple[str, ...]]:
    """After a CR, the first later response that is neither CR nor NE becomes PD (2.9 table)."""
    seen_cr = False
    for index, call in enumerate(calls):
        if seen_cr and call.response not in (Response.CR, Response.NE, Response.PD):
            flags = ("CR_THEN_PR",) if call.response is Response.PR else ()
            return [*calls[:index], TimepointCall(call.elapsed_days, Response.PD)], flags
        seen_cr = seen_cr or call.response is Response.CR
    return calls, ()


def _confirmed(
    calls: Sequence[TimepointCall],
    levels: frozenset[Response],
    *,
    min_days: int,
    allow_ne_between: bool,
) -> bool:
    """Whether a response in ``levels`` is seen again in ``levels`` at least ``min_days`` later."""
    for i, first in enumerate(calls):
        if first.response not in levels:
            continue
        for later in calls[i + 1 :]:
            if later.response is Response.NE and not allow_ne_between:
                break
            if later.response in levels and later.elapsed_days - first.elapsed_days >= min_days:
                return True
    return False


def best_overall_response(
    calls: Sequence[TimepointCall],
    *,
    has_target_disease: bool,
    confirmation_required: bool = False,
    min_sd_days: int = 49,
    confirmation_min_days: int = 28,
    allow_ne_between_confirmation: bool = True,
) -> BestResponse:
    """Best overall response of the post-baseline ``calls`` (in time order), per domain.md 2.9.

    ``has_target_disease`` picks the stable category: SD with target lesions, Non-CR/Non-PD for
    non-target-only disease (2.8 table B).
    """
    window = _until_first_progression(calls)
    flags: tuple[str, ...] = ()
    if confirmation_required:
        window, flags = _disease_after_cr_is_progression(window)
        for response, levels in (
            (Response.CR, frozenset({Response.CR})),
            (Response.PR, _AT_LEAST_PR),
        ):
            if _confirmed(
                window,
                levels,
                min_days=confirmation_min_days,
                allow_ne_between=allow_ne_between_confirmation,
            ):
                return BestResponse(response, flags)
    else:
        for response in (Response.CR, Response.PR):
            if any(call.response is response for call in window):
                return BestResponse(response)
    if any(c.response in _DISEASE_CONTROL and c.elapsed_days >= min_sd_days for c in window):
        return BestResponse(Response.SD if has_target_disease else Response.NON_CR_NON_PD, flags)
    if any(call.response is Response.PD for call in window):
        return BestResponse(Response.PD, flags)
    return BestResponse(Response.NE, flags)
