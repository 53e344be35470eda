"""Write outbox rows; delivery happens after commit in the task named by ``OUTBOX_DELIVERY_TASK``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

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
    message = outbox_message(
        kind=kind,
        recipient=recipient,
        to_email=to_email,
        language=language,
        obj=obj,
        context=context,
        dedupe_key=dedupe_key,
    )
    if not _insert_unless_present(message):
        return None
    outbox_deliver_after_commit(message)
    return message


def outbox_message(
    *,
    kind: str,
    recipient=None,
    to_email: str = "",
    language: str = "",
    obj: models.Model | None = None,
    context: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """The row ``outbox_add`` inserts, unsaved (same arguments): for a hot path that inserts it with the
    change itself, ``ON CONFLICT (dedupe_key) DO NOTHING`` (``OUTBOX_UNLESS_PRESENT``), then queues its
    delivery with ``outbox_delivery_row`` or ``outbox_deliver_after_commit``."""
    if recipient is None and not to_email:
        raise ValueError("outbox_add needs a recipient or to_email")
    object_type = obj._meta.label_lower if obj is not None else ""
    object_id = str(obj.pk) if obj is not None else ""
    whom = recipient.pk if recipient is not None else to_email.strip().lower()
    key = dedupe_key or f"{kind}:{object_type}:{object_id}:{whom}"
    return OutboxMessage(
        kind=kind,
        recipient=recipient,
        to_email=to_email.strip().lower() if recipient is None else "",
        language=language,
        object_type=object_type,
        object_id=object_id,
        context=context or {},
        dedupe_key=key,
    )


def outbox_unless_present(connection) -> str:
    """What makes an outbox INSERT skip a message whose ``dedupe_key`` exists (PostgreSQL, SQLite)."""
    return f"ON CONFLICT ({connection.ops.quote_name(OutboxMessage._meta.get_field('dedupe_key').column)}) DO NOTHING"


def outbox_deliver_after_commit(message: OutboxMessage) -> None:
    """Queue the delivery of the inserted ``message`` once the transaction commits (``outbox_add``)."""
    task = getattr(settings, "OUTBOX_DELIVERY_TASK", None)
    if task:
        # robust: a delivery problem is logged and retried by the sweep; it never undoes or fails the change
        transaction.on_commit(lambda: _enqueue(task, message.pk), robust=True)


def outbox_delivery_row(message: OutboxMessage):
    """The queued delivery of ``message`` (whose ``pk`` is set: inserted, or its id reserved) as the
    unsaved row django-q's database broker would insert after commit — the same task package, key and
    lock time — to insert in the transaction of the change instead: committed with it, one write
    transaction fewer. None when deliveries are not queued that way (no ``OUTBOX_DELIVERY_TASK``, another
    broker or database, synchronous tasks): then ``outbox_deliver_after_commit``. Insert it only if
    the message row was inserted."""
    from django_q.conf import Conf
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    task = getattr(settings, "OUTBOX_DELIVERY_TASK", None)
    brokered_elsewhere = Conf.BROKER_CLASS or Conf.IRON_MQ or isinstance(Conf.SQS, dict)  # as ``get_broker``
    if not task or Conf.SYNC or brokered_elsewhere or router.db_for_write(OutboxMessage) != Conf.ORM:
        return None
    broker = _PackageOnly()
    async_task(task, message.pk, task_name=f"outbox-{message.pk}", broker=broker)
    if broker.package is None:  # pragma: no cover - the task ran instead of being queued
        return None
    return OrmQ(key=broker.list_key, payload=broker.package, lock=timezone.now())


class _PackageOnly:
    """A django-q broker that keeps the signed task package ``async_task`` built instead of queueing it."""

    list_key = None
    package = None

    def __init__(self) -> None:
        from django_q.conf import Conf

        self.list_key = Conf.CLUSTER_NAME  # as the database broker queues it (``get_broker``)

    def enqueue(self, package) -> None:
        self.package = package


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
    sql = f"{sql} {outbox_unless_present(connection)} RETURNING {connection.ops.quote_name(meta.pk.column)}"
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
