"""Who may read the audit trail: the study-wide reviewing roles (QA, data management, admin).

The trail spans every site, and events carry no site, so site-scoped roles (monitors, site staff)
do not read it through the API; the command-line operator, who holds the database, always may.
"""

from __future__ import annotations

from ikctrial.web.errors import ForbiddenError
from ikctrial.web.sites.permissions import Role
from ikctrial.web.sites.selectors import Actor, role_of

AUDIT_READER_ROLES = frozenset({Role.QA, Role.DATA_MANAGER, Role.ADMIN})


def require_audit_reader(actor: Actor) -> None:
    """Raise ``ForbiddenError`` (403) unless the actor may read the audit trail."""
    if isinstance(actor, str):
        return
    if role_of(actor) not in AUDIT_READER_ROLES:
        roles = ", ".join(sorted(str(role) for role in AUDIT_READER_ROLES))
        raise ForbiddenError(f"reading the audit trail needs one of the roles {roles}")
