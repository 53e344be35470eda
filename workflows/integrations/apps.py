from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """Outbound webhooks. Events are read from the audit trail: ``core.audit`` announces every entry
    (``audit_recorded``) inside the transaction of the change, and this app writes one delivery row
    per subscribed endpoint in that same transaction (booking never imports workflows)."""

    name = "workflows.integrations"
    label = "integrations"
    verbose_name = _("Integrations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.audit import audit_recorded, register_statement_read
        from workflows.integrations.events import (
            AUDIT_EVENTS,
            ENDPOINTS_READ,
            active_endpoints_sql,
            decode_active_endpoints,
            on_audit_recorded,
        )

        audit_recorded.connect(on_audit_recorded, dispatch_uid="medbook-webhook-events")
        register_statement_read(
            ENDPOINTS_READ, actions=AUDIT_EVENTS, sql=active_endpoints_sql, decode=decode_active_endpoints
        )
