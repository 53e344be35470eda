from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Replace the database and the media files with a backup made by `manage.py backup` (stop web and worker first)."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="the backup folder (medbook-<time>)")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, folder, interactive, **options):
        if interactive:
            answer = input(f"This replaces the current database and media files with {folder}. Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled.")
        try:
            manifest = restore(folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored the backup of {manifest['created_at']} ({manifest['media_files']} media files)")
