"""Write outbox rows; delivery happens after commit in the task named by ``OUTBOX_DELIVERY_TASK``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction

from core.models import OutboxMessage


def outbox_add(
    *,
    kind: str,
    recipient=None,
    to_email: str = "",
    language: str = "",
    obj: models.Model | None = None,
    context: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Queue message ``kind`` for ``recipient`` (an account) — or, for someone without one, by email to
    ``to_email`` in ``language`` — about ``obj``. Call inside the transaction of the change.

    Returns None when a message with the same ``dedupe_key`` already exists (it is not sent twice).
    The default key is ``kind:object:recipient``.
    """
    if recipient is None and not to_email:
        raise ValueError("outbox_add needs a recipient or to_email")
    object_type = obj._meta.label_lower if obj is not None else ""
    object_id = str(obj.pk) if obj is not None else ""
    whom = recipient.pk if recipient is not None else to_email.strip().lower()
    key = dedupe_key or f"{kind}:{object_type}:{object_id}:{whom}"
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                kind=kind,
                recipient=recipient,
                to_email=to_email.strip().lower() if recipient is None else "",
                language=language,
                object_type=object_type,
                object_id=object_id,
                context=context or {},
                dedupe_key=key,
            )
    except IntegrityError:
        return None
    task = getattr(settings, "OUTBOX_DELIVERY_TASK", None)
    if task:
        # robust: a delivery problem is logged and retried by the sweep; it never undoes or fails the change
        transaction.on_commit(lambda: _enqueue(task, message.pk), robust=True)
    return message


def _enqueue(task: str, message_id: int) -> None:
    from django_q.tasks import async_task

    async_task(task, message_id, task_name=f"outbox-{message_id}")
