from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "workflows.messaging"
    label = "messaging"
    verbose_name = _("Messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.phones import register_sms_sender
        from workflows.messaging.sms import sms_send_account_code

        # account codes (sign-up, sign-in by phone) leave through the clinic's SMS backend
        register_sms_sender(sms_send_account_code)
