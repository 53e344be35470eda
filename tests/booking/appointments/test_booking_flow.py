"""Booking, holds and payment through the services (the state machine's happy and unhappy paths)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_fsm_log.models import StateLog

from booking import services as svc
from booking.models import Appointment, AppointmentStatus, Payment, PaymentStatus, Slot, SlotStatus, Voucher
from core import errors
from core.models import AuditLog, OutboxMessage
from tests.booking.appointments.helpers import details_for, tomorrow_at
from tests.factories import publish_slots

S = AppointmentStatus


def book(slot, patient, **kwargs):
    return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient), **kwargs)


def test_booking_holds_the_slot_and_waits_for_payment(slots, patient_dao):
    appointment = book(slots[0], patient_dao)
    assert appointment.status == S.PENDING_PAYMENT
    assert appointment.price == Decimal("500000.00") and appointment.currency == "VND"
    slot = Slot.objects.get(pk=slots[0].pk)
    assert slot.status == SlotStatus.HELD
    assert slot.hold_expires_at == appointment.hold_expires_at
    assert (appointment.hold_expires_at - timezone.now()) <= timedelta(minutes=10)
    assert AuditLog.objects.filter(action="booking.appointment.booked", object_id=str(appointment.pk)).exists()
    assert OutboxMessage.objects.filter(kind="appointment.held", recipient=patient_dao).count() == 1


def test_a_second_patient_gets_slot_taken_with_alternatives(slots, patient_dao, patient_lan):
    book(slots[1], patient_dao)
    with pytest.raises(svc.SlotTaken) as taken:
        book(slots[1], patient_lan)
    alternatives = taken.value.details["alternatives"]
    assert alternatives and all(alt["id"] != slots[1].pk for alt in alternatives)
    assert {alt["id"] for alt in alternatives} <= {s.pk for s in slots}
    assert Appointment.objects.filter(slot=slots[1]).count() == 1


def test_an_expired_hold_counts_as_free_and_the_old_booking_expires(slots, patient_dao, patient_lan):
    first = book(slots[0], patient_dao)
    later = first.hold_expires_at + timedelta(seconds=1)
    second = svc.appointment_book(
        slot=slots[0], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan), now=later
    )
    first.refresh_from_db()
    assert first.status == S.EXPIRED
    assert second.status == S.PENDING_PAYMENT


def test_a_patient_may_hold_at_most_two_slots(slots, patient_dao):
    book(slots[0], patient_dao)
    book(slots[1], patient_dao)
    with pytest.raises(svc.HoldLimitReached):
        book(slots[2], patient_dao)
    assert Slot.objects.get(pk=slots[2].pk).status == SlotStatus.FREE


def test_at_the_hold_limit_a_taken_slot_answers_the_limit_and_a_held_one_the_same_hold(slots, patient_dao, patient_lan):
    # the holds are checked before the claim: the limit
    # wins over a slot someone else holds, a double submit over the limit; nothing else is written
    book(slots[2], patient_lan)
    book(slots[0], patient_dao)
    second = book(slots[1], patient_dao)
    rows = (Appointment.objects.count(), AuditLog.objects.count(), OutboxMessage.objects.count())
    with pytest.raises(svc.HoldLimitReached):
        book(slots[2], patient_dao)
    with pytest.raises(svc.HoldLimitReached):
        book(slots[3], patient_dao)
    assert book(slots[1], patient_dao).pk == second.pk
    assert (Appointment.objects.count(), AuditLog.objects.count(), OutboxMessage.objects.count()) == rows
    assert Slot.objects.get(pk=slots[3].pk).status == SlotStatus.FREE
    assert Appointment.objects.get(slot=slots[2]).patient_id == patient_lan.pk


def test_minimum_notice_and_inactive_doctor_are_refused(doctor_binh, patient_dao):
    soon = publish_slots(doctor_binh, start=timezone.now() + timedelta(minutes=30), count=1)[0]
    with pytest.raises(svc.PolicyViolation):
        book(soon, patient_dao)
    later = publish_slots(doctor_binh, start=tomorrow_at(6), count=1)[0]
    doctor_binh.is_active = False
    doctor_binh.save()
    with pytest.raises(svc.PolicyViolation):
        book(later, patient_dao)


def test_sandbox_payment_confirms_for_an_auto_confirming_doctor(slots, patient_dao):
    appointment = book(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    assert payment.checkout_url.startswith("/portal/pay/sandbox/")
    svc.payment_succeeded(payment=payment)
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED
    assert appointment.video_channel.startswith(f"appt_{appointment.pk}_")
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.BOOKED
    transitions = list(StateLog.objects.for_(appointment).values_list("transition", flat=True))
    assert transitions == ["confirm_paid"]
    # a replayed success changes nothing
    svc.payment_succeeded(payment=payment)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert OutboxMessage.objects.filter(kind="appointment.confirmed", recipient=patient_dao).count() == 1


def test_paid_request_waits_for_a_reviewing_doctor_who_can_decline_with_refund(doctor_review, patient_dao):
    slot = publish_slots(doctor_review, start=tomorrow_at(3), count=1)[0]
    appointment = book(slot, patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    svc.payment_succeeded(payment=payment)
    appointment.refresh_from_db()
    assert appointment.status == S.PENDING
    with pytest.raises(Exception):  # noqa: B017 - a reason is required
        svc.appointment_decline(appointment=appointment, actor=doctor_review.user, reason=" ")
    svc.appointment_decline(appointment=appointment, actor=doctor_review.user, reason="On leave that day")
    appointment.refresh_from_db()
    payment.refresh_from_db()
    assert appointment.status == S.CANCELLED and appointment.cancelled_by == "doctor"
    assert payment.status == PaymentStatus.REFUNDED and payment.refunds.get().amount == payment.amount
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.FREE


def test_doctor_confirms_a_pending_request(doctor_review, patient_dao):
    slot = publish_slots(doctor_review, start=tomorrow_at(3), count=1)[0]
    appointment = book(slot, patient_dao)
    svc.payment_succeeded(payment=svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao))
    svc.appointment_confirm(appointment=appointment, actor=doctor_review.user)
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED and appointment.confirmed_at is not None


def test_payment_failure_releases_the_slot(slots, patient_dao):
    appointment = book(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    svc.payment_failed(payment=payment, reason="card declined")
    appointment.refresh_from_db()
    assert appointment.status == S.EXPIRED
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.FREE
    assert OutboxMessage.objects.filter(kind="appointment.payment_failed").count() == 1


def test_late_payment_confirms_when_the_slot_is_still_free(slots, patient_dao):
    appointment = book(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    later = appointment.hold_expires_at + timedelta(minutes=1)
    assert svc.appointments_expire_lapsed_holds(now=later) == 1
    svc.payment_succeeded(payment=payment, now=later)
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.BOOKED


def test_late_payment_is_refunded_when_someone_else_took_the_slot(slots, patient_dao, patient_lan, staff_binh):
    appointment = book(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    later = appointment.hold_expires_at + timedelta(minutes=1)
    other = svc.appointment_book(
        slot=slots[0], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan), now=later
    )
    svc.payment_succeeded(payment=payment, now=later)
    appointment.refresh_from_db()
    payment.refresh_from_db()
    assert appointment.status == S.EXPIRED
    assert payment.status == PaymentStatus.REFUNDED
    assert Appointment.objects.get(pk=other.pk).status == S.PENDING_PAYMENT
    told = set(OutboxMessage.objects.filter(kind="payment.late_refunded").values_list("recipient__email", flat=True))
    assert {patient_dao.email, staff_binh.email} <= told


def test_sweep_expires_lapsed_holds_once_and_frees_the_slot(slots, patient_dao):
    appointment = book(slots[0], patient_dao)
    later = appointment.hold_expires_at + timedelta(seconds=1)
    assert svc.appointments_expire_lapsed_holds(now=appointment.hold_expires_at - timedelta(seconds=1)) == 0
    assert svc.appointments_expire_lapsed_holds(now=later) == 1
    assert svc.appointments_expire_lapsed_holds(now=later) == 0
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.FREE
    assert OutboxMessage.objects.filter(kind="appointment.hold_expired").count() == 1


def test_cash_is_marked_paid_by_staff_only(slots, patient_dao, staff_binh):
    appointment = book(slots[0], patient_dao)
    with pytest.raises(errors.PermissionDenied):
        svc.payment_mark_cash_paid(appointment=appointment, actor=patient_dao)
    svc.payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED
    assert appointment.payments.get().gateway == "cash"


def test_vouchers_apply_once_and_respect_limits(slots, patient_dao, patient_lan):
    Voucher.objects.create(code="WELCOME10", kind="percent", value=Decimal("10"), max_uses=1)
    first = book(slots[0], patient_dao)
    first = svc.appointment_apply_voucher(appointment=first, code="welcome10", actor=patient_dao)
    assert first.discount == Decimal("50000.00") and first.amount_due == Decimal("450000.00")
    second = book(slots[1], patient_lan)
    with pytest.raises(svc.VoucherInvalid):
        svc.appointment_apply_voucher(appointment=second, code="WELCOME10", actor=patient_lan)
    # the unpaid first booking expires: its use is given back
    svc.appointments_expire_lapsed_holds(now=first.hold_expires_at + timedelta(seconds=1))
    assert Voucher.objects.get(code="WELCOME10").used_count == 0


def test_another_users_appointment_is_not_found(slots, patient_dao, patient_lan):
    appointment = book(slots[0], patient_dao)
    with pytest.raises(errors.NotFound):
        svc.appointment_cancel(appointment=appointment, actor=patient_lan)
    with pytest.raises(errors.NotFound):
        svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_lan)


def test_booking_the_same_slot_twice_returns_the_same_hold(slots, patient_dao):
    first = book(slots[0], patient_dao)
    again = book(slots[0], patient_dao)
    assert again.pk == first.pk
    assert Appointment.objects.filter(patient=patient_dao).count() == 1
