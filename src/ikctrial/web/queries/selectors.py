"""Reads of data queries: site scoping through the subjects selector, filters, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from ikctrial.web.errors import NotFoundError
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, may
from ikctrial.web.subjects.selectors import subjects_for_user

CSV_COLUMNS = (
    "query_id",
    "site",
    "screening_number",
    "subject_id",
    "form",
    "record_id",
    "field",
    "origin",
    "check_id",
    "status",
    "text",
    "raised_by",
    "raised_at",
    "answer",
    "answered_by",
    "answered_at",
    "closed_by",
    "closed_at",
    "close_note",
)


@dataclass(frozen=True)
class QueryFilter:
    """Listing filters (each optional)."""

    status: str | None = None
    site: str | None = None
    subject_id: int | None = None
    form: str | None = None
    origin: str | None = None
    field: str | None = None
    raised_by: str | None = None


def queries_for_user(actor: Actor) -> QuerySet[DataQuery]:
    """The queries on subjects the actor sees, if its role reads queries at all."""
    if not may(actor, Action.QUERY_VIEW):
        return DataQuery.objects.none()
    return DataQuery.objects.filter(subject__in=subjects_for_user(actor)).select_related(
        "subject__site"
    )


def query_for_user(actor: Actor, query_id: int) -> DataQuery:
    """One visible query (another site's, or none, is 404)."""
    query = queries_for_user(actor).filter(pk=query_id).first()
    if query is None:
        raise NotFoundError(f"query {query_id} not found")
    return query


def query_listing(actor: Actor, filters: QueryFilter) -> QuerySet[DataQuery]:
    """The actor's queries matching the filters, oldest first."""
    queries = queries_for_user(actor)
    lookups = {
        "status": filters.status,
        "subject__site__code": filters.site,
        # ``subject__pk``, not the column ``subject_id``: a pk lookup answers "none" for an id
        # beyond the database's integer range, where the raw column overflows the driver
        "subject__pk": filters.subject_id,
        "form": filters.form,
        "origin": filters.origin,
        "field": filters.field,
        "raised_by": filters.raised_by,
    }
    wanted = {key: value for key, value in lookups.items() if value is not None}
    return queries.filter(**wanted).order_by("raised_at", "id")


def query_document(query: DataQuery) -> dict[str, Any]:
    """A query as the API and the CSV show it."""
    return {
        "query_id": query.pk,
        "site": query.subject.site.code,
        "screening_number": query.subject.screening_number,
        "subject_id": query.subject_id,
        "form": query.form,
        "record_id": query.record_id,
        "field": query.field,
        "origin": query.origin,
        "check_id": query.check_id,
        "status": query.status,
        "text": query.text,
        "raised_by": query.raised_by,
        "raised_at": query.raised_at,
        "answer": query.answer,
        "answered_by": query.answered_by,
        "answered_at": query.answered_at,
        "closed_by": query.closed_by,
        "closed_at": query.closed_at,
        "close_note": query.close_note,
    }


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        "" if value is None else value.isoformat() if hasattr(value, "isoformat") else value
        for value in values
    )
    return buffer.getvalue()


def query_csv_chunks(queries: Iterable[DataQuery]) -> Iterator[str]:
    """The listing as CSV text, one line per chunk (streamed while the database is read)."""
    yield _csv_line(CSV_COLUMNS)
    for query in queries:
        document = query_document(query)
        yield _csv_line(document[column] for column in CSV_COLUMNS)
