"""Payment writes: start a checkout, apply gateway outcomes (webhooks, cash at the desk), refunds.

No gateway is called while a row is locked or a transaction is open: ``payment_start`` writes a
pending Payment, commits, asks the gateway for a checkout, then records the answer in a second short
transaction; a refund is a ``Refund`` row written with the decision and delivered after commit by the
worker (``refund_deliver``), retried with backoff and sent with the row's idempotency key.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import rules
from booking.models import (
    Appointment,
    AppointmentStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundStatus,
    Slot,
    SlotStatus,
    money,
)
from booking.payments import CHARGE_HANDLERS, GatewayError, WebhookEvent, get_gateway, require_enabled
from booking.rules import Action
from booking.services.common import (
    _claim,
    _clinic_staff,
    _ensure_video_channel,
    _expire,
    _notify,
    _retire_lapsed_holder,
    _save,
    _transition,
    lock_appointment,
)
from core.audit import audit_log
from core.db import retry_transaction
from core.errors import Conflict, DomainError, NotFound
from core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

S = AppointmentStatus

#: refund delivery: attempts before a refund is marked failed for staff, and the pause before each retry
REFUND_MAX_ATTEMPTS = 6
REFUND_SENDING_STALE = timedelta(minutes=10)


def _refund_backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 240))


# --- checkout -------------------------------------------------------------------------------------


@retry_transaction
def _payment_open(*, appointment: Appointment, gateway: str, actor, now: datetime) -> tuple[Payment, bool]:
    """The pending payment to send the patient to (created if needed). True: it still needs a checkout."""
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        rules.require(Action.PAY, appointment=appointment, user=actor, now=now)
        payment = appointment.payments.filter(status=PaymentStatus.PENDING, gateway=gateway).order_by("-pk").first()
        if payment is not None and payment.amount == appointment.amount_due:
            return payment, not payment.provider_reference
        payment = Payment.objects.create(
            appointment=appointment, gateway=gateway, amount=appointment.amount_due, currency=appointment.currency
        )
        audit_log(actor=actor, action="booking.payment.started", obj=payment, data={"gateway": gateway})
    return payment, True


def payment_start(
    *, appointment: Appointment, gateway: str, actor, success_url: str = "", cancel_url: str = "", now=None
) -> Payment:
    """Open a payment for the amount due through ``gateway`` (one of ``enabled_gateways()``, else
    GatewayNotEnabled); returns it with its checkout URL. A retry returns the same checkout."""
    now = now or timezone.now()
    gw = get_gateway(require_enabled(gateway))
    payment, needs_checkout = _payment_open(appointment=appointment, gateway=gateway, actor=actor, now=now)
    if not needs_checkout:
        return payment
    try:
        result = gw.start(payment, success_url=success_url, cancel_url=cancel_url)  # network: no lock held
    except DomainError as exc:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING, provider_reference="").update(
            status=PaymentStatus.FAILED, failure_reason=str(exc)[:255]
        )
        raise
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, provider_reference="").update(
            checkout_url=result.checkout_url, provider_reference=result.provider_reference
        )
    payment.refresh_from_db()
    return payment


# --- outcomes -------------------------------------------------------------------------------------


def _finalize_paid(appointment: Appointment, *, actor, now: datetime, reinstated: bool) -> None:
    """The slot is ours and paid: booked, then confirmed or waiting for the doctor."""
    Slot.objects.filter(pk=appointment.slot_id).update(status=SlotStatus.BOOKED, hold_expires_at=None, updated_at=now)
    if appointment.doctor.auto_confirm:
        _transition(appointment, "reinstate_confirmed" if reinstated else "confirm_paid", actor=actor)
        appointment.confirmed_at = now
        _ensure_video_channel(appointment)
        _save(appointment, "confirmed_at", "video_channel")
        # the doctor confirms paid visits automatically: recorded like a confirmation by hand
        audit_log(actor=actor, action="booking.appointment.confirmed", obj=appointment, data={"automatic": True})
        _notify("appointment.confirmed", appointment, appointment.patient, appointment.doctor.user)
    else:
        _transition(appointment, "reinstate_pending" if reinstated else "await_doctor", actor=actor)
        _save(appointment)
        _notify("appointment.paid_pending", appointment, appointment.patient)
        _notify("appointment.request_received", appointment, appointment.doctor.user)


@retry_transaction
def payment_succeeded(*, payment: Payment, actor=None, provider_payment_intent: str = "", now=None) -> Payment:
    """A gateway (or staff, for cash) reports the money arrived. Idempotent: a second report is a no-op.

    Paid inside the hold: the slot is booked. Paid after the hold lapsed: booked if the slot is still
    free, otherwise refunded in full with patient and staff told. Locks slot → appointment → payment.
    """
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(payment.appointment_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            return payment
        payment.status = PaymentStatus.SUCCEEDED
        payment.paid_at = now
        payment.provider_payment_intent = provider_payment_intent or payment.provider_payment_intent
        try:
            with transaction.atomic():
                payment.save(update_fields=["status", "paid_at", "provider_payment_intent"])
        except IntegrityError:
            # the appointment was already paid through another payment: give this money back
            payment.status = PaymentStatus.SUCCEEDED
            _refund(payment, payment.amount, reason="duplicate payment", force_status=True)
            return payment
        audit_log(actor=actor, action="booking.payment.succeeded", obj=payment, data={"gateway": payment.gateway})
        # the invoice is numbered and written by the worker once this commits (booking.services.invoices)
        enqueue_on_commit(settings.INVOICE_ISSUE_TASK, payment.pk, task_name=f"invoice-payment-{payment.pk}")

        if appointment.status == S.PENDING_PAYMENT and appointment.hold_is_live(now):
            _finalize_paid(appointment, actor=actor, now=now, reinstated=False)
        elif appointment.status in (S.PENDING_PAYMENT, S.EXPIRED) and appointment.slot_id:
            # Late payment: the slot is still ours if nobody else holds it.
            if appointment.status == S.PENDING_PAYMENT:
                _expire(appointment, now=now, reason="hold lapsed before payment", release_slot=False, notify=False)
            claimed = _claim(appointment.slot_id, now=now, status=SlotStatus.BOOKED, hold_until=None)
            if claimed:
                _retire_lapsed_holder(appointment.slot_id, now=now, keep=appointment.pk)
                try:
                    with transaction.atomic():
                        _finalize_paid(appointment, actor=actor, now=now, reinstated=True)
                except IntegrityError:
                    claimed = False
            if not claimed:
                _refund(payment, payment.amount, reason="paid after the hold expired; slot taken", notify=False)
                _notify("payment.late_refunded", appointment, appointment.patient, *_clinic_staff())
        elif appointment.series_id is not None and appointment.status in (S.CONFIRMED, S.COMPLETED):
            pass  # a visit of a series, booked confirmed and paid at the desk: the payment stands
        else:
            # cancelled (or otherwise closed) before the money arrived
            _refund(payment, payment.amount, reason=f"paid while {appointment.status}", notify=False)
            _notify("payment.late_refunded", appointment, appointment.patient, *_clinic_staff())
    return payment


@retry_transaction
def payment_failed(*, payment: Payment, reason: str = "", actor=None, now=None) -> Payment:
    """The gateway reports the payment failed: the hold is released and the patient told."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(payment.appointment_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING:
            return payment
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = reason[:255]
        payment.save(update_fields=["status", "failure_reason"])
        audit_log(actor=actor, action="booking.payment.failed", obj=payment, data={"reason": reason[:100]})
        if appointment.status == S.PENDING_PAYMENT:
            _expire(appointment, now=now, reason="payment failed", kind="appointment.payment_failed")
    return payment


@retry_transaction
def payment_mark_cash_paid(*, appointment: Appointment, actor, now=None) -> Payment:
    """Staff record that the patient paid at the desk (the cash gateway's "callback")."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        rules.require(Action.MARK_PAID, appointment=appointment, user=actor, now=now)
        payment = appointment.payments.filter(gateway="cash", status=PaymentStatus.PENDING).first()
        if payment is None:
            payment = Payment.objects.create(
                appointment=appointment,
                gateway="cash",
                amount=appointment.amount_due,
                currency=appointment.currency,
                provider_reference=f"cash-desk-{appointment.pk}",
            )
        return payment_succeeded(payment=payment, actor=actor, now=now)


@retry_transaction
def payment_webhook_process(*, gateway: str, body: bytes, headers: dict[str, str], now=None) -> str:
    """Verify and apply a gateway callback. Idempotent by the provider's event id.

    Returns "processed", "duplicate" or "ignored". Raises InvalidWebhook on a bad signature and
    GatewayNotEnabled for a gateway this clinic does not take payments through.
    """
    event: WebhookEvent = get_gateway(require_enabled(gateway)).parse_webhook(body, headers)
    with transaction.atomic():
        try:
            with transaction.atomic():
                PaymentEvent.objects.create(
                    gateway=gateway, event_id=event.event_id, event_type=event.event_type, payload=event.payload
                )
        except IntegrityError:
            return "duplicate"
        if event.event_type == "ignored":
            return "ignored"
        if event.kind != "payment":
            # a charge of another kind (a doctor's subscription): its registered handler applies it
            handler = CHARGE_HANDLERS.get(event.kind)
            if handler is None:
                raise NotFound(_("No payment matches this event."))
            handler(gateway=gateway, event=event, now=now)
            return "processed"
        payment = None
        if event.payment_id is not None:
            payment = Payment.objects.filter(pk=event.payment_id, gateway=gateway).first()
        if payment is None and event.provider_reference:
            payment = Payment.objects.filter(provider_reference=event.provider_reference, gateway=gateway).first()
        if payment is None:
            raise NotFound(_("No payment matches this event."))
        if event.amount is not None and money(event.amount) != money(payment.amount):
            raise Conflict(_("The amount paid does not match the amount due."), code="amount_mismatch")
        if event.event_type == "payment.succeeded":
            payment_succeeded(
                payment=payment, provider_payment_intent=str(event.payload.get("payment_intent") or ""), now=now
            )
        else:
            payment_failed(payment=payment, reason=event.failure_reason, now=now)
    return "processed"


# --- refunds --------------------------------------------------------------------------------------


def _refund(
    payment: Payment, amount: Decimal, *, reason: str, force_status: bool = False, notify: bool = True
) -> Refund | None:
    """Owe ``amount`` of ``payment`` back (call with the payment locked, inside the deciding
    transaction): the Refund row is queued and the worker sends it after commit."""
    amount = money(min(amount, payment.amount - payment.refunded_amount))
    if amount <= 0 or (payment.status != PaymentStatus.SUCCEEDED and not force_status):
        return None
    refund = Refund.objects.create(payment=payment, amount=amount, reason=reason[:255], next_attempt_at=timezone.now())
    payment.refunded_amount = money(payment.refunded_amount + amount)
    fields = ["refunded_amount"]
    if payment.refunded_amount >= payment.amount:
        payment.status = PaymentStatus.REFUNDED
        fields.append("status")
    payment.save(update_fields=fields)
    audit_log(
        actor=None,
        action="booking.payment.refund_queued",
        obj=payment,
        data={"amount": str(amount), "reason": reason, "refund": refund.pk},
    )
    if notify:
        _notify(
            "payment.refunded",
            payment.appointment,
            payment.appointment.patient,
            key_suffix=f"refund{refund.pk}",
            extra={"refund": refund.pk},
        )
    enqueue_on_commit(settings.REFUND_DELIVERY_TASK, refund.pk, task_name=f"refund-{refund.pk}")
    enqueue_on_commit(settings.CREDIT_NOTE_ISSUE_TASK, refund.pk, task_name=f"credit-note-refund-{refund.pk}")
    return refund


def _refund_all(appointment: Appointment, *, percent: int = 100, reason: str) -> None:
    for payment in appointment.payments.select_for_update().filter(status=PaymentStatus.SUCCEEDED).order_by("pk"):
        _refund(payment, money(payment.amount * percent / 100), reason=reason)


def refund_deliver(*, refund_id: int, now: datetime | None = None) -> str:
    """Send queued refund ``refund_id`` to its gateway (the worker's task; safe to run twice).

    1. A short transaction moves it to "sending" and counts the attempt (a second worker skips it).
    2. The gateway call, with no transaction open, carries ``refund.idempotency_key``: a retry after a
       crash between the gateway's answer and our commit cannot refund twice.
    3. A second short transaction records the answer: succeeded with the gateway's reference, or back
       to pending with the error and the time of the next attempt (failed, and staff told, after
       ``REFUND_MAX_ATTEMPTS``).

    Returns "sent", "retry", "failed" or "skipped".
    """
    now = now or timezone.now()
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment__appointment").filter(pk=refund_id).first()
        stale_sending = (
            refund is not None
            and refund.status == RefundStatus.SENDING
            and (refund.next_attempt_at is None or refund.next_attempt_at <= now - REFUND_SENDING_STALE)
        )
        if refund is None or not (refund.status == RefundStatus.PENDING or stale_sending):
            return "skipped"
        refund.status = RefundStatus.SENDING
        refund.attempts += 1
        refund.next_attempt_at = now
        refund.save(update_fields=["status", "attempts", "next_attempt_at"])
    payment = refund.payment
    try:
        reference = get_gateway(payment.gateway).refund(payment, refund.amount, idempotency_key=refund.idempotency_key)
    except (GatewayError, DomainError) as exc:
        error = str(exc)[:500]
        with transaction.atomic():
            failed = refund.attempts >= REFUND_MAX_ATTEMPTS
            Refund.objects.filter(pk=refund.pk, status=RefundStatus.SENDING).update(
                status=RefundStatus.FAILED if failed else RefundStatus.PENDING,
                last_error=error,
                next_attempt_at=None if failed else now + _refund_backoff(refund.attempts),
            )
            if failed:
                audit_log(actor=None, action="booking.payment.refund_failed", obj=payment, data={"refund": refund.pk})
                _notify(
                    "payment.refund_failed",
                    payment.appointment,
                    *_clinic_staff(),
                    key_suffix=f"refund{refund.pk}",
                    extra={"refund": refund.pk},
                )
        logger.warning("refund %s not sent (attempt %s): %s", refund.pk, refund.attempts, error)
        return "failed" if failed else "retry"
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.SUCCEEDED, provider_reference=reference[:255], sent_at=now, last_error=""
        )
        audit_log(
            actor=None,
            action="booking.payment.refunded",
            obj=payment,
            data={"amount": str(refund.amount), "refund": refund.pk},
        )
    return "sent"


def refunds_due(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Refunds waiting for (another) attempt: pending ones whose time has come, and "sending" ones a
    crashed worker left behind."""
    now = now or timezone.now()
    pending = Refund.objects.filter(status=RefundStatus.PENDING, next_attempt_at__lte=now)
    stuck = Refund.objects.filter(status=RefundStatus.SENDING, next_attempt_at__lte=now - REFUND_SENDING_STALE)
    return list((pending | stuck).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
