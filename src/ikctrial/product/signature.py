"""Electronic signatures and UTC timestamps shared by the product rules (domain.md 9.2).

A signature names its signer (user id and printed name), the signer's role, the moment of signing
and the meaning of the signature (21 CFR 11.50). The core only checks who signed with which
meaning; authenticating the signer and linking the signature to the record version (11.70, 11.200)
is the service's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ikctrial.errors import InputError


def require_aware(moment: datetime, field: str) -> datetime:
    """``moment`` unchanged when it has a time zone; naive datetimes are ambiguous: refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, f"{moment.isoformat()} has no time zone (use UTC, e.g. ...Z)")
    return moment


def require_text(text: str | None, field: str) -> str:
    """``text`` stripped; an empty or missing text (a reason, a name) is refused."""
    if text is None or not text.strip():
        raise InputError(field, "required (empty)")
    return text.strip()


def duration_text(span: timedelta) -> str:
    """A readable duration for refusal reasons, e.g. ``1 min`` or ``2 h 5 min``."""
    minutes = int(abs(span).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    return " ".join(p for p in parts if p) if span else "0 min"


@dataclass(frozen=True)
class ESignature:
    """One electronic signature: who (id, printed name, role), when, and what it means."""

    user_id: str
    printed_name: str
    role: str
    meaning: str
    signed_at: datetime

    def __post_init__(self) -> None:
        require_text(self.user_id, "signature.user_id")
        require_text(self.printed_name, "signature.printed_name")
        require_text(self.role, "signature.role")
        require_text(self.meaning, "signature.meaning")
        require_aware(self.signed_at, "signature.signed_at")

    def problem(self, *, role: str, meaning: str, what: str) -> str | None:
        """Why this signature cannot serve as ``what`` (wrong role or meaning), or None."""
        if self.role != role:
            return f"{what} must be signed by role {role}; {self.user_id} signed as {self.role}"
        if self.meaning != meaning:
            return f"{what} must carry the meaning {meaning!r}, not {self.meaning!r}"
        return None
