from django.contrib import admin
from django_fsm_log.models import StateLog
from unfold.admin import ModelAdmin

from core.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(ModelAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("action", "object_id", "actor__email")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "actor", "action", "object_type", "object_id", "data")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StateLog)
class StateLogAdmin(ModelAdmin):
    """Every state transition (django-fsm-log), read-only: the history of appointments and applications."""

    list_display = ("timestamp", "content_type", "object_id", "source_state", "state", "transition", "by")
    list_filter = ("content_type", "state", "transition")
    search_fields = ("object_id", "by__email")
    list_select_related = ("content_type", "by")
    date_hierarchy = "timestamp"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
