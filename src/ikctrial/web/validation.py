"""Validate a model instance before saving it, and report failures as ``InputError`` (422)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from ikctrial.errors import InputError

# Database keys are signed 64-bit integers: a larger id cannot name a record (and would overflow).
MAX_ID = 2**63 - 1


def reject_nul(value: Any, field: str) -> None:
    """Refuse text holding NUL characters (PostgreSQL cannot store them, in text or JSON)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InputError(field, "contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key, field)
            reject_nul(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            reject_nul(item, f"{field}[{index}]")


def input_error_from_django(exc: ValidationError) -> InputError:
    """The first problem of a Django ``ValidationError`` as one ``InputError`` naming the field."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        messages = [message for error in errors for message in error.messages]
        name = "" if field == "__all__" else field
        return InputError(name, "; ".join(messages))
    return InputError("", "; ".join(exc.messages))


def save_validated(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    """``full_clean()`` then ``save()``: a record that breaks a field rule is never written."""
    for field in instance._meta.concrete_fields:
        reject_nul(getattr(instance, field.attname), field.name)
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise input_error_from_django(exc) from None
    instance.save()
