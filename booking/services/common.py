"""Shared pieces of the appointment, payment and follow-up services: domain errors, booking details,
the slot claim and release, row locks, transitions, notifications.

Private helpers (leading underscore) are for the service modules of this package only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    PaymentStatus,
    Slot,
    SlotStatus,
    Voucher,
    money,
)
from booking.selectors.appointments import nearest_free_slots
from booking.selectors.scheduling import slot_free_q
from core.audit import audit_log
from core.errors import Conflict, DomainError, NotFound
from core.outbox import outbox_add

S = AppointmentStatus


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


def _ensure_video_channel(appointment: Appointment) -> None:
    if not appointment.video_channel:
        appointment.video_channel = f"appt_{appointment.pk}_{secrets.token_hex(8)}"


def _give_back_voucher(appointment: Appointment) -> None:
    if appointment.voucher_id and not appointment.payments.filter(status=PaymentStatus.SUCCEEDED).exists():
        Voucher.objects.filter(pk=appointment.voucher_id, used_count__gt=0).update(used_count=F("used_count") - 1)


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


def _retire_lapsed_holder(slot_id: int, *, now: datetime) -> None:
    """An appointment whose hold lapsed still occupies its slot until swept: expire it now."""
    for stale in Appointment.objects.select_for_update().filter(
        slot_id=slot_id, status=S.PENDING_PAYMENT, hold_expires_at__lte=now
    ):
        _expire(stale, now=now, reason="hold lapsed", release_slot=False)
