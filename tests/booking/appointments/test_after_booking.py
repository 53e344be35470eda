"""Cancel, reschedule, complete, no-show and the follow-up flow (seed 001)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus, BookingDefaults, PaymentStatus, Slot, SlotStatus
from core import errors
from core.models import OutboxMessage
from tests.booking.appointments.helpers import completed_visit, details_for, follow_up_type
from tests.factories import publish_slots

S = AppointmentStatus


def confirmed(slot, patient):
    appointment = svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))
    svc.payment_succeeded(payment=svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient))
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED
    return appointment


@pytest.fixture
def far_slots(doctor_binh):
    return publish_slots(doctor_binh, start=timezone.now().replace(microsecond=0) + timedelta(days=5), count=4)


def test_patient_cancels_in_time_and_gets_everything_back(far_slots, patient_dao):
    appointment = confirmed(far_slots[0], patient_dao)
    svc.appointment_cancel(appointment=appointment, actor=patient_dao, reason="Feeling better")
    appointment.refresh_from_db()
    payment = appointment.payments.get()
    assert appointment.status == S.CANCELLED and appointment.cancelled_by == "patient"
    assert appointment.cancelled_late is False
    assert payment.status == PaymentStatus.REFUNDED
    assert Slot.objects.get(pk=far_slots[0].pk).status == SlotStatus.FREE
    assert OutboxMessage.objects.filter(kind="appointment.cancelled", recipient=appointment.doctor.user).exists()


def test_late_patient_cancellation_is_recorded_and_refunded_per_policy(slots, patient_dao):
    defaults = BookingDefaults.load()
    defaults.late_cancellation_refund_percent = 50
    defaults.save()
    appointment = confirmed(slots[0], patient_dao)  # tomorrow: inside the 24 h notice
    terms = svc.cancellation_terms(appointment=appointment, now=timezone.now())
    assert terms["late"] is True and terms["refund_amount"] == Decimal("250000.00")
    svc.appointment_cancel(appointment=appointment, actor=patient_dao)
    appointment.refresh_from_db()
    payment = appointment.payments.get()
    assert appointment.cancelled_late is True
    assert payment.refunded_amount == Decimal("250000.00") and payment.status == PaymentStatus.SUCCEEDED


def test_doctor_and_staff_must_give_a_reason_and_admins_can_force(far_slots, patient_dao, staff_binh, admin_an):
    first = confirmed(far_slots[0], patient_dao)
    with pytest.raises(errors.DomainError):
        svc.appointment_cancel(appointment=first, actor=first.doctor.user)
    svc.appointment_cancel(appointment=first, actor=staff_binh, reason="Clinic closed")
    assert Appointment.objects.get(pk=first.pk).cancelled_by == "staff"
    second = confirmed(far_slots[1], patient_dao)
    with pytest.raises(errors.PermissionDenied):
        svc.appointment_cancel(appointment=second, actor=staff_binh, reason="x", force=True)
    svc.appointment_cancel(appointment=second, actor=admin_an, reason="Duplicate", force=True)
    assert Appointment.objects.get(pk=second.pk).status == S.CANCELLED


def test_nothing_is_deleted_and_a_cancelled_slot_can_be_booked_again(far_slots, patient_dao, patient_lan):
    appointment = confirmed(far_slots[0], patient_dao)
    svc.appointment_cancel(appointment=appointment, actor=patient_dao)
    again = svc.appointment_book(
        slot=far_slots[0], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan)
    )
    assert Appointment.objects.filter(slot=far_slots[0]).count() == 2
    assert again.status == S.PENDING_PAYMENT


def test_reschedule_moves_to_a_free_slot_in_one_step(far_slots, patient_dao, patient_lan):
    appointment = confirmed(far_slots[0], patient_dao)
    svc.appointment_reschedule(appointment=appointment, new_slot=far_slots[2], actor=patient_dao)
    appointment.refresh_from_db()
    assert appointment.slot_id == far_slots[2].pk and appointment.starts_at == far_slots[2].start
    assert appointment.status == S.CONFIRMED
    assert Slot.objects.get(pk=far_slots[0].pk).status == SlotStatus.FREE
    assert Slot.objects.get(pk=far_slots[2].pk).status == SlotStatus.BOOKED
    svc.appointment_book(slot=far_slots[3], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan))
    with pytest.raises(svc.SlotTaken):
        svc.appointment_reschedule(appointment=appointment, new_slot=far_slots[3], actor=patient_dao)
    assert Appointment.objects.get(pk=appointment.pk).slot_id == far_slots[2].pk
    assert OutboxMessage.objects.filter(kind="appointment.rescheduled", recipient=patient_dao).count() == 1


def test_complete_and_no_show_only_after_the_start(slots, patient_dao, patient_lan, staff_binh):
    first = confirmed(slots[0], patient_dao)
    with pytest.raises(svc.NotAllowedNow):
        svc.appointment_complete(appointment=first, actor=first.doctor.user)
    after_start = first.starts_at + timedelta(minutes=5)
    with pytest.raises(errors.PermissionDenied):
        svc.appointment_complete(appointment=first, actor=patient_dao, now=after_start)
    svc.appointment_complete(appointment=first, actor=first.doctor.user, now=after_start)
    assert Appointment.objects.get(pk=first.pk).status == S.COMPLETED
    second = confirmed(slots[1], patient_lan)
    with pytest.raises(svc.NotAllowedNow):
        svc.appointment_mark_no_show(appointment=second, actor=staff_binh)
    svc.appointment_mark_no_show(appointment=second, actor=staff_binh, now=second.starts_at + timedelta(minutes=15))
    assert Appointment.objects.get(pk=second.pk).status == S.NO_SHOW
    with pytest.raises(svc.NotAllowedNow):
        svc.appointment_cancel(appointment=Appointment.objects.get(pk=second.pk), actor=staff_binh, reason="late")


def test_follow_up_suggested_accepted_with_discount_then_paid(doctor_binh, slots, patient_dao):
    kind = follow_up_type()
    completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user,
        patient=patient_dao,
        suggested_date=(timezone.now() + timedelta(days=1)).date(),
        appointment_type=kind,
        notes="Check blood pressure again",
    )
    assert suggestion.status == S.PENDING_PATIENT_CONFIRMATION
    assert suggestion.follow_up_discount_percent == Decimal("5.00") and suggestion.slot is None
    assert OutboxMessage.objects.filter(kind="follow_up.suggested", recipient=patient_dao).exists()
    with pytest.raises(errors.PermissionDenied):
        svc.follow_up_accept(appointment=suggestion, slot=slots[0], actor=doctor_binh.user)
    accepted = svc.follow_up_accept(appointment=suggestion, slot=slots[0], actor=patient_dao)
    assert accepted.status == S.PENDING_PAYMENT
    assert accepted.amount_due == Decimal("475000.00")
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.HELD
    assert OutboxMessage.objects.filter(kind="follow_up.accepted", recipient=doctor_binh.user).exists()
    payment = svc.payment_start(appointment=accepted, gateway="sandbox", actor=patient_dao)
    assert payment.amount == Decimal("475000.00")
    svc.payment_succeeded(payment=payment)
    assert Appointment.objects.get(pk=accepted.pk).status == S.CONFIRMED


def test_follow_up_rejected_by_the_patient(doctor_binh, patient_dao, patient_lan):
    completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user, patient=patient_dao, suggested_date=(timezone.now() + timedelta(days=3)).date()
    )
    with pytest.raises(errors.NotFound):
        svc.follow_up_reject(appointment=suggestion, actor=patient_lan)
    svc.follow_up_reject(appointment=suggestion, actor=patient_dao, reason="Moving away")
    suggestion.refresh_from_db()
    assert suggestion.status == S.CANCELLED and suggestion.cancelled_by == "patient"
    assert suggestion.cancellation_reason.startswith("The patient declined the follow-up visit.")
    assert OutboxMessage.objects.filter(kind="follow_up.rejected", recipient=doctor_binh.user).exists()
    with pytest.raises(svc.NotAllowedNow):
        svc.follow_up_reject(appointment=suggestion, actor=patient_dao)


def test_transitions_are_protected_from_direct_assignment(slots, patient_dao):
    appointment = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    with pytest.raises(AttributeError):
        appointment.status = S.CONFIRMED
