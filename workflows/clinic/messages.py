"""Template context for the back office's outbox messages (rendered by ``workflows.messages``, which
finds these functions through its registry of kinds; booking never imports workflows)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from workflows.clinic.models import SupportTicket, TicketMessage


def support_reply_context(message, recipient) -> dict | None:
    """``support.reply``: the clinic answered the patient's ticket. None when the ticket is gone."""
    ticket = SupportTicket.objects.filter(pk=message.object_id or message.context.get("ticket")).first()
    if ticket is None:
        return None
    reply = TicketMessage.objects.filter(pk=message.context.get("message"), ticket=ticket, is_internal=False).first()
    try:
        link = reverse("portal:support_detail", args=[ticket.public_id])
    except NoReverseMatch:
        link = f"/portal/support/{ticket.public_id}/"
    return {
        "ticket_number": ticket.pk,
        "ticket_subject": ticket.subject,
        "reply": reply.body if reply is not None else "",
        "link": link,
    }
