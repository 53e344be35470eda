"""The state-transition log (django-fsm-log) as a read-only tab on any FSM model's admin page."""

from django.utils.translation import gettext_lazy as _
from django_fsm_log.models import StateLog
from unfold.admin import GenericTabularInline


class HistoryInline(GenericTabularInline):
    """Transitions of the object on its page, for whoever may open that page (doctors and staff hold
    no StateLog permission of their own)."""

    model = StateLog
    ct_field = "content_type"
    ct_fk_field = "object_id"
    extra = 0
    can_delete = False
    tab = True
    verbose_name = _("state change")
    verbose_name_plural = _("History")
    fields = ("timestamp", "source_state", "state", "transition", "by", "description")
    readonly_fields = fields
    ordering = ("timestamp",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # shown inside an admin page the user already may open
