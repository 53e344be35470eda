"""Covering indexes for the admin dashboard (issue 19): the appointments by creation time with the columns
the rates read, the appointments by slot and status, the slots by start with doctor, status and end."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SLOT_INDEX = "booking_appointment_slot_id_72b9094f"  # Django's name for the slot foreign key's own index


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0020_slot_doctor_index_in_unique"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="appointment",
            name="appt_created_idx",
        ),
        migrations.RemoveIndex(
            model_name="slot",
            name="slot_start_idx",
        ),
        # The slot's own index goes (appt_slot_status_idx below leads with the slot), dropped by name: an
        # AlterField to db_index=False makes PostgreSQL drop every plain b-tree index on slot_id, the
        # partial unique index appointment_one_active_per_slot included (the database's guard against
        # two active appointments on one slot), and SQLite rebuild the whole table
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="appointment",
                    name="slot",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="appointments",
                        to="booking.slot",
                        verbose_name="slot",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{SLOT_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{SLOT_INDEX}" ON "booking_appointment" ("slot_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(
                fields=["created_at", "status", "is_follow_up_suggestion", "cancelled_late", "starts_at"],
                name="appt_created_cover_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(fields=["slot", "status"], name="appt_slot_status_idx"),
        ),
        migrations.AddIndex(
            model_name="slot",
            index=models.Index(fields=["start", "doctor", "status", "end"], name="slot_start_cover_idx"),
        ),
    ]
