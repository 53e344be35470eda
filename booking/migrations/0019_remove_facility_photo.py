# The column goes in a migration of its own: PostgreSQL refuses to alter a table while the rows
# 0018 copied still have foreign-key checks pending in the same transaction.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0018_facility_photos"),
    ]

    operations = [
        migrations.RemoveField(model_name="facility", name="photo"),
    ]
