from django.contrib import admin
from unfold.admin import ModelAdmin

from core.admin_actions import ReadOnlyAdminMixin
from workflows.models import Notification, NotificationPreference
from workflows.services import notification_preference_set


class ClinicAdminOnly:
    """Visible to clinic admins (superusers) only: notifications are personal, not front-desk work."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, ClinicAdminOnly, ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "read_at", "email_sent_at", "sms_sent_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("recipient__email", "kind", "title")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "recipient",
        "kind",
        "title",
        "body",
        "link",
        "outbox",
        "created_at",
        "read_at",
        "email_sent_at",
        "sms_sent_at",
    )


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ClinicAdminOnly, ModelAdmin):
    list_display = ("user", "email_enabled", "sms_enabled", "updated_at")
    list_filter = ("email_enabled", "sms_enabled")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("updated_at",)

    def save_model(self, request, obj, form, change):
        # through the service, so that the change is audited like the person's own
        saved = notification_preference_set(
            user=obj.user, actor=request.user, email=obj.email_enabled, sms=obj.sms_enabled
        )
        obj.pk = saved.pk
