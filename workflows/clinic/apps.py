from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    """The clinic's back office: dashboards, doctor onboarding, subscriptions, support, exports."""

    name = "workflows.clinic"
    label = "clinic"
    verbose_name = _("Clinic")
    default_auto_field = "django.db.models.BigAutoField"
