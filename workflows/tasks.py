"""django-q2 tasks. Each takes primary keys (or nothing), re-reads what it needs and is idempotent."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.services import has_real_email
from booking.models import Appointment, AppointmentStatus
from booking.services import (
    appointments_expire_lapsed_holds,
    availability_rules_extend,
    refund_deliver,
    refunds_due,
)
from core.health import record_heartbeat
from core.models import OutboxMessage
from core.outbox import outbox_add
from workflows.clinic.selectors import reminder_leads_minutes
from workflows.invoices import attachments_for
from workflows.messages import (
    REMINDER,
    ObsoleteMessage,
    RenderedMessage,
    UndeliverableMessage,
    in_app_texts,
    render_message,
)
from workflows.messaging.models import SMSStatus
from workflows.messaging.sms import quiet_hours_end, sms_opted_out, sms_send
from workflows.models import Notification
from workflows.operations.qr import booking_qr_png
from workflows.selectors import notification_preferences, user_phone

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status


def heartbeat() -> None:
    """Proves to /healthz that a worker is consuming the queue."""
    record_heartbeat()


def max_attempts() -> int:
    return int(settings.Q_CLUSTER.get("max_attempts", 5))


# --- outbox delivery ------------------------------------------------------------------------------
#
# Exactly once from the recipient's point of view. A delivery
#
# 1. claims the message in a short committed transaction (``sending``, ``claimed_by`` = this
#    process, ``claimed_until`` = a lease), counting the attempt; a second worker sees the claim and
#    leaves the message alone;
# 2. calls each provider outside any transaction, committing ``<channel>_started_at`` on the in-app
#    ``Notification`` before the call and ``<channel>_sent_at`` right after it;
# 3. marks the message sent (or pending again, with a backoff, after an error) and drops the claim.
#
# The crash window is between a provider accepting and step 2's second commit. A claim whose worker
# died is taken over as soon as its process is known to be gone (same host) or its lease ran out,
# and the channels then differ on purpose:
#
# - email is at-least-once with a stable Message-ID (``outbox_message_id``): the mail is sent again
#   with the same Message-ID, which mail systems and clients use to show one message;
# - SMS is at-most-once with an alert: a text message has no identifier a phone could deduplicate
#   on, and it repeats what the email and the in-app notification already say, so it is not sent
#   again; an ERROR is logged and the outbox row's ``last_error`` says that the SMS may be missing.

#: a pending message not delivered this long after it was written is re-enqueued by the sweep
RETRY_AFTER = timedelta(seconds=30)
RETRY_BATCH = 500
#: how long a claim holds without news from its worker: more than one delivery can take (each
#: provider call is bounded by ``EMAIL_TIMEOUT`` and the SMS backend's own timeout)
CLAIM_LEASE = timedelta(seconds=45)
SMS_OUTCOME_UNKNOWN = "SMS outcome unknown: the worker died during the provider call; not sent again"
SMS_OPTED_OUT = "SMS not sent: the number opted out (STOP)"


class SMSDeferred(Exception):
    """The text may not go out now (quiet hours): deliver the message again at ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"SMS deferred until {until.isoformat()} (quiet hours)")
        self.until = until


def outbox_message_id(message: OutboxMessage) -> str:
    """The email Message-ID of outbox ``message``: the same on every attempt, unique per row."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "medbook.local"
    stamp = message.created_at.strftime("%Y%m%d%H%M%S") if message.created_at else "0"
    return f"<outbox.{message.pk}.{stamp}@{domain}>"


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim_is_dead(message: OutboxMessage, *, now: datetime) -> bool:
    """Whether the worker that claimed ``message`` can no longer finish it."""
    if message.claimed_until is None or message.claimed_until <= now:
        return True
    host, _, pid = message.claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: only its lease tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _lock(message_id: int) -> OutboxMessage | None:
    """Re-read the message with its row locked for the rest of the (short) transaction.

    On PostgreSQL a row another worker is claiming right now is skipped (None). SQLite has no row
    locks, but every Medbook transaction there starts IMMEDIATE and so holds the database's single
    write lock: a second worker waits for the first to commit, then sees its claim.
    """
    return (
        OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(pk=message_id)
        .first()
    )


def _claim(message_id: int, *, now: datetime) -> tuple[OutboxMessage | None, str]:
    """Claim the message for this process in a committed transaction: (message, "") or (None, why)."""
    with transaction.atomic():
        message = _lock(message_id)
        if message is None:
            return None, "busy or missing"
        if message.status == Status.SENDING and not _claim_is_dead(message, now=now):
            return None, "busy or missing"
        if message.status not in (Status.PENDING, Status.SENDING):
            return None, f"already {message.status}"
        if message.status == Status.SENDING:
            logger.warning(
                "Outbox message %s: taking over from %s, which stopped mid-delivery", message.pk, message.claimed_by
            )
        if message.attempts >= max_attempts():
            _close(message, Status.FAILED, f"gave up after {message.attempts} attempts")
            return None, "gave up"
        message.attempts += 1
        message.status = Status.SENDING
        message.claimed_by = worker_identity()
        message.claimed_until = now + CLAIM_LEASE
        message.save(update_fields=["attempts", "status", "claimed_by", "claimed_until"])
    return message, ""


def _extend_claim(message: OutboxMessage) -> None:
    message.claimed_until = timezone.now() + CLAIM_LEASE
    OutboxMessage.objects.filter(pk=message.pk, claimed_by=message.claimed_by).update(
        claimed_until=message.claimed_until
    )


def _finish(message: OutboxMessage, *, status: str, error: str = "", now: datetime | None = None) -> None:
    """Record the outcome and drop the claim (unless another worker took the message over)."""
    now = now or timezone.now()
    fields: dict = {"status": status, "last_error": error[:2000], "claimed_by": "", "claimed_until": None}
    if status == Status.SENT:
        fields["sent_at"] = now
    if status == Status.PENDING:
        # back off: 1, 2, 4, 8… minutes after the 1st, 2nd, 3rd… failed attempt
        fields["next_attempt_at"] = now + timedelta(minutes=min(2 ** max(message.attempts - 1, 0), 60))
    OutboxMessage.objects.filter(pk=message.pk, claimed_by=message.claimed_by).update(**fields)
    for key, value in fields.items():
        setattr(message, key, value)


def deliver_outbox_message(message_id: int) -> str:
    """Deliver outbox message ``message_id`` on every channel its recipient has: in-app, email, SMS.

    Idempotent and safe to run twice at once (see the section comment above for the crash window).
    A worker killed mid-send still used one of the ``Q_CLUSTER["max_attempts"]``; past them the
    message is marked failed. On an error the message goes back to pending with a backoff (failed
    after the last attempt), ``last_error`` set, and the exception is re-raised so that django-q2
    records the failure. Returns what happened.
    """
    now = timezone.now()
    message, why = _claim(message_id, now=now)
    if message is None:
        return why
    try:
        rendered = render_message(message)
    except ObsoleteMessage as exc:
        # Not an error: e.g. a reminder for a visit cancelled after the reminder was queued.
        _finish(message, status=Status.FAILED, error=f"not sent, obsolete: {exc}")
        return "obsolete"
    except UndeliverableMessage as exc:
        logger.error("Outbox message %s cannot be delivered: %s", message.pk, exc)
        _finish(message, status=Status.FAILED, error=f"undeliverable: {exc}")
        return "undeliverable"
    except Exception as exc:
        _fail(message, exc)
        raise
    try:
        note = _send(message, rendered)
    except SMSDeferred as deferred:
        _defer(message, deferred)
        return "deferred"
    except Exception as exc:
        _fail(message, exc)
        raise
    _finish(message, status=Status.SENT, error=note)
    return "sent"


def _defer(message: OutboxMessage, deferred: SMSDeferred) -> None:
    """Back to pending until ``deferred.until``; a deferral is not a failed attempt. The channels
    already delivered are marked on the notification and are not repeated then."""
    OutboxMessage.objects.filter(pk=message.pk, claimed_by=message.claimed_by).update(
        status=Status.PENDING,
        attempts=max(message.attempts - 1, 0),
        next_attempt_at=deferred.until,
        last_error=str(deferred),
        claimed_by="",
        claimed_until=None,
    )


def _fail(message: OutboxMessage, error: Exception) -> None:
    status = Status.FAILED if message.attempts >= max_attempts() else Status.PENDING
    _finish(message, status=status, error=f"{type(error).__name__}: {error}")
    logger.warning("Outbox message %s attempt %s failed: %s", message.pk, message.attempts, error)


def _close(message: OutboxMessage, status: str, reason: str) -> None:
    message.status = status
    message.last_error = reason[:2000]
    message.claimed_by, message.claimed_until = "", None
    message.save(update_fields=["status", "last_error", "claimed_by", "claimed_until"])


def _mark(notification: Notification, **fields) -> None:
    """Commit channel progress on the notification at once (we are outside any transaction)."""
    Notification.objects.filter(pk=notification.pk).update(**fields)
    for key, value in fields.items():
        setattr(notification, key, value)


def _send_email_only(message: OutboxMessage, rendered: RenderedMessage) -> str:
    """A message for someone without an account: one email to ``to_email``, its progress marked on the
    outbox row around the SMTP call (the same crash window and Message-ID as accounts' emails)."""
    if message.email_sent_at is not None:
        return ""
    if message.email_started_at is not None:
        logger.warning(
            "Outbox message %s: the email may already have gone out; sending it again with the same Message-ID %s",
            message.pk,
            outbox_message_id(message),
        )
    OutboxMessage.objects.filter(pk=message.pk).update(email_started_at=timezone.now())
    try:
        _email(message.to_email, rendered, message_id=outbox_message_id(message))
    except Exception:
        OutboxMessage.objects.filter(pk=message.pk).update(email_started_at=None)  # refused: not sent
        raise
    OutboxMessage.objects.filter(pk=message.pk).update(email_sent_at=timezone.now())
    return ""


def _send(message: OutboxMessage, rendered: RenderedMessage) -> str:
    """In-app first (always), then email and SMS as the recipient wants. Returns a note for the row."""
    if message.recipient_id is None:
        return _send_email_only(message, rendered)
    recipient = message.recipient
    notification, _ = Notification.objects.get_or_create(
        outbox=message,
        defaults={
            "recipient": recipient,
            "kind": message.kind,
            "title": rendered.title[:200],
            "body": rendered.short[:1000],
            "link": rendered.link[:500],
            # a callable: rendered in the other languages only when the row is created
            "texts": lambda: in_app_texts(message, rendered),
        },
    )
    preferences = notification_preferences(recipient)
    note = ""
    if (
        notification.email_sent_at is None
        and preferences.email_enabled
        and has_real_email(recipient.email)  # a walk-in patient registered without one has none
        and recipient.is_active
    ):
        if notification.email_started_at is not None:
            logger.warning(
                "Outbox message %s: the email may already have gone out; sending it again with the same Message-ID %s",
                message.pk,
                outbox_message_id(message),
            )
        _mark(notification, email_started_at=timezone.now())
        try:
            _email(recipient.email, rendered, message_id=outbox_message_id(message))
        except Exception:
            _mark(notification, email_started_at=None)  # the server refused it: not sent
            raise
        _mark(notification, email_sent_at=timezone.now())
        _extend_claim(message)
    if notification.sms_sent_at is None and rendered.sms and preferences.sms_enabled and recipient.is_active:
        phone = user_phone(recipient)
        if phone and notification.sms_started_at is not None:
            logger.error("Outbox message %s: %s (recipient %s)", message.pk, SMS_OUTCOME_UNKNOWN, recipient.pk)
            note = SMS_OUTCOME_UNKNOWN
        elif phone and sms_opted_out(phone):
            note = SMS_OPTED_OUT
        elif phone:
            if message.kind == REMINDER:
                # no reminder texts at night where the recipient is: later, not never
                until = quiet_hours_end(now=timezone.now(), time_zone=recipient.effective_time_zone)
                if until is not None:
                    raise SMSDeferred(until)
            _mark(notification, sms_started_at=timezone.now())
            try:
                record = sms_send(
                    phone=phone, text=f"Medbook: {rendered.short} {rendered.url}", recipient=recipient, outbox=message
                )
            except Exception:
                _mark(notification, sms_started_at=None)  # a backend raises only when it did not send
                raise
            if record is not None and record.status == SMSStatus.FAILED:
                note = f"SMS refused by the provider: {record.error}"  # for good (a wrong number): not retried
            else:
                _mark(notification, sms_sent_at=timezone.now())
    return note


def _email(to: str, rendered: RenderedMessage, *, message_id: str) -> None:
    email = EmailMultiAlternatives(
        subject=rendered.subject, body=rendered.text, to=[to], headers={"Message-ID": message_id}
    )
    email.attach_alternative(rendered.html, "text/html")
    if rendered.calendar:
        name = "cancellation.ics" if rendered.calendar_method == "CANCEL" else "appointment.ics"
        email.attach(name, rendered.calendar, f"text/calendar; method={rendered.calendar_method}")
    if rendered.check_in_code:
        email.attach(f"check-in-{rendered.check_in_code}.png", booking_qr_png(rendered.check_in_code), "image/png")
    for attachment in attachments_for(rendered.invoice_ids):
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    email.send()


def retry_pending_outbox(*, now: datetime | None = None, min_age: timedelta = RETRY_AFTER) -> int:
    """Periodic (every minute): re-enqueue what a lost enqueue or a dead worker left behind.

    That is pending messages written at least ``min_age`` ago whose backoff is over, and messages
    whose delivering worker died (its process is gone or its claim lapsed). Messages whose attempts
    are used up become failed. Returns how many were enqueued. The worker also runs it with
    ``min_age=0`` when it starts and when it replaces a worker process that died
    (``workflows.management.commands.qcluster``): then nothing waits for the next sweep.
    """
    from django_q.tasks import async_task

    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(status=Status.PENDING, attempts__lt=max_attempts())
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=now - min_age))
        .order_by("created_at")
        .values_list("pk", flat=True)[:RETRY_BATCH]
    )
    ids = list(due)
    sending = OutboxMessage.objects.filter(status=Status.SENDING).order_by("created_at")[:RETRY_BATCH]
    ids += [message.pk for message in sending if _claim_is_dead(message, now=now)]
    for message_id in ids:
        async_task(settings.OUTBOX_DELIVERY_TASK, message_id, task_name=f"outbox-{message_id}-retry")
    _give_up_exhausted(now=now)
    return len(ids)


def _give_up_exhausted(*, now: datetime) -> None:
    """Pending messages whose attempts are used up (the last worker died mid-send) become failed.
    Rows being claimed right now are locked and skipped."""
    with transaction.atomic():
        stuck = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, attempts__gte=max_attempts())
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
        ).select_related("doctor__user", "patient__guardian")
        wanted = {
            reminder_dedupe_key(appointment, lead, recipient): (appointment, recipient)
            for appointment in due
            # a dependant's reminder goes to the account holder who manages their visits
            for recipient in (appointment.patient.notification_recipient, appointment.doctor.user)
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


def recover_outbox() -> int:
    """Queued by the worker when it starts and when one of its processes died: re-enqueue at once
    every pending message and every message whose delivering process is gone."""
    return retry_pending_outbox(min_age=timedelta(0))


# --- refunds --------------------------------------------------------------------------------------


def deliver_refund(refund_id: int) -> str:
    """Send one queued refund to its gateway (``booking.services.refund_deliver`` does the work)."""
    return refund_deliver(refund_id=refund_id)


def retry_due_refunds(*, now: datetime | None = None) -> int:
    """Periodic: queue refunds whose next attempt is due (a failed attempt's backoff ran out, an
    enqueue was lost, or a worker died while sending). Returns how many were queued."""
    from django_q.tasks import async_task

    ids = refunds_due(now=now)
    for refund_id in ids:
        async_task(settings.REFUND_DELIVERY_TASK, refund_id, task_name=f"refund-{refund_id}-retry")
    return len(ids)


def extend_availability_rules() -> dict[str, int]:
    """Hourly: publish doctors' standing weekly hours up to AVAILABILITY_RULES_WEEKS_AHEAD weeks ahead
    (idempotent; a rule already published through the horizon costs one query)."""
    return availability_rules_extend()
