"""The audit trail table and the base class that makes every trial-data model write to it.

``AuditedModel`` is the abstract base of every trial-data model. Its ``save()``, and its queryset's
``bulk_create``, ``update`` and ``bulk_update``, write audit events in the same transaction as the
data; deletes (``delete()``, queryset deletes, cascades, the admin) are caught by per-model delete
signals, which also stop Django from deleting them in bulk behind the trail's back. Writes need an
``audit_context`` (who, and why); a change after the first save (the creating transaction) without a
reason is refused with ``ReasonRequiredError``. Operations whose effect the trail cannot know
(``bulk_create`` with conflict handling) are refused with ``AuditedOperationRefusedError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models.query import ModelIterable
from django.db.models.signals import class_prepared, post_delete, pre_delete

from ikctrial.errors import InputError
from ikctrial.web.audit import locked_rows
from ikctrial.web.audit.chain import (
    PendingEvent,
    append_events,
    audit_value,
    created_in_transaction,
)
from ikctrial.web.audit.context import AuditContext, current_audit_context


class ReasonRequiredError(InputError):
    """A change after the first save came without a reason (ICH E6(R3) data governance)."""

    def __init__(self, model: str) -> None:
        super().__init__("reason", f"a reason is required to change or delete a saved {model}")


class AuditedOperationRefusedError(RuntimeError):
    """A bulk operation whose effect on each record cannot be audited."""


class AuditEvent(models.Model):
    """One create, update or delete of one record: who, when (UTC), what, old and new, why."""

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"

    id = models.BigAutoField(primary_key=True)
    chain = models.PositiveSmallIntegerField(help_text="The parallel hash chain (lane).")
    sequence = models.PositiveBigIntegerField(help_text="Position in its chain, from 1.")
    timestamp = models.DateTimeField(db_index=True, help_text="Server time, UTC.")
    actor = models.CharField(max_length=150)
    source = models.CharField(max_length=16)
    action = models.CharField(max_length=6, choices=Action.choices)
    model = models.CharField(
        max_length=100, help_text="App label and model, e.g. subjects.subject."
    )
    object_pk = models.CharField(max_length=64)
    changes = models.JSONField(help_text="{field: [old, new]}")
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chain", "sequence"], name="audit_chain_sequence"),
        ]
        indexes: ClassVar = [models.Index(fields=["model", "object_pk"], name="audit_record")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.model} {self.object_pk} by {self.actor}"


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _stored_value(field: models.Field[Any, Any], raw: Any) -> Any:
    """A field value as the database stores it, in its audit form (so equal values compare equal).

    A ``DecimalField`` stores its ``decimal_places`` (``40`` is stored and read back as
    ``40.0000``), so decimals are quantized to that scale, ties away from zero as PostgreSQL's
    ``numeric`` rounds; without it a save of an unchanged ``40`` would record a change.
    """
    with suppress(ValidationError):  # a value the field cannot parse is recorded as given
        raw = field.to_python(raw)
    if isinstance(field, models.DecimalField) and isinstance(raw, Decimal) and raw.is_finite():
        with suppress(InvalidOperation):  # too many digits: the database refuses it, not us
            raw = raw.quantize(Decimal(1).scaleb(-field.decimal_places), rounding=ROUND_HALF_UP)
    return audit_value(raw)


def _field_values(model: type[models.Model], instance: models.Model) -> dict[str, Any]:
    """The instance's concrete field values as recorded (normalized like the database would)."""
    return {
        f.name: _stored_value(f, getattr(instance, f.attname)) for f in model._meta.concrete_fields
    }


def _row_values(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
    """A ``values()`` row (keyed by attname) as recorded, keyed by field name."""
    return {f.name: _stored_value(f, row[f.attname]) for f in model._meta.concrete_fields}


def remember_locked(
    using: str, model: type[models.Model], instances: Iterable[models.Model]
) -> None:
    """Remember whole records of ``model`` just read under a row lock (see ``locked_rows``)."""
    rows = ((str(obj.pk), _field_values(model, obj)) for obj in instances)
    locked_rows.remember(using, _label(model), rows)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [before[name], after[name]] for name in after if before.get(name) != after[name]}


def _require_reason(
    context: AuditContext, using: str, model: type[models.Model], pks: list[str]
) -> None:
    if context.reason:
        return
    label = _label(model)
    if any(not created_in_transaction(using, label, pk) for pk in pks):
        raise ReasonRequiredError(model._meta.verbose_name)


def _record(context: AuditContext, using: str, events: list[PendingEvent]) -> None:
    append_events(
        events,
        using=using,
        actor=context.actor,
        source=context.source,
        reason=context.reason or "",
    )


class AuditedQuerySet(models.QuerySet):  # type: ignore[misc]
    """A queryset whose bulk writes are audited row by row (or refused when they cannot be).

    Records it reads with ``select_for_update()`` are remembered as stored (``locked_rows``), so
    saving one of them records its old values without reading the row a second time.
    """

    def _fetch_all(self) -> None:
        fetched = self._result_cache is None
        super()._fetch_all()
        if fetched and self._locks_whole_records():
            remember_locked(self.db, self.model, self._result_cache)

    def _locks_whole_records(self) -> bool:
        """Whether this read returns whole records of the model under a row lock."""
        query = self.query
        return (
            query.select_for_update
            and self._iterable_class is ModelIterable
            and not query.deferred_loading[0]
            and (not query.select_for_update_of or "self" in query.select_for_update_of)
        )

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        """Insert in bulk and record one create event per row."""
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise AuditedOperationRefusedError(
                f"bulk_create with conflict handling on {_label(self.model)} cannot be audited "
                "(which rows were inserted or changed is unknown): use save() or update_or_create()"
            )
        context = current_audit_context()
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            if any(obj.pk is None for obj in created):
                raise AuditedOperationRefusedError(
                    f"the database did not return the keys of the new {_label(self.model)} rows, "
                    "so they cannot be audited: save them one by one"
                )
            events = [
                _event(
                    AuditEvent.Action.CREATE,
                    self.model,
                    str(obj.pk),
                    {k: [None, v] for k, v in _field_values(self.model, obj).items()},
                )
                for obj in created
            ]
            _record(context, self.db, events)
        return list(created)

    def update(self, **kwargs: Any) -> int:
        """Update in bulk; record one update event per changed row (reason required)."""
        context = current_audit_context()
        model = self.model
        pk_attname = model._meta.pk.attname
        attnames = [f.attname for f in model._meta.concrete_fields]
        with transaction.atomic(using=self.db, savepoint=False):
            locked = self.order_by().select_for_update(of=("self",)).values(*attnames)
            before = {str(row[pk_attname]): row for row in locked}
            if not before:
                return 0
            _require_reason(context, self.db, model, list(before))
            keys = [row[pk_attname] for row in before.values()]
            rows = model._base_manager.using(self.db).filter(pk__in=keys)
            count = models.QuerySet.update(rows, **kwargs)
            locked_rows.forget(self.db, _label(model), before)
            events = []
            for row in rows.values(*attnames):
                pk = str(row[pk_attname])
                changes = _diff(_row_values(model, before[pk]), _row_values(model, row))
                if changes:
                    events.append(_event(AuditEvent.Action.UPDATE, model, pk, changes))
            _record(context, self.db, events)
        return int(count)

    update.alters_data = True  # type: ignore[attr-defined]


AuditedManager = models.Manager.from_queryset(AuditedQuerySet)


def _event(
    action: str, model: type[models.Model], pk: str, changes: dict[str, list[Any]]
) -> PendingEvent:
    return PendingEvent(action=action, model=_label(model), object_pk=pk, changes=changes)


class AuditedModel(models.Model):  # type: ignore[misc]
    """Abstract base of every trial-data model: every write leaves an audit event (or fails)."""

    objects = AuditedManager()

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Audit deletes of every subclass: ``delete()``, queryset deletes, cascades, the admin."""
        super().__init_subclass__(**kwargs)
        label = f"{cls.__module__}.{cls.__qualname__}"
        pre_delete.connect(_audit_pre_delete, sender=cls, dispatch_uid=f"audit-pre-{label}")
        post_delete.connect(_audit_post_delete, sender=cls, dispatch_uid=f"audit-post-{label}")

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save and record a create event, or an update event with the changed fields."""
        context = current_audit_context()
        model = type(self)
        using = kwargs.get("using") or router.db_for_write(model, instance=self)
        update_fields = kwargs.get("update_fields")
        with transaction.atomic(using=using, savepoint=False):
            before = self._stored_values(using, kwargs)
            super().save(*args, **kwargs)
            pk = str(self.pk)
            after = _field_values(model, self)
            if before is None:
                changes = {name: [None, value] for name, value in after.items()}
                _record(context, using, [_event(AuditEvent.Action.CREATE, model, pk, changes)])
                return
            changes = _diff(before, after)
            if update_fields is not None:
                names = {model._meta.get_field(name).name for name in update_fields}
                changes = {name: pair for name, pair in changes.items() if name in names}
            if changes:
                _require_reason(context, using, model, [pk])
                _record(context, using, [_event(AuditEvent.Action.UPDATE, model, pk, changes)])

    save.alters_data = True  # type: ignore[attr-defined]

    def _stored_values(self, using: str, save_kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The row's values as stored (locked until commit), or None when this save inserts.

        Taken from the row this transaction read under a lock when it still stands, else read.
        """
        if save_kwargs.get("force_insert") or self.pk is None:
            return None
        if self._state.adding and self._meta.pk.has_default():
            return None
        model = type(self)
        remembered = locked_rows.take(using, _label(model), str(self.pk))
        if remembered is not None:
            return dict(remembered)
        attnames = [f.attname for f in self._meta.concrete_fields]
        rows = model._base_manager.using(using).select_for_update().filter(pk=self.pk)
        row: dict[str, Any] | None = rows.values(*attnames).first()
        return None if row is None else _row_values(model, row)


def _audited_base_manager(sender: type[models.Model], **kwargs: Any) -> None:
    """Make the model's base manager (``Model._base_manager``) its audited default manager.

    Django's base manager is otherwise a plain ``Manager``, so ``_base_manager.filter(...)
    .update(...)`` would change rows with no event; Django itself only reads and saves through it.
    """
    if issubclass(sender, AuditedModel) and sender._meta.base_manager_name is None:
        sender._meta.base_manager_name = sender._meta.default_manager_name or "objects"


class_prepared.connect(_audited_base_manager, dispatch_uid="audit-base-manager")


def _audit_pre_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Refuse the delete before it happens when it lacks an actor or a reason."""
    context = current_audit_context()
    _require_reason(context, kwargs.get("using") or "default", sender, [str(instance.pk)])


def _audit_post_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Record the deleted row's last values, in the delete's own transaction."""
    context = current_audit_context()
    using = kwargs.get("using") or "default"
    locked_rows.forget(using, _label(sender), [str(instance.pk)])
    changes = {name: [value, None] for name, value in _field_values(sender, instance).items()}
    _record(context, using, [_event(AuditEvent.Action.DELETE, sender, str(instance.pk), changes)])


def audited_models() -> list[type[AuditedModel]]:
    """Every concrete (non-abstract, non-proxy) subclass of ``AuditedModel`` in the registry."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, AuditedModel) and not model._meta.proxy
    ]
