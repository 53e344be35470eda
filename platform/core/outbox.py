"""Write outbox rows; delivery happens after commit in the task named by ``OUTBOX_DELIVERY_TASK``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.sql import InsertQuery

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
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        to_email=to_email.strip().lower() if recipient is None else "",
        language=language,
        object_type=object_type,
        object_id=object_id,
        context=context or {},
        dedupe_key=key,
    )
    if not _insert_unless_present(message):
        return None
    task = getattr(settings, "OUTBOX_DELIVERY_TASK", None)
    if task:
        # robust: a delivery problem is logged and retried by the sweep; it never undoes or fails the change
        transaction.on_commit(lambda: _enqueue(task, message.pk), robust=True)
    return message


def _insert_unless_present(message: OutboxMessage) -> bool:
    """INSERT ``message`` unless a row with its ``dedupe_key`` exists: one statement,
    ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`` (PostgreSQL, SQLite ≥ 3.35), instead
    of a savepoint around a plain INSERT (three round trips, on every message, for a rare duplicate).
    True when it was inserted (``message`` then has its id)."""
    using = router.db_for_write(OutboxMessage)
    connection = connections[using]
    meta = OutboxMessage._meta
    if not connection.features.can_return_columns_from_insert:  # pragma: no cover - older SQLite
        try:
            with transaction.atomic(using=using):
                message.save(using=using, force_insert=True)
        except IntegrityError:
            return False
        return True
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    query = InsertQuery(OutboxMessage)
    query.insert_values(fields, [message])
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    quote = connection.ops.quote_name
    dedupe = quote(meta.get_field("dedupe_key").column)
    sql = f"{sql} ON CONFLICT ({dedupe}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding = False
    message._state.db = using
    return True


def _enqueue(task: str, message_id: int) -> None:
    from django_q.tasks import async_task

    async_task(task, message_id, task_name=f"outbox-{message_id}")
