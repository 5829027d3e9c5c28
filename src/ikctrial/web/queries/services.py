"""Data queries: raise (manual), answer, close; and the automatic ones from the protocol's checks.

Edit checks are declared in the protocol file (``edit_checks``) and evaluated by the core
(``ikctrial.clinical.edit_checks``) on every CRF save: a failing check opens a query on the field
(unless one is already pending for that check and record); a check that passes again closes its
pending automatic query, saying so. Every step is audited with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from django.db import router, transaction
from django.utils import timezone

from ikctrial.clinical.edit_checks import EditCheck, edit_check_findings, edit_checks
from ikctrial.errors import InputError
from ikctrial.web import rows
from ikctrial.web.audit.context import actor_name, audit_context
from ikctrial.web.crf.selectors import form_model, record_of
from ikctrial.web.errors import ConflictError
from ikctrial.web.protocol import current_protocol
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.queries.selectors import query_for_user
from ikctrial.web.signatures.selectors import ensure_not_locked
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_user
from ikctrial.web.validation import save_validated

EDIT_CHECK_RAISER = "edit_check"
PENDING = (DataQuery.Status.OPEN, DataQuery.Status.ANSWERED)


@lru_cache(maxsize=1)
def protocol_edit_checks() -> tuple[EditCheck, ...]:
    """The protocol's edit checks (none until the protocol file declares ``edit_checks``)."""
    return edit_checks(list(getattr(current_protocol(), "edit_checks", ())))


@lru_cache(maxsize=8)
def _pending_sql(using: str) -> str:
    """The condition selecting a record's pending automatic queries (every CRF save runs it)."""
    status = rows.column(DataQuery, "status", using)
    return (
        f"{rows.column(DataQuery, 'form', using)} = %s "
        f"AND {rows.column(DataQuery, 'record_id', using)} = %s "
        f"AND {rows.column(DataQuery, 'origin', using)} = %s "
        f"AND {status} IN ({', '.join(['%s'] * len(PENDING))})"
    )


def _pending_automatic(form: str, record_id: int) -> list[DataQuery]:
    """The record's open or answered edit-check queries, in one plain statement."""
    using = router.db_for_write(DataQuery)
    params = [form, record_id, DataQuery.Origin.EDIT_CHECK, *PENDING]
    return rows.select(DataQuery, _pending_sql(using), params, using=using)


def edit_check_queries(
    *, subject: Subject, form: str, record_id: int, values: Mapping[str, object]
) -> list[DataQuery]:
    """Run the checks of ``form`` on a saved record: open new queries, close resolved ones.

    Called inside the CRF service's transaction and audit context; returns the queries opened.
    """
    findings = edit_check_findings(protocol_edit_checks(), form, values)
    pending = {query.check_id: query for query in _pending_automatic(form, record_id)}
    opened = []
    for finding in findings:
        if pending.pop(finding.check_id, None) is not None:
            continue
        query = DataQuery(
            subject=subject,
            form=form,
            record_id=record_id,
            field=finding.field,
            text=finding.message,
            origin=DataQuery.Origin.EDIT_CHECK,
            check_id=finding.check_id,
            raised_by=EDIT_CHECK_RAISER,
        )
        save_validated(query)
        opened.append(query)
    resolved = "edit check passes after the data change"
    with audit_context(actor=EDIT_CHECK_RAISER, reason=resolved, source="system"):
        for query in pending.values():
            query.status = DataQuery.Status.CLOSED
            query.closed_by = EDIT_CHECK_RAISER
            query.closed_at = timezone.now()
            query.close_note = resolved
            save_validated(query)
    return opened


@transaction.atomic
def query_raise(
    *,
    actor: Actor,
    subject_id: int,
    form: str,
    record_id: int,
    field: str,
    text: str,
    source: str = "api",
) -> DataQuery:
    """A manual query by a data manager or monitor on any field of any CRF record."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.QUERY_RAISE)
    record = record_of(subject, form, record_id)
    names = {f.name for f in form_model(form)._meta.concrete_fields}
    if field not in names:
        raise InputError("field", f"{field!r} is not a field of {form}")
    if not text.strip():
        raise InputError("text", "the question is required")
    ensure_not_locked(subject)
    with audit_context(actor=actor, source=source):
        query = DataQuery(
            subject=subject,
            form=form,
            record_id=record.pk,
            field=field,
            text=text.strip(),
            origin=DataQuery.Origin.MANUAL,
            raised_by=actor_name(actor),
        )
        save_validated(query)
    return query


def _pending_query(actor: Actor, query_id: int, *statuses: str) -> DataQuery:
    """A visible query, locked for update, in one of ``statuses`` (409 otherwise)."""
    query = query_for_user(actor, query_id)
    query = DataQuery.objects.select_for_update().get(pk=query.pk)
    if query.status not in statuses:
        raise ConflictError(f"query {query.pk} is {query.status}")
    ensure_not_locked(query.subject)
    return query


@transaction.atomic
def query_answer(*, actor: Actor, query_id: int, answer: str, source: str = "api") -> DataQuery:
    """The site's answer to an open query (investigator or coordinator)."""
    query_for_user(actor, query_id)
    authorize(actor, Action.QUERY_ANSWER)
    if not answer.strip():
        raise InputError("answer", "the answer is required")
    query = _pending_query(actor, query_id, DataQuery.Status.OPEN)
    with audit_context(actor=actor, reason=f"query answered: {answer.strip()}", source=source):
        query.status = DataQuery.Status.ANSWERED
        query.answer = answer.strip()
        query.answered_by = actor_name(actor)
        query.answered_at = timezone.now()
        save_validated(query)
    return query


@transaction.atomic
def query_close(*, actor: Actor, query_id: int, note: str, source: str = "api") -> DataQuery:
    """Close an open or answered query (data manager or monitor), with a note."""
    query_for_user(actor, query_id)
    authorize(actor, Action.QUERY_CLOSE)
    if not note.strip():
        raise InputError("note", "a closing note is required")
    query = _pending_query(actor, query_id, *PENDING)
    with audit_context(actor=actor, reason=f"query closed: {note.strip()}", source=source):
        query.status = DataQuery.Status.CLOSED
        query.closed_by = actor_name(actor)
        query.closed_at = timezone.now()
        query.close_note = note.strip()
        save_validated(query)
    return query
