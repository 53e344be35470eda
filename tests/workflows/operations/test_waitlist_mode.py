"""A waitlist entry waits for a kind of visit (in person, video, or either): a freed slot of the other
kind is not offered to it, and passes to the next patient it suits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core.errors import InvalidInput
from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user, publish_slots
from tests.workflows.operations.queue_helpers import room_at_facility
from workflows.operations.models import SlotOffer, WaitlistMode
from workflows.operations.services import waitlist_join, waitlist_refill


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


@pytest.fixture
def day():
    return (timezone.now() + timedelta(days=4)).date()


def nine(day, hours=0):
    return datetime(day.year, day.month, day.day, 2 + hours, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City


def waits(name, doctor, day, mode):
    patient = make_user(f"{name}@example.test", "patient", first_name=name.title())
    return waitlist_join(patient=patient, doctor=doctor, date_from=day, date_to=day, mode=mode)


def test_an_in_person_slot_skips_the_patient_waiting_for_video(doctor_binh, day):
    video_only = waits("vy", doctor_binh, day, WaitlistMode.VIDEO)
    in_person = waits("phuong", doctor_binh, day, WaitlistMode.IN_PERSON)
    [slot] = publish_slots(doctor_binh, start=nine(day), count=1, room=room_at_facility())
    assert waitlist_refill()["offered"] == 1
    assert SlotOffer.objects.get(slot=slot).entry == in_person
    assert not SlotOffer.objects.filter(entry=video_only).exists()


def test_a_video_slot_goes_to_the_first_patient_waiting_for_video_or_either(doctor_binh, day):
    waits("phuong", doctor_binh, day, WaitlistMode.IN_PERSON)
    either = waits("an", doctor_binh, day, WaitlistMode.EITHER)
    video = waits("vy", doctor_binh, day, WaitlistMode.VIDEO)
    first, second = publish_slots(doctor_binh, start=nine(day), count=2)  # video visits
    assert waitlist_refill()["offered"] == 2
    assert {SlotOffer.objects.get(slot=first).entry, SlotOffer.objects.get(slot=second).entry} == {either, video}


def test_joining_again_changes_the_mode_and_a_wrong_mode_is_refused(doctor_binh, day, patient_dao):
    entry = waitlist_join(patient=patient_dao, doctor=doctor_binh, date_from=day, date_to=day)
    assert entry.mode == WaitlistMode.EITHER
    again = waitlist_join(patient=patient_dao, doctor=doctor_binh, date_from=day, date_to=day, mode="video")
    assert again.pk == entry.pk and again.mode == WaitlistMode.VIDEO
    with pytest.raises(InvalidInput):
        waitlist_join(patient=patient_dao, doctor=doctor_binh, date_from=day, date_to=day, mode="phone")


def test_the_portal_form_asks_for_the_mode_and_leaving_it_out_means_either(client, doctor_binh, day, patient_dao):
    client.force_login(patient_dao)
    page = client.get(f"/portal/waitlist/join/{doctor_binh.pk}/").content.decode()
    assert 'name="mode"' in page and "In person or video" in page
    url = f"/portal/waitlist/join/{doctor_binh.pk}/"
    client.post(
        url, {"date_from": day.isoformat(), "date_to": day.isoformat(), "part_of_day": "any", "mode": "in_person"}
    )
    assert patient_dao.waitlist_entries.get().mode == WaitlistMode.IN_PERSON
    client.post(url, {"date_from": day.isoformat(), "date_to": day.isoformat(), "part_of_day": "any"})
    assert patient_dao.waitlist_entries.get().mode == WaitlistMode.EITHER
    assert "In person or video" in client.get("/portal/waitlist/").content.decode()
