from django.core.management.base import BaseCommand

from workflows.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update Medbook's periodic background tasks (idempotent)."

    def handle(self, *args, **options):
        changed = ensure_schedules()
        self.stdout.write(f"schedules changed: {', '.join(changed) or 'none'}")
