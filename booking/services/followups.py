"""Follow-up visits (seed 001): a doctor suggests one from a visit that took place (or is under way),
the patient accepts by picking a slot (held at the follow-up discount, then paid) or rejects.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import rules
from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingDefaults,
    CancelledBy,
    Slot,
    SlotStatus,
)
from booking.rules import Action, NotAllowedNow, PolicyViolation
from booking.services.common import (
    _base_price,
    _check_claimed_slot,
    _check_hold_limit,
    _claim,
    _lock_patient,
    _notify,
    _raise_if,
    _retire_lapsed_holder,
    _save,
    _slot_taken,
    _transition,
    clean_text,
    lock_appointment,
)
from core.audit import audit_log
from core.db import retry_transaction
from core.errors import InvalidInput, NotFound, PermissionDenied

S = AppointmentStatus


def _parent_for(*, doctor, patient, parent: Appointment | None, actor, now: datetime) -> Appointment:
    """The visit the follow-up continues: ``parent`` if given (it must be this doctor's visit with this
    patient and allow a suggestion now), else their latest visit that does."""
    if parent is not None:
        parent = Appointment.objects.select_related("doctor__user").get(pk=parent.pk)  # as it is now
        if parent.doctor_id != doctor.pk or parent.patient_id != patient.pk:
            raise NotFound(_("Appointment not found."))
        rules.require(Action.SUGGEST_FOLLOW_UP, appointment=parent, user=actor, now=now)
        return parent
    if not Appointment.objects.filter(doctor=doctor, patient=patient).exists():
        # a patient the doctor has never seen: as if they did not exist
        raise NotFound(_("This patient has no appointment with you."))
    visits = (
        Appointment.objects.filter(doctor=doctor, patient=patient, status__in=[S.COMPLETED, S.CONFIRMED])
        .select_related("doctor__user")
        .order_by("-starts_at")[:20]
    )
    for visit in visits:
        if rules.refusal(Action.SUGGEST_FOLLOW_UP, appointment=visit, user=actor, now=now) is None:
            return visit
    raise NotAllowedNow(
        _("Follow-ups are suggested from a visit with this patient that has taken place or is under way."),
        code="no_visit_to_follow_up",
    )


@retry_transaction
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
    follow-up discount; the patient is told by notification and email. One open suggestion per visit:
    asking again (a double submit) returns the open one."""
    now = now or timezone.now()
    actor = actor or doctor_user
    doctor = getattr(doctor_user, "doctor", None)
    if doctor is None or doctor_user.role != "doctor":
        raise PermissionDenied(_("Only doctors can suggest a follow-up."))
    if patient.role != "patient":
        raise PolicyViolation(_("Follow-ups are suggested to patients."))
    errors: dict[str, str] = {}
    notes = clean_text(notes, field="notes", errors=errors, max_length=2000)
    if suggested_time is not None and suggested_time.tzinfo is not None:
        errors["suggested_time"] = _("Give the time as the doctor's local wall-clock time, without a UTC offset.")
    if errors:
        raise InvalidInput(_("Please check the follow-up details."), fields=errors)
    if suggested_date < timezone.localtime(now, doctor.zone).date():
        raise PolicyViolation(_("Suggest a date in the future."))
    _raise_if(rules.appointment_type_refusal(appointment_type, follow_up=True))
    with transaction.atomic():
        parent = _parent_for(doctor=doctor, patient=patient, parent=parent, actor=actor, now=now)
        existing = Appointment.objects.filter(parent=parent, status=S.PENDING_PATIENT_CONFIRMATION).first()
        if existing is not None:
            return existing
        appointment = Appointment(
            doctor=doctor,
            patient=patient,
            appointment_type=appointment_type,
            status=S.PENDING_PATIENT_CONFIRMATION,
            mode=appointment_type.mode if appointment_type else parent.mode,
            first_name=parent.first_name or patient.first_name or patient.email,
            last_name=parent.last_name,
            phone=parent.phone,
            email=parent.email or patient.email,
            national_id=parent.national_id,
            is_follow_up_suggestion=True,
            parent=parent,
            suggested_by=actor,
            suggested_date=suggested_date,
            suggested_time=suggested_time,
            follow_up_discount_percent=BookingDefaults.load().follow_up_discount_percent,
            follow_up_notes=notes,
            price=_base_price(doctor, appointment_type),
            currency=doctor.currency,
        )
        try:
            with transaction.atomic():
                appointment.save()
        except IntegrityError:
            # one open suggestion per visit: a concurrent double submit wrote it first
            return Appointment.objects.get(parent=parent, status=S.PENDING_PATIENT_CONFIRMATION)
        audit_log(actor=actor, action="booking.follow_up.suggested", obj=appointment, data={"parent": parent.pk})
        _notify("follow_up.suggested", appointment, patient)
    return appointment


@retry_transaction
def follow_up_accept(*, appointment: Appointment, slot: Slot, actor, now: datetime | None = None) -> Appointment:
    """The patient accepts a suggested follow-up by picking its final slot: the slot is held and the
    appointment waits for payment at the discounted price; the doctor is told."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_patient(appointment.patient)
        appointment = lock_appointment(appointment, also_slots=(slot.pk,))
        rules.require(Action.ACCEPT_FOLLOW_UP, appointment=appointment, user=actor, now=now)
        target = Slot.objects.select_related("doctor").filter(pk=slot.pk).first()
        if target is None:
            raise NotFound(_("This time slot does not exist."))
        if target.doctor_id != appointment.doctor_id:
            raise PolicyViolation(_("Pick a time with the doctor who suggested the follow-up."), code="other_doctor")
        _check_hold_limit(appointment.patient, now=now)
        hold_until = now + target.doctor.policy().hold
        if not _claim(target.pk, now=now, status=SlotStatus.HELD, hold_until=hold_until):
            raise _slot_taken(target, now=now)
        slot = _check_claimed_slot(target.pk, now=now)
        if slot.has_lapsed_holder:
            _retire_lapsed_holder(slot.pk, now=now)
        _transition(appointment, "accept_follow_up", actor=actor)
        appointment.slot = slot
        appointment.starts_at = slot.start
        appointment.ends_at = slot.end
        appointment.mode = slot.mode
        appointment.hold_expires_at = hold_until
        appointment.discount = rules.follow_up_discount(
            price=appointment.price, percent=appointment.follow_up_discount_percent
        )
        try:
            with transaction.atomic():
                _save(appointment, "slot", "starts_at", "ends_at", "mode", "hold_expires_at", "discount")
        except IntegrityError:
            raise _slot_taken(slot, now=now) from None
        audit_log(actor=actor, action="booking.follow_up.accepted", obj=appointment, data={"slot": slot.pk})
        _notify("follow_up.accepted", appointment, appointment.doctor.user)
    return appointment


@retry_transaction
def follow_up_reject(*, appointment: Appointment, actor, reason: str = "", now: datetime | None = None) -> Appointment:
    """The patient rejects the suggestion: cancelled by the patient with the seed's reason; doctor told."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        rules.require(Action.REJECT_FOLLOW_UP, appointment=appointment, user=actor, now=now)
        _transition(appointment, "reject_follow_up", actor=actor, description=reason)
        appointment.cancelled_at = now
        appointment.cancelled_by = CancelledBy.PATIENT
        appointment.cancelled_by_user = actor
        default_reason = _("The patient declined the follow-up visit.")
        appointment.cancellation_reason = f"{default_reason} {(reason or '').strip()}".strip()
        _save(appointment, "cancelled_at", "cancelled_by", "cancelled_by_user", "cancellation_reason")
        audit_log(actor=actor, action="booking.follow_up.rejected", obj=appointment)
        _notify("follow_up.rejected", appointment, appointment.doctor.user)
    return appointment
