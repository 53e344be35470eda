"""The JSON a conversation page reads: new messages since the last one it has (polled every few
seconds) and a message just sent. One definition for both faces that show a thread, the patient
portal and the clinic's admin; each face checks access and calls these."""

from __future__ import annotations

from django.utils import formats, timezone

from workflows.messaging.models import Conversation, Message
from workflows.messaging.selectors import Reader, conversation_messages, sender_label, unread_counts, unread_total
from workflows.messaging.services import conversation_mark_read, conversation_record_admin_view


def message_json(message: Message, conversation: Conversation, *, user) -> dict:
    local = timezone.localtime(message.created_at)
    return {
        "id": message.pk,
        "body": message.body,  # plain text: the script inserts it with textContent
        "mine": message.sender_id == user.pk,
        "side": message.sender_side,
        "sender": sender_label(message, conversation),
        "createdAt": message.created_at.isoformat(),
        "time": formats.date_format(local, "SHORT_DATETIME_FORMAT"),
    }


def thread_poll(*, conversation: Conversation, reader: Reader, user, after: int, read: bool, through: str) -> dict:
    """The messages newer than ``after`` (newest last). ``read``: the page is visible, so a participant
    has now read them; an admin looking in is recorded in the audit log (``through`` says where)."""
    new = conversation_messages(conversation=conversation, after=after, limit=100)
    if new and reader.is_participant and read:
        conversation_mark_read(conversation=conversation, user=user)
    elif new and reader.is_admin_view:
        conversation_record_admin_view(conversation=conversation, admin=user, through=through)
    return {
        "messages": [message_json(m, conversation, user=user) for m in new],
        "lastId": new[-1].pk if new else after,
        "unread": unread_counts(user=user).get(conversation.pk, 0) if reader.is_participant else 0,
        "unreadTotal": unread_total(user=user),
    }
