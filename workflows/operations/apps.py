from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Clinic operations around the visits: calendar feeds (and, as they come, ratings and the waitlist)."""

    name = "workflows.operations"
    label = "operations"
    verbose_name = _("Clinic operations")
    default_auto_field = "django.db.models.BigAutoField"
