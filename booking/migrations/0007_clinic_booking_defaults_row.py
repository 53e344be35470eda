from django.db import migrations


def create_defaults(apps, schema_editor):
    # Every clinic has its booking policy from the start: the admin edits this one row, and reading it
    # never has to write (BookingDefaults.load).
    apps.get_model("booking", "BookingDefaults").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("booking", "0006_availability_may_run_past_midnight")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
