"""Pieces the back office's admin pages share: read-only inlines, buttons' consequences in words."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline
from unfold.widgets import UnfoldAdminTextareaWidget

from core.admin_actions import ConfirmForm, find

# --- shared ---------------------------------------------------------------------------------------


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False
    tab = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _says(model, text, words):
    """A button's consequence in words: ``text`` filled with ``words(obj)`` for the button's object."""

    def consequence(request, object_id) -> str:
        obj = find(model._default_manager.all(), object_id)
        return text % words(obj) if obj is not None else ""

    return consequence


def _applicant_words(application) -> dict:
    return {"name": f"{application.first_name} {application.last_name}".strip(), "email": application.email}


def _subscriber_words(subscription) -> dict:
    return {"doctor": subscription.doctor, "plan": subscription.plan.name}


def _ticket_words(ticket) -> dict:
    return {
        "number": ticket.pk,
        "subject": ticket.subject,
        "patient": ticket.patient.get_full_name() or ticket.patient.email,
    }


class ReasonForm(ConfirmForm):
    reason = forms.CharField(
        label=_("Reason (sent to the applicant)"), widget=UnfoldAdminTextareaWidget(attrs={"rows": 4})
    )
