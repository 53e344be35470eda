"""Booking for a family member: Đào books for her son Minh. The visit's patient is Minh (his record,
his history); Đào booked it, manages it as the patient and receives its messages; Lan, another
patient, sees nothing of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.family import dependant_add, dependant_convert
from booking import rules
from booking import services as svc
from booking.models import Appointment, AppointmentStatus
from booking.rules import Action
from booking.selectors.appointments import appointments_for_user as visible_appointments
from core.errors import NotFound, PermissionDenied
from core.models import AuditLog, OutboxMessage

S = AppointmentStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def minh(patient_dao):
    profile = patient_dao.patient_profile
    profile.phone = "+84 90 000 0001"  # the family's phone: the clinic calls the holder
    profile.save(update_fields=["phone"])
    return dependant_add(
        holder=patient_dao,
        actor=patient_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )


def book_for(slot, patient, actor):
    return svc.appointment_book(
        slot=slot, patient=patient, actor=actor, details=svc.BookingDetails.from_patient(patient, reason="Fever")
    )


def test_the_holder_books_for_a_child_who_is_the_visits_patient(slots, patient_dao, minh, doctor_binh, staff_binh):
    appointment = book_for(slots[0], minh, patient_dao)
    assert appointment.patient == minh and appointment.booked_by == patient_dao
    # the child's name on the visit; the holder's address and phone to reach the family
    assert (appointment.first_name, appointment.last_name) == ("Minh", "Nguyễn")
    assert appointment.email == patient_dao.email
    entry = AuditLog.objects.get(action="booking.appointment.booked", object_id=str(appointment.pk))
    assert entry.actor == patient_dao and entry.data["on_behalf"] is True and entry.data["holder"] == patient_dao.pk

    # every message meant for the patient goes to the holder, none to the child's placeholder account
    svc.payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    to_family = set(OutboxMessage.objects.filter(recipient=patient_dao).values_list("kind", flat=True))
    assert to_family == {"appointment.held", "appointment.confirmed"}
    assert not OutboxMessage.objects.filter(recipient=minh).exists()
    assert OutboxMessage.objects.filter(recipient=doctor_binh.user, kind="appointment.confirmed").exists()

    appointment.refresh_from_db()
    svc.appointment_cancel(appointment=appointment, actor=patient_dao, reason="Better now")
    appointment.refresh_from_db()
    assert appointment.status == S.CANCELLED and appointment.cancelled_by == "patient"
    assert OutboxMessage.objects.filter(recipient=doctor_binh.user, kind="appointment.cancelled").exists()


def test_the_rulebook_gives_the_holder_the_patients_part_and_nobody_else(
    slots, patient_dao, minh, patient_lan, doctor_binh, staff_binh
):
    appointment = book_for(slots[0], minh, patient_dao)
    now = timezone.now()
    assert rules.role_in(appointment=appointment, user=patient_dao) == "patient"
    assert rules.role_in(appointment=appointment, user=patient_lan) is None
    assert Action.PAY in rules.available_actions(appointment=appointment, user=patient_dao, now=now)
    assert rules.available_actions(appointment=appointment, user=patient_lan, now=now) == frozenset()
    assert isinstance(rules.refusal(Action.CANCEL, appointment=appointment, user=patient_lan, now=now), NotFound)
    from booking.video import video_participant_role

    assert video_participant_role(appointment=appointment, user=patient_dao) == "patient"  # a parent joins
    with pytest.raises(NotFound):
        video_participant_role(appointment=appointment, user=patient_lan)
    own = book_for(slots[1], patient_dao, patient_dao)
    assert set(visible_appointments(user=patient_dao)) == {appointment, own}
    assert list(visible_appointments(user=patient_lan)) == []
    assert set(visible_appointments(user=doctor_binh.user)) == {appointment, own}
    with pytest.raises(NotFound):
        svc.appointment_cancel(appointment=appointment, actor=patient_lan, reason="not mine")


def test_only_the_holder_books_for_their_dependant(slots, patient_dao, minh, patient_lan, staff_binh):
    assert rules.booking_for_refusal(actor=patient_dao, patient=minh) is None
    assert isinstance(rules.booking_for_refusal(actor=patient_lan, patient=minh), PermissionDenied)
    assert isinstance(rules.booking_for_refusal(actor=minh, patient=patient_dao), PermissionDenied)
    with pytest.raises(PermissionDenied):
        book_for(slots[0], minh, patient_lan)
    by_desk = book_for(slots[1], minh, staff_binh)  # the front desk books for the child too
    assert by_desk.booked_by == staff_binh and by_desk.patient == minh
    assert OutboxMessage.objects.get(kind="appointment.held", object_id=str(by_desk.pk)).recipient == patient_dao


def test_a_patients_own_booking_has_no_booked_by(slots, patient_dao, minh):
    assert book_for(slots[0], patient_dao, patient_dao).booked_by is None


def test_after_conversion_the_history_stays_with_the_former_dependant_and_leaves_the_holder(
    slots, patient_dao, minh, staff_binh
):
    appointment = book_for(slots[0], minh, patient_dao)
    svc.payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    minh = dependant_convert(dependant=minh, actor=patient_dao, email="minh@example.test")
    assert list(Appointment.objects.filter(patient=minh)) == [appointment]
    assert list(visible_appointments(user=minh)) == [appointment]
    assert list(visible_appointments(user=patient_dao)) == []
    appointment = Appointment.objects.get(pk=appointment.pk)
    assert rules.role_in(appointment=appointment, user=minh) == "patient"
    assert rules.role_in(appointment=appointment, user=patient_dao) is None
    assert appointment.booked_by == patient_dao  # who booked it stays on record
    # from now on his own messages reach him
    svc.appointment_cancel(appointment=appointment, actor=staff_binh, reason="Doctor ill")
    assert OutboxMessage.objects.filter(recipient=minh, kind="appointment.cancelled").exists()


def test_the_api_books_for_a_family_member_with_patient_id_and_lists_the_familys_visits(
    client, slots, patient_dao, minh, patient_lan
):
    import json

    def post(data):
        return client.post("/api/v1/appointments", data=json.dumps(data), content_type="application/json")

    client.force_login(patient_dao)
    response = post({"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk, "patientId": minh.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["patientId"] == minh.pk
    appointment = Appointment.objects.get(public_id=body["id"])
    assert appointment.booked_by == patient_dao and appointment.email == patient_dao.email
    assert [a["id"] for a in client.get("/api/v1/appointments").json()["items"]] == [body["id"]]

    client.force_login(patient_lan)  # someone else's child: 404, never a hint that he exists
    response = post({"doctorId": slots[1].doctor_id, "scheduleId": slots[1].pk, "patientId": minh.pk})
    assert response.status_code == 404
    assert client.get("/api/v1/appointments").json()["items"] == []
