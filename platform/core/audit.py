from __future__ import annotations

from typing import Any

from django.db import models

from core.models import AuditLog


def audit_log(*, actor, action: str, obj: models.Model | None = None, data: dict[str, Any] | None = None) -> AuditLog:
    """Record ``action`` (a dotted code such as ``booking.appointment.cancelled``) by ``actor``.

    Call inside the transaction that makes the change, so the entry exists exactly when the change does.
    """
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor_id=actor_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=data or {},
    )
