# ruff: noqa: RUF012
"""On PostgreSQL, make the audit table append-only at the database level (21 CFR 11.10(e)).

A row trigger rejects every UPDATE and DELETE, whatever the client (ORM, psql, another program).
Only a table owner or superuser can disable it, which is itself visible in the server log. On other
databases nothing is created; the hash chain still reveals any edit.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLE = "audit_auditevent"
CREATE = f"""
CREATE FUNCTION audit_event_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on {TABLE} is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_event_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_event_immutable();
"""
DROP = f"""
DROP TRIGGER IF EXISTS audit_event_immutable ON {TABLE};
DROP FUNCTION IF EXISTS audit_event_immutable();
"""


def _on_postgresql(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
