"""Messaging writes: open a conversation, send a message, mark read, record an admin's look.

Participants only (others get NotFound, i.e. 404); every change is audited with ids, never text.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import rules
from booking.models import Appointment
from booking.rules import Action
from core.audit import audit_log
from core.errors import DomainError, NotFound, PermissionDenied
from workflows.messaging.models import (
    MESSAGE_MAX_LENGTH,
    Conversation,
    ConversationKind,
    ConversationRead,
    Message,
    Side,
)
from workflows.messaging.selectors import conversation_side


class MessageInvalid(DomainError):
    code = "message_invalid"


def _create_conversation(*, kind: str, patient, appointment: Appointment | None, actor, now: datetime) -> Conversation:
    """Create the conversation and both sides' read state; a concurrent twin wins and is returned."""
    lookup = {"appointment": appointment} if kind == ConversationKind.APPOINTMENT else {"patient": patient}
    existing = Conversation.objects.filter(kind=kind, **lookup).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=kind, patient=patient, appointment=appointment, created_at=now
            )
            ConversationRead.objects.bulk_create(
                ConversationRead(conversation=conversation, side=side)
                for side in (Side.PATIENT, conversation.care_side)
            )
            audit_log(
                actor=actor,
                action="messaging.conversation.opened",
                obj=conversation,
                data={"kind": kind, "appointment": appointment.pk if appointment else None, "patient": patient.pk},
            )
    except IntegrityError:
        # the partial unique constraints: someone opened the same conversation a moment ago
        return Conversation.objects.get(kind=kind, **lookup)
    return conversation


def conversation_open_for_appointment(*, appointment: Appointment, actor, now: datetime | None = None) -> Conversation:
    """The conversation between ``appointment``'s patient and doctor (created on first use).

    Only those two may open it (anyone else gets NotFound), and only for a visit that was paid for
    (``booking.rules``: not for an expired hold or an unpaid one).
    """
    now = now or timezone.now()
    existing = Conversation.objects.filter(kind=ConversationKind.APPOINTMENT, appointment=appointment).first()
    if existing is not None and rules.role_in(appointment=appointment, user=actor) in {"patient", "doctor"}:
        return existing  # a conversation that exists stays readable whatever became of the visit
    rules.require(Action.MESSAGE, appointment=appointment, user=actor, now=now)
    return _create_conversation(
        kind=ConversationKind.APPOINTMENT, patient=appointment.patient, appointment=appointment, actor=actor, now=now
    )


def conversation_open_support(*, patient, actor, now: datetime | None = None) -> Conversation:
    """The patient's conversation with the clinic team (one per patient, created on first use).

    Opened by the patient, or by staff or an admin who want to write to them first.
    """
    now = now or timezone.now()
    if patient.role != "patient":
        raise DomainError(_("Support conversations are with patients."), code="not_a_patient")
    if not actor.is_active or not (actor.pk == patient.pk or actor.role in {"staff", "admin"}):
        raise NotFound(_("Conversation not found."))
    return _create_conversation(kind=ConversationKind.SUPPORT, patient=patient, appointment=None, actor=actor, now=now)


def message_send(*, conversation: Conversation, sender, body: str, now: datetime | None = None) -> Message:
    """Post ``body`` to ``conversation`` as ``sender``, a participant (others get NotFound).

    The text is kept exactly as typed apart from surrounding whitespace; it must be 1 to 2000
    characters. The sender's side has now read everything up to their own message.
    """
    now = now or timezone.now()
    side = conversation_side(conversation=conversation, user=sender)
    if side is None:
        if sender is not None and sender.is_authenticated and sender.role == "admin":
            raise PermissionDenied(_("Only the patient and their doctor write in this conversation."))
        raise NotFound(_("Conversation not found."))
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise MessageInvalid(_("Write a message first."), code="message_empty")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise MessageInvalid(
            _("A message can be at most %(max)s characters; this one has %(count)s.")
            % {"max": MESSAGE_MAX_LENGTH, "count": len(text)},
            code="message_too_long",
            details={"max": MESSAGE_MAX_LENGTH, "length": len(text)},
        )
    with transaction.atomic():
        message = Message.objects.create(
            conversation=conversation, sender=sender, sender_side=side, body=text, created_at=now
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now)
        _advance_read(conversation, side=side, up_to=message.pk, user=sender, now=now)
        audit_log(
            actor=sender,
            action="messaging.message.sent",
            obj=message,
            data={"conversation": conversation.pk, "side": side, "length": len(text)},
        )
    conversation.last_message_at = now
    return message


def conversation_mark_read(*, conversation: Conversation, user, now: datetime | None = None) -> int:
    """``user``'s side has read everything in ``conversation`` so far; returns the last message id read.

    Participants only (others get NotFound). Not audited: reading changes nothing but the badge.
    """
    now = now or timezone.now()
    side = conversation_side(conversation=conversation, user=user)
    if side is None:
        raise NotFound(_("Conversation not found."))
    newest = Message.objects.filter(conversation=conversation).aggregate(newest=Max("id"))["newest"] or 0
    if newest:
        _advance_read(conversation, side=side, up_to=newest, user=user, now=now)
    return newest


def conversation_record_admin_view(*, conversation: Conversation, admin, through: str) -> None:
    """An admin who is not a participant read ``conversation``: write it down (who, which, where)."""
    if admin.role != "admin":
        raise NotFound(_("Conversation not found."))
    audit_log(
        actor=admin,
        action="messaging.conversation.viewed_by_admin",
        obj=conversation,
        data={"kind": conversation.kind, "patient": conversation.patient_id, "through": through},
    )


def clinic_team():
    """Who answers support conversations (and is emailed about them)."""
    return get_user_model().objects.filter(role__in=["staff", "admin"], is_active=True)


def _advance_read(conversation: Conversation, *, side: str, up_to: int, user, now: datetime) -> None:
    """Move ``side``'s read mark forward to ``up_to`` (never backwards)."""
    updated = ConversationRead.objects.filter(
        conversation=conversation, side=side, last_read_message_id__lt=up_to
    ).update(last_read_message_id=up_to, read_at=now, read_by=user)
    if not updated and not ConversationRead.objects.filter(conversation=conversation, side=side).exists():
        try:
            with transaction.atomic():
                ConversationRead.objects.create(
                    conversation=conversation, side=side, last_read_message_id=up_to, read_at=now, read_by=user
                )
        except IntegrityError:  # created concurrently: move it forward instead
            _advance_read(conversation, side=side, up_to=up_to, user=user, now=now)
