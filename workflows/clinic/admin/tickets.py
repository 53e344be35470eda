"""Patients' support tickets in the admin: reply (to the patient or internally), resolve, reopen."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    RangeDateFilter,
)
from unfold.decorators import display
from unfold.enums import ActionVariant
from unfold.widgets import UnfoldAdminTextareaWidget

from booking.admin.history import HistoryInline
from core.admin_actions import ConfirmForm, button, confirm_dialog, run_service
from core.paginator import DeferredJoinPaginator
from workflows.clinic import services as svc
from workflows.clinic.admin.common import ReadOnlyInline, _says, _ticket_words
from workflows.clinic.models import (
    SupportTicket,
    TicketMessage,
    TicketStatus,
)

# --- support tickets ------------------------------------------------------------------------------


class TicketMessageInline(ReadOnlyInline):
    model = TicketMessage
    verbose_name_plural = _("Conversation")
    fields = ("created_at", "author", "body", "is_internal")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("clinic.view_supportticket")


class ReplyForm(ConfirmForm):
    body = forms.CharField(label=_("Message"), widget=UnfoldAdminTextareaWidget(attrs={"rows": 6}), max_length=5000)
    internal = forms.BooleanField(label=_("Internal note (not sent, not shown to the patient)"), required=False)


TICKET_COLOURS = {TicketStatus.OPEN: "warning", TicketStatus.WAITING: "info", TicketStatus.RESOLVED: "success"}


@admin.register(SupportTicket)
class SupportTicketAdmin(ModelAdmin):
    paginator = DeferredJoinPaginator
    list_display = ("number", "subject", "patient", "status_badge", "message_count", "created_at", "updated_at")
    list_filter = ("status", ("created_at", RangeDateFilter))
    list_filter_submit = True
    search_fields = ("subject", "patient__email", "patient__first_name", "patient__last_name", "=id")
    list_select_related = ("patient",)
    show_full_result_count = False
    inlines = [TicketMessageInline, HistoryInline]
    actions_detail = ["reply_detail", "resolve_detail", "reopen_detail"]
    readonly_fields = ("subject", "patient", "status", "created_at", "updated_at", "resolved_at")
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(messages_total=Count("messages"))

    @display(description=_("No."), ordering="id")
    def number(self, obj):
        return f"#{obj.pk}"

    @display(description=_("messages"), ordering="messages_total")
    def message_count(self, obj):
        return obj.messages_total

    @display(description=_("status"), label=TICKET_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def has_add_permission(self, request):
        return False  # patients open tickets from the portal

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("clinic.change_supportticket") and obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def _ticket(self, request, object_id) -> SupportTicket:
        ticket = self.get_object(request, object_id)
        if ticket is None:
            raise Http404
        return ticket

    def _may(self, request, object_id, *statuses) -> bool:
        if object_id is None or not request.user.has_perm("clinic.change_supportticket"):
            return False
        return self._ticket(request, object_id).status in statuses

    def has_reply_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, *TicketStatus.values)

    def has_resolve_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, TicketStatus.OPEN, TicketStatus.WAITING)

    def has_reopen_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, TicketStatus.RESOLVED)

    def _back(self, object_id):
        return reverse("admin:clinic_supportticket_change", args=[object_id])

    @button(
        description=_("Reply"),
        permissions=["reply_detail"],
        icon="reply",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(
            title=_("Reply to the patient"),
            description=_("The patient is emailed; the ticket then waits for their answer."),
            submit=_("Send"),
            form_class=ReplyForm,
        ),
    )
    def reply_detail(self, request, form, object_id):
        ticket = self._ticket(request, object_id)
        internal = form.cleaned_data["internal"]
        return run_service(
            request,
            lambda: svc.ticket_reply(
                ticket=ticket, author=request.user, body=form.cleaned_data["body"], internal=internal
            ),
            _("Note added.") if internal else _("Reply sent."),
            back=self._back(object_id),
        )

    @button(
        description=_("Resolve"),
        permissions=["resolve_detail"],
        icon="task_alt",
        variant=ActionVariant.SUCCESS,
        dialog=confirm_dialog(
            title=_("Resolve this ticket"),
            submit=_("Resolve"),
            consequence=_says(
                SupportTicket, _("Ticket #%(number)s “%(subject)s” from %(patient)s is marked resolved."), _ticket_words
            ),
        ),
    )
    def resolve_detail(self, request, form, object_id):
        ticket = self._ticket(request, object_id)
        return run_service(
            request,
            lambda: svc.ticket_resolve(ticket=ticket, actor=request.user),
            _("Ticket resolved."),
            back=self._back(object_id),
        )

    @button(
        description=_("Reopen"),
        permissions=["reopen_detail"],
        icon="replay",
        dialog=confirm_dialog(
            title=_("Reopen this ticket"),
            submit=_("Reopen"),
            consequence=_says(
                SupportTicket, _("Ticket #%(number)s “%(subject)s” from %(patient)s is open again."), _ticket_words
            ),
        ),
    )
    def reopen_detail(self, request, form, object_id):
        ticket = self._ticket(request, object_id)
        return run_service(
            request,
            lambda: svc.ticket_reopen(ticket=ticket, actor=request.user),
            _("Ticket reopened."),
            back=self._back(object_id),
        )
