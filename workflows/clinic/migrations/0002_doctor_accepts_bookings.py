from django.db import migrations


def sync_accepts_bookings(apps, schema_editor):
    # booking.Doctor.accepts_bookings is kept by the subscription service from now on; start it from
    # the subscriptions that are overdue today.
    Doctor = apps.get_model("booking", "Doctor")
    DoctorSubscription = apps.get_model("clinic", "DoctorSubscription")
    overdue = DoctorSubscription.objects.filter(status="overdue").values("doctor_id")
    Doctor.objects.filter(pk__in=overdue).update(accepts_bookings=False)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("booking", "0004_doctor_accepts_bookings_refund_queue"),
    ]

    operations = [migrations.RunPython(sync_accepts_bookings, migrations.RunPython.noop)]
