"""Best overall response, its window and the best percentage change (domain.md 2.9, 7.2)."""

from __future__ import annotations

import pytest
from tests.response.builders import day, one_target_series

from ikctrial.response import Response, TimepointCall, best_overall_response, evaluate_response

CR, PR, SD, PD, NE = Response.CR, Response.PR, Response.SD, Response.PD, Response.NE
NCNP = Response.NON_CR_NON_PD


def _calls(*pairs: tuple[int, Response]) -> list[TimepointCall]:
    return [TimepointCall(elapsed, response) for elapsed, response in pairs]


EXAMPLE_11 = [
    pytest.param(
        [(56, PR), (112, PR), (168, SD), (224, PD)],
        PR,
        PR,
        id="2.11 ex11 row 1: PR confirmed 56 days later",
    ),
    pytest.param([(56, PR), (112, SD), (168, PD)], PR, SD, id="2.11 ex11 row 2: PR not confirmed"),
    pytest.param([(35, SD), (56, PD)], PD, PD, id="2.11 ex11 row 3: SD at day 35 < 49"),
    pytest.param(
        [(56, CR), (112, NE), (168, CR)], CR, CR, id="2.11 ex11 row 4: NE between allowed"
    ),
    pytest.param([(56, PR), (112, NE), (168, NE)], PR, SD, id="2.11 ex11 row 5: PR then all NE"),
    pytest.param([(56, NE), (112, NE)], NE, NE, id="2.11 ex11 row 6: only NE"),
]


@pytest.mark.parametrize(("sequence", "without", "with_confirmation"), EXAMPLE_11)
def test_example_11(
    sequence: list[tuple[int, Response]], without: Response, with_confirmation: Response
) -> None:
    calls = _calls(*sequence)
    assert best_overall_response(calls, has_target_disease=True).response is without
    confirmed = best_overall_response(calls, has_target_disease=True, confirmation_required=True)
    assert confirmed.response is with_confirmation


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        pytest.param([(56, CR), (112, CR)], CR, id="2.9 table: CR then CR -> CR"),
        pytest.param([(56, CR), (112, PR)], SD, id="2.9 table: CR then PR -> SD (duration met)"),
        pytest.param([(28, CR), (42, PR)], PD, id="2.9 table: CR then PR -> PD (duration not met)"),
        pytest.param([(56, CR), (112, SD)], SD, id="2.9 table: CR then SD -> SD if duration met"),
        pytest.param([(28, CR), (42, SD)], PD, id="2.9 table: CR then SD -> else PD"),
        pytest.param([(56, CR), (112, PD)], SD, id="2.9 table: CR then PD -> SD if duration met"),
        pytest.param([(28, CR), (42, PD)], PD, id="2.9 table: CR then PD -> else PD"),
        pytest.param([(56, CR), (112, NE)], SD, id="2.9 table: CR then NE -> SD if duration met"),
        pytest.param([(28, CR), (42, NE)], NE, id="2.9 table: CR then NE -> else NE"),
        pytest.param([(56, PR), (112, CR)], PR, id="2.9 table: PR then CR -> PR"),
        pytest.param([(56, PR), (112, PR)], PR, id="2.9 table: PR then PR -> PR"),
        pytest.param([(56, PR), (112, SD)], SD, id="2.9 table: PR then SD -> SD"),
        pytest.param([(56, PR), (112, PD)], SD, id="2.9 table: PR then PD -> SD if duration met"),
        pytest.param([(28, PR), (42, PD)], PD, id="2.9 table: PR then PD -> else PD"),
        pytest.param([(56, PR), (112, NE)], SD, id="2.9 table: PR then NE -> SD if duration met"),
        pytest.param([(28, PR), (42, NE)], NE, id="2.9 table: PR then NE -> else NE"),
        pytest.param([(56, NE), (112, NE)], NE, id="2.9 table: NE then NE -> NE"),
        pytest.param([(56, PR), (83, PR)], SD, id="2.9: second PR 27 days later does not confirm"),
        pytest.param([(56, PR), (84, PR)], PR, id="2.9: second PR 28 days later confirms"),
        pytest.param(
            [(56, PR), (112, SD), (168, PR)],
            PR,
            id="2.9: only PD breaks confirmation, an SD in between does not",
        ),
    ],
)
def test_confirmation_table(sequence: list[tuple[int, Response]], expected: Response) -> None:
    best = best_overall_response(
        _calls(*sequence), has_target_disease=True, confirmation_required=True
    )
    assert best.response is expected


def test_cr_then_pr_is_flagged_for_adjudication() -> None:
    """2.9 note on CR -> PR: ikctrial raises CR_THEN_PR for reader adjudication."""
    best = best_overall_response(
        _calls((56, CR), (112, PR)), has_target_disease=True, confirmation_required=True
    )
    assert best.flags == ("CR_THEN_PR",)


def test_ne_between_can_break_confirmation_when_configured() -> None:
    """2.9 [CONFIG allow_ne_between_confirmation = false]: CR, NE, CR is not confirmed."""
    best = best_overall_response(
        _calls((56, CR), (112, NE), (168, CR)),
        has_target_disease=True,
        confirmation_required=True,
        allow_ne_between_confirmation=False,
    )
    assert best.response is SD


@pytest.mark.parametrize(
    ("sequence", "has_target_disease", "expected"),
    [
        pytest.param([(48, SD)], True, NE, id="2.9 step 4: SD only before sd_min_days -> NE"),
        pytest.param([(49, SD)], True, SD, id="2.9 step 2: SD at elapsed = sd_min_days counts"),
        pytest.param([(56, PD)], True, PD, id="2.9 step 3: PD"),
        pytest.param(
            [(56, SD), (112, PD), (168, PR)],
            True,
            SD,
            id="2.9 window: time points after the first PD are ignored",
        ),
        pytest.param([(56, NCNP)], False, NCNP, id="2.9 step 2: Non-CR/Non-PD for table-B disease"),
        pytest.param([(35, NCNP)], False, NE, id="2.9 step 4: Non-CR/Non-PD before day 49"),
        pytest.param([(35, SD), (56, NE)], True, NE, id="2.11 ex11: SD too early, then NE"),
        pytest.param([], True, NE, id="2.9 step 4: no follow-up at all -> NE"),
    ],
)
def test_without_confirmation(
    sequence: list[tuple[int, Response]], has_target_disease: bool, expected: Response
) -> None:
    best = best_overall_response(_calls(*sequence), has_target_disease=has_target_disease)
    assert best.response is expected


def test_engine_applies_confirmation_setting() -> None:
    """2.11 ex11 row 2 through the whole engine: PR 56, SD 112, PD 168."""
    data = one_target_series(50.0, (56, 35.0), (112, 40.0), (168, 50.0))
    assert evaluate_response(data).best_overall_response is PR
    confirmed = evaluate_response({**data, "confirmation_required": True})
    assert confirmed.best_overall_response is SD
    assert confirmed.progression_date is not None
    assert confirmed.progression_date.isoformat() == day(168)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param({}, SD, id="2.9: elapsed from baseline when no randomization date is given"),
        pytest.param(
            {"randomization_date": day(15)},
            NE,
            id="section 0 / 2.9: elapsed = date - RANDDT, SD at day 48 < 49",
        ),
        pytest.param({"min_sd_days": 70}, NE, id="2.9 [CONFIG sd_min_days]: protocol value"),
    ],
)
def test_sd_duration_counts_from_randomization(
    settings: dict[str, str | int], expected: Response
) -> None:
    data = one_target_series(50.0, (63, 45.0), **settings)
    assert evaluate_response(data).best_overall_response is expected


def test_new_anticancer_therapy_closes_the_window() -> None:
    """2.9 / 7.2: time points on or after a new anticancer therapy do not count."""
    data = one_target_series(50.0, (56, 45.0), (112, 30.0), new_anticancer_therapy_date=day(100))
    evaluation = evaluate_response(data)
    assert evaluation.timepoints[2].overall_response is PR
    assert evaluation.best_overall_response is SD
    assert evaluation.best_pct_change == -10.0


def test_baseline_too_old_is_flagged() -> None:
    """2.10: baseline > 28 days before RANDDT -> BASELINE_TOO_OLD, derivation still runs."""
    old = evaluate_response(one_target_series(50.0, (70, 45.0), randomization_date=day(29)))
    fine = evaluate_response(one_target_series(50.0, (70, 45.0), randomization_date=day(28)))
    assert "BASELINE_TOO_OLD" in old.flags
    assert "BASELINE_TOO_OLD" not in fine.flags
    assert old.best_overall_response is NE


@pytest.mark.parametrize(
    ("follow_ups", "expected"),
    [
        pytest.param(
            [(56, 42.0), (112, 47.6)], -25.0, id="7.2 example: 56 -> 42 -> 47.6, best -25"
        ),
        pytest.param(
            [(56, 60.0), (112, 58.0)], 3.57, id="7.2: every value positive -> the smallest increase"
        ),
        pytest.param([(56, 67.2), (112, 20.0)], 20.0, id="7.2: only up to and including first PD"),
        pytest.param([(56, None)], None, id="7.2: no complete post-baseline assessment -> null"),
    ],
)
def test_best_pct_change(
    follow_ups: list[tuple[int, float | None]], expected: float | None
) -> None:
    data = one_target_series(56.0, *follow_ups)
    assert evaluate_response(data).best_pct_change == expected
