from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database (pg_dump or SQLite's online backup) and the media files into a new folder."

    def add_arguments(self, parser):
        parser.add_argument("target", help="folder that receives the backup (a medbook-<time> folder inside it)")

    def handle(self, *args, target, **options):
        try:
            folder = backup(target)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(folder))
