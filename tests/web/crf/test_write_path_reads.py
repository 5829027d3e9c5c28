"""The write path's plain-SQL reads (``ikctrial.web.rows``) against the ORM they stand in for.

Every API write reads its token, the subject under a lock, the lock state, the dates and the record
in plain statements; these tests hold them to what the ORM returns for the same rows, on SQLite and
(in the PostgreSQL pass) on PostgreSQL, and pin how many statements one correction costs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from tests.web.conftest import OPERATOR, OTHER_SITE, Trial
from tests.web.crf.conftest import Randomized, post_form, put_form

from ikctrial.web import rows
from ikctrial.web.audit.models import audited_models
from ikctrial.web.crf.models import VitalSigns
from ikctrial.web.crf.selectors import record_of, subject_dates
from ikctrial.web.errors import NotFoundError
from ikctrial.web.signatures.selectors import effective_state, subject_signatures
from ikctrial.web.sites.models import Site
from ikctrial.web.sites.permissions import Role
from ikctrial.web.sites.selectors import (
    site_scope,
    site_scope_params,
    site_scope_sql,
    sites_for_user,
    staff_for_token,
)
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_update

VITALS = {"timepoint": "visit", "systolic_mmhg": 120, "diastolic_mmhg": 80, "heart_rate_bpm": 72}
CORRECTION_STATEMENTS = 8
"""One vital-signs correction over the API, besides transaction control and the audit chain's head
(read once per transaction, so not here where the test's own transaction already holds it): the
token; the subject under its lock; the lock states; the dates; the record under its lock; the
UPDATE; the audit row; the pending edit-check queries (``bench/edc_load.py`` counts all 11)."""


def _values(instance: Any) -> dict[str, Any]:
    fields = type(instance)._meta.concrete_fields
    return {field.attname: getattr(instance, field.attname) for field in fields}


@pytest.fixture
def casebook(trial: Trial, randomize: Callable[..., Randomized]) -> Randomized:
    """A randomized subject with vital signs, a lab value and an adverse event entered."""
    subject = randomize()
    day = subject.day(1)
    forms = {
        "vital_signs": {**VITALS, "measured_at": f"{day}T08:00:00+08:00", "temperature_c": 37.25},
        "lab_result": {"collected_on": day, "test": "ALT", "value": 52.5, "unit": "U/L", "uln": 40},
        "adverse_event": {
            "verbatim_term": "fever after TACE",
            "ctcae_term": "Fever",
            "grade": 2,
            "onset_date": day,
            "relatedness_ikc": "unlikely",
            "relatedness_tace": "probably",
            "outcome": "recovering",
        },
    }
    for form, data in forms.items():
        assert post_form(trial, "coordinator", subject.subject_id, form, data).status_code == 201
    return subject


def test_every_stored_row_reads_back_as_the_orm_reads_it(casebook: Randomized) -> None:
    """``rows.select`` builds each audited model's rows with the ORM's values and types."""
    compared = 0
    for model in audited_models():
        for stored in model.objects.all():
            (read,) = rows.select(model, f"{rows.column(model, 'id')} = %s", [stored.pk])
            assert _values(read) == _values(stored), model._meta.label
            assert {type(v) for v in _values(read).values()} == {
                type(v) for v in _values(stored).values()
            }, model._meta.label
            compared += 1
    assert compared > 20


def test_token_lookup_returns_the_staff_and_user(trial: Trial) -> None:
    """The token's staff member with its user (and the user's staff), both as the ORM has them."""
    staff = staff_for_token(trial.tokens[Role.COORDINATOR])
    assert staff is not None
    assert staff.user == trial.users[Role.COORDINATOR]
    assert _values(staff.user) == _values(trial.users[Role.COORDINATOR])
    assert staff.user.staff is staff
    assert staff_for_token("ikc_not-a-token") is None


@pytest.mark.parametrize("role", [*Role.values, OPERATOR])
def test_scope_condition_selects_the_sites_the_queryset_does(trial: Trial, role: str) -> None:
    """``site_scope_sql`` and ``sites_for_user`` are the same rule, for every role."""
    actor = role if role == OPERATOR else trial.users[role]
    scope = site_scope(actor)
    condition = site_scope_sql(scope, rows.column(Site, "id"))
    sql = f"SELECT {rows.column(Site, 'id')} FROM {rows.table(Site)} WHERE {condition}"
    found = {row[0] for row in rows.fetch_all(sql, site_scope_params(scope))}
    assert found == set(sites_for_user(actor).values_list("id", flat=True))


def test_locked_subject_is_scoped_and_carries_its_site(
    trial: Trial, casebook: Randomized, randomize: Callable[..., Randomized]
) -> None:
    """Own site: the subject with its site; another site's subject: 404, as before."""
    coordinator = trial.users[Role.COORDINATOR]
    other = randomize(OTHER_SITE)
    with transaction.atomic():
        subject = subject_for_update(coordinator, casebook.subject_id)
        assert _values(subject) == _values(Subject.objects.get(pk=casebook.subject_id))
        assert subject.site == Subject.objects.get(pk=casebook.subject_id).site
        assert subject.site.timezone == "Asia/Taipei"
        with pytest.raises(NotFoundError):
            subject_for_update(coordinator, other.subject_id)
        with pytest.raises(NotFoundError):
            subject_for_update(coordinator, 2**63)
        assert subject_for_update(OPERATOR, other.subject_id).pk == other.subject_id


def test_dates_and_lock_states_match_the_stored_rows(casebook: Randomized) -> None:
    """Consent date (a date), RANDDT in the site's zone and the arm; an open casebook."""
    subject = Subject.objects.select_related("site").get(pk=casebook.subject_id)
    dates = subject_dates(subject)
    assert dates.consent_date == dt.date(2026, 3, 1)
    assert dates.randomization_date == casebook.randomization_date
    assert dates.arm == casebook.arm
    assert effective_state(subject) == "open"
    shown = subject_signatures(subject)
    assert (shown["state"], shown["subject_state"], shown["study_state"]) == ("open",) * 3


def test_record_of_refuses_another_subjects_record(
    trial: Trial, casebook: Randomized, randomize: Callable[..., Randomized]
) -> None:
    """The locked read is scoped to the subject: another subject's record id is 404."""
    other = randomize()
    subject = Subject.objects.get(pk=other.subject_id)
    record = VitalSigns.objects.get(subject_id=casebook.subject_id)
    with transaction.atomic(), pytest.raises(NotFoundError):
        record_of(subject, "vital_signs", record.pk, lock=True)


def test_one_correction_costs_a_fixed_number_of_statements(
    trial: Trial, casebook: Randomized
) -> None:
    """The hot path's statement count, pinned (``bench/edc_load.py`` prints it too)."""
    record = VitalSigns.objects.get(subject_id=casebook.subject_id)
    data = {**VITALS, "measured_at": f"{casebook.day(1)}T08:00:00+08:00", "systolic_mmhg": 131}
    put = put_form(trial, "coordinator", casebook.subject_id, "vital_signs", record.pk, data, "x")
    assert put.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        data["systolic_mmhg"] = 132
        put = put_form(
            trial, "coordinator", casebook.subject_id, "vital_signs", record.pk, data, "re-read"
        )
    assert put.status_code == 200, put.content
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
        and "audit_chain_lane" not in query["sql"]
        and 'FROM "audit_auditevent" WHERE "chain"' not in query["sql"]
    ]
    assert len(statements) == CORRECTION_STATEMENTS, "\n".join(statements)
