"""django-q2 tasks. Each takes primary keys (or nothing), re-reads what it needs and is idempotent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from booking.models import Appointment, AppointmentStatus
from booking.services import appointments_expire_lapsed_holds
from core.health import record_heartbeat
from core.models import OutboxMessage
from core.outbox import outbox_add
from workflows import sms
from workflows.clinic.selectors import reminder_leads_minutes
from workflows.messages import (
    REMINDER,
    ObsoleteMessage,
    RenderedMessage,
    UndeliverableMessage,
    render_message,
)
from workflows.models import Notification
from workflows.selectors import notification_preferences, user_phone

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status
#: a message not delivered this long after it was written is re-enqueued by ``retry_pending_outbox``
RETRY_AFTER = timedelta(minutes=2)
RETRY_BATCH = 500


def heartbeat() -> None:
    """Proves to /healthz that a worker is consuming the queue."""
    record_heartbeat()


def max_attempts() -> int:
    return int(settings.Q_CLUSTER.get("max_attempts", 5))


# --- outbox delivery ------------------------------------------------------------------------------


def _lock(message_id: int) -> OutboxMessage | None:
    """Re-read the message with its row locked for the rest of the transaction (call inside one).

    On PostgreSQL a row another worker holds is skipped (None): that worker is delivering it right
    now. SQLite has no row locks, but every Medbook transaction there starts IMMEDIATE and so holds
    the database's single write lock: a second worker waits for the first to commit, then reads the
    message as sent.
    """
    return (
        OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(pk=message_id)
        .first()
    )


def deliver_outbox_message(message_id: int) -> str:
    """Deliver outbox message ``message_id`` on every channel its recipient has: in-app, email, SMS.

    Idempotent and safe to run twice at once:

    1. A short transaction counts the attempt, so a worker killed mid-send (task timeout) still uses
       one of the ``Q_CLUSTER["max_attempts"]``; past them the message is marked failed.
    2. A second transaction holds the row lock while sending, so a concurrent run skips the message
       instead of sending it again. Each channel is recorded on the in-app ``Notification`` as soon as
       it went out: a retry after a failure only sends what is still missing.

    On an error the message stays pending (failed after the last attempt) with ``last_error`` set,
    and the exception is re-raised so that django-q2 records the failure. Returns what happened.
    """
    with transaction.atomic():
        message = _lock(message_id)
        if message is None:
            return "busy or missing"
        if message.status != Status.PENDING:
            return f"already {message.status}"
        if message.attempts >= max_attempts():
            _close(message, Status.FAILED, f"gave up after {message.attempts} attempts")
            return "gave up"
        message.attempts += 1
        message.save(update_fields=["attempts"])

    error: Exception | None = None
    with transaction.atomic():
        message = _lock(message_id)
        if message is None:
            return "busy or missing"
        if message.status != Status.PENDING:
            return f"already {message.status}"
        try:
            rendered = render_message(message)
        except ObsoleteMessage as exc:
            # Not an error: e.g. a reminder for a visit cancelled after the reminder was queued.
            _close(message, Status.FAILED, f"not sent, obsolete: {exc}")
            return "obsolete"
        except UndeliverableMessage as exc:
            logger.error("Outbox message %s cannot be delivered: %s", message.pk, exc)
            _close(message, Status.FAILED, f"undeliverable: {exc}")
            return "undeliverable"
        except Exception as exc:
            error = exc
        else:
            try:
                _send(message, rendered)
            except Exception as exc:
                error = exc
        if error is None:
            message.status = Status.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
            message.save(update_fields=["status", "sent_at", "last_error"])
        else:
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            if message.attempts >= max_attempts():
                message.status = Status.FAILED
            message.save(update_fields=["status", "last_error"])
    if error is not None:
        logger.warning("Outbox message %s attempt %s failed: %s", message_id, message.attempts, error)
        raise error
    return "sent"


def _close(message: OutboxMessage, status: str, reason: str) -> None:
    message.status = status
    message.last_error = reason[:2000]
    message.save(update_fields=["status", "last_error"])


def _send(message: OutboxMessage, rendered: RenderedMessage) -> None:
    """In-app first (always), then email and SMS as the recipient wants, each recorded once sent."""
    recipient = message.recipient
    notification, _ = Notification.objects.get_or_create(
        outbox=message,
        defaults={
            "recipient": recipient,
            "kind": message.kind,
            "title": rendered.title[:200],
            "body": rendered.short[:1000],
            "link": rendered.link[:500],
        },
    )
    preferences = notification_preferences(recipient)
    if notification.email_sent_at is None and preferences.email_enabled and recipient.email and recipient.is_active:
        _email(recipient.email, rendered)
        notification.email_sent_at = timezone.now()
        notification.save(update_fields=["email_sent_at"])
    if notification.sms_sent_at is None and rendered.sms and preferences.sms_enabled and recipient.is_active:
        phone = user_phone(recipient)
        if phone:
            sms.send_sms(phone, f"Medbook: {rendered.short} {rendered.url}")
            notification.sms_sent_at = timezone.now()
            notification.save(update_fields=["sms_sent_at"])


def _email(to: str, rendered: RenderedMessage) -> None:
    email = EmailMultiAlternatives(subject=rendered.subject, body=rendered.text, to=[to])
    email.attach_alternative(rendered.html, "text/html")
    if rendered.calendar:
        name = "cancellation.ics" if rendered.calendar_method == "CANCEL" else "appointment.ics"
        email.attach(name, rendered.calendar, f"text/calendar; method={rendered.calendar_method}")
    email.send()


def retry_pending_outbox(*, now: datetime | None = None) -> int:
    """Periodic: re-enqueue messages still pending ``RETRY_AFTER`` after they were written (a lost
    enqueue, a worker that died, a failed attempt). Returns how many were enqueued."""
    from django_q.tasks import async_task

    now = now or timezone.now()
    ids = list(
        OutboxMessage.objects.filter(
            status=Status.PENDING, created_at__lte=now - RETRY_AFTER, attempts__lt=max_attempts()
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:RETRY_BATCH]
    )
    for message_id in ids:
        async_task(settings.OUTBOX_DELIVERY_TASK, message_id, task_name=f"outbox-{message_id}-retry")
    _give_up_exhausted(now=now)
    return len(ids)


def _give_up_exhausted(*, now: datetime) -> None:
    """Pending messages whose attempts are used up (the last worker died mid-send) become failed.
    Rows being delivered right now are locked and skipped."""
    with transaction.atomic():
        stuck = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, created_at__lte=now - RETRY_AFTER, attempts__gte=max_attempts())
            .values_list("pk", flat=True)[:RETRY_BATCH]
        )
        if stuck:
            OutboxMessage.objects.filter(pk__in=stuck, status=Status.PENDING).update(
                status=Status.FAILED, last_error=f"gave up after {max_attempts()} attempts"
            )


# --- reminders and expiry -------------------------------------------------------------------------


def reminder_dedupe_key(appointment: Appointment, lead: int, recipient) -> str:
    # The start time is part of the key: a rescheduled visit gets fresh reminders for its new time.
    return f"{REMINDER}:{appointment.pk}:{lead}:{appointment.starts_at.isoformat()}:{recipient.pk}"


def send_due_reminders(now: datetime | None = None) -> int:
    """Periodic (every minute): queue the reminders that are due; returns how many were written.

    For each lead (the admin's reminder times, else ``REMINDER_LEADS_MINUTES``; e.g. 24 h and 1 h) a confirmed visit is due when
    ``starts_at - lead <= now < starts_at``. A longer lead is only due until the next shorter one
    is (a worker that was down does not send the 24 h and the 1 h reminder together), and only if
    the visit was confirmed before its reminder time (a visit booked 3 h ahead gets no 24 h one).
    Reminders go to the patient and the doctor, once each: the outbox's unique key sees to that, and
    keys that already exist are read in one query rather than re-inserted every minute.
    """
    now = now or timezone.now()
    leads = sorted({int(lead) for lead in reminder_leads_minutes() if int(lead) > 0}, reverse=True)
    written = 0
    for index, lead in enumerate(leads):
        shorter = leads[index + 1] if index + 1 < len(leads) else 0
        due = Appointment.objects.filter(
            status=AppointmentStatus.CONFIRMED,
            starts_at__gt=now + timedelta(minutes=shorter),
            starts_at__lte=now + timedelta(minutes=lead),
            confirmed_at__lte=F("starts_at") - timedelta(minutes=lead),
        ).select_related("doctor__user", "patient")
        wanted = {
            reminder_dedupe_key(appointment, lead, recipient): (appointment, recipient)
            for appointment in due
            for recipient in (appointment.patient, appointment.doctor.user)
        }
        if not wanted:
            continue
        existing = set(OutboxMessage.objects.filter(dedupe_key__in=list(wanted)).values_list("dedupe_key", flat=True))
        for key, (appointment, recipient) in wanted.items():
            if key in existing:
                continue
            created = outbox_add(
                kind=REMINDER,
                recipient=recipient,
                obj=appointment,
                context={
                    "appointment": appointment.pk,
                    "lead_minutes": lead,
                    "starts_at": appointment.starts_at.isoformat(),
                },
                dedupe_key=key,
            )
            written += created is not None
    return written


def expire_lapsed_holds() -> int:
    """Periodic (every minute): mark lapsed payment holds expired and tell the patients."""
    return appointments_expire_lapsed_holds()


# --- refunds --------------------------------------------------------------------------------------


def deliver_refund(refund_id: int) -> str:
    """Send one queued refund to its gateway (``booking.services.refund_deliver`` does the work)."""
    from booking.services import refund_deliver

    return refund_deliver(refund_id=refund_id)


def retry_due_refunds(*, now: datetime | None = None) -> int:
    """Periodic: queue refunds whose next attempt is due (a failed attempt's backoff ran out, an
    enqueue was lost, or a worker died while sending). Returns how many were queued."""
    from django_q.tasks import async_task

    from booking.services import refunds_due

    ids = refunds_due(now=now)
    for refund_id in ids:
        async_task(settings.REFUND_DELIVERY_TASK, refund_id, task_name=f"refund-{refund_id}-retry")
    return len(ids)
