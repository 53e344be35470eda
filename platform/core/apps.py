from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from core import dbhealth
        from core.unavailable import register_api_handler

        register_api_handler()
        dbhealth.connect()
