"""Django ``DATABASES`` entry from one URL (``IKCTRIAL_DATABASE_URL``).

``sqlite:///path.sqlite3`` (relative path; ``sqlite:////abs/path`` for an absolute one) or
``postgresql://user:password@host:port/dbname``. SQLite runs its transactions in IMMEDIATE mode so a
writer takes the database lock when its transaction begins: two writers never read the same state
and then both write (randomization, screening numbers and the audit chain rely on it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ikctrial.errors import InputError

DEFAULT_SQLITE_FILE = "ikctrial.sqlite3"
SQLITE_TIMEOUT_SECONDS = 30


def database_from_url(url: str | None, *, pool: bool = False) -> dict[str, Any]:
    """The Django database settings for ``url`` (None or empty: ``ikctrial.sqlite3`` here)."""
    if not url:
        return _sqlite(str(Path.cwd() / DEFAULT_SQLITE_FILE))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        path = path[1:] if path.startswith("/") else path
        if parts.netloc or not path:
            raise InputError("IKCTRIAL_DATABASE_URL", f"{url!r}: expected sqlite:///path.sqlite3")
        return _sqlite(path if path == ":memory:" else str(Path(path).expanduser()))
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise InputError("IKCTRIAL_DATABASE_URL", f"{url!r}: the database name is missing")
        options: dict[str, Any] = dict(parse_qsl(parts.query))
        if pool:
            options["pool"] = True
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 0 if pool else 60,
            "TEST": {"NAME": f"test_{name}"},
        }
    raise InputError(
        "IKCTRIAL_DATABASE_URL", f"{url!r}: the scheme must be sqlite:// or postgresql://"
    )


def _sqlite(path: str) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_TIMEOUT_SECONDS,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
