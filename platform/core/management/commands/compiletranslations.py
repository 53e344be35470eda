"""``manage.py compiletranslations``: like ``compilemessages`` but without GNU gettext's msgfmt."""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.translations import compile_catalogues


class Command(BaseCommand):
    help = "Compile .po translation catalogues to .mo without GNU gettext."

    def handle(self, *args, **options):
        compiled = compile_catalogues(settings.LOCALE_PATHS)
        self.stdout.write(f"translations: compiled {compiled} catalogue(s)")
