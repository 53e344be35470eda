"""Payment writes: start a checkout, apply gateway outcomes (webhooks, cash at the desk), refunds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import (
    Appointment,
    AppointmentStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    Slot,
    SlotStatus,
    money,
)
from booking.payments import WebhookEvent, get_gateway
from booking.services.common import (
    NotAllowedNow,
    _claim,
    _clinic_staff,
    _ensure_video_channel,
    _expire,
    _locked,
    _notify,
    _retire_lapsed_holder,
    _save,
    _transition,
    actor_role,
)
from core.audit import audit_log
from core.errors import Conflict, NotFound, PermissionDenied

S = AppointmentStatus


def payment_start(
    *, appointment: Appointment, gateway: str, actor, success_url: str = "", cancel_url: str = "", now=None
) -> Payment:
    """Open a payment for the amount due through ``gateway``; returns it with its checkout URL."""
    now = now or timezone.now()
    actor_role(appointment=appointment, actor=actor)
    gw = get_gateway(gateway)
    with transaction.atomic():
        appointment = _locked(appointment)
        if appointment.status != S.PENDING_PAYMENT:
            raise NotAllowedNow(_("This appointment is not waiting for payment."))
        if not appointment.hold_is_live(now):
            raise NotAllowedNow(_("The time reserved for payment has run out. Please book again."), code="hold_expired")
        open_payment = appointment.payments.filter(status=PaymentStatus.PENDING, gateway=gateway).first()
        if open_payment is not None and open_payment.amount == appointment.amount_due:
            return open_payment  # a retry: same checkout
        payment = Payment.objects.create(
            appointment=appointment, gateway=gateway, amount=appointment.amount_due, currency=appointment.currency
        )
        result = gw.start(payment, success_url=success_url, cancel_url=cancel_url)
        payment.checkout_url = result.checkout_url
        payment.provider_reference = result.provider_reference
        payment.save(update_fields=["checkout_url", "provider_reference"])
        audit_log(actor=actor, action="booking.payment.started", obj=payment, data={"gateway": gateway})
    return payment


def _finalize_paid(appointment: Appointment, *, actor, now: datetime, reinstated: bool) -> None:
    """The slot is ours and paid: booked, then confirmed or waiting for the doctor."""
    Slot.objects.filter(pk=appointment.slot_id).update(status=SlotStatus.BOOKED, hold_expires_at=None, updated_at=now)
    if appointment.doctor.auto_confirm:
        _transition(appointment, "reinstate_confirmed" if reinstated else "confirm_paid", actor=actor)
        appointment.confirmed_at = now
        _ensure_video_channel(appointment)
        _save(appointment, "confirmed_at", "video_channel")
        _notify("appointment.confirmed", appointment, appointment.patient, appointment.doctor.user)
    else:
        _transition(appointment, "reinstate_pending" if reinstated else "await_doctor", actor=actor)
        _save(appointment)
        _notify("appointment.paid_pending", appointment, appointment.patient)
        _notify("appointment.request_received", appointment, appointment.doctor.user)


def payment_succeeded(*, payment: Payment, actor=None, provider_payment_intent: str = "", now=None) -> Payment:
    """A gateway (or staff, for cash) reports the money arrived. Idempotent: a second report is a no-op.

    Paid inside the hold: the slot is booked. Paid after the hold lapsed: booked if the slot is still
    free, otherwise refunded in full with patient and staff told.
    """
    now = now or timezone.now()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            return payment
        appointment = _locked(payment.appointment)
        payment.status = PaymentStatus.SUCCEEDED
        payment.paid_at = now
        payment.provider_payment_intent = provider_payment_intent or payment.provider_payment_intent
        try:
            with transaction.atomic():
                payment.save(update_fields=["status", "paid_at", "provider_payment_intent"])
        except IntegrityError:
            # the appointment was already paid through another payment: give this money back
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
            payment.status = PaymentStatus.SUCCEEDED
            _refund(payment, payment.amount, reason="duplicate payment", force_status=True)
            return payment
        audit_log(actor=actor, action="booking.payment.succeeded", obj=payment, data={"gateway": payment.gateway})

        if appointment.status == S.PENDING_PAYMENT and appointment.hold_is_live(now):
            _finalize_paid(appointment, actor=actor, now=now, reinstated=False)
        elif appointment.status in (S.PENDING_PAYMENT, S.EXPIRED) and appointment.slot_id:
            # Late payment: the slot is still ours if nobody else holds it.
            if appointment.status == S.PENDING_PAYMENT:
                _expire(appointment, now=now, reason="hold lapsed before payment", release_slot=False, notify=False)
            claimed = _claim(appointment.slot_id, now=now, status=SlotStatus.BOOKED, hold_until=None)
            if claimed:
                _retire_lapsed_holder(appointment.slot_id, now=now)
                try:
                    with transaction.atomic():
                        _finalize_paid(appointment, actor=actor, now=now, reinstated=True)
                except IntegrityError:
                    claimed = False
            if not claimed:
                _refund(payment, payment.amount, reason="paid after the hold expired; slot taken", notify=False)
                _notify("payment.late_refunded", appointment, appointment.patient, *_clinic_staff())
        else:
            # cancelled (or otherwise closed) before the money arrived
            _refund(payment, payment.amount, reason=f"paid while {appointment.status}", notify=False)
            _notify("payment.late_refunded", appointment, appointment.patient, *_clinic_staff())
    return payment


def payment_failed(*, payment: Payment, reason: str = "", actor=None, now=None) -> Payment:
    """The gateway reports the payment failed: the hold is released and the patient told."""
    now = now or timezone.now()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING:
            return payment
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = reason[:255]
        payment.save(update_fields=["status", "failure_reason"])
        audit_log(actor=actor, action="booking.payment.failed", obj=payment, data={"reason": reason[:100]})
        appointment = _locked(payment.appointment)
        if appointment.status == S.PENDING_PAYMENT:
            _expire(appointment, now=now, reason="payment failed", kind="appointment.payment_failed")
    return payment


def payment_mark_cash_paid(*, appointment: Appointment, actor, now=None) -> Payment:
    """Staff record that the patient paid at the desk (the cash gateway's "callback")."""
    role = actor_role(appointment=appointment, actor=actor)
    if role not in {"staff", "admin"}:
        raise PermissionDenied(_("Only clinic staff can record a payment at the desk."))
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment)
        payment = appointment.payments.filter(gateway="cash", status=PaymentStatus.PENDING).first()
        if payment is None:
            if appointment.status not in (S.PENDING_PAYMENT, S.EXPIRED):
                raise NotAllowedNow(_("This appointment has nothing to pay."))
            payment = Payment.objects.create(
                appointment=appointment,
                gateway="cash",
                amount=appointment.amount_due,
                currency=appointment.currency,
                provider_reference=f"cash-desk-{appointment.pk}",
            )
    return payment_succeeded(payment=payment, actor=actor, now=now)


def payment_webhook_process(*, gateway: str, body: bytes, headers: dict[str, str], now=None) -> str:
    """Verify and apply a gateway callback. Idempotent by the provider's event id.

    Returns "processed", "duplicate" or "ignored". Raises InvalidWebhook on a bad signature.
    """
    event: WebhookEvent = get_gateway(gateway).parse_webhook(body, headers)
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


def _refund(
    payment: Payment, amount: Decimal, *, reason: str, force_status: bool = False, notify: bool = True
) -> Refund | None:
    amount = money(min(amount, payment.amount - payment.refunded_amount))
    if amount <= 0 or (payment.status != PaymentStatus.SUCCEEDED and not force_status):
        return None
    reference = get_gateway(payment.gateway).refund(payment, amount)
    refund = Refund.objects.create(payment=payment, amount=amount, reason=reason[:255], provider_reference=reference)
    payment.refunded_amount = money(payment.refunded_amount + amount)
    fields = ["refunded_amount"]
    if payment.refunded_amount >= payment.amount:
        payment.status = PaymentStatus.REFUNDED
        fields.append("status")
    payment.save(update_fields=fields)
    audit_log(
        actor=None, action="booking.payment.refunded", obj=payment, data={"amount": str(amount), "reason": reason}
    )
    if notify:
        _notify(
            "payment.refunded",
            payment.appointment,
            payment.appointment.patient,
            key_suffix=f"refund{refund.pk}",
            extra={"refund": refund.pk},
        )
    return refund


def _refund_all(appointment: Appointment, *, percent: int = 100, reason: str) -> None:
    for payment in appointment.payments.select_for_update().filter(status=PaymentStatus.SUCCEEDED):
        _refund(payment, money(payment.amount * percent / 100), reason=reason)
