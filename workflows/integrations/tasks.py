"""django-q2 tasks for webhooks: deliver one (by primary key, idempotent) and the periodic retry sweep.

A delivery is claimed in a short committed transaction (``sending`` with a lease, the attempt
counted), posted outside any transaction, then closed: delivered on a 2xx answer, otherwise pending
again with a backoff (``services.backoff``), failed after ``WEBHOOKS_MAX_ATTEMPTS``. A worker that
dies mid-request leaves a lapsed lease, and the sweep sends the delivery again: webhooks are
at-least-once, and receivers deduplicate on the event id.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from workflows.integrations.models import WebhookDelivery
from workflows.integrations.services import backoff, post_once

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
#: a pending delivery never enqueued (a lost enqueue) is picked up this long after it was written
LOST_AFTER = timedelta(seconds=30)
BATCH = 500


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOKS_TIMEOUT + 30)


def _claim(delivery_id: int, *, now: datetime) -> tuple[WebhookDelivery | None, str]:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None, "busy or missing"
        if delivery.status == Status.SENDING and delivery.claimed_until and delivery.claimed_until > now:
            return None, "busy"
        if delivery.status not in (Status.PENDING, Status.SENDING):
            return None, f"already {delivery.status}"
        if delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
            delivery.status = Status.FAILED
            delivery.save(update_fields=["status"])
            return None, "gave up"
        delivery.attempts += 1
        delivery.status = Status.SENDING
        delivery.claimed_until = now + _lease()
        delivery.save(update_fields=["attempts", "status", "claimed_until"])
    return delivery, ""


def deliver_webhook(delivery_id: int, now: datetime | None = None) -> str:
    """Send delivery ``delivery_id`` once more if it is due; returns what happened."""
    now = now or timezone.now()
    delivery, why = _claim(delivery_id, now=now)
    if delivery is None:
        return why
    attempt = post_once(delivery, now=now)
    fields = {
        "claimed_until": None,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error or ("" if attempt.ok else f"answered {attempt.status_code}"),
    }
    if attempt.ok:
        fields.update(status=Status.SUCCEEDED, delivered_at=timezone.now(), next_attempt_at=None)
    elif delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
        fields.update(status=Status.FAILED, next_attempt_at=None)
    else:
        fields.update(status=Status.PENDING, next_attempt_at=now + backoff(delivery.attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(**fields)
    if not attempt.ok:
        logger.warning(
            "Webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, fields["last_error"]
        )
    return fields["status"]


def retry_due_webhooks(now: datetime | None = None) -> int:
    """Periodic (every minute): enqueue deliveries whose backoff is over, whose enqueue was lost, or
    whose worker died mid-request (lapsed lease). Returns how many were enqueued."""
    from django_q.tasks import async_task

    now = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.PENDING, next_attempt_at__isnull=True, created_at__lte=now - LOST_AFTER)
            | Q(status=Status.SENDING, claimed_until__lte=now)
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    ids = list(due)
    for delivery_id in ids:
        async_task(settings.WEBHOOK_DELIVERY_TASK, delivery_id, task_name=f"webhook-{delivery_id}-retry")
    return len(ids)
