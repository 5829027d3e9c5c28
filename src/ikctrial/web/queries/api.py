"""API of data queries: raise, answer, close, list with filters (JSON or streamed CSV)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema

from ikctrial.web.queries.selectors import (
    QueryFilter,
    query_csv_chunks,
    query_document,
    query_for_user,
    query_listing,
)
from ikctrial.web.queries.services import query_answer, query_close, query_raise

router = Router(tags=["queries"])


class QueryIn(Schema):
    """A manual query on one field of one record."""

    subject_id: int
    form: str
    record_id: int
    field: str
    text: str


class AnswerIn(Schema):
    """The site's answer."""

    answer: str


class CloseIn(Schema):
    """Why the query is closed."""

    note: str


class ListingIn(Schema):
    """Filters of the listing, and its format."""

    status: Literal["open", "answered", "closed"] | None = None
    site: str | None = None
    subject_id: int | None = None
    form: str | None = None
    origin: Literal["manual", "edit_check"] | None = None
    field: str | None = None
    raised_by: str | None = None
    format: Literal["json", "csv"] = "json"


@router.post("/queries", response={201: dict[str, Any]})
def query_create(request: HttpRequest, payload: QueryIn) -> dict[str, Any]:
    """Raise a manual query (data manager, monitor)."""
    query = query_raise(actor=request.auth, **payload.dict())
    return query_document(query)


@router.get("/queries", response={200: list[dict[str, Any]]})
def query_list(request: HttpRequest, listing: Query[ListingIn]) -> Any:
    """The queries of the user's sites, filtered; ``format=csv`` streams a CSV download."""
    filters = QueryFilter(**listing.dict(exclude={"format"}))
    queries = query_listing(request.auth, filters)
    if listing.format == "json":
        return [query_document(query) for query in queries]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        query_csv_chunks(queries.iterator()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="queries-{stamp}.csv"'
    return response


@router.get("/queries/{query_id}", response=dict[str, Any])
def query_detail(request: HttpRequest, query_id: int) -> dict[str, Any]:
    """One query."""
    return query_document(query_for_user(request.auth, query_id))


@router.post("/queries/{query_id}/answer", response=dict[str, Any])
def query_answer_create(request: HttpRequest, query_id: int, payload: AnswerIn) -> dict[str, Any]:
    """Answer an open query (investigator, coordinator)."""
    return query_document(
        query_answer(actor=request.auth, query_id=query_id, answer=payload.answer)
    )


@router.post("/queries/{query_id}/close", response=dict[str, Any])
def query_close_create(request: HttpRequest, query_id: int, payload: CloseIn) -> dict[str, Any]:
    """Close an open or answered query (data manager, monitor)."""
    return query_document(query_close(actor=request.auth, query_id=query_id, note=payload.note))
