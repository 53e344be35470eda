"""Indexes for the admin appointment list (issue 19).

On every database: its order (starts_at, id), so that a page reads the index instead of sorting every
row. PostgreSQL only: trigram indexes for its search. The admin searches names, email, phone and
national ID with ``icontains`` (``UPPER(col) LIKE UPPER('%term%')``), which no b-tree index serves: on
100k+ appointments each search read the whole table. A GIN trigram index on ``UPPER(col)`` answers these
``LIKE`` patterns, and PostgreSQL ORs the per-column indexes together (every searched column needs one).

SQLite has no trigram indexes; its full scan is fast enough at that size (in-process, no network).
"""

from django.db import migrations, models

COLUMNS = ("last_name", "first_name", "email", "phone", "national_id")


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

    operations = [
        migrations.AddIndex(
            model_name="appointment", index=models.Index(fields=["starts_at", "id"], name="appt_start_id_idx")
        ),
        migrations.RunPython(add_indexes, drop_indexes),
    ]
