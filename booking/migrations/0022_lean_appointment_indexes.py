"""Fewer indexes for every booking to write, one for every booking to read (issue 19): the single-column
indexes of the doctor, patient and status go (each leads a Meta index already: appt_doctor_start_idx,
appt_patient_start_idx, appt_status_start_idx; PostgreSQL's extra varchar_pattern_ops index of the
status, for LIKE, served nothing), and a patient's live holds get a partial index of their own (the
booking's hold-limit check read them through the hold-expiry index, i.e. every live hold of the clinic)."""

import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models

#: Django's names for the indexes its field options made: (name, column, PostgreSQL-only opclass)
DROPPED = [
    ("booking_appointment_doctor_id_1158266f", "doctor_id", ""),
    ("booking_appointment_patient_id_f60c2527", "patient_id", ""),
    ("booking_appointment_status_1103c1a3", "status", ""),
    ("booking_appointment_status_1103c1a3_like", "status", "varchar_pattern_ops"),
]


def drop_indexes(apps, schema_editor):
    # by name: an AlterField to db_index=False makes PostgreSQL drop every plain index on the column
    # (0021 found it dropping a partial unique index) and SQLite rebuild the whole table
    for name, _column, _opclass in DROPPED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_indexes(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for name, column, opclass in DROPPED:
        if opclass and not postgresql:
            continue
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "booking_appointment" ("{column}" {opclass})')


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0021_dashboard_covering_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="appointment",
                    name="doctor",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="appointments",
                        to="booking.doctor",
                        verbose_name="doctor",
                    ),
                ),
                migrations.AlterField(
                    model_name="appointment",
                    name="patient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="appointments",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="patient",
                    ),
                ),
                migrations.AlterField(
                    model_name="appointment",
                    name="status",
                    field=django_fsm.FSMField(
                        choices=[
                            ("pending_patient_confirmation", "Follow-up suggested"),
                            ("pending_payment", "Awaiting payment"),
                            ("pending", "Awaiting doctor's confirmation"),
                            ("confirmed", "Confirmed"),
                            ("completed", "Completed"),
                            ("cancelled", "Cancelled"),
                            ("no_show", "No-show"),
                            ("expired", "Expired"),
                        ],
                        default="pending_payment",
                        max_length=50,
                        protected=True,
                        verbose_name="status",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(
                condition=models.Q(("status", "pending_payment")),
                fields=["patient", "hold_expires_at"],
                name="appt_patient_hold_idx",
            ),
        ),
    ]
