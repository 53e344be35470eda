"""PostgreSQL only: a room holds one visit at a time, so no two availability blocks in one room overlap
(whichever doctors they belong to). Visits happen inside availability, so this keeps visits apart too.

SQLite has no exclusion constraints; there ``availability_create`` checks the room inside the same
IMMEDIATE transaction that writes (as for the doctor's own overlaps, migration 0002).
"""

from django.db import migrations


def add_room_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        "ALTER TABLE booking_availability ADD CONSTRAINT availability_room_no_overlap "
        "EXCLUDE USING gist (room_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (room_id IS NOT NULL)"
    )


def drop_room_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE booking_availability DROP CONSTRAINT IF EXISTS availability_room_no_overlap")


class Migration(migrations.Migration):
    dependencies = [("booking", "0009_facilities_and_rooms")]

    operations = [migrations.RunPython(add_room_constraint, drop_room_constraint)]
