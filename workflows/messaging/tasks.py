"""Periodic messaging task (scheduled by workflows; run it every minute or so).

``email_unread_messages`` tells a recipient by email (through the outbox, kind "message.unread")
about messages they have not read within MESSAGING_UNREAD_EMAIL_MINUTES. It takes nothing but an
optional ``now``, re-reads everything under a row lock and is idempotent: a message is announced at
most once per recipient, however often the task runs or retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from core.outbox import outbox_add
from workflows.messaging.models import ConversationRead, Message, Side
from workflows.messaging.services import clinic_team

KIND = "message.unread"
#: messages in conversations quiet for longer than this are not announced any more (bounds the scan)
LOOKBACK = timedelta(days=7)


def _newest_due(cutoff: datetime) -> Subquery:
    """Per read state: the newest message from the other side, old enough, neither read nor emailed."""
    return Subquery(
        Message.objects.filter(
            conversation=OuterRef("conversation"),
            created_at__lte=cutoff,
            id__gt=Greatest(OuterRef("last_read_message_id"), OuterRef("emailed_up_to_message_id")),
        )
        .exclude(sender_side=OuterRef("side"))
        .order_by("-id")
        .values("id")[:1]
    )


def email_unread_messages(now: datetime | None = None) -> int:
    """Write one outbox row per (conversation, recipient, newest unannounced message); returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_MINUTES)
    due_ids = list(
        ConversationRead.objects.filter(conversation__last_message_at__gte=now - LOOKBACK)
        .annotate(due=_newest_due(cutoff))
        .filter(due__isnull=False)
        .values_list("pk", flat=True)
    )
    written = 0
    for state_id in due_ids:
        written += _announce(state_id, cutoff=cutoff)
    return written


def _announce(state_id: int, *, cutoff: datetime) -> int:
    with transaction.atomic():
        state = (
            ConversationRead.objects.select_for_update(of=("self",))
            .select_related("conversation__patient", "conversation__appointment__doctor__user")
            .annotate(due=_newest_due(cutoff))
            .filter(pk=state_id, due__isnull=False)
            .first()
        )
        if state is None:  # read (or announced by a parallel run) in the meantime
            return 0
        conversation = state.conversation
        newest = Message.objects.get(pk=state.due)
        unread = (
            Message.objects.filter(conversation=conversation, id__gt=state.last_read_message_id, id__lte=newest.pk)
            .exclude(sender_side=state.side)
            .count()
        )
        written = 0
        for recipient in _recipients(state):
            row = outbox_add(
                kind=KIND,
                recipient=recipient,
                obj=conversation,
                context={
                    "conversation": conversation.pk,
                    "conversation_kind": conversation.kind,
                    "appointment": conversation.appointment_id,
                    "message": newest.pk,
                    "sender": newest.sender_id,
                    "sender_side": newest.sender_side,
                    "recipient_side": state.side,
                    "unread_count": unread,
                },
                dedupe_key=f"{KIND}:{conversation.pk}:{recipient.pk}:{newest.pk}",
            )
            written += row is not None
        ConversationRead.objects.filter(pk=state.pk).update(
            emailed_up_to_message_id=Greatest(F("emailed_up_to_message_id"), newest.pk)
        )
    return written


def _recipients(state: ConversationRead) -> list:
    conversation = state.conversation
    if state.side == Side.PATIENT:
        people = [conversation.patient.notification_recipient]  # a dependant's: the account holder
    elif state.side == Side.DOCTOR:
        people = [conversation.appointment.doctor.user]
    else:
        people = list(clinic_team())
    return [person for person in people if person.is_active and person.email]
