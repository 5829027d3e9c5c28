"""Hot-path reads as plain SQL spelled once: a model's columns, and its instances built from a row.

Every API write reads the same few rows first (its token, the subject under a lock, the lock state,
the consent and randomization dates, the record it corrects, its pending edit-check queries). The
ORM compiles each of those queries anew on every request, which costs more CPU than the database
spends answering them (``bench/edc_load.py``). These readers build each statement once per model
and database connection, run it as one plain statement, and build the instances exactly as the
ORM does: the field's database converters, then ``Model.from_db``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

from ikctrial.web.audit.models import remember_locked

M = TypeVar("M", bound=models.Model)
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


@dataclass(frozen=True)
class _Columns:
    """How one model's row is read: column list, attribute names, converters per position."""

    attnames: list[str]
    converters: list[tuple[int, list[Converter], Any]]


@lru_cache(maxsize=256)
def _columns(model: type[models.Model], connection: BaseDatabaseWrapper) -> _Columns:
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        found = _converters(field, connection)
        if found:
            converters.append((index, found, field.get_col(model._meta.db_table)))
    return _Columns([field.attname for field in fields], converters)


def column_list(model: type[models.Model], using: str = "default") -> str:
    """The model's concrete columns, table-qualified and quoted, in field order."""
    quote = connections[using].ops.quote_name
    name = quote(model._meta.db_table)
    return ", ".join(f"{name}.{quote(field.column)}" for field in model._meta.concrete_fields)


def column(model: type[models.Model], name: str, using: str = "default") -> str:
    """One field's column, table-qualified and quoted (for conditions and joins)."""
    quote = connections[using].ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(name).column)}"


def table(model: type[models.Model], using: str = "default") -> str:
    """The model's table, quoted."""
    return connections[using].ops.quote_name(model._meta.db_table)


def width(model: type[models.Model]) -> int:
    """How many columns ``column_list`` selects for the model."""
    return len(model._meta.concrete_fields)


def build(model: type[M], row: Sequence[Any], start: int = 0, using: str = "default") -> M:
    """The instance held in ``row[start:start + width(model)]``, as the ORM would build it."""
    connection = connections[using]
    shape = _columns(model, connection)
    values = list(row[start : start + len(shape.attnames)])
    for index, converters, column in shape.converters:
        values[index] = _converted(values[index], converters, column, connection)
    return model.from_db(using, shape.attnames, values)


def _converters(field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> list[Converter]:
    column = field.get_col(field.model._meta.db_table)
    return connection.ops.get_db_converters(column) + field.get_db_converters(connection)


def _converted(
    value: Any, converters: list[Converter], column: Any, connection: BaseDatabaseWrapper
) -> Any:
    for converter in converters:
        value = converter(value, column, connection)
    return value


def convert(model: type[models.Model], name: str, value: Any, using: str = "default") -> Any:
    """One selected column value of field ``name`` as the ORM would return it."""
    connection = connections[using]
    field = model._meta.get_field(name)
    column = field.get_col(model._meta.db_table)
    return _converted(value, _converters(field, connection), column, connection)


def lock_clause(model: type[models.Model], using: str = "default") -> str:
    """`` FOR UPDATE OF <table>`` where the database locks rows (SQLite locks the whole file)."""
    connection = connections[using]
    if not connection.features.has_select_for_update:
        return ""
    if connection.features.has_select_for_update_of:
        return f" FOR UPDATE OF {connection.ops.quote_name(model._meta.db_table)}"
    return " FOR UPDATE"


def fetch_one(sql: str, params: Sequence[Any], using: str = "default") -> tuple[Any, ...] | None:
    """The first row of one statement, or None."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else tuple(row)


def fetch_all(sql: str, params: Sequence[Any], using: str = "default") -> list[tuple[Any, ...]]:
    """Every row of one statement."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


@lru_cache(maxsize=256)
def _select_sql(model: type[models.Model], where: str, lock: bool, using: str) -> str:
    suffix = lock_clause(model, using) if lock else ""
    return f"SELECT {column_list(model, using)} FROM {table(model, using)} WHERE {where}{suffix}"


def select(
    model: type[M],
    where: str,
    params: Sequence[Any],
    *,
    lock: bool = False,
    using: str = "default",
) -> list[M]:
    """Instances of ``model`` matching a SQL condition (``%s`` parameters); ``lock``: for update.

    ``where`` is a fixed string written by the caller (never built from input), so its statement
    is spelled once. Rows read under a lock are remembered for the audited save that follows.
    """
    sql = _select_sql(model, where, lock, using)
    found = [build(model, row, using=using) for row in fetch_all(sql, params, using)]
    if lock:
        remember_locked(using, model, found)
    return found
