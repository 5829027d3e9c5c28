"""``ikctrial serve``: the web app and API under gunicorn (sync or gthread workers)."""

from __future__ import annotations

import os
import secrets
import sys

import typer

app = typer.Typer()


def gunicorn_argv(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    """The gunicorn command line that serves ``ikctrial.web.wsgi``."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "ikctrial.web.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ]


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes."),
    threads: int = typer.Option(
        1, "--threads", min=1, help="Threads per worker (more than 1: gthread workers)."
    ),
) -> None:
    """Run the web app and REST API (replaces this process with gunicorn)."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "ikctrial.web.settings")
    # A sync worker serves one request at a time: one persistent connection each (CONN_MAX_AGE) is
    # all it needs, with no pool bookkeeping per request. Threads share a worker's process: they
    # take connections from Django's psycopg pool, bounded, instead of one per thread.
    env.setdefault("IKCTRIAL_DB_POOL", "1" if threads > 1 else "0")
    # One key shared by every worker (sessions and CSRF must verify across workers).
    env.setdefault("IKCTRIAL_SECRET_KEY", secrets.token_urlsafe(50))
    argv = gunicorn_argv(host=host, port=port, workers=workers, threads=threads)
    sys.stderr.write(f"serving on http://{host}:{port}/api/v1/ ({workers} workers)\n")
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
