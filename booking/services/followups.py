"""Follow-up visits (seed 001): a doctor suggests, the patient accepts by picking a slot (held at the
follow-up discount, then paid) or rejects.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingDefaults,
    CancelledBy,
    Slot,
    SlotStatus,
    money,
)
from booking.services.common import (
    BookingDetails,
    NotAllowedNow,
    PolicyViolation,
    _base_price,
    _check_bookable,
    _check_hold_limit,
    _claim,
    _locked,
    _notify,
    _retire_lapsed_holder,
    _save,
    _slot_taken,
    _transition,
    actor_role,
)
from core.audit import audit_log
from core.errors import NotFound, PermissionDenied

S = AppointmentStatus


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
