from django.contrib import admin
from django_fsm_log.models import StateLog
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import AutocompleteSelectFilter, FieldTextFilter, RangeDateTimeFilter

from core.admin_actions import ReadOnlyAdminMixin
from core.models import AuditLog, OutboxMessage
from core.paginator import DeferredJoinPaginator


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id")
    list_filter = (
        ("actor", AutocompleteSelectFilter),
        "action",
        "object_type",
        ("object_id", FieldTextFilter),
        ("created_at", RangeDateTimeFilter),
    )
    list_filter_submit = True
    search_fields = ("action", "object_id", "actor__email")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    paginator = DeferredJoinPaginator
    show_full_result_count = False
    readonly_fields = ("created_at", "actor", "action", "object_type", "object_id", "data")


@admin.register(StateLog)
class StateLogAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Every state transition (django-fsm-log), read-only: the history of appointments and applications."""

    list_display = ("timestamp", "content_type", "object_id", "source_state", "state", "transition", "by")
    list_filter = ("content_type", "state", "transition")
    search_fields = ("object_id", "by__email")
    list_select_related = ("content_type", "by")
    date_hierarchy = "timestamp"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """What was (or will be) told to whom: read-only; the worker retries pending messages itself."""

    list_display = ("created_at", "kind", "recipient", "to_email", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("kind", "recipient__email", "to_email", "object_id", "dedupe_key")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
