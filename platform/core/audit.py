from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.dispatch import Signal

from core.models import AuditLog

#: sent after every audit entry, inside the transaction of the change, with ``entry`` (the AuditLog)
#: and ``obj`` (the changed row, or None). Higher layers subscribe to react to what happened without
#: the layer that did it importing them: outbound webhooks (``workflows.integrations``) write their
#: delivery rows from it. A receiver must only write rows in that transaction, never call out.
audit_recorded = Signal()

#: reads a receiver of ``audit_recorded`` makes for some actions, which a hot path that writes the
#: entry with one statement (``core.prepared.PreparedInsert``) can make in that statement, one round
#: trip less: name -> (actions, SQL for a connection or None, decode). The hot path sends the decoded
#: values as ``reads={name: value}``; a receiver without its value reads as usual.
_STATEMENT_READS: dict[str, tuple[frozenset[str], Callable[[Any], str | None], Callable[[Any], Any]]] = {}


def register_statement_read(
    name: str, *, actions, sql: Callable[[Any], str | None], decode: Callable[[Any], Any]
) -> None:
    """Offer a read to the hot paths that write an entry of one of ``actions``: ``sql(connection)``
    is a scalar subquery without parameters (None: not on this database), ``decode`` turns its value
    into what the receiver reads. The value is as of the writing statement's snapshot, in the same
    transaction (as a read made just before the statement; never one made after another commit)."""
    _STATEMENT_READS[name] = (frozenset(actions), sql, decode)


def statement_reads(action: str, connection) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """The reads registered for ``action`` that ``connection`` can make: (name, SQL, decode) each."""
    reads = []
    for name, (actions, sql, decode) in _STATEMENT_READS.items():
        if action in actions and (text := sql(connection)) is not None:
            reads.append((name, text, decode))
    return reads


def audit_log(*, actor, action: str, obj: models.Model | None = None, data: dict[str, Any] | None = None) -> AuditLog:
    """Record ``action`` (a dotted code such as ``booking.appointment.cancelled``) by ``actor``.

    Call inside the transaction that makes the change, so the entry exists exactly when the change does.
    """
    entry = audit_entry(actor=actor, action=action, obj=obj, data=data)
    entry.save(force_insert=True)
    audit_recorded.send(sender=AuditLog, entry=entry, obj=obj)
    return entry


def audit_entry(*, actor, action: str, obj: models.Model | None = None, data: dict[str, Any] | None = None) -> AuditLog:
    """The entry ``audit_log`` writes, unsaved: for a hot path that inserts it together with the change
    (``core.prepared.PreparedInsert``) and then sends ``audit_recorded`` itself, as ``audit_log`` does."""
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditLog(
        actor_id=actor_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=data or {},
    )


def audit_log_many(*, actor, action: str, entries: list[tuple[models.Model, dict[str, Any]]]) -> list[AuditLog]:
    """Record ``action`` by ``actor`` once for each ``(obj, data)`` of ``entries`` with one bulk insert
    (for a service that changes many objects in one transaction, e.g. a weekly schedule for many
    doctors); each entry is sent to ``audit_recorded`` as ``audit_log`` would."""
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    rows = AuditLog.objects.bulk_create(
        AuditLog(
            actor_id=actor_id,
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            data=data or {},
        )
        for obj, data in entries
    )
    for entry, (obj, _data) in zip(rows, entries, strict=True):
        audit_recorded.send(sender=AuditLog, entry=entry, obj=obj)
    return rows
