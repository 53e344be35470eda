from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Clinic operations around the visits: calendar feeds (and, as they come, ratings and the waitlist)."""

    name = "workflows.operations"
    label = "operations"
    verbose_name = _("Clinic operations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # booking's doctor directory API shows each doctor's rating; booking never imports us
        from booking.api.scheduling import doctor_rating_sources
        from workflows.operations.api import directory_ratings

        if directory_ratings not in doctor_rating_sources:
            doctor_rating_sources.append(directory_ratings)
