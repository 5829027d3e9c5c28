# ruff: noqa: RUF012
"""On PostgreSQL, make the product records append-only at the database level (domain.md 8.4).

A row trigger on each product table rejects every UPDATE and DELETE, whatever the client (ORM,
psql, another program): the custody ledger, QC results, release decisions, bedside checks and
infusions are never changed; a correction is a new row. On other databases nothing is created;
the models refuse changes and the audit hash chain reveals any edit made behind them.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLES = (
    "product_therapy",
    "product_productunit",
    "product_custodyevent",
    "product_qcresult",
    "product_oosdeviation",
    "product_lotrelease",
    "product_bedsideverification",
    "product_bedsideoverride",
    "product_bedsidecheck",
    "product_infusion",
    "product_infusionreaction",
)
FUNCTION = """
CREATE FUNCTION product_record_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'product records are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
CREATE = FUNCTION + "".join(
    f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION product_record_immutable();\n"
    for table in TABLES
)
DROP = (
    "".join(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};\n" for table in TABLES)
    + "DROP FUNCTION IF EXISTS product_record_immutable();\n"
)


def _on_postgresql(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("product", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
