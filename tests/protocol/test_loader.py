"""The protocol file and its loader: built-in NCT03592706 content, typed access, validation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from ikctrial.errors import InputError
from ikctrial.protocol import (
    CRITERION_IDS,
    Protocol,
    load_protocol,
    protocol_from_mapping,
    protocol_from_yaml,
)
from ikctrial.protocol.loader import built_in_protocol_text


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


def test_built_in_file_is_package_data() -> None:
    text = resources.files("ikctrial.protocols").joinpath("NCT03592706.yaml").read_text("utf-8")
    assert text == built_in_protocol_text()


def test_registry_facts(protocol: Protocol) -> None:
    # domain.md 1.1
    assert protocol.nct_id == "NCT03592706"
    assert protocol.sponsor_study_id == "IVY02"
    assert protocol.phase == "II/III"
    assert protocol.title == (
        "Autologous Immune Killer Cells to Treat Liver Cancer Patients as an Adjunct Therapy"
    )
    assert [(a.code, a.type) for a in protocol.arms] == [
        ("IKC_TACE", "experimental"),
        ("TACE", "active_comparator"),
    ]
    assert protocol.allocation_ratio == [1, 1]
    assert protocol.target_enrollment == 60
    assert protocol.consent_versions == ["1.0"]


def test_randomization_defaults(protocol: Protocol) -> None:
    # domain.md 9.4: stratified permuted blocks, strata BCLC B/C x Child-Pugh A/B
    randomization = protocol.randomization
    assert randomization.method == "stratified_permuted_blocks"
    assert all(size % 2 == 0 for size in randomization.block_sizes)
    assert randomization.minimization_probability == 0.8
    assert [(f.name, f.source, f.levels) for f in randomization.stratification_factors] == [
        ("bclc", "bclc", ["B", "C"]),
        ("child_pugh", "child_pugh.class", ["A", "B"]),
    ]


def test_eligibility_parameters(protocol: Protocol) -> None:
    # domain.md 5.1 and interfaces.md criterion ids
    eligibility = protocol.eligibility
    assert tuple(c.id for c in eligibility.criteria) == CRITERION_IDS
    assert (eligibility.age.min_age, eligibility.age.max_age_exclusive) == (20, 80)
    assert eligibility.bclc.allowed_stages == ["B", "C"]
    assert eligibility.child_pugh.allowed_classes == ["A", "B"]
    assert eligibility.ecog.max_ecog == 2
    assert eligibility.recent_therapy.washout_days == 28
    assert eligibility.life_threatening.encephalopathy_window_months == 6
    assert set(eligibility.hcc_diagnosis.accepted_methods) == {
        "CT",
        "MRI",
        "AFP",
        "angiography",
        "cytology",
        "biopsy",
    }


def test_schedule_defaults(protocol: Protocol) -> None:
    # domain.md 1.3 and 1.4
    schedule = protocol.schedule
    assert [i.target_day for i in schedule.infusion_plan] == [
        21,
        28,
        35,
        42,
        56,
        70,
        84,
        98,
        126,
        154,
        182,
        210,
    ]
    assert {i.window_days for i in schedule.infusion_plan} == {3}
    assert schedule.imaging_days == [56, 112, 168, 224, 280, 336]
    assert (schedule.imaging_interval_days, schedule.imaging_window_days) == (56, 7)
    assert [(v.day, v.window_days) for v in schedule.immune_panel_days] == [
        (28, 3),
        (56, 7),
        (112, 7),
        (168, 7),
        (252, 7),
    ]
    assert (schedule.eos_day, schedule.eos_window_days) == (364, 14)
    assert schedule.screening_window_days == 28
    assert schedule.first_tace_window_days == 14
    assert schedule.manufacturing_lead_days == 14
    assert (schedule.repeat_tace, schedule.min_tace_interval_days) == ("on_demand", 28)
    assert (schedule.tace_blackout_before_days, schedule.tace_blackout_after_days) == (2, 7)
    assert schedule.max_infusion_delay_days == 14
    assert schedule.allow_makeup is False


def test_response_endpoints_product(protocol: Protocol) -> None:
    # domain.md 2.9, 1.1/7, 8.2/8.5
    assert protocol.response.confirmation_required is False
    assert protocol.response.sd_min_days == 49
    assert protocol.response.confirmation_min_days == 28
    assert protocol.response.primary_criterion == "RECIST1.1"
    ids = [e.id for e in [*protocol.endpoints.primary, *protocol.endpoints.secondary]]
    assert set(ids) == {"tumor_size_change", "pfs", "immune_response", "tace_frequency"}
    assert protocol.endpoints.per_protocol_min_infusions == 9  # domain.md 7.7 [PROTOCOL]
    assert protocol.product.lot_mode == "per_infusion"
    assert protocol.product.shelf_life_hours is None
    viability = next(t for t in protocol.product.release_tests if t.code == "viability")
    assert (viability.min, viability.unit) == (70, "%")


DELETE = object()
"""Edit value that removes the key (or list item) instead of setting it."""
Edit = tuple[tuple[str | int, ...], object]


def _broken(*edits: Edit) -> dict[str, Any]:
    """The built-in protocol as a mapping with ``edits`` applied (path of keys -> new value)."""
    data: dict[str, Any] = yaml.safe_load(built_in_protocol_text())
    for path, value in edits:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return data


C = ("eligibility", "criteria")


@pytest.mark.parametrize(
    ("edits", "field", "problem"),
    [
        ([((*C, 0, "params", "min_age"), "x")], "eligibility.criteria[0].params.min_age", None),
        (
            [((*C, 2, "params", "colour"), 1)],
            "eligibility.criteria[2].params.colour",
            "unknown key",
        ),
        (
            [((*C, 0, "params", "max_age_exclusive"), 10)],
            "eligibility.criteria[0].params.max_age_exclusive",
            "must be greater than min_age (20)",
        ),
        ([((*C, 4), DELETE)], "eligibility.criteria[4].id", None),
        ([((*C, 3, "id"), "I4_prior")], "eligibility.criteria[3].id", None),
        ([(("arms", 1, "code"), "IKC_TACE")], "arms[1].code", "'IKC_TACE' is repeated"),
        ([(("allocation_ratio",), [2, 1, 1])], "allocation_ratio", "has 3 entries for 2 arms"),
        (
            [(("randomization", "block_sizes"), [2, 3])],
            "randomization.block_sizes[1]",
            "3 is not a multiple of the allocation total 2",
        ),
        ([(("randomization", "method"), "coin")], "randomization.method", None),
        ([(("schedule", "eos_window_days"), -1)], "schedule.eos_window_days", None),
        (
            [(("schedule", "infusion_plan", 8, "target_day"), 90)],
            "schedule.infusion_plan[8].target_day",
            "90 is not after 98",
        ),
        (
            [(("schedule", "infusion_plan", 2, "number"), 7)],
            "schedule.infusion_plan[2].number",
            "must be 3",
        ),
        (
            [(("schedule", "immune_baseline_window", "end_day"), 3)],
            "schedule.immune_baseline_window.end_day",
            None,
        ),
        ([(("schedule", "eos_day"), 300)], "schedule.eos_day", None),
        (
            [
                (("response", "primary_criterion"), "mRECIST"),
                (("response", "criteria"), ["RECIST1.1"]),
            ],
            "response.primary_criterion",
            "must be one of criteria",
        ),
        (
            [(("product", "release_tests", 0, "min"), 1)],
            "product.release_tests[0].min",
            "numeric tests only",
        ),
        (
            [(("endpoints", "secondary", 0, "id"), "tumor_size_change")],
            "endpoints.secondary[0].id",
            None,
        ),
        (
            [(("endpoints", "per_protocol_min_infusions"), 13)],
            "endpoints.per_protocol_min_infusions",
            "13 is more than the 12 planned",
        ),
        (
            [(("endpoints", "per_protocol_min_infusions"), -1)],
            "endpoints.per_protocol_min_infusions",
            None,
        ),
        ([(("target_enrollment",), DELETE)], "target_enrollment", "required"),
        ([(("nct_id",), "NCT123")], "nct_id", None),
    ],
)
def test_validation_names_the_path_inside_the_file(
    edits: list[Edit], field: str, problem: str | None
) -> None:
    with pytest.raises(InputError) as raised:
        protocol_from_mapping(_broken(*edits), source="my.yaml")
    assert raised.value.source == "my.yaml"
    assert raised.value.field == field
    if problem is not None:
        assert raised.value.problem == problem


def test_another_trial_is_just_another_file(tmp_path: Path) -> None:
    # three arms 2:1:1, other limits: nothing about NCT03592706 is needed in code
    data = _broken(
        (("nct_id",), "NCT09999999"),
        (
            ("arms",),
            [
                {"code": "IKC_TACE", "name": "IKC + TACE", "type": "experimental"},
                {"code": "TACE", "name": "TACE alone", "type": "active_comparator"},
                {"code": "IKC", "name": "IKC alone", "type": "experimental"},
            ],
        ),
        (("allocation_ratio",), [2, 1, 1]),
        (("randomization", "block_sizes"), [4, 8]),
        ((*C, 0, "params"), {"min_age": 18, "max_age_exclusive": 76}),
    )
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(data))
    other = load_protocol(path)
    assert other.arm_codes() == ["IKC_TACE", "TACE", "IKC"]
    assert other.eligibility.age.min_age == 18


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nct_id: [unclosed", "invalid YAML at line "),
        ("- just\n- a list\n", "a protocol file must be a YAML mapping"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        load_protocol(path)
    assert str(raised.value).startswith(f"{path}: {problem}")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "        washout_days: 28\n",
            "        washout_days: 28\n        washout_days: 7\n",
            "duplicate key 'washout_days'",
        ),
        ("target_enrollment: 60\n", "target_enrollment: 60\ntarget_enrollment: 90\n", None),
    ],
)
def test_repeated_key_is_an_error_not_the_last_value(
    tmp_path: Path, old: str, new: str, problem: str | None
) -> None:
    # a repeated key would silently replace a rule parameter (YAML keeps the last one)
    text = built_in_protocol_text()
    assert text.count(old) == 1
    path = tmp_path / "p.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(InputError) as raised:
        load_protocol(path)
    assert raised.value.problem.startswith("invalid YAML at line ")
    assert raised.value.problem.endswith(problem or "duplicate key 'target_enrollment'")


def test_merge_keys_still_override() -> None:
    # "<<: *anchor" followed by the same key is YAML's override, not a repeated key
    text = built_in_protocol_text()
    first = "    - {number: 1, target_day: 21, window_days: 3}\n"
    second = "    - {number: 2, target_day: 28, window_days: 3}\n"
    assert first in text
    assert second in text
    text = text.replace(first, first.replace("- {", "- &infusion {")).replace(
        second, "    - {<<: *infusion, number: 2, target_day: 28}\n"
    )
    infusion = protocol_from_yaml(text).schedule.infusion_plan[1]
    assert (infusion.number, infusion.target_day, infusion.window_days) == (2, 28, 3)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_protocol(tmp_path / "absent.yaml")
