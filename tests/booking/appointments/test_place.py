"""A visit happens where its slot is: booking copies the slot's mode (in person at its facility, or
video) to the appointment, and a reschedule to a slot elsewhere moves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for
from tests.factories import RoomFactory, publish_slots

pytestmark = pytest.mark.django_db


@pytest.fixture
def start():
    return (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def test_booking_an_in_person_slot_makes_an_in_person_visit(doctor_binh, patient_lan, start):
    room = RoomFactory()
    slot = publish_slots(doctor_binh, start=start, count=1, room=room)[0]
    appointment = svc.appointment_book(
        slot=slot, patient=patient_lan, actor=patient_lan, details=details_for(patient_lan)
    )
    assert appointment.mode == "in_person"
    assert appointment.slot.facility == room.facility and appointment.slot.room == room


def test_booking_a_video_slot_makes_a_video_visit_whatever_the_visit_type_says(doctor_binh, patient_lan, start):
    from tests.factories import AppointmentTypeFactory

    in_person_type = AppointmentTypeFactory(mode="in_person")
    slot = publish_slots(doctor_binh, start=start, count=1)[0]
    appointment = svc.appointment_book(
        slot=slot,
        patient=patient_lan,
        actor=patient_lan,
        details=details_for(patient_lan),
        appointment_type=in_person_type,
    )
    assert appointment.mode == "video"


def test_a_reschedule_to_a_slot_at_a_facility_moves_the_visit_there(doctor_binh, patient_lan, staff_binh, start):
    video = publish_slots(doctor_binh, start=start, count=1)[0]
    at_clinic = publish_slots(doctor_binh, start=start + timedelta(hours=3), count=1, room=RoomFactory())[0]
    appointment = svc.appointment_book(
        slot=video, patient=patient_lan, actor=patient_lan, details=details_for(patient_lan)
    )
    moved = svc.appointment_reschedule(appointment=appointment, new_slot=at_clinic, actor=staff_binh)
    moved.refresh_from_db()
    assert moved.mode == "in_person" and moved.slot_id == at_clinic.pk
