"""Start Django from the command line: settings module, then ``django.setup()``, once.

The CLI calls this inside commands, never at import time, so ``ikctrial --help`` and the core
commands never pay for Django.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ikctrial.errors import InputError


def setup_django() -> None:
    """Point Django at ``ikctrial.web.settings`` (unless set) and set it up (idempotent)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ikctrial.web.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def cli_operator() -> str:
    """The name the audit trail records for a command-line change: ``cli:<login>``."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "operator"
    return f"cli:{login}"


@contextmanager
def django_command() -> Iterator[str]:
    """Set Django up for a command; turn service refusals into one stderr line and an exit code.

    Bad input exits 2, and so does every refusal (interfaces.md: exit 1 is only for a negative
    answer a command documents): an unknown user or site, a role that may not do it, a state that
    forbids it (a duplicate site, a second list without ``--replace``). Nothing is written then:
    each service runs in one transaction. A database that was never migrated says so (exit 1).
    Yields the operator name for the audit.
    """
    setup_django()
    from django.db import DatabaseError

    from ikctrial.web.errors import ConflictError, ForbiddenError, NotFoundError

    try:
        yield cli_operator()
    except (InputError, NotFoundError, ConflictError, ForbiddenError) as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(2) from None
    except DatabaseError as exc:
        sys.stderr.write(f"database error: {exc} (has `ikctrial db migrate` been run?)\n")
        raise SystemExit(1) from None
