from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    """The clinic's back office: dashboards, doctor onboarding, subscriptions, support, exports."""

    name = "workflows.clinic"
    label = "clinic"
    verbose_name = _("Clinic")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the patient page (accounts' admin) shows the appointment history; accounts never imports us
        from accounts.admin import PatientProfileAdmin
        from workflows.clinic.admin.settings import patient_history_section

        if patient_history_section not in PatientProfileAdmin.page_sections:
            PatientProfileAdmin.page_sections.append(patient_history_section)

        # subscription charges paid online come back through booking's payment webhook
        from booking.payments import register_charge_kind
        from workflows.clinic.services import CHARGE_KIND, subscription_charge_apply

        register_charge_kind(CHARGE_KIND, subscription_charge_apply)
