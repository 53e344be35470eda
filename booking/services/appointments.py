"""Appointment writes: book (claim a slot), pay, confirm, decline, cancel, reschedule, complete,
no-show, follow-ups, hold expiry. Nothing else saves an Appointment, Payment or a slot's claim.

Every function runs in one transaction: claim or lock first, check, transition, save with
``update_fields``, audit, outbox. Domain errors are ``core.errors.DomainError`` subclasses with
translated messages; callers show them, never a 500.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingDefaults,
    CancelledBy,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    Slot,
    SlotStatus,
    Voucher,
    money,
)
from booking.payments import WebhookEvent, get_gateway
from booking.selectors.appointments import nearest_free_slots
from booking.selectors.scheduling import slot_free_q
from core.audit import audit_log
from core.errors import Conflict, DomainError, NotFound, PermissionDenied
from core.outbox import outbox_add

S = AppointmentStatus


# --- errors ---------------------------------------------------------------------------------------


class SlotTaken(Conflict):
    code = "slot_taken"


class HoldLimitReached(Conflict):
    code = "hold_limit_reached"


class NotAllowedNow(Conflict):
    code = "not_allowed_now"


class PolicyViolation(DomainError):
    code = "policy_violation"


class VoucherInvalid(DomainError):
    code = "voucher_invalid"


# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingDetails:
    first_name: str
    last_name: str
    phone: str
    email: str
    national_id: str = ""
    reason: str = ""

    @classmethod
    def from_patient(cls, patient, *, reason: str = "") -> BookingDetails:
        profile = getattr(patient, "patient_profile", None)
        return cls(
            first_name=patient.first_name,
            last_name=patient.last_name,
            phone=getattr(profile, "phone", "") or "",
            email=patient.email,
            national_id=getattr(profile, "national_id", "") or "",
            reason=reason,
        )

    def validate(self) -> None:
        missing = [name for name in ("first_name", "last_name", "phone", "email") if not getattr(self, name).strip()]
        if missing:
            raise DomainError(
                _("Please fill in: %(fields)s.") % {"fields": ", ".join(missing)},
                code="details_missing",
                details={"fields": missing},
            )


# --- helpers --------------------------------------------------------------------------------------


def actor_role(*, appointment: Appointment, actor) -> str:
    """How ``actor`` relates to ``appointment``: "patient", "doctor", "staff" or "admin".

    Anyone else gets NotFound (404), never a hint that the appointment exists.
    """
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise NotFound(_("Appointment not found."))
    if actor.role == "admin":
        return "admin"
    if actor.role == "staff":
        return "staff"
    if actor.role == "doctor" and appointment.doctor.user_id == actor.pk:
        return "doctor"
    if actor.role == "patient" and appointment.patient_id == actor.pk:
        return "patient"
    raise NotFound(_("Appointment not found."))


def _locked(appointment: Appointment) -> Appointment:
    """Re-read ``appointment`` with a row lock (call inside a transaction)."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("doctor__user", "patient", "slot")
        .get(pk=appointment.pk)
    )


def _transition(appointment: Appointment, name: str, *, actor, description: str = "") -> None:
    method = getattr(appointment, name)
    try:
        method(by=actor if actor is not None and actor.is_authenticated else None, description=description or None)
    except TransitionNotAllowed:
        raise NotAllowedNow(
            _("This is not possible while the appointment is “%(status)s”.")
            % {"status": appointment.get_status_display()},
            details={"status": appointment.status},
        ) from None


def _save(appointment: Appointment, *fields: str) -> None:
    appointment.save(update_fields=["status", "updated_at", *fields])


def _notify(kind: str, appointment: Appointment, *recipients, key_suffix: str = "", extra: dict | None = None) -> None:
    for recipient in recipients:
        if recipient is None:
            continue
        suffix = f":{key_suffix}" if key_suffix else ""
        outbox_add(
            kind=kind,
            recipient=recipient,
            obj=appointment,
            context={"appointment": appointment.pk, **(extra or {})},
            dedupe_key=f"{kind}:appointment:{appointment.pk}:{recipient.pk}{suffix}",
        )


def _clinic_staff():
    return list(get_user_model().objects.filter(role__in=["staff", "admin"], is_active=True))


def _base_price(doctor, appointment_type: AppointmentType | None) -> Decimal:
    if appointment_type is not None and appointment_type.price is not None:
        return money(appointment_type.price)
    return money(doctor.consultation_fee)


def _claim(slot_id: int, *, now: datetime, status: str, hold_until: datetime | None) -> bool:
    """One conditional UPDATE: take the slot if nobody holds it. False means someone else has it."""
    return (
        Slot.objects.filter(slot_free_q(now=now), pk=slot_id).update(
            status=status, hold_expires_at=hold_until, updated_at=now
        )
        == 1
    )


def _retire_lapsed_holder(slot_id: int, *, now: datetime) -> None:
    """An appointment whose hold lapsed still occupies its slot until swept: expire it now."""
    for stale in Appointment.objects.select_for_update().filter(
        slot_id=slot_id, status=S.PENDING_PAYMENT, hold_expires_at__lte=now
    ):
        _expire(stale, now=now, reason="hold lapsed", release_slot=False)


def _release_slot(appointment: Appointment, *, now: datetime) -> None:
    """Free the appointment's slot if it is still claimed for it (never touch someone else's claim)."""
    if appointment.slot_id is None:
        return
    slot_filter = Q(status=SlotStatus.BOOKED)
    if appointment.status in (S.PENDING_PAYMENT, S.EXPIRED, S.CANCELLED) and appointment.hold_expires_at:
        slot_filter |= Q(status=SlotStatus.HELD, hold_expires_at=appointment.hold_expires_at)
    Slot.objects.filter(slot_filter, pk=appointment.slot_id, start__gt=now).update(
        status=SlotStatus.FREE, hold_expires_at=None, updated_at=now
    )


def _check_bookable(slot: Slot, *, now: datetime) -> None:
    doctor = slot.doctor
    if not doctor.is_active:
        raise PolicyViolation(_("This doctor is not taking bookings."))
    # workflows.clinic: a doctor whose subscription is overdue takes no bookings while
    # SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING is on (the same check hides their slots from listings).
    from workflows.clinic.selectors import doctor_booking_blocked

    if doctor_booking_blocked(doctor=doctor):
        raise PolicyViolation(_("This doctor is not taking bookings."), code="subscription_overdue")
    policy = doctor.policy()
    if slot.start <= now:
        raise PolicyViolation(_("This time has already passed."))
    if slot.start < now + policy.min_notice:
        hours = int(policy.min_notice.total_seconds() // 3600)
        raise PolicyViolation(
            _("Bookings must be made at least %(hours)s hours ahead.") % {"hours": hours}, code="inside_minimum_notice"
        )
    if slot.start > now + policy.max_advance:
        raise PolicyViolation(
            _("Bookings open %(days)s days ahead.") % {"days": policy.max_advance.days}, code="beyond_advance_window"
        )


def _slot_taken(slot: Slot, *, now: datetime) -> SlotTaken:
    alternatives = nearest_free_slots(doctor=slot.doctor, around=slot.start, now=now)
    return SlotTaken(
        _("This slot was just taken. Please choose another time."),
        details={
            "alternatives": [
                {"id": alt.pk, "start": alt.start.isoformat(), "end": alt.end.isoformat()} for alt in alternatives
            ]
        },
    )


def _check_hold_limit(patient, *, now: datetime) -> None:
    # Lock the patient's row so two parallel bookings cannot both pass the count.
    get_user_model().objects.select_for_update().filter(pk=patient.pk).first()
    live = Appointment.objects.filter(patient=patient, status=S.PENDING_PAYMENT, hold_expires_at__gt=now).count()
    if live >= settings.BOOKING_MAX_HOLDS_PER_PATIENT:
        raise HoldLimitReached(
            _("You already have %(count)s bookings waiting for payment. Pay or cancel one first.") % {"count": live}
        )


# --- booking --------------------------------------------------------------------------------------


def appointment_book(
    *,
    slot: Slot,
    patient,
    actor,
    details: BookingDetails,
    appointment_type: AppointmentType | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Hold ``slot`` for ``patient`` and create the appointment in ``pending_payment``.

    ``actor`` is the patient, or staff booking on their behalf. Raises SlotTaken (with the nearest
    alternatives) when the slot was claimed first, HoldLimitReached, PolicyViolation.
    """
    now = now or timezone.now()
    details.validate()
    if patient.role != "patient":
        raise PolicyViolation(_("Appointments are booked for patients."))
    if actor.role == "patient" and actor.pk != patient.pk:
        raise PermissionDenied(_("You can only book for yourself."))
    slot = Slot.objects.select_related("doctor__user").get(pk=slot.pk)
    already = Appointment.objects.filter(
        patient=patient, slot=slot, status=S.PENDING_PAYMENT, hold_expires_at__gt=now
    ).first()
    if already is not None:
        return already  # a double submit or a retry: the patient already holds this slot
    _check_bookable(slot, now=now)
    policy = slot.doctor.policy()
    hold_until = now + policy.hold
    with transaction.atomic():
        _check_hold_limit(patient, now=now)
        if not _claim(slot.pk, now=now, status=SlotStatus.HELD, hold_until=hold_until):
            raise _slot_taken(slot, now=now)
        _retire_lapsed_holder(slot.pk, now=now)
        price = _base_price(slot.doctor, appointment_type)
        appointment = Appointment(
            doctor=slot.doctor,
            patient=patient,
            slot=slot,
            appointment_type=appointment_type,
            starts_at=slot.start,
            ends_at=slot.end,
            mode=appointment_type.mode if appointment_type else "video",
            first_name=details.first_name.strip(),
            last_name=details.last_name.strip(),
            phone=details.phone.strip(),
            email=details.email.strip(),
            national_id=details.national_id.strip(),
            reason=details.reason.strip(),
            hold_expires_at=hold_until,
            price=price,
            currency=slot.doctor.currency,
        )
        try:
            with transaction.atomic():
                appointment.save()
        except IntegrityError:
            # the partial unique index on the slot: someone else's appointment got there first
            raise _slot_taken(slot, now=now) from None
        audit_log(
            actor=actor,
            action="booking.appointment.booked",
            obj=appointment,
            data={"slot": slot.pk, "doctor": slot.doctor_id, "on_behalf": actor.pk != patient.pk},
        )
        _notify("appointment.held", appointment, patient)
    return appointment


def appointment_apply_voucher(
    *, appointment: Appointment, code: str, actor, now: datetime | None = None
) -> Appointment:
    """Apply a voucher to an unpaid appointment (one voucher per appointment; its use is reserved now
    and given back if the appointment expires or is cancelled unpaid)."""
    now = now or timezone.now()
    actor_role(appointment=appointment, actor=actor)
    code = (code or "").strip().upper()
    with transaction.atomic():
        appointment = _locked(appointment)
        if appointment.status != S.PENDING_PAYMENT:
            raise NotAllowedNow(_("Vouchers can only be applied before paying."))
        if appointment.voucher_id:
            raise VoucherInvalid(_("A voucher is already applied to this appointment."))
        voucher = Voucher.objects.filter(code__iexact=code, is_active=True).first()
        if voucher is None:
            raise VoucherInvalid(_("This voucher code is not valid."))
        if (voucher.valid_from and voucher.valid_from > now) or (voucher.valid_until and voucher.valid_until < now):
            raise VoucherInvalid(_("This voucher is not valid today."))
        used = (
            Voucher.objects.filter(pk=voucher.pk)
            .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
            .update(used_count=F("used_count") + 1)
        )
        if not used:
            raise VoucherInvalid(_("This voucher has been used up."))
        appointment.voucher = voucher
        appointment.discount = min(
            appointment.price, money(appointment.discount + voucher.discount_for(appointment.amount_due))
        )
        appointment.save(update_fields=["voucher", "discount", "updated_at"])
        audit_log(
            actor=actor, action="booking.appointment.voucher_applied", obj=appointment, data={"voucher": voucher.pk}
        )
    return appointment


def _give_back_voucher(appointment: Appointment) -> None:
    if appointment.voucher_id and not appointment.payments.filter(status=PaymentStatus.SUCCEEDED).exists():
        Voucher.objects.filter(pk=appointment.voucher_id, used_count__gt=0).update(used_count=F("used_count") - 1)


# --- payment --------------------------------------------------------------------------------------


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


def _ensure_video_channel(appointment: Appointment) -> None:
    if not appointment.video_channel:
        appointment.video_channel = f"appt_{appointment.pk}_{secrets.token_hex(8)}"


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


# --- expiry ---------------------------------------------------------------------------------------


def _expire(
    appointment: Appointment,
    *,
    now: datetime,
    reason: str,
    release_slot: bool = True,
    notify: bool = True,
    kind: str = "appointment.hold_expired",
) -> None:
    _transition(appointment, "expire", actor=None, description=reason)
    _save(appointment)
    if release_slot:
        _release_slot(appointment, now=now)
    _give_back_voucher(appointment)
    audit_log(actor=None, action="booking.appointment.expired", obj=appointment, data={"reason": reason})
    if notify:
        _notify(kind, appointment, appointment.patient)


def appointments_expire_lapsed_holds(*, now: datetime | None = None, limit: int = 500) -> int:
    """Tidy up: mark lapsed holds ``expired`` and tell the patients. Availability never waits for this
    (an expired hold already counts as free); each row is re-checked under lock before it changes."""
    now = now or timezone.now()
    expired = 0
    ids = list(
        Appointment.objects.filter(status=S.PENDING_PAYMENT, hold_expires_at__lte=now)
        .order_by("hold_expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            appointment = (
                Appointment.objects.select_for_update(of=("self",)).select_related("patient").filter(pk=pk).first()
            )
            if appointment is None or appointment.status != S.PENDING_PAYMENT or appointment.hold_is_live(now):
                continue
            _expire(appointment, now=now, reason="hold lapsed")
            expired += 1
    return expired


# --- doctor decisions -----------------------------------------------------------------------------


def appointment_confirm(*, appointment: Appointment, actor, now=None) -> Appointment:
    """The doctor accepts a paid request (staff may confirm for them, an admin may force it)."""
    now = now or timezone.now()
    actor_role(appointment=appointment, actor=actor)
    with transaction.atomic():
        appointment = _locked(appointment)
        _transition(appointment, "confirm", actor=actor)
        appointment.confirmed_at = now
        _ensure_video_channel(appointment)
        _save(appointment, "confirmed_at", "video_channel")
        audit_log(actor=actor, action="booking.appointment.confirmed", obj=appointment)
        confirmed_for = [appointment.patient]
        if actor is None or actor.pk != appointment.doctor.user_id:
            confirmed_for.append(appointment.doctor.user)  # staff or an admin confirmed for the doctor
        _notify("appointment.confirmed", appointment, *confirmed_for)
    return appointment


def appointment_decline(*, appointment: Appointment, actor, reason: str, now=None) -> Appointment:
    """The doctor declines a paid request: cancelled, slot freed, payment refunded in full."""
    now = now or timezone.now()
    role = actor_role(appointment=appointment, actor=actor)
    if role == "patient":
        raise PermissionDenied(_("Only the clinic can decline a request."))
    if not reason.strip():
        raise DomainError(_("Please give a reason."), code="reason_required")
    with transaction.atomic():
        appointment = _locked(appointment)
        _transition(appointment, "decline", actor=actor, description=reason)
        appointment.cancelled_at = now
        appointment.cancelled_by = CancelledBy.DOCTOR if role == "doctor" else CancelledBy(role)
        appointment.cancelled_by_user = actor
        appointment.cancellation_reason = reason.strip()
        _save(appointment, "cancelled_at", "cancelled_by", "cancelled_by_user", "cancellation_reason")
        _release_slot(appointment, now=now)
        _refund_all(appointment, reason="declined by the clinic")
        audit_log(actor=actor, action="booking.appointment.declined", obj=appointment)
        _notify("appointment.declined", appointment, appointment.patient)
    return appointment


# --- cancel and reschedule -------------------------------------------------------------------------


def cancellation_terms(*, appointment: Appointment, now: datetime) -> dict:
    """What cancelling now means for the patient: is it late, and what share is refunded."""
    policy = appointment.doctor.policy()
    late = appointment.starts_at is not None and now > appointment.starts_at - policy.cancellation_notice
    percent = policy.late_cancellation_refund_percent if late else 100
    paid = sum(
        (p.amount - p.refunded_amount for p in appointment.payments.all() if p.status == PaymentStatus.SUCCEEDED),
        Decimal("0"),
    )
    return {
        "late": late,
        "refund_percent": percent,
        "refund_amount": money(paid * percent / 100),
        "notice_hours": int(policy.cancellation_notice.total_seconds() // 3600),
    }


def appointment_cancel(
    *, appointment: Appointment, actor, reason: str = "", force: bool = False, now: datetime | None = None
) -> Appointment:
    """Cancel. Patients: until the visit starts (inside the notice period it is recorded as late and
    refunded per policy). Doctors and staff: with a reason, full refund. Admins: ``force``, any open state."""
    now = now or timezone.now()
    role = actor_role(appointment=appointment, actor=actor)
    if role in {"doctor", "staff"} and not reason.strip():
        raise DomainError(_("Please give a reason for the patient."), code="reason_required")
    if force and role != "admin":
        raise PermissionDenied(_("Only clinic admins can force a cancellation."))
    with transaction.atomic():
        appointment = _locked(appointment)
        if role == "patient" and appointment.has_started(now):
            raise NotAllowedNow(_("The visit has already started; it can no longer be cancelled."))
        terms = cancellation_terms(appointment=appointment, now=now)
        late = role == "patient" and terms["late"] and appointment.status != S.PENDING_PAYMENT
        _transition(appointment, "cancel", actor=actor, description=reason)
        appointment.cancelled_at = now
        appointment.cancelled_by = CancelledBy(role)
        appointment.cancelled_by_user = actor
        appointment.cancellation_reason = reason.strip()
        appointment.cancelled_late = late
        _save(appointment, "cancelled_at", "cancelled_by", "cancelled_by_user", "cancellation_reason", "cancelled_late")
        _release_slot(appointment, now=now)
        _give_back_voucher(appointment)
        _refund_all(appointment, percent=terms["refund_percent"] if late else 100, reason=f"cancelled by {role}")
        audit_log(
            actor=actor,
            action="booking.appointment.cancelled",
            obj=appointment,
            data={"by": role, "late": late, "forced": force},
        )
        others = {"patient": [appointment.doctor.user], "doctor": [appointment.patient]}.get(
            role, [appointment.patient, appointment.doctor.user]
        )
        _notify("appointment.cancelled", appointment, *others)
    return appointment


def appointment_reschedule(
    *, appointment: Appointment, new_slot: Slot, actor, now: datetime | None = None
) -> Appointment:
    """Move the appointment to ``new_slot`` of the same doctor in one transaction: the new slot is
    claimed first, then the old one freed; reminders follow the new time (their keys carry it)."""
    now = now or timezone.now()
    role = actor_role(appointment=appointment, actor=actor)
    new_slot = Slot.objects.select_related("doctor__user").get(pk=new_slot.pk)
    if new_slot.doctor_id != appointment.doctor_id:
        raise PolicyViolation(_("Pick a time with the same doctor."))
    if role == "patient":
        _check_bookable(new_slot, now=now)
    elif new_slot.start <= now:
        raise PolicyViolation(_("This time has already passed."))
    with transaction.atomic():
        appointment = _locked(appointment)
        if appointment.status not in (S.PENDING_PAYMENT, S.PENDING, S.CONFIRMED):
            raise NotAllowedNow(_("Only open appointments can be rescheduled."))
        if role == "patient" and cancellation_terms(appointment=appointment, now=now)["late"]:
            raise NotAllowedNow(_("It is too close to the visit to reschedule. Please contact the clinic."))
        if appointment.status == S.PENDING_PAYMENT and not appointment.hold_is_live(now):
            raise NotAllowedNow(_("The time reserved for payment has run out. Please book again."), code="hold_expired")
        held = appointment.status == S.PENDING_PAYMENT
        if not _claim(
            new_slot.pk,
            now=now,
            status=SlotStatus.HELD if held else SlotStatus.BOOKED,
            hold_until=appointment.hold_expires_at if held else None,
        ):
            raise _slot_taken(new_slot, now=now)
        _retire_lapsed_holder(new_slot.pk, now=now)
        old_slot_id, old_start = appointment.slot_id, appointment.starts_at
        _release_slot(appointment, now=now)
        appointment.slot = new_slot
        appointment.starts_at = new_slot.start
        appointment.ends_at = new_slot.end
        try:
            with transaction.atomic():
                appointment.save(update_fields=["slot", "starts_at", "ends_at", "updated_at"])
        except IntegrityError:
            raise _slot_taken(new_slot, now=now) from None
        entry = audit_log(
            actor=actor,
            action="booking.appointment.rescheduled",
            obj=appointment,
            data={
                "from_slot": old_slot_id,
                "to_slot": new_slot.pk,
                "from": old_start.isoformat() if old_start else None,
            },
        )
        recipients = [appointment.patient, appointment.doctor.user]
        # one message per move (A→B→A→B announces every move)
        _notify("appointment.rescheduled", appointment, *recipients, key_suffix=f"move{entry.pk}")
    return appointment


# --- visit outcome --------------------------------------------------------------------------------


def appointment_complete(*, appointment: Appointment, actor, now: datetime | None = None) -> Appointment:
    """The visit happened (the doctor marks it, or ends the video call). Not before it starts."""
    now = now or timezone.now()
    role = actor_role(appointment=appointment, actor=actor)
    if role == "patient":
        raise PermissionDenied(_("Only the doctor or the clinic can complete a visit."))
    with transaction.atomic():
        appointment = _locked(appointment)
        if appointment.status == S.COMPLETED:
            return appointment
        if not appointment.has_started(now):
            raise NotAllowedNow(_("A visit can be completed once it has started."))
        _transition(appointment, "complete", actor=actor)
        appointment.completed_at = now
        _save(appointment, "completed_at")
        audit_log(actor=actor, action="booking.appointment.completed", obj=appointment)
    return appointment


def appointment_mark_no_show(*, appointment: Appointment, actor, now: datetime | None = None) -> Appointment:
    """The patient did not come: only the doctor or staff, only after the start time."""
    now = now or timezone.now()
    role = actor_role(appointment=appointment, actor=actor)
    if role == "patient":
        raise PermissionDenied(_("Only the doctor or the clinic can record a no-show."))
    with transaction.atomic():
        appointment = _locked(appointment)
        if not appointment.has_started(now):
            raise NotAllowedNow(_("A no-show can only be recorded after the start time."))
        _transition(appointment, "mark_no_show", actor=actor)
        _save(appointment)
        audit_log(actor=actor, action="booking.appointment.no_show", obj=appointment)
        _notify("appointment.no_show", appointment, appointment.patient)
    return appointment


# --- follow-ups (seed 001) ------------------------------------------------------------------------


def follow_up_suggest(
    *,
    doctor_user,
    patient,
    suggested_date: date,
    suggested_time: time | None = None,
    appointment_type: AppointmentType | None = None,
    notes: str = "",
    parent: Appointment | None = None,
    actor=None,
    now: datetime | None = None,
) -> Appointment:
    """A doctor suggests a follow-up visit: ``pending_patient_confirmation`` with the clinic's
    follow-up discount; the patient is told by notification and email."""
    now = now or timezone.now()
    actor = actor or doctor_user
    doctor = getattr(doctor_user, "doctor", None)
    if doctor is None:
        raise PermissionDenied(_("Only doctors can suggest a follow-up."))
    if patient.role != "patient":
        raise PolicyViolation(_("Follow-ups are suggested to patients."))
    if parent is not None and (parent.doctor_id != doctor.pk or parent.patient_id != patient.pk):
        raise NotFound(_("Appointment not found."))
    if suggested_date < timezone.localtime(now, doctor.zone).date():
        raise PolicyViolation(_("Suggest a date in the future."))
    details = BookingDetails.from_patient(patient)
    if parent is not None:
        details = BookingDetails(
            first_name=parent.first_name,
            last_name=parent.last_name,
            phone=parent.phone,
            email=parent.email,
            national_id=parent.national_id,
        )
    discount = BookingDefaults.load().follow_up_discount_percent
    with transaction.atomic():
        appointment = Appointment(
            doctor=doctor,
            patient=patient,
            appointment_type=appointment_type,
            status=S.PENDING_PATIENT_CONFIRMATION,
            mode=appointment_type.mode if appointment_type else "video",
            first_name=details.first_name or patient.first_name or patient.email,
            last_name=details.last_name,
            phone=details.phone,
            email=details.email or patient.email,
            national_id=details.national_id,
            is_follow_up_suggestion=True,
            parent=parent,
            suggested_by=actor,
            suggested_date=suggested_date,
            suggested_time=suggested_time,
            follow_up_discount_percent=discount,
            follow_up_notes=notes.strip(),
            price=_base_price(doctor, appointment_type),
            currency=doctor.currency,
        )
        appointment.save()
        audit_log(
            actor=actor,
            action="booking.follow_up.suggested",
            obj=appointment,
            data={"parent": getattr(parent, "pk", None)},
        )
        _notify("follow_up.suggested", appointment, patient)
    return appointment


def follow_up_accept(*, appointment: Appointment, slot: Slot, actor, now: datetime | None = None) -> Appointment:
    """The patient accepts a suggested follow-up by picking its final slot: the slot is held and the
    appointment waits for payment at the discounted price; the doctor is told."""
    now = now or timezone.now()
    role = actor_role(appointment=appointment, actor=actor)
    if role != "patient":
        raise PermissionDenied(_("Only the patient can accept a follow-up."))
    slot = Slot.objects.select_related("doctor__user").get(pk=slot.pk)
    if slot.doctor_id != appointment.doctor_id:
        raise PolicyViolation(_("Pick a time with the doctor who suggested the follow-up."))
    _check_bookable(slot, now=now)
    hold_until = now + slot.doctor.policy().hold
    with transaction.atomic():
        appointment = _locked(appointment)
        if appointment.status != S.PENDING_PATIENT_CONFIRMATION:
            raise NotAllowedNow(_("This follow-up suggestion is no longer open."))
        _check_hold_limit(appointment.patient, now=now)
        if not _claim(slot.pk, now=now, status=SlotStatus.HELD, hold_until=hold_until):
            raise _slot_taken(slot, now=now)
        _retire_lapsed_holder(slot.pk, now=now)
        _transition(appointment, "accept_follow_up", actor=actor)
        appointment.slot = slot
        appointment.starts_at = slot.start
        appointment.ends_at = slot.end
        appointment.hold_expires_at = hold_until
        appointment.discount = money(appointment.price * appointment.follow_up_discount_percent / 100)
        try:
            with transaction.atomic():
                _save(appointment, "slot", "starts_at", "ends_at", "hold_expires_at", "discount")
        except IntegrityError:
            raise _slot_taken(slot, now=now) from None
        audit_log(actor=actor, action="booking.follow_up.accepted", obj=appointment, data={"slot": slot.pk})
        _notify("follow_up.accepted", appointment, appointment.doctor.user)
    return appointment


def follow_up_reject(*, appointment: Appointment, actor, reason: str = "", now: datetime | None = None) -> Appointment:
    """The patient rejects the suggestion: cancelled by the patient with the seed's reason; doctor told."""
    now = now or timezone.now()
    role = actor_role(appointment=appointment, actor=actor)
    if role != "patient":
        raise PermissionDenied(_("Only the patient can reject a follow-up."))
    with transaction.atomic():
        appointment = _locked(appointment)
        _transition(appointment, "reject_follow_up", actor=actor, description=reason)
        appointment.cancelled_at = now
        appointment.cancelled_by = CancelledBy.PATIENT
        appointment.cancelled_by_user = actor
        default_reason = _("The patient declined the follow-up visit.")
        appointment.cancellation_reason = f"{default_reason} {reason.strip()}".strip()
        _save(appointment, "cancelled_at", "cancelled_by", "cancelled_by_user", "cancellation_reason")
        audit_log(actor=actor, action="booking.follow_up.rejected", obj=appointment)
        _notify("follow_up.rejected", appointment, appointment.doctor.user)
    return appointment
