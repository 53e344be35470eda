"""Text messages around the provider: send and record, status reports, opt-outs, quiet hours.

``workflows.sms`` holds the provider clients; this module keeps the clinic's side: which numbers may
be texted (``SMSOptOut``), when (quiet hours in the recipient's zone), and what became of each
message (``SMSMessage``, from the provider's answer and its signed status callbacks).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.audit import audit_log
from workflows import sms
from workflows.messaging.models import SMS_STATUS_RANK, SMSMessage, SMSOptOut, SMSStatus

logger = logging.getLogger(__name__)

#: replies that stop all texts (carriers' and Twilio's standard words, and Vietnamese "HỦY")
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "HUY", "HỦY"}
START_WORDS = {"START", "UNSTOP", "YES"}

#: provider status words → ours (Twilio's list; generic gateways mostly use the same words)
PROVIDER_STATUSES = {
    "accepted": SMSStatus.QUEUED,
    "scheduled": SMSStatus.QUEUED,
    "queued": SMSStatus.QUEUED,
    "sending": SMSStatus.SENT,
    "sent": SMSStatus.SENT,
    "delivered": SMSStatus.DELIVERED,
    "read": SMSStatus.DELIVERED,
    "undelivered": SMSStatus.UNDELIVERED,
    "failed": SMSStatus.FAILED,
    "canceled": SMSStatus.FAILED,
    "rejected": SMSStatus.FAILED,
}


# --- opt-out ----------------------------------------------------------------------------------------


def sms_opted_out(phone: str) -> bool:
    return SMSOptOut.objects.filter(phone=sms.normalize_phone(phone)).exists()


def sms_opt_out(*, phone: str, source: str, actor=None, note: str = "") -> SMSOptOut:
    """No more texts to ``phone`` (idempotent)."""
    number = sms.normalize_phone(phone)
    with transaction.atomic():
        row, created = SMSOptOut.objects.get_or_create(phone=number, defaults={"source": source, "note": note[:200]})
        if created:
            audit_log(actor=actor, action="messaging.sms.opted_out", obj=row, data={"source": source})
    return row


def sms_opt_in(*, phone: str, actor=None) -> bool:
    """Texts to ``phone`` again; returns whether it had opted out."""
    number = sms.normalize_phone(phone)
    with transaction.atomic():
        row = SMSOptOut.objects.filter(phone=number).first()
        if row is None:
            return False
        audit_log(actor=actor, action="messaging.sms.opted_in", obj=row, data={"source": row.source})
        row.delete()
    return True


def sms_inbound(*, phone: str, text: str) -> str:
    """A text a person sent to the clinic's number: STOP (and its synonyms) opts them out, START back
    in; anything else is ignored. Returns "stopped", "started" or ""."""
    word = (text or "").strip().upper()
    if word in STOP_WORDS:
        sms_opt_out(phone=phone, source=SMSOptOut.Source.REPLY)
        return "stopped"
    if word in START_WORDS:
        sms_opt_in(phone=phone)
        return "started"
    return ""


# --- quiet hours --------------------------------------------------------------------------------------


def _parse_quiet_hours(value: str) -> tuple[time, time] | None:
    if not value.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"SMS_QUIET_HOURS must look like 21:00-07:00, not {value!r}") from exc
    return start, end


def quiet_hours_end(*, now: datetime, time_zone: str) -> datetime | None:
    """When ``now`` falls in the quiet hours (``SMS_QUIET_HOURS``, e.g. 21:00–07:00) of ``time_zone``,
    the moment they end (aware); otherwise None. A window may cross midnight."""
    window = _parse_quiet_hours(settings.SMS_QUIET_HOURS)
    if window is None or window[0] == window[1]:
        return None
    start, end = window
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    clock = local.time()
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # crosses midnight: 21:00–07:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)


# --- sending and status ---------------------------------------------------------------------------------


def status_callback_url(provider: str, message: SMSMessage) -> str:
    return f"{settings.SITE_URL}{reverse('sms_status', kwargs={'provider': provider})}?m={message.pk}"


def sms_send(*, phone: str, text: str, recipient=None, outbox=None) -> SMSMessage | None:
    """Hand ``text`` to the configured provider and record it. Call outside any transaction.

    Raises ``workflows.sms.SMSError`` (or anything else) when the provider could not take it now:
    the caller retries later. A refusal for good (``SMSRejected``) is recorded as failed and the
    message is returned. Backends without delivery reports (console, tests) return None.
    """
    backend = sms.get_sms_backend()
    if not backend.reports_status:
        backend.send(phone, text)
        return None
    number = sms.normalize_phone(phone)
    parts = sms.sms_segments(text)
    message = SMSMessage.objects.create(
        outbox=outbox,
        recipient=recipient,
        to=number,
        provider=backend.provider,
        encoding=parts.encoding,
        segments=max(parts.count, 1),
    )
    try:
        receipt = backend.send(number, text, status_callback=status_callback_url(backend.provider, message))
    except sms.SMSRejected as exc:
        _update(message, status=SMSStatus.FAILED, error=str(exc)[:300], error_code=exc.code[:32])
        return message
    except Exception as exc:
        _update(message, status=SMSStatus.FAILED, error=f"not taken, retried later: {exc}"[:300])
        raise
    fields = {"provider_message_id": receipt.message_id[:64], "provider_status": receipt.status[:32]}
    mapped = PROVIDER_STATUSES.get(receipt.status.lower())
    if mapped and SMS_STATUS_RANK[mapped] > SMS_STATUS_RANK[message.status]:
        fields["status"] = mapped
    _update(message, **fields)
    return message


def _update(message: SMSMessage, **fields) -> None:
    SMSMessage.objects.filter(pk=message.pk).update(**fields)
    for key, value in fields.items():
        setattr(message, key, value)


def sms_status_record(
    *, provider: str, message_pk: int | None, provider_message_id: str, status: str, error_code: str = ""
) -> SMSMessage | None:
    """A delivery report from ``provider`` (its signature already checked). Finds the message by our
    id from the callback URL (or by the provider's id), stores the provider's id if it was not saved
    yet, and moves the status forward only (reports can arrive out of order). Returns the message,
    or None for a report about a message we do not know."""
    with transaction.atomic():
        found = SMSMessage.objects.select_for_update().filter(provider=provider)
        message = None
        if message_pk is not None:
            message = found.filter(pk=message_pk).first()
        if message is None and provider_message_id:
            message = found.filter(provider_message_id=provider_message_id).first()
        if message is None:
            return None
        if provider_message_id and message.provider_message_id and message.provider_message_id != provider_message_id:
            return None  # a report about another message: the URL's id was not this one's
        now = timezone.now()
        fields = {"provider_status": status[:32], "status_at": now}
        if provider_message_id and not message.provider_message_id:
            fields["provider_message_id"] = provider_message_id[:64]
        mapped = PROVIDER_STATUSES.get(status.lower())
        if mapped and SMS_STATUS_RANK[mapped] >= SMS_STATUS_RANK[message.status]:
            fields["status"] = mapped
            if mapped in (SMSStatus.UNDELIVERED, SMSStatus.FAILED) and error_code:
                fields["error_code"] = error_code[:32]
        _update(message, **fields)
    return message


# --- account codes ---------------------------------------------------------------------------------


def sms_send_account_code(phone: str, text: str) -> None:
    """A sign-up or sign-in code (``accounts.phones`` sends through this; registered in ``ready``). The
    person is waiting for it, so neither quiet hours nor the outbox delay it, and a failure reaches
    them as an error page rather than a code that never comes."""
    sms_send(phone=phone, text=text)
