from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicalConfig(AppConfig):
    """The clinical record: visit notes (SOAP, vital signs, ICD-10 diagnoses), signing and amendments,
    prescriptions, and the audit of every read."""

    name = "workflows.clinical"
    label = "clinical"
    verbose_name = _("Clinical record")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the appointment page (booking's admin) shows the visit note; booking never imports us
        from booking.admin.appointments import AppointmentAdmin
        from workflows.clinical.admin import appointment_note_section

        if appointment_note_section not in AppointmentAdmin.page_sections:
            AppointmentAdmin.page_sections.append(appointment_note_section)

        # `manage.py reencrypt` (core) also rewrites the encrypted document files
        from core.crypto import EXTRA_REENCRYPTORS
        from workflows.clinical.services import documents_reencrypt

        if documents_reencrypt not in EXTRA_REENCRYPTORS:
            EXTRA_REENCRYPTORS.append(documents_reencrypt)
