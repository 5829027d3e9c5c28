"""Django ``DATABASES`` entry from one URL (``IKCTRIAL_DATABASE_URL``).

``sqlite:///path.sqlite3`` (relative path; ``sqlite:////abs/path`` for an absolute one) or
``postgresql://user:password@host:port/dbname``. SQLite runs its transactions in IMMEDIATE mode so a
writer takes the database lock when its transaction begins: two writers never read the same state
and then both write (randomization, screening numbers and the audit chain rely on it).

On PostgreSQL, parameters are bound on the server and a statement run ``prepare_threshold`` times on
a connection is prepared there, so the few statements every API write repeats are parsed and
planned once per connection, not at every request (``bench/edc_load.py``: the server's CPU per save
halves). The URL's query string may override both (``?server_side_binding=false`` for a
transaction-pooling proxy such as PgBouncer, which cannot keep prepared statements).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ikctrial.errors import InputError

DEFAULT_SQLITE_FILE = "ikctrial.sqlite3"
SQLITE_TIMEOUT_SECONDS = 30
PREPARE_THRESHOLD = 5
"""Executions of one statement on a connection before PostgreSQL prepares it (psycopg's default)."""
_TRUE = frozenset({"1", "true", "yes", "on"})


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
        options = _postgresql_options(dict(parse_qsl(parts.query)))
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


def _postgresql_options(query: dict[str, str]) -> dict[str, Any]:
    """Connection options from the URL's query string, with server-side binding by default."""
    options: dict[str, Any] = dict(query)
    binding = options.pop("server_side_binding", "true")
    options["server_side_binding"] = binding.strip().lower() in _TRUE
    threshold = options.pop("prepare_threshold", str(PREPARE_THRESHOLD)).strip()
    if threshold.lower() in {"", "none"}:
        options["prepare_threshold"] = None
    else:
        try:
            options["prepare_threshold"] = int(threshold)
        except ValueError:
            raise InputError(
                "IKCTRIAL_DATABASE_URL", f"prepare_threshold={threshold!r}: expected a number"
            ) from None
    return options


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
