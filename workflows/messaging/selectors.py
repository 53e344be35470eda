"""Reads about conversations: who may see which, threads newest-last, unread counts in one query."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from workflows.messaging.models import Conversation, ConversationKind, ConversationRead, Message, Side


@dataclass(frozen=True)
class Reader:
    """How ``user`` reads a conversation: as one of its sides, or as an admin looking in (audited)."""

    side: str | None

    @property
    def is_participant(self) -> bool:
        return self.side is not None

    @property
    def is_admin_view(self) -> bool:
        return self.side is None


def user_side(user) -> str | None:
    """The side ``user`` takes in the conversations they belong to (one per role)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return {"patient": Side.PATIENT, "doctor": Side.DOCTOR, "staff": Side.CLINIC, "admin": Side.CLINIC}.get(user.role)


def participant_q(user, prefix: str = "") -> Q:
    """Conversations ``user`` takes part in (``prefix`` reaches Conversation from another model)."""
    side = user_side(user)
    if side == Side.PATIENT:
        # their own, and their family members' (the account holder speaks for a dependant)
        return Q(**{f"{prefix}patient": user}) | Q(**{f"{prefix}patient__guardian": user})
    if side == Side.DOCTOR:
        return Q(**{f"{prefix}kind": ConversationKind.APPOINTMENT, f"{prefix}appointment__doctor__user": user})
    if side == Side.CLINIC:
        return Q(**{f"{prefix}kind": ConversationKind.SUPPORT})
    return Q(pk__in=[])


def conversation_side(*, conversation: Conversation, user) -> str | None:
    """The side of ``conversation`` that ``user`` is on, or None when they are not a participant."""
    side = user_side(user)
    if side == Side.PATIENT:
        mine = conversation.patient_id == user.pk or conversation.patient.guardian_id == user.pk
        return side if mine else None
    if side == Side.DOCTOR:
        if conversation.kind == ConversationKind.APPOINTMENT and conversation.appointment.doctor.user_id == user.pk:
            return side
        return None
    if side == Side.CLINIC:
        return side if conversation.kind == ConversationKind.SUPPORT else None
    return None


def conversation_reader(*, conversation: Conversation, user) -> Reader:
    """Participants read as their side; an admin may read any conversation (the caller audits it);
    anyone else gets NotFound, exactly as if it did not exist."""
    side = conversation_side(conversation=conversation, user=user)
    if side is not None:
        return Reader(side=side)
    if user is not None and user.is_authenticated and user.is_active and user.role == "admin":
        return Reader(side=None)
    raise NotFound(_("Conversation not found."))


def conversations_visible_to(*, user) -> QuerySet[Conversation]:
    """What ``user`` may open: their own conversations; admins all of them."""
    qs = Conversation.objects.select_related("patient", "appointment__doctor__user")
    if user is not None and user.is_authenticated and user.is_active and user.role == "admin":
        return qs
    return qs.filter(participant_q(user))


def conversations_for_user(*, user) -> QuerySet[Conversation]:
    """The conversations ``user`` takes part in, most recent first."""
    return Conversation.objects.select_related("patient", "appointment__doctor__user").filter(participant_q(user))


def conversation_get(*, user, pk) -> tuple[Conversation, Reader]:
    """One conversation for ``user`` and how they read it; NotFound when they may not."""
    conversation = (
        Conversation.objects.select_related("patient", "appointment__doctor__user").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if conversation is None:
        raise NotFound(_("Conversation not found."))
    return conversation, conversation_reader(conversation=conversation, user=user)


def conversation_messages(*, conversation: Conversation, after: int | None = None, limit: int = 200) -> list[Message]:
    """Messages newest-last: the latest ``limit``, or (``after`` given) up to ``limit`` newer than it."""
    qs = Message.objects.filter(conversation=conversation).select_related("sender")
    if after is not None:
        return list(qs.filter(id__gt=after).order_by("id")[:limit])
    return list(reversed(qs.order_by("-id")[:limit]))


def unread_counts(*, user) -> dict[int, int]:
    """{conversation id: messages from the other side that ``user``'s side has not read}, one query."""
    side = user_side(user)
    if side is None:
        return {}
    rows = (
        Message.objects.filter(participant_q(user, prefix="conversation__"))
        .exclude(sender_side=side)
        .annotate(mine=FilteredRelation("conversation__reads", condition=Q(conversation__reads__side=side)))
        .filter(Q(mine__isnull=True) | Q(id__gt=F("mine__last_read_message_id")))
        .values("conversation_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("conversation_id", "n")
    )
    return dict(rows)


def with_unread(queryset: QuerySet[Conversation], *, user) -> QuerySet[Conversation]:
    """Annotate ``unread``: for conversations ``user`` takes part in, what their side has not read."""
    side = user_side(user)
    if side is None:
        return queryset.annotate(unread=Value(0, output_field=IntegerField()))
    read_up_to = ConversationRead.objects.filter(conversation=OuterRef(OuterRef("pk")), side=side).values(
        "last_read_message_id"
    )[:1]
    count = (
        Message.objects.filter(conversation=OuterRef("pk"), id__gt=Coalesce(Subquery(read_up_to), Value(0)))
        .exclude(sender_side=side)
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n")
    )
    return queryset.annotate(
        unread=Case(
            When(participant_q(user), then=Coalesce(Subquery(count), Value(0))),
            default=Value(0),
            output_field=IntegerField(),
        )
    )


def unread_total(*, user) -> int:
    return sum(unread_counts(user=user).values())


def sender_label(message: Message, conversation: Conversation) -> str:
    """How a message's author is shown: the doctor and patient by name, staff as the clinic."""
    sender = message.sender
    name = sender.get_full_name() or sender.email.split("@")[0]
    if message.sender_side == Side.CLINIC:
        return _("%(name)s, Medbook clinic") % {"name": sender.first_name or name}
    if message.sender_side == Side.DOCTOR and conversation.appointment is not None:
        return str(conversation.appointment.doctor)
    return name


def conversation_title(conversation: Conversation, *, for_side: str | None = None) -> str:
    """The conversation as its reader sees it: the other side's name and, for visits, the date."""
    patient_name = conversation.patient.get_full_name() or conversation.patient.email
    if conversation.kind == ConversationKind.SUPPORT:
        if for_side == Side.PATIENT:
            return _("Medbook clinic")
        return _("Support: %(patient)s") % {"patient": patient_name}
    appointment = conversation.appointment
    who = str(appointment.doctor) if for_side == Side.PATIENT else (appointment.patient_name or patient_name)
    if appointment.starts_at is None:
        return who
    when = formats.date_format(timezone.localtime(appointment.starts_at), "SHORT_DATETIME_FORMAT")
    return _("%(who)s · visit on %(when)s") % {"who": who, "when": when}
