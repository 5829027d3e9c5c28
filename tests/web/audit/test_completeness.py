"""Audit completeness: for every concrete AuditedModel, no write path changes data unaudited.

Walks the app registry (so a model added later is covered without touching this file), builds a
valid instance of each model from its field types, then drives every write path: ``save`` (create,
update), ``QuerySet.update`` (default and base manager), ``bulk_create``, ``bulk_update``,
``delete`` and queryset deletes, with and without an audit context and a reason. Invariant checked
after each attempt (domain.md 9.2, 21 CFR 11.10(e)): the stored row changed only if an audit event
of that record records the change.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import models, transaction
from django.db.models.fields.related import ForeignKey, OneToOneField

from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditedModel, AuditedQuerySet, AuditEvent, audited_models

_counter = itertools.count(1)
_SAFE_ON_DELETE = {models.CASCADE, models.PROTECT, models.RESTRICT}


def _value(field: models.Field[Any, Any]) -> Any:
    """A valid value for a required field, unique per call."""
    n = next(_counter)
    if field.choices:
        return next(iter(dict(field.flatchoices)))
    if isinstance(field, models.EmailField):
        return f"user{n}@example.org"
    if isinstance(field, models.URLField):
        return f"https://example.org/{n}"
    if isinstance(field, models.CharField | models.TextField):
        return f"v{n}"[: field.max_length or None]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.IntegerField):
        return n
    if isinstance(field, models.DecimalField):
        return Decimal(n % 10 ** max(1, field.max_digits - field.decimal_places - 1))
    if isinstance(field, models.FloatField):
        return n + 0.5
    if isinstance(field, models.DateTimeField):
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
    if isinstance(field, models.DateField):
        return dt.date(2026, 1, 1) + dt.timedelta(days=n % 300)
    if isinstance(field, models.TimeField):
        return dt.time(n % 24, 0)
    if isinstance(field, models.DurationField):
        return dt.timedelta(days=n)
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"x"
    if isinstance(field, models.GenericIPAddressField):
        return "127.0.0.1"
    raise AssertionError(f"the completeness test cannot fill {field!r}: teach _value this type")


def _attributes(model: type[models.Model]) -> dict[str, Any]:
    """Values for every field that has no default and cannot be null."""
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if (field.primary_key and field.has_default()) or isinstance(field, models.AutoField):
            continue
        if field.null or field.has_default() or getattr(field, "auto_now", False):
            continue
        if getattr(field, "auto_now_add", False):
            continue
        if isinstance(field, OneToOneField):
            values[field.name] = _instance(field.related_model)
        elif isinstance(field, ForeignKey):
            # Share parents (a list, a site) so single-row constraints on them hold.
            related = field.related_model
            values[field.name] = related._base_manager.first() or _instance(related)
        else:
            values[field.name] = _value(field)
    return values


def _instance(model: type[models.Model]) -> models.Model:
    """A saved instance (audited models are saved inside an audit context)."""
    with audit_context(actor="completeness-test"):
        return model._default_manager.create(**_attributes(model))


def _changeable_field(model: type[models.Model]) -> models.Field[Any, Any] | None:
    for field in model._meta.concrete_fields:
        if field.primary_key or field.is_relation or not field.editable or field.unique:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if field.choices and len(dict(field.flatchoices)) < 2:
            continue
        return field
    return None


def _other_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A different valid value for the field."""
    if field.choices:
        return next(choice for choice in dict(field.flatchoices) if choice != value)
    if isinstance(field, models.BooleanField):
        return not value
    if value is None:
        return _value(field)
    if isinstance(field, models.JSONField):
        return {"changed": True}
    if isinstance(field, models.CharField | models.TextField):
        return (str(value) + "x")[-(field.max_length or 10**6) :]
    if isinstance(value, dt.datetime | dt.date):
        return value + dt.timedelta(days=1)
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    return value + 1


def _snapshot(model: type[models.Model], pk: Any) -> dict[str, Any] | None:
    names = [f.attname for f in model._meta.concrete_fields]
    return model._base_manager.filter(pk=pk).values(*names).first()


def _events(model: type[models.Model], pk: Any, action: str) -> int:
    label = model._meta.label_lower
    return AuditEvent.objects.filter(model=label, object_pk=str(pk), action=action).count()


def _attempt(operation: Any) -> Exception | None:
    try:
        with transaction.atomic():
            operation()
    except Exception as exc:  # the invariant below decides whether a refusal is fine
        return exc
    return None


def _assert_audited(model: type[models.Model], pk: Any, before: Any, action: str, n: int) -> None:
    after = _snapshot(model, pk)
    if after != before:
        assert _events(model, pk, action) == n + 1, f"{model.__name__}: {action} left no event"


MODELS = audited_models()


def test_walks_the_registered_models() -> None:
    """The walk finds the audited models (the probe at least), never an abstract or proxy one."""
    assert MODELS
    assert all(not m._meta.abstract and not m._meta.proxy for m in MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label_lower)
def test_managers_and_relations_cannot_bypass_the_trail(model: type[AuditedModel]) -> None:
    """Every manager audits bulk writes; no relation rewrites audited rows behind the trail."""
    for manager in [*model._meta.managers, model._base_manager]:
        assert issubclass(manager._queryset_class, AuditedQuerySet), manager.name
    for field in model._meta.get_fields():
        if field.many_to_many and field.concrete:
            through = field.remote_field.through
            assert issubclass(through, AuditedModel), f"{field.name}: m2m through table unaudited"
        if isinstance(field, ForeignKey):
            on_delete = field.remote_field.on_delete
            assert on_delete in _SAFE_ON_DELETE, f"{field.name}: on_delete rewrites rows unaudited"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label_lower)
def test_no_write_path_changes_data_without_an_event(model: type[AuditedModel]) -> None:
    """Create (save, bulk), update (save, queryset, bulk), delete (instance, queryset): audited."""
    row = _instance(model)
    pk = row.pk
    assert _events(model, pk, "create") == 1, "create left no event"
    field = _changeable_field(model)

    def change(obj: models.Model) -> None:
        if field is not None:
            setattr(obj, field.attname, _other_value(field, getattr(obj, field.attname)))

    paths: list[tuple[str, Any]] = []
    if field is not None:
        paths += [
            ("update", lambda: (change(row), row.save())),
            (
                "update",
                lambda: model._default_manager.filter(pk=pk).update(
                    **{field.attname: _other_value(field, getattr(row, field.attname))}
                ),
            ),
            (
                "update",
                lambda: model._base_manager.filter(pk=pk).update(
                    **{field.attname: _other_value(field, getattr(row, field.attname))}
                ),
            ),
            (
                "update",
                lambda: (change(row), model._default_manager.bulk_update([row], [field.name])),
            ),
        ]
    paths += [("delete", lambda: model._default_manager.filter(pk=pk).delete())]
    paths += [("delete", lambda: model._base_manager.get(pk=pk).delete())]
    for action, operation in paths:
        # Without any audit context, nothing may change.
        before, n = _snapshot(model, pk), _events(model, pk, action)
        _attempt(operation)
        assert _snapshot(model, pk) == before, f"{model.__name__}: {action} without an actor"
        # Without a reason, a change after the first save is refused.
        with audit_context(actor="completeness-test"):
            _attempt(operation)
        assert _snapshot(model, pk) == before, f"{model.__name__}: {action} without a reason"
        # With actor and reason: either refused by the model, or done and audited.
        with audit_context(actor="completeness-test", reason="completeness test"):
            _attempt(operation)
        _assert_audited(model, pk, before, action, n)
        if _snapshot(model, pk) is not None:
            row.refresh_from_db()
    _check_bulk_create(model)


def _check_bulk_create(model: type[AuditedModel]) -> None:
    """``bulk_create`` without an actor inserts nothing; with one, each row gets a create event."""
    count = model._base_manager.count()
    assert _attempt(lambda: model._default_manager.bulk_create([model(**_attributes(model))]))
    assert model._base_manager.count() == count
    with audit_context(actor="completeness-test"):
        error = _attempt(lambda: model._default_manager.bulk_create([model(**_attributes(model))]))
    for obj in model._base_manager.all():
        assert _events(model, obj.pk, "create") == 1, f"{model.__name__}: unaudited bulk insert"
    assert model._base_manager.count() == (count if error else count + 1)
