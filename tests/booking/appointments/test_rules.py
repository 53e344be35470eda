"""The rulebook (booking.rules) and the drifts it ended: every face and service gives the same answer.

Each test names a rule that used to be written in several places, and checks the places agree now.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from booking import rules
from booking import services as svc
from booking.models import Appointment, AppointmentType, BlockedTime, Slot, SlotStatus
from booking.payments import GatewayNotEnabled
from booking.rules import Action
from booking.video import video_access
from core import errors
from portal.views import video_window_open
from tests.booking.appointments.helpers import completed_visit, details_for, follow_up_type
from tests.booking.video.helpers import confirmed_visit
from tests.factories import make_user
from workflows.messaging.services import conversation_open_for_appointment

S = "pending_payment"


def book(slot, patient, **kwargs):
    return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient), **kwargs)


# --- the claim itself ---------------------------------------------------------------------------


def test_a_blocked_slot_cannot_be_booked(slots, patient_dao):
    # only the conditional claim stands between this call and the slot: an unconditional UPDATE fails here
    Slot.objects.filter(pk=slots[0].pk).update(status=SlotStatus.BLOCKED)
    with pytest.raises(svc.SlotTaken):
        book(slots[0], patient_dao)
    assert not Appointment.objects.filter(slot=slots[0]).exists()


def test_a_live_hold_without_an_appointment_row_still_keeps_the_slot(slots, patient_dao):
    Slot.objects.filter(pk=slots[0].pk).update(
        status=SlotStatus.HELD, hold_expires_at=timezone.now() + timedelta(minutes=5)
    )
    with pytest.raises(svc.SlotTaken):
        book(slots[0], patient_dao)
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.HELD


def test_a_lapsed_hold_is_free_again(slots, patient_dao):
    Slot.objects.filter(pk=slots[0].pk).update(
        status=SlotStatus.HELD, hold_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert book(slots[0], patient_dao).status == S


def test_blocked_time_over_a_slot_refuses_the_booking_and_releases_the_claim(slots, patient_dao, doctor_binh):
    BlockedTime.objects.create(doctor=doctor_binh, starts_at=slots[1].start, ends_at=slots[1].end, reason="Conference")
    with pytest.raises(rules.PolicyViolation) as refused:
        book(slots[1], patient_dao)
    assert refused.value.code == "slot_blocked"
    assert Slot.objects.get(pk=slots[1].pk).status == SlotStatus.FREE  # the claim was rolled back


# --- bookable doctors ---------------------------------------------------------------------------


def test_a_doctor_whose_account_is_deactivated_cannot_be_booked_by_slot_id(client, slots, patient_dao, doctor_binh):
    doctor_binh.user.is_active = False
    doctor_binh.user.save(update_fields=["is_active"])
    with pytest.raises(rules.PolicyViolation) as refused:
        book(slots[0], patient_dao)
    assert refused.value.code == "doctor_not_bookable"
    client.force_login(patient_dao)
    response = client.post(
        "/api/v1/appointments",
        {
            "doctorId": doctor_binh.pk,
            "scheduleId": slots[0].pk,
            "firstName": "Đào",
            "lastName": "Test",
            "phone": "0901 234 567",
            "email": patient_dao.email,
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "doctor_not_bookable"
    assert not Appointment.objects.exists()
    assert rules.doctor_refusal(doctor_binh) is not None
    assert client.get(f"/portal/book/{doctor_binh.pk}/").status_code == 404


def test_an_overdue_subscription_closes_bookings_through_the_doctors_own_column(slots, patient_dao, doctor_binh):
    svc.doctor_set_accepts_bookings(doctor_id=doctor_binh.pk, accepts=False, reason="subscription overdue")
    doctor_binh.refresh_from_db()
    with pytest.raises(rules.PolicyViolation) as refused:
        book(slots[0], patient_dao)
    assert refused.value.code == "subscription_overdue"


# --- who may book for whom -------------------------------------------------------------------------


def test_a_doctor_cannot_book_on_behalf_of_a_patient_in_the_service(slots, patient_dao, doctor_binh):
    with pytest.raises(errors.PermissionDenied):
        svc.appointment_book(
            slot=slots[0], patient=patient_dao, actor=doctor_binh.user, details=details_for(patient_dao)
        )


def test_staff_book_for_patients_but_not_for_deactivated_ones(slots, patient_dao, staff_binh):
    assert (
        svc.appointment_book(
            slot=slots[0], patient=patient_dao, actor=staff_binh, details=details_for(patient_dao)
        ).status
        == S
    )
    patient_dao.is_active = False
    patient_dao.save(update_fields=["is_active"])
    with pytest.raises(rules.PolicyViolation):
        svc.appointment_book(slot=slots[1], patient=patient_dao, actor=staff_binh, details=details_for(patient_dao))


def test_follow_up_only_visit_types_are_not_booked_directly(client, slots, patient_dao, doctor_binh):
    kind = follow_up_type()
    with pytest.raises(rules.PolicyViolation) as refused:
        book(slots[0], patient_dao, appointment_type=kind)
    assert refused.value.code == "follow_up_only"
    client.force_login(patient_dao)
    response = client.post(
        "/api/v1/appointments",
        {
            "doctorId": doctor_binh.pk,
            "scheduleId": slots[0].pk,
            "appointmentTypeId": kind.pk,
            "firstName": "Đào",
            "lastName": "Test",
            "phone": "0901 234 567",
            "email": patient_dao.email,
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "follow_up_only"
    assert list(AppointmentType.objects.filter(rules.bookable_types_q())) == []


# --- booking details ------------------------------------------------------------------------------


def test_booking_details_are_checked_and_each_problem_named(slots, patient_dao):
    details = svc.BookingDetails(first_name="Đào", last_name="", phone="12", email="not-an-email", reason="a\x00b")
    with pytest.raises(errors.InvalidInput) as refused:
        svc.appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details)
    assert refused.value.status == 422
    assert set(refused.value.details["fields"]) == {"last_name", "phone", "email", "reason"}
    assert refused.value.details["missing"] == ["last_name"]


def test_phone_numbers_are_stored_in_e164_with_vietnam_as_the_default_region(slots, patient_dao):
    details = svc.BookingDetails(first_name="Đào", last_name="Test", phone="0901 234 567", email=patient_dao.email)
    appointment = svc.appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details)
    assert appointment.phone == "+84901234567"


# --- payments -------------------------------------------------------------------------------------


def test_only_enabled_gateways_take_payments(client, settings, slots, patient_dao):
    settings.PAYMENT_GATEWAYS = ["stripe", "cash"]
    appointment = book(slots[0], patient_dao)
    with pytest.raises(GatewayNotEnabled):
        svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    client.force_login(patient_dao)
    response = client.post(
        f"/api/v1/appointments/{appointment.public_id}/pay", {"gateway": "sandbox"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "payment_gateway_not_enabled"
    response = client.post(f"/portal/appointments/{appointment.public_id}/pay/", {"gateway": "sandbox"})
    assert response.status_code == 302
    assert not appointment.payments.exists()


def test_the_sandbox_checkout_and_its_webhook_refuse_to_work_when_the_sandbox_is_off(
    client, settings, slots, patient_dao
):
    from booking.payments import sandbox

    appointment = book(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    settings.PAYMENT_GATEWAYS = ["cash"]
    client.force_login(patient_dao)
    assert client.get(payment.checkout_url).status_code == 404
    assert client.post(payment.checkout_url, {"action": "pay"}).status_code == 404
    body = sandbox.build_event(payment=payment, outcome="succeeded")
    response = Client().post(
        "/api/v1/payments/webhooks/sandbox",
        data=body,
        content_type="application/json",
        headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)},
    )
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.status == S


def test_a_banner_says_payments_are_tests_wherever_the_sandbox_is_on(client, settings, patient_dao, admin_an):
    client.force_login(patient_dao)
    assert "Test payments" in client.get("/portal/").content.decode()
    client.force_login(admin_an)
    assert "Test payments" in client.get("/admin/").content.decode()
    settings.PAYMENT_GATEWAYS = ["cash"]
    assert "Test payments" not in client.get("/admin/").content.decode()
    client.force_login(patient_dao)
    assert "Test payments" not in client.get("/portal/").content.decode()


def test_staff_cannot_start_an_online_payment_for_the_patient(slots, patient_dao, staff_binh):
    appointment = book(slots[0], patient_dao)
    with pytest.raises(errors.PermissionDenied):
        svc.payment_start(appointment=appointment, gateway="sandbox", actor=staff_binh)


# --- follow-ups -----------------------------------------------------------------------------------


def test_follow_ups_come_only_from_a_visit_that_took_place_and_only_once(slots, patient_dao, doctor_binh, staff_binh):
    upcoming = book(slots[0], patient_dao)
    svc.payment_mark_cash_paid(appointment=upcoming, actor=staff_binh)
    when = (timezone.now() + timedelta(days=7)).date()
    with pytest.raises(rules.NotAllowedNow):
        svc.follow_up_suggest(doctor_user=doctor_binh.user, patient=patient_dao, parent=upcoming, suggested_date=when)
    with pytest.raises(rules.NotAllowedNow):  # without a parent: no visit that took place
        svc.follow_up_suggest(doctor_user=doctor_binh.user, patient=patient_dao, suggested_date=when)
    visit = completed_visit(doctor_binh, patient_dao, staff=staff_binh)
    first = svc.follow_up_suggest(doctor_user=doctor_binh.user, patient=patient_dao, parent=visit, suggested_date=when)
    again = svc.follow_up_suggest(doctor_user=doctor_binh.user, patient=patient_dao, parent=visit, suggested_date=when)
    assert again.pk == first.pk and Appointment.objects.filter(parent=visit).count() == 1
    # the visit under way (confirmed and started) also counts
    started = confirmed_visit(doctor_binh, patient_dao, start=timezone.now() - timedelta(minutes=5))
    assert (
        rules.refusal(Action.SUGGEST_FOLLOW_UP, appointment=started, user=doctor_binh.user, now=timezone.now()) is None
    )


def test_the_follow_up_price_is_rounded_once_and_the_same_everywhere(client, slots, doctor_binh, patient_dao):
    doctor_binh.consultation_fee = Decimal("333333.33")
    doctor_binh.save(update_fields=["consultation_fee"])
    visit = completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user,
        patient=patient_dao,
        parent=visit,
        suggested_date=(timezone.now() + timedelta(days=1)).date(),
    )
    shown = rules.follow_up_price(price=suggestion.price, percent=suggestion.follow_up_discount_percent)
    client.force_login(patient_dao)
    page = client.get("/portal/follow-ups/").content.decode()
    assert "316,667" in page or "316.667" in page  # the open suggestion's price, as the patient sees it
    accepted = svc.follow_up_accept(appointment=suggestion, slot=slots[2], actor=patient_dao)
    assert accepted.discount == Decimal("16666.67") and accepted.amount_due == shown == Decimal("316666.66")


# --- video and messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("minutes_from_start", [-60, -11, -10, 0, 30, 45, 46, 120])
def test_every_face_agrees_on_when_the_video_call_can_be_joined(minutes_from_start, doctor_binh, patient_dao, settings):
    settings.AGORA_APP_ID = "0123456789abcdef0123456789abcdef"
    settings.AGORA_APP_CERTIFICATE = "fedcba9876543210fedcba9876543210"
    visit = confirmed_visit(doctor_binh, patient_dao, start=timezone.now() + timedelta(hours=2))
    now = visit.starts_at + timedelta(minutes=minutes_from_start)
    allowed = rules.refusal(Action.JOIN_VIDEO, appointment=visit, user=patient_dao, now=now) is None
    assert video_window_open(visit, now) == allowed
    assert (video_access(appointment=visit, user=patient_dao, now=now).state == "open") == allowed
    assert (Action.JOIN_VIDEO in rules.available_actions(appointment=visit, user=doctor_binh.user, now=now)) == allowed


def test_no_conversation_for_a_visit_that_was_never_paid(slots, patient_dao, doctor_binh):
    appointment = book(slots[0], patient_dao)
    svc.appointments_expire_lapsed_holds(now=appointment.hold_expires_at + timedelta(seconds=1))
    appointment.refresh_from_db()
    assert appointment.status == "expired"
    with pytest.raises(rules.NotAllowedNow):
        conversation_open_for_appointment(appointment=appointment, actor=patient_dao)
    with pytest.raises(errors.NotFound):
        conversation_open_for_appointment(appointment=appointment, actor=make_user("x@example.test", "patient"))


# --- one answer for every face -----------------------------------------------------------------


def test_the_admin_buttons_are_exactly_the_rulebooks_actions(
    client, slots, patient_dao, doctor_binh, staff_binh, admin_an
):
    appointment = book(slots[0], patient_dao)
    buttons = {
        Action.CONFIRM: "confirm_detail",
        Action.DECLINE: "decline_detail",
        Action.MARK_PAID: "mark_paid_detail",
        Action.COMPLETE: "complete_detail",
        Action.NO_SHOW: "no_show_detail",
        Action.RESCHEDULE: "reschedule_detail",
        Action.CANCEL: "cancel_detail",
        Action.FORCE_CANCEL: "force_cancel_detail",
        Action.SUGGEST_FOLLOW_UP: "suggest_follow_up_detail",
    }
    for user in (staff_binh, admin_an, doctor_binh.user):
        client.force_login(user)
        page = client.get(f"/admin/booking/appointment/{appointment.pk}/change/").content.decode()
        allowed = rules.available_actions(appointment=appointment, user=user, now=timezone.now())
        shown = {action for action, name in buttons.items() if f"/{name}/" in page}
        assert shown == {action for action in buttons if action in allowed}, user.role
