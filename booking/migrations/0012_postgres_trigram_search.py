"""PostgreSQL only: trigram indexes for the admin's appointment search. The admin searches names,
email and phone with ``icontains`` (``UPPER(col) LIKE UPPER('%term%')``), which no b-tree index can
serve: on 100k+ appointments each search read the whole table. A GIN trigram index on ``UPPER(col)``
answers these ``LIKE`` patterns, and PostgreSQL ORs the per-column indexes together (issue 19).

SQLite has no trigram indexes; its full scan is fast enough at that size (in-process, no network).
"""

from django.db import migrations

COLUMNS = ("last_name", "first_name", "email", "phone")


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS appointment_{column}_trgm ON booking_appointment "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS appointment_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("booking", "0011_appointment_mode_choices")]

    operations = [migrations.RunPython(add_indexes, drop_indexes)]
