"""Slot.doctor loses its own index: the unique (doctor, start) index (slot_unique_doctor_start) leads
with the doctor and serves every lookup by doctor, so the single-column one only cost a write per slot
made, booked or freed (weekly generation of 200 doctors x 1 month: about 0.07 s of PostgreSQL CPU).
No constraint changes: the foreign key, the unique (doctor, start) and PostgreSQL's slot_no_overlap stay.

The index is dropped by name (the same on SQLite and PostgreSQL): an ``AlterField`` would make SQLite
rebuild the whole slot table for it.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "booking_slot_doctor_id_325a9b3a"


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0019_remove_facility_photo"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="slot",
                    name="doctor",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slots",
                        to="booking.doctor",
                        verbose_name="doctor",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "booking_slot" ("doctor_id")',
                ),
            ],
        ),
    ]
