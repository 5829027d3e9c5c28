"""Who is changing trial data, and why: the audit context that services wrap their writes in.

A context variable (not a thread-local) so it follows the code path in threads and async tasks
alike. Every write to an audited model needs one: a change nobody is accountable for is refused
(21 CFR 11.10(e), ALCOA "attributable").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

SOURCES = ("api", "ui", "admin", "cli", "import", "system")


@dataclass(frozen=True)
class AuditContext:
    """The actor (user name), the reason for a change, and the channel the change came through."""

    actor: str
    reason: str | None = None
    source: str = "api"


class AuditContextMissingError(RuntimeError):
    """An audited model was written outside ``audit_context``: the change would be unattributed."""


_current: ContextVar[AuditContext | None] = ContextVar("ikctrial_audit_context", default=None)


def actor_name(actor: Any) -> str:
    """The stable identifier recorded for an actor: a user's user name, or the string given."""
    if hasattr(actor, "get_username"):
        return str(actor.get_username())
    name = str(actor).strip()
    if not name:
        raise ValueError("audit actor must not be empty")
    return name


@contextmanager
def audit_context(
    *, actor: Any, reason: str | None = None, source: str = "api"
) -> Iterator[AuditContext]:
    """Attribute every audited write inside the block to ``actor``, with ``reason`` for changes."""
    if source not in SOURCES:
        raise ValueError(f"audit source {source!r} is not one of {', '.join(SOURCES)}")
    cleaned = reason.strip() if reason is not None else None
    context = AuditContext(actor=actor_name(actor), reason=cleaned or None, source=source)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def current_audit_context() -> AuditContext:
    """The active audit context; raises ``AuditContextMissingError`` outside ``audit_context``."""
    context = _current.get()
    if context is None:
        raise AuditContextMissingError(
            "audited data written outside audit_context(actor=..., reason=...): "
            "wrap the service's writes in ikctrial.web.audit.context.audit_context"
        )
    return context
