# ruff: noqa: RUF012
"""On PostgreSQL, take a free audit chain (lane) and read its head in one round trip.

``audit_chain_lane(start_lane, lanes, lock_namespace)`` takes the first free lane's transaction
advisory lock, starting at ``start_lane`` (waiting for that one when all are busy), then reads the
lane's last sequence and hash. The head is read by a second query inside the VOLATILE function,
which gets a fresh snapshot taken after the lock was granted: it sees the previous holder's event,
committed before that holder released the lock (one SQL statement doing both would read the head
from a snapshot taken before the lock, and could miss it). On other databases nothing is created.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLE = "audit_auditevent"
CREATE = f"""
CREATE FUNCTION audit_chain_lane(start_lane integer, lanes integer, lock_namespace integer)
RETURNS TABLE (lane integer, last_sequence bigint, last_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    FOR step IN 0 .. lanes - 1 LOOP
        IF pg_try_advisory_xact_lock(lock_namespace, (start_lane + step) % lanes) THEN
            lane := (start_lane + step) % lanes;
            EXIT;
        END IF;
    END LOOP;
    IF lane IS NULL THEN
        PERFORM pg_advisory_xact_lock(lock_namespace, start_lane);
        lane := start_lane;
    END IF;
    SELECT event.sequence, event.hash INTO last_sequence, last_hash
        FROM {TABLE} AS event WHERE event.chain = lane ORDER BY event.sequence DESC LIMIT 1;
    RETURN NEXT;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS audit_chain_lane(integer, integer, integer);"


def _on_postgresql(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
