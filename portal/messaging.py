"""Portal messaging: the patient's conversations (with their doctors and with the clinic).

The thread works without JavaScript (a plain form, post-redirect-get); with it, messages.js sends
through the same view (JSON answer) and polls ``message_poll`` every few seconds for new messages.
Someone else's conversation answers 404. Doctors and staff answer in the admin; the JSON endpoints
serve them too, so the admin thread page uses the same script.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from booking import rules
from booking.models import Appointment
from core.errors import DomainError, NotFound
from workflows.messaging.json import message_json, thread_poll
from workflows.messaging.models import MESSAGE_MAX_LENGTH, Conversation, ConversationKind
from workflows.messaging.selectors import (
    Reader,
    conversation_get,
    conversation_messages,
    conversation_title,
    conversations_for_user,
    sender_label,
    with_unread,
)
from workflows.messaging.services import (
    conversation_mark_read,
    conversation_open_for_appointment,
    conversation_open_support,
    conversation_record_admin_view,
    message_send,
)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _conversation(request, conversation_id) -> tuple[Conversation, Reader]:
    try:
        return conversation_get(user=request.user, pk=conversation_id)
    except NotFound:
        raise Http404


@login_required
def message_list(request):
    user = request.user
    if user.role != "patient":
        return redirect("admin:messaging_conversation_changelist")
    conversations = list(with_unread(conversations_for_user(user=user), user=user))
    now = timezone.now()
    startable = list(
        Appointment.objects.select_related("doctor__user")
        .filter(rules.visibility_q(user=user), starts_at__gte=now - timedelta(days=30))  # family's too
        .filter(status__in=rules.CONVERSATION_STATUSES)  # the rulebook: visits that were paid for
        .exclude(conversations__kind=ConversationKind.APPOINTMENT)
        .order_by("starts_at")[:20]
    )
    return render(
        request,
        "portal/messages.html",
        {
            "conversations": [(c, conversation_title(c, for_side="patient")) for c in conversations],
            "startable": startable,
            "has_support": any(c.kind == ConversationKind.SUPPORT for c in conversations),
        },
    )


@login_required
@require_POST
def message_start(request):
    """Open (or return to) the conversation about one of the patient's visits, or with the clinic."""
    user = request.user
    try:
        if request.POST.get("appointment"):
            appointment = get_object_or_404(
                Appointment.objects.select_related("doctor__user", "patient"),
                public_id=_uuid_or_404(request.POST["appointment"]),
            )
            conversation = conversation_open_for_appointment(appointment=appointment, actor=user)
        else:
            conversation = conversation_open_support(patient=user, actor=user)
    except NotFound:
        raise Http404
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("portal:messages")
    return redirect("portal:message_thread", conversation_id=conversation.pk)


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404


@login_required
def message_thread(request, conversation_id):
    conversation, reader = _conversation(request, conversation_id)
    user = request.user
    if request.method == "POST":
        if not reader.is_participant:
            raise Http404
        try:
            message = message_send(conversation=conversation, sender=user, body=request.POST.get("body", ""))
        except DomainError as exc:
            if _wants_json(request):
                return JsonResponse(
                    {"error": {"code": exc.code, "message": str(exc), "details": exc.details}}, status=exc.status
                )
            messages.error(request, str(exc))
            return render_thread(request, conversation, reader, draft=request.POST.get("body", ""), status=400)
        if _wants_json(request):
            return JsonResponse({"message": message_json(message, conversation, user=user)}, status=201)
        return redirect("portal:message_thread", conversation_id=conversation.pk)
    if user.is_staff:
        # doctors and the clinic team work in the admin
        return redirect("admin:messaging_conversation_change", conversation.pk)
    return render_thread(request, conversation, reader)


def render_thread(request, conversation: Conversation, reader: Reader, *, draft: str = "", status: int = 200):
    if reader.is_participant:
        conversation_mark_read(conversation=conversation, user=request.user)
    else:
        conversation_record_admin_view(conversation=conversation, admin=request.user, through="portal")
    thread = conversation_messages(conversation=conversation)
    return render(
        request,
        "portal/messages_thread.html",
        {
            "conversation": conversation,
            "title": conversation_title(conversation, for_side=reader.side),
            "thread": [(m, sender_label(m, conversation)) for m in thread],
            "last_id": thread[-1].pk if thread else 0,
            "draft": draft,
            "max_length": MESSAGE_MAX_LENGTH,
            "can_write": reader.is_participant,
            "video_url": (
                reverse("portal:video_visit", args=[conversation.appointment.public_id])
                if conversation.appointment is not None and conversation.appointment.mode == "video"
                else ""
            ),
        },
        status=status,
    )


@login_required
@require_GET
def message_poll(request, conversation_id):
    """JSON: the messages newer than ``?after=<id>`` (newest last). ``read=1`` marks them read
    (the script sends it while the page is visible)."""
    conversation, reader = _conversation(request, conversation_id)
    try:
        after = max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        return JsonResponse({"error": {"code": "invalid", "message": _("after must be a message id.")}}, status=400)
    return JsonResponse(
        thread_poll(
            conversation=conversation,
            reader=reader,
            user=request.user,
            after=after,
            read=request.GET.get("read") == "1",
            through="poll",
        )
    )
