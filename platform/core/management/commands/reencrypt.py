from django.core.management.base import BaseCommand
from django.db import transaction

from core.crypto import EXTRA_REENCRYPTORS, encrypted_fields

BATCH = 200


class Command(BaseCommand):
    help = (
        "Rewrite every encrypted column with the newest key (the first of FIELD_ENCRYPTION_KEYS), so that "
        "older keys can be removed afterwards."
    )

    def handle(self, *args, **options):
        total = 0
        for model, names in encrypted_fields():
            count = 0
            manager = model._base_manager
            last_pk = None
            while True:
                # one short transaction per batch: rows are locked while read and rewritten, so an edit
                # made meanwhile is never overwritten with the older text
                with transaction.atomic():
                    rows = manager.select_for_update().order_by("pk")
                    if last_pk is not None:
                        rows = rows.filter(pk__gt=last_pk)
                    batch = list(rows.values("pk", *names)[:BATCH])
                    for row in batch:
                        # reading decrypted with any key; writing encrypts with the newest
                        manager.filter(pk=row["pk"]).update(**{name: row[name] for name in names})
                if not batch:
                    break
                last_pk = batch[-1]["pk"]
                count += len(batch)
            self.stdout.write(f"{model._meta.label}: {count} rows re-encrypted")
            total += count
        for rewrite in EXTRA_REENCRYPTORS:
            label, count = rewrite()
            self.stdout.write(f"{label}: {count} files re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} rows re-encrypted with the newest key"))
