"""PostgreSQL only: no two slots, and no two availability blocks, of one doctor may overlap.

SQLite has no exclusion constraints; there the scheduling services check for overlaps inside the same
IMMEDIATE transaction that writes (ARCHITECTURE.md, "Invariants the database enforces").
"""

from django.db import migrations

CONSTRAINTS = [
    ("booking_slot", "slot_no_overlap", '"start"', '"end"'),
    ("booking_availability", "availability_no_overlap", "starts_at", "ends_at"),
]


def add_exclusion_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for table, name, start, end in CONSTRAINTS:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} "
            f"EXCLUDE USING gist (doctor_id WITH =, tstzrange({start}, {end}, '[)') WITH &&)"
        )


def drop_exclusion_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _start, _end in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunPython(add_exclusion_constraints, drop_exclusion_constraints)]
