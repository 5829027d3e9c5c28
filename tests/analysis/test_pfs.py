"""PFS event/censoring derivation (domain.md 7.1; interfaces.md "Endpoint derivation").

Every case names the row of the domain.md 7.1 scenario table it checks (R2 = "no adequate
post-baseline assessment and no death", R3 = new anticancer therapy, R4 = event after >= 2 missed
scheduled assessments, R5 = PD, R6 = death, R7 = no PD and no death) or the worked example (P1-P7).
Days are elapsed days from randomization (RANDDT = 2025-01-01, elapsed 0 = study day 1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from ikctrial.analysis.pfs import (
    PfsInput,
    PfsReason,
    PfsSubject,
    missed_assessment_count,
    pfs_input,
    pfs_outcome,
    pfs_outcomes,
)
from ikctrial.cli.main import app
from ikctrial.errors import InputError

RANDDT = date(2025, 1, 1)


def day(elapsed: int) -> str:
    """ISO date ``elapsed`` days after RANDDT."""
    return (RANDDT + timedelta(days=elapsed)).isoformat()


def subject(
    scans: Sequence[tuple[int, str]] = (),
    *,
    death: int | None = None,
    therapy: int | None = None,
    subject_id: str = "S1",
) -> dict[str, Any]:
    """A raw subject record with assessments at the given elapsed days."""
    return {
        "id": subject_id,
        "randomization_date": RANDDT.isoformat(),
        "assessments": [{"date": day(d), "overall_response": r} for d, r in scans],
        "death_date": None if death is None else day(death),
        "new_anticancer_therapy_date": None if therapy is None else day(therapy),
        "last_contact_date": None,
    }


def derive(record: dict[str, Any], **options: Any) -> tuple[int, int, str]:
    """(event, elapsed day of the PFS date, reason) for one raw subject record."""
    interval = options.pop("interval_days", 56)
    window = options.pop("window_days", 7)
    outcome = pfs_outcome(
        PfsSubject.model_validate(record), interval_days=interval, window_days=window, **options
    )
    assert outcome.days == (outcome.date - RANDDT).days + 1
    return int(outcome.event), (outcome.date - RANDDT).days, outcome.reason.value


WORKED_EXAMPLES = [
    # domain.md 7.1 worked examples: (case, record, event, elapsed ADT, reason); AVAL = elapsed + 1.
    ("P1", subject([(56, "SD"), (117, "PD")]), 0, 117, "progression"),
    ("P2", subject([(56, "SD"), (112, "PR"), (168, "PR"), (362, "SD")]), 1, 362, "no_progression"),
    ("P3", subject(death=40), 0, 40, "death"),
    ("P4", subject(), 1, 0, "no_post_baseline_assessment"),
    (
        "P5",
        subject([(56, "SD"), (115, "SD"), (168, "PD")], therapy=129),
        1,
        115,
        "new_anticancer_therapy",
    ),
    ("P6", subject([(56, "SD")], death=181), 1, 56, "event_after_missed_assessments"),
    ("P7", subject([(56, "SD"), (165, "PD")]), 0, 165, "progression"),
]


@pytest.mark.parametrize(
    ("case", "record", "censored", "elapsed", "reason"),
    WORKED_EXAMPLES,
    ids=[c[0] for c in WORKED_EXAMPLES],
)
def test_worked_examples_of_domain_7_1(
    case: str, record: dict[str, Any], censored: int, elapsed: int, reason: str
) -> None:
    # domain.md 7.1 "Worked examples": ADT, CNSR and AVAL (= elapsed + 1).
    assert derive(record) == (1 - censored, elapsed, reason)


RULE_CASES = [
    # (why, record, expected (event, elapsed, reason))
    (
        "R2: only NE scans and no death",
        subject([(56, "NE"), (112, "NE")]),
        (0, 0, "no_post_baseline_assessment"),
    ),
    (
        "R2 before R3: no adequate scan, new therapy, no death",
        subject([(56, "NE")], therapy=80),
        (0, 0, "no_post_baseline_assessment"),
    ),
    (
        "R2 does not apply with a death: R3 censors at RANDDT",
        subject(death=100, therapy=30),
        (0, 0, "new_anticancer_therapy"),
    ),
    (
        "R6: death with no scan, before the first scan window closed",
        subject(death=62),
        (1, 62, "death"),
    ),
    (
        "R6: death with only NE scans, one target missed",
        subject([(56, "NE")], death=119),
        (1, 119, "death"),
    ),
    (
        "R4: death with no scan, two targets closed (112 + 7 < 120)",
        subject(death=120),
        (0, 0, "event_after_missed_assessments"),
    ),
    (
        "R3: therapy on the day of an adequate scan keeps that scan",
        subject([(56, "SD"), (112, "SD")], therapy=112),
        (0, 112, "new_anticancer_therapy"),
    ),
    (
        "R3: therapy the day before a scan censors at the previous one",
        subject([(56, "SD"), (112, "SD")], therapy=111),
        (0, 56, "new_anticancer_therapy"),
    ),
    (
        "R3: therapy before the first adequate scan censors at RANDDT",
        subject([(56, "SD")], therapy=20),
        (0, 0, "new_anticancer_therapy"),
    ),
    (
        "R3: therapy without any later event",
        subject([(56, "SD"), (112, "SD"), (168, "SD")], therapy=120),
        (0, 112, "new_anticancer_therapy"),
    ),
    (
        "R3: PD after new therapy is censored",
        subject([(56, "SD"), (112, "PD")], therapy=100),
        (0, 56, "new_anticancer_therapy"),
    ),
    (
        "R3: an NE scan before therapy is not adequate",
        subject([(56, "SD"), (100, "NE")], therapy=105),
        (0, 56, "new_anticancer_therapy"),
    ),
    (
        "R5: PD on the day therapy starts is an event (therapy not before PD)",
        subject([(56, "SD"), (112, "PD")], therapy=112),
        (1, 112, "progression"),
    ),
    (
        "R6: death on the day therapy starts is an event",
        subject([(56, "SD")], death=90, therapy=90),
        (1, 90, "death"),
    ),
    (
        "R5: therapy after PD does not matter",
        subject([(56, "PD")], therapy=60),
        (1, 56, "progression"),
    ),
    (
        "R5/R6: death after PD, PD is the earlier event",
        subject([(56, "SD"), (112, "PD")], death=130),
        (1, 112, "progression"),
    ),
    (
        "R6: death without any PD",
        subject([(56, "SD")], death=100),
        (1, 100, "death"),
    ),
    (
        "R5/R6: PD and death on the same day report the documented PD",
        subject([(56, "SD"), (100, "PD")], death=100),
        (1, 100, "progression"),
    ),
    (
        "R5: the first PD counts, later scans are ignored",
        subject([(56, "PR"), (112, "PD"), (168, "SD")]),
        (1, 112, "progression"),
    ),
    (
        "R5: an unscheduled PD scan counts",
        subject([(56, "SD"), (80, "PD")]),
        (1, 80, "progression"),
    ),
    ("R5: PD at the first scan", subject([(56, "PD")]), (1, 56, "progression")),
    (
        "R5: NON_CR_NON_PD scans are adequate",
        subject([(56, "NON_CR_NON_PD"), (112, "PD")]),
        (1, 112, "progression"),
    ),
    (
        "R4: exactly one missed (event - LAA = 119 days)",
        subject([(56, "SD"), (175, "PD")]),
        (1, 175, "progression"),
    ),
    (
        "R4: exactly two missed (event - LAA = 120 days)",
        subject([(56, "SD"), (176, "PD")]),
        (0, 56, "event_after_missed_assessments"),
    ),
    (
        "R4: death after two missed scans",
        subject([(56, "SD"), (112, "SD")], death=232),
        (0, 112, "event_after_missed_assessments"),
    ),
    (
        "R4: death one day short of two missed",
        subject([(56, "SD"), (112, "SD")], death=231),
        (1, 231, "death"),
    ),
    (
        "R4: an adequate scan on the day of death closes the gap",
        subject([(56, "SD"), (181, "SD")], death=181),
        (1, 181, "death"),
    ),
    (
        "R4: NE scans do not close the gap",
        subject([(56, "SD"), (112, "NE"), (168, "NE"), (200, "PD")]),
        (0, 56, "event_after_missed_assessments"),
    ),
    (
        "R4: early LAA inside its own window does not miss its own target (49 < 50)",
        subject([(50, "SD"), (175, "PD")]),
        (1, 175, "progression"),
    ),
    (
        "R4: early LAA, targets 112 and 168 both closed before 176",
        subject([(50, "SD"), (176, "PD")]),
        (0, 50, "event_after_missed_assessments"),
    ),
    (
        "R4: LAA on the opening day of the next window (112 - 7 = 105 is not > 105)",
        subject([(105, "SD"), (231, "PD")]),
        (1, 231, "progression"),
    ),
    (
        "R4: LAA on the opening day, targets 168 and 224 closed before 232",
        subject([(105, "SD"), (232, "PD")]),
        (0, 105, "event_after_missed_assessments"),
    ),
    (
        "R4: LAA one day before the window opens counts that target",
        subject([(104, "SD"), (176, "PD")]),
        (0, 104, "event_after_missed_assessments"),
    ),
    (
        "R7: censored at the last adequate scan, trailing NE ignored",
        subject([(56, "SD"), (112, "PR"), (168, "NE")]),
        (0, 112, "no_progression"),
    ),
    (
        "R7: a long gap without an event does not matter",
        subject([(56, "SD"), (300, "SD")]),
        (0, 300, "no_progression"),
    ),
    (
        "R7: assessments in any order",
        subject([(168, "SD"), (56, "PR"), (112, "CR")]),
        (0, 168, "no_progression"),
    ),
]


@pytest.mark.parametrize(("why", "record", "expected"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_censoring_rules_of_domain_7_1(
    why: str, record: dict[str, Any], expected: tuple[int, int, str]
) -> None:
    assert derive(record) == expected, why


@pytest.mark.parametrize(
    ("scans", "death", "interval", "window", "expected"),
    [
        # interfaces.md: targets at k x assessment_interval_days, windows of +/- window_days.
        ([(42, "SD")], 130, 42, 3, (0, 42, "event_after_missed_assessments")),  # 87, 129 < 130
        ([(42, "SD")], 129, 42, 3, (1, 129, "death")),  # 126 + 3 = 129 is not < 129
        ([(42, "SD")], 130, 42, 0, (0, 42, "event_after_missed_assessments")),
        ([(42, "SD")], 126, 42, 0, (1, 126, "death")),  # target 126 is not closed before 126
    ],
)
def test_configured_interval_and_window(
    scans: list[tuple[int, str]],
    death: int,
    interval: int,
    window: int,
    expected: tuple[int, int, str],
) -> None:
    # domain.md 7.1 rule 4 with a non-default calendar (the count method is normative).
    record = subject(scans, death=death)
    assert derive(record, interval_days=interval, window_days=window) == expected


@pytest.mark.parametrize(
    ("record", "options", "expected"),
    [
        # domain.md 7.1 sensitivity PFSNACT: new anticancer therapy ignored (treatment policy).
        (
            subject([(56, "SD"), (115, "SD"), (168, "PD")], therapy=129),
            {"ignore_new_anticancer_therapy": True},
            (1, 168, "progression"),
        ),
        (
            subject([(56, "SD"), (115, "SD")], therapy=129),
            {"ignore_new_anticancer_therapy": True},
            (0, 115, "no_progression"),
        ),
        # domain.md 7.1 sensitivity PFSMISS: events after >= 2 missed scans kept at their date.
        (subject([(56, "SD")], death=181), {"ignore_missed_assessments": True}, (1, 181, "death")),
        (subject(death=200), {"ignore_missed_assessments": True}, (1, 200, "death")),
    ],
)
def test_sensitivity_analyses(
    record: dict[str, Any], options: dict[str, bool], expected: tuple[int, int, str]
) -> None:
    assert derive(record, **options) == expected


def _brute_force_missed(laa: int, event: int, interval: int, window: int) -> int:
    return sum(
        1
        for k in range(1, event // interval + 2)
        if k * interval - window > laa and k * interval + window < event
    )


@given(
    laa=st.integers(0, 800),
    gap=st.integers(0, 800),
    interval=st.integers(1, 120),
    window=st.integers(0, 40),
)
def test_missed_count_matches_the_definition(
    laa: int, gap: int, interval: int, window: int
) -> None:
    # domain.md 7.1: count targets with t_k - window > LAA and t_k + window < event date.
    event = laa + gap
    count = missed_assessment_count(laa, event, interval_days=interval, window_days=window)
    assert count == _brute_force_missed(laa, event, interval, window)


def test_on_schedule_count_equals_the_day_rule() -> None:
    # domain.md 7.1: with 56 +/- 7 and an on-schedule LAA, two missed <=> event - LAA > 119.
    for laa in (0, 56, 112, 168):
        for event in range(laa + 1, laa + 300):
            missed = missed_assessment_count(laa, event, interval_days=56, window_days=7)
            assert (missed >= 2) == (event - laa > 2 * 56 + 7)


RESPONSES = st.sampled_from(["CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"])


@st.composite
def random_subjects(draw: st.DrawFn) -> dict[str, Any]:
    days = draw(st.lists(st.integers(0, 500), unique=True, max_size=8))
    scans = [(d, draw(RESPONSES)) for d in days]
    death = draw(st.none() | st.integers(max(days, default=0), 600))
    therapy = draw(st.none() | st.integers(0, 600))
    return subject(scans, death=death, therapy=therapy)


@given(record=random_subjects())
def test_pfs_invariants(record: dict[str, Any]) -> None:
    # interfaces.md: days = date - randomization_date + 1 >= 1. domain.md 7.1: an event is at the
    # first PD or the death, whichever is earlier; a censoring date is RANDDT or an adequate scan
    # and never after the first event; censoring for therapy is on or before the therapy start.
    parsed = PfsSubject.model_validate(record)
    outcome = pfs_outcome(parsed)
    assert outcome.days >= 1
    adequate = {a.date for a in parsed.assessments if a.overall_response != "NE"}
    progression = min(
        (a.date for a in parsed.assessments if a.overall_response == "PD"), default=None
    )
    events = [d for d in (progression, parsed.death_date) if d is not None]
    if outcome.event:
        assert outcome.date == min(events)
    else:
        assert outcome.date == RANDDT or outcome.date in adequate
        if events:
            assert outcome.date <= min(events)
    if outcome.reason is PfsReason.NEW_ANTICANCER_THERAPY:
        assert parsed.new_anticancer_therapy_date is not None
        assert outcome.date <= parsed.new_anticancer_therapy_date


def test_pfs_outcomes_runs_every_subject_with_the_calendar() -> None:
    data = pfs_input(
        {
            "assessment_interval_days": 42,
            "window_days": 3,
            "subjects": [
                subject([(42, "SD")], death=130, subject_id="A"),
                subject([(42, "SD"), (84, "PD")], subject_id="B"),
            ],
        }
    )
    assert isinstance(data, PfsInput)
    result = [o.to_dict() for o in pfs_outcomes(data)]
    assert result == [
        {
            "id": "A",
            "event": 0,
            "date": day(42),
            "days": 43,
            "reason": "event_after_missed_assessments",
            "description": "EVENT AFTER 2 OR MORE MISSED ASSESSMENTS",
        },
        {
            "id": "B",
            "event": 1,
            "date": day(84),
            "days": 85,
            "reason": "progression",
            "description": "DISEASE PROGRESSION",
        },
    ]


def test_defaults_are_the_protocol_calendar() -> None:
    # domain.md 1.3: imaging_interval_days = 56, imaging_window_days = 7.
    data = pfs_input({"subjects": []})
    assert (data.assessment_interval_days, data.window_days) == (56, 7)


def _document(*records: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"assessment_interval_days": 56, "window_days": 7, "subjects": list(records), **top}


def _second_subject(**changes: Any) -> dict[str, Any]:
    record = subject([(56, "SD"), (112, "SD")], subject_id="S2")
    record.update(changes)
    return record


BAD_INPUT = [
    # interfaces.md: unknown keys, impossible dates and unknown codes exit 2 naming the field.
    (_document(subject(), cohort="A"), "cohort", "unknown key"),
    (_document(subject(), _second_subject(arm="IKC")), "subjects[1] (S2).arm", "unknown key"),
    (
        _document(
            subject(),
            _second_subject(assessments=[{"date": day(56), "overall_response": "SD", "x": 1}]),
        ),
        "subjects[1] (S2).assessments[0].x",
        "unknown key",
    ),
    (
        _document(
            subject(), _second_subject(assessments=[{"date": day(56), "overall_response": "MR"}])
        ),
        "subjects[1] (S2).assessments[0].overall_response",
        "'MR'",
    ),
    (
        _document(
            subject(),
            _second_subject(assessments=[{"date": "2025-02-30", "overall_response": "SD"}]),
        ),
        "subjects[1] (S2).assessments[0].date",
        "not a calendar date",
    ),
    (
        _document(subject(), _second_subject(death_date="01/03/2025")),
        "subjects[1] (S2).death_date",
        "YYYY-MM-DD",
    ),
    (
        _document(_second_subject(randomization_date=None)),
        "subjects[0] (S2).randomization_date",
        "valid date",
    ),
    (
        _document({k: v for k, v in _second_subject().items() if k != "randomization_date"}),
        "subjects[0] (S2).randomization_date",
        "required",
    ),
    (_document(subject(), window_days=-1), "window_days", "greater than or equal to 0"),
    (
        _document(subject(), assessment_interval_days=0),
        "assessment_interval_days",
        "greater than or equal to 1",
    ),
    (_document(subject(), assessment_interval_days=56.5), "assessment_interval_days", "integer"),
    ({"subjects": [{"randomization_date": day(0)}]}, "subjects[0].id", "required"),
]


@pytest.mark.parametrize(("document", "field", "problem"), BAD_INPUT)
def test_bad_input_names_subject_and_field(
    document: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(InputError) as caught:
        pfs_input(document)
    assert caught.value.field == field
    assert problem in caught.value.problem


IMPOSSIBLE = [
    # interfaces.md: a date before randomization or an assessment after death is bad data.
    (
        _second_subject(assessments=[{"date": day(-1), "overall_response": "SD"}]),
        "assessments[0].date",
        "before randomization_date",
    ),
    (_second_subject(death_date=day(100)), "assessments[1].date", "after death_date"),
    (_second_subject(death_date=day(-3)), "death_date", "before randomization_date"),
    (
        _second_subject(new_anticancer_therapy_date=day(-3)),
        "new_anticancer_therapy_date",
        "before randomization_date",
    ),
    (_second_subject(last_contact_date=day(-3)), "last_contact_date", "before randomization_date"),
    (
        _second_subject(
            assessments=[
                {"date": day(56), "overall_response": "SD"},
                {"date": day(56), "overall_response": "PD"},
            ]
        ),
        "assessments[1].date",
        "repeats assessments[0]",
    ),
]


@pytest.mark.parametrize(("record", "field", "problem"), IMPOSSIBLE)
def test_impossible_dates_name_the_subject(
    record: dict[str, Any], field: str, problem: str
) -> None:
    data = pfs_input(_document(subject(), record))
    with pytest.raises(InputError) as caught:
        pfs_outcomes(data)
    assert caught.value.field == f"subjects[1] (S2).{field}"
    assert problem in caught.value.problem


def test_calendar_is_checked_for_direct_calls() -> None:
    with pytest.raises(InputError, match="not a schedule"):
        pfs_outcome(PfsSubject.model_validate(subject()), interval_days=0)


def test_repeated_subject_id_is_bad_input() -> None:
    data = pfs_input(_document(subject(), subject()))
    with pytest.raises(InputError, match=r"subjects\[1\] \(S1\)\.id: repeats subjects\[0\]"):
        pfs_outcomes(data)


runner = CliRunner()


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "pfs.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_cli_json_contract(tmp_path: Path) -> None:
    # interfaces.md "Endpoint derivation": {"subjects": [{"id", "event", "date", "days", "reason"}]}
    # on the domain.md 7.1 worked examples.
    path = _write(tmp_path, _document(*(r | {"id": c} for c, r, *_ in WORKED_EXAMPLES)))
    result = runner.invoke(app, ["endpoints", "pfs", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    rows = [(s["id"], s["event"], s["date"], s["days"], s["reason"]) for s in document["subjects"]]
    assert rows == [
        (case, 1 - censored, day(elapsed), elapsed + 1, reason)
        for case, _, censored, elapsed, reason in WORKED_EXAMPLES
    ]


def test_cli_paramcd_and_table(tmp_path: Path) -> None:
    path = _write(tmp_path, _document(subject([(56, "SD")], death=181)))
    result = runner.invoke(app, ["endpoints", "pfs", str(path), "--paramcd", "PFSMISS", "--json"])
    assert json.loads(result.stdout)["subjects"][0]["event"] == 1
    table = runner.invoke(app, ["endpoints", "pfs", str(path)])
    assert table.exit_code == 0
    assert "event_after_missed_assessments" in table.stdout


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            _document(subject(), _second_subject(), _second_subject(id="S3", death_date=day(1))),
            "subjects[2] (S3).assessments[0].date: 2025-02-26 is after death_date 2025-01-02",
        ),
        (_document(subject(), subjects_extra=1), "subjects_extra: unknown key"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path: Path, document: dict[str, Any], message: str) -> None:
    path = _write(tmp_path, document)
    result = runner.invoke(app, ["endpoints", "pfs", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"{path}: {message}"


def test_cli_unknown_paramcd_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, _document(subject()))
    result = runner.invoke(app, ["endpoints", "pfs", str(path), "--paramcd", "OS"])
    assert result.exit_code == 2
    assert "--paramcd: 'OS' is not one of PFS, PFSNACT, PFSMISS" in result.stderr
