"""SDTM trial design domains from the protocol (domain.md 10.1), shaped like the CDISC pilot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ikctrial.analysis.sdtm.trial_design import (
    COLUMNS,
    DATASET_LABELS,
    LABELS,
    ie_test_code,
    study_day,
    trial_design_datasets,
)
from ikctrial.analysis.xpt import read_xpt, write_xpt
from ikctrial.errors import InputError
from ikctrial.protocol import CRITERION_IDS, load_protocol
from ikctrial.protocol.model import Protocol

DOMAINS = ["TS", "TA", "TE", "TV", "TI"]


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


@pytest.fixture(scope="module")
def datasets(protocol: Protocol) -> dict[str, pd.DataFrame]:
    return trial_design_datasets(protocol)


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_variables_labels_and_types_as_pilot(
    pilot_dir: Path, tmp_path: Path, datasets: dict[str, pd.DataFrame], domain: str
) -> None:
    """Our TS/TA/TE/TV/TI written as XPT have the pilot's variables, order, labels and types."""
    encoding = "cp1252" if domain == "TS" else None
    pilot_df, pilot = read_xpt(pilot_dir / f"{domain.lower()}.xpt", encoding=encoding)
    target = tmp_path / f"{domain.lower()}.xpt"
    write_xpt(
        datasets[domain],
        target,
        dataset_name=domain,
        dataset_label=DATASET_LABELS[domain],
        column_labels={c: LABELS[c] for c in COLUMNS[domain]},
    )
    back, ours = read_xpt(target)
    assert list(ours.column_labels) == list(pilot.column_labels)
    assert ours.column_labels == pilot.column_labels

    def floats(df: pd.DataFrame) -> set[str]:
        return {c for c in df.columns if pd.api.types.is_float_dtype(df[c])}

    assert floats(back) == floats(pilot_df)
    assert set(back["DOMAIN"]) == {domain}
    assert set(back["STUDYID"]) == {"IVY02"}


@pytest.mark.parametrize(
    ("criterion_id", "code"),
    [
        # domain.md 10.1 (IE): I1_age..I7_consent -> IN01..IN07, E1..E5 -> EX01..EX05
        ("I1_age", "IN01"),
        ("I7_consent", "IN07"),
        ("E1_recent_therapy", "EX01"),
        ("E5_pregnancy", "EX05"),
    ],
)
def test_ie_test_codes(criterion_id: str, code: str) -> None:
    assert ie_test_code(criterion_id) == code


def test_ie_test_code_rejects_unknown_id() -> None:
    with pytest.raises(InputError):
        ie_test_code("X1_other")


def test_ti_holds_the_twelve_criteria(
    protocol: Protocol, datasets: dict[str, pd.DataFrame]
) -> None:
    ti = datasets["TI"]
    assert ti["IETESTCD"].tolist() == [ie_test_code(c) for c in CRITERION_IDS]
    assert (ti["IETESTCD"].str.len() <= 8).all()
    assert ti["IECAT"].tolist() == ["INCLUSION"] * 7 + ["EXCLUSION"] * 5
    assert ti["IETEST"].iloc[0] == protocol.eligibility.criteria[0].text
    assert ti["TIRL"].iloc[0] == "min_age=20; max_age_exclusive=80"


def test_ts_parameters_from_protocol(protocol: Protocol, datasets: dict[str, pd.DataFrame]) -> None:
    ts = datasets["TS"]
    values = {code: group["TSVAL"].tolist() for code, group in ts.groupby("TSPARMCD", sort=False)}
    assert values["TITLE"] == [protocol.title]
    assert values["REGID"] == ["NCT03592706"]
    assert values["TPHASE"] == ["PHASE II/III TRIAL"]
    assert values["PLANSUB"] == ["60"]
    assert values["RANDOM"] == ["Y"]
    assert values["RANDQT"] == ["0.5"]  # 1:1 allocation
    assert values["NARMS"] == ["2"]
    assert values["STRATFCT"] == ["BCLC", "CHILD_PUGH"]
    assert values["COMPTRT"] == ["TACE alone"]
    assert values["TCNTRL"] == ["ACTIVE"]
    assert values["AGEMIN"] == ["P20Y"]
    assert values["AGEMAX"] == ["P79Y"]
    assert len(values["OUTMSSEC"]) == 3
    # TSSEQ numbers the repeated values of a parameter from 1
    assert ts.loc[ts["TSPARMCD"] == "OUTMSSEC", "TSSEQ"].tolist() == [1.0, 2.0, 3.0]


def test_ta_and_te_from_arms(datasets: dict[str, pd.DataFrame]) -> None:
    ta, te = datasets["TA"], datasets["TE"]
    assert ta["ARMCD"].tolist() == ["IKC_TACE", "IKC_TACE", "TACE", "TACE"]
    assert ta["EPOCH"].tolist() == ["SCREENING", "TREATMENT"] * 2
    assert set(ta["ETCD"]) == set(te["ETCD"]) == {"SCRN", "IKC_TACE", "TACE"}
    assert te.loc[te["ETCD"] == "TACE", "TEDUR"].item() == "P364D"


def test_tv_visits_from_schedule(protocol: Protocol, datasets: dict[str, pd.DataFrame]) -> None:
    tv = datasets["TV"]
    schedule = protocol.schedule
    planned_days = (
        {i.target_day for i in schedule.infusion_plan}
        | set(schedule.imaging_days)
        | {v.day for v in schedule.immune_panel_days}
    )
    day_visits = tv[tv["VISIT"].str.startswith("DAY ")]
    assert sorted(day_visits["VISITDY"] - 1) == sorted(planned_days)
    # infusion-only days belong to the IKC arm; days with imaging or immune panels to every arm
    assert tv.loc[tv["VISIT"] == "DAY 21", "ARMCD"].item() == "IKC_TACE"
    assert tv.loc[tv["VISIT"] == "DAY 56", "ARMCD"].item() == ""
    assert tv["VISITNUM"].is_monotonic_increasing
    assert tv["VISIT"].iloc[-1] == "END OF STUDY"
    assert tv["VISITDY"].iloc[-1] == schedule.eos_day + 1


@pytest.mark.parametrize(("elapsed", "sdtm_day"), [(-3, -3), (-1, -1), (0, 1), (56, 57)])
def test_study_day_has_no_day_zero(elapsed: int, sdtm_day: int) -> None:
    """SDTMIG study day: reference date is day 1, the day before is day -1."""
    assert study_day(elapsed) == sdtm_day


def test_long_arm_code_is_an_error(protocol: Protocol) -> None:
    arms = [
        arm.model_copy(update={"code": "IKC_TACE_LONG"}) if i == 0 else arm
        for i, arm in enumerate(protocol.arms)
    ]
    changed = protocol.model_copy(update={"arms": arms})
    with pytest.raises(InputError) as caught:
        trial_design_datasets(changed)
    assert caught.value.field == "arms[0].code"
