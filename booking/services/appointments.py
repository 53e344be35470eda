"""Appointment writes: book (claim a slot), pay, confirm, decline, cancel, reschedule, complete,
no-show, follow-ups, hold expiry. Nothing else saves an Appointment, Payment or a slot's claim.

Every function runs in one transaction: claim or lock first, check, transition, save with
``update_fields``, audit, outbox. Domain errors are ``core.errors.DomainError`` subclasses with
translated messages; callers show them, never a 500.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CancelledBy,
    PaymentStatus,
    Slot,
    SlotStatus,
    Voucher,
    money,
)
from booking.services.common import (
    BookingDetails,
    NotAllowedNow,
    PolicyViolation,
    VoucherInvalid,
    _base_price,
    _check_bookable,
    _check_hold_limit,
    _claim,
    _ensure_video_channel,
    _expire,
    _give_back_voucher,
    _locked,
    _notify,
    _release_slot,
    _retire_lapsed_holder,
    _save,
    _slot_taken,
    _transition,
    actor_role,
)
from booking.services.payments import _refund_all, payment_mark_cash_paid
from core.audit import audit_log
from core.errors import DomainError, PermissionDenied

S = AppointmentStatus


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


def appointment_force_confirm(*, appointment: Appointment, actor, now: datetime | None = None) -> Appointment:
    """Admin override (seed 000 ``PATCH /appointments/:id``): confirm an open appointment now.

    Unpaid: the amount due is recorded as paid at the desk (cash), which books the slot; waiting for
    the doctor: confirmed on the doctor's behalf. Raises NotAllowedNow when it cannot end confirmed.
    """
    now = now or timezone.now()
    if actor_role(appointment=appointment, actor=actor) != "admin":
        raise PermissionDenied(_("Only clinic admins can force a confirmation."))
    if appointment.status in (S.PENDING_PAYMENT, S.EXPIRED):
        payment_mark_cash_paid(appointment=appointment, actor=actor, now=now)
        appointment.refresh_from_db()
    if appointment.status == S.PENDING:
        appointment = appointment_confirm(appointment=appointment, actor=actor, now=now)
    if appointment.status != S.CONFIRMED:
        raise NotAllowedNow(_("This appointment cannot be confirmed now."), details={"status": appointment.status})
    return appointment
