"""Template context for the "message.unread" email (rendered by workflows' outbox delivery).

``unread_context(message, recipient)`` is the hook a ``MessageKind(..., context=...)`` entry in
workflows/messages.py calls for messages that are not about an appointment. It reads the
conversation as it is now and never puts the message text in the email.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from workflows.messaging.models import Conversation, ConversationKind, Message, Side
from workflows.messaging.selectors import sender_label


def unread_context(message, recipient) -> dict | None:
    """Context for outbox ``message`` (kind "message.unread") to ``recipient``; None when the
    conversation or the announced message no longer exists."""
    conversation = (
        Conversation.objects.select_related("patient", "appointment__doctor__user")
        .filter(pk=message.object_id if str(message.object_id).isdigit() else None)
        .first()
    )
    if conversation is None:
        return None
    newest = (
        Message.objects.select_related("sender")
        .filter(pk=message.context.get("message"), conversation=conversation)
        .first()
    )
    if newest is None:
        return None
    appointment = conversation.appointment
    if recipient.pk == conversation.patient_id:
        audience = Side.PATIENT
        link = reverse("portal:message_thread", args=[conversation.pk])
    else:
        audience = Side.DOCTOR if conversation.kind == ConversationKind.APPOINTMENT else Side.CLINIC
        link = reverse("admin:messaging_conversation_change", args=[conversation.pk])
    visit_when = ""
    if appointment is not None and appointment.starts_at is not None:
        visit_when = formats.date_format(timezone.localtime(appointment.starts_at), "DATETIME_FORMAT")
    return {
        "link": link,
        "audience": audience,
        "sender_name": sender_label(newest, conversation),
        "unread_count": int(message.context.get("unread_count") or 1),
        "is_support": conversation.kind == ConversationKind.SUPPORT,
        "visit_when": visit_when,
        "doctor_name": str(appointment.doctor) if appointment is not None else "",
        "patient_name": conversation.patient.get_full_name() or conversation.patient.email,
        "action_label": _("Read and reply"),
    }
