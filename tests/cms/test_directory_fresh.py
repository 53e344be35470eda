"""The directory's statements are compiled once per process (issue 19), never its answers: a booking,
a new doctor and a newly published profile show on the next read."""

from __future__ import annotations

import re

import pytest

from booking import services as svc
from booking.selectors import first_free_slots
from cms.models import DoctorProfilePage
from tests.booking.appointments.helpers import details_for
from tests.cms.conftest import publish
from tests.cms.test_directory import listed_doctor, names_on

pytestmark = pytest.mark.django_db


def quick_slot_ids(html: str, doctor) -> list[int]:
    return [int(pk) for pk in re.findall(rf'href="/portal/book/{doctor.pk}/\?slot=(\d+)"', html)]


def test_a_booked_quick_slot_leaves_the_card_on_the_next_read(client, directory, patient_dao):
    doctor = listed_doctor(directory, "Binh", days=1)
    first = quick_slot_ids(client.get(directory.url).content.decode(), doctor)
    assert len(first) == 2  # 09:00 and 09:30
    [slot] = [slot for slot in doctor.slots.all() if slot.pk == first[0]]
    svc.appointment_book(slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    assert quick_slot_ids(client.get(directory.url).content.decode(), doctor) == first[1:]


def test_a_new_doctor_and_a_new_profile_show_on_the_next_read(client, directory):
    binh = listed_doctor(directory, "Binh", days=1)
    assert names_on(client.get(directory.url)) == [str(binh)]
    later = listed_doctor(directory, "Later", days=2, profile=False)
    html = client.get(directory.url).content.decode()
    assert names_on(client.get(directory.url)) == [str(binh), str(later)]
    assert f"dr-{later.pk}" not in html
    profile = publish(directory, DoctorProfilePage(title=str(later), slug=f"dr-{later.pk}", doctor=later))
    assert f'href="{profile.url}"' in client.get(directory.url).content.decode()


def test_the_compiled_first_slots_match_the_orm_path(directory, monkeypatch):
    """A page of cards runs compiled SQL (no city or district); the ORM path answers the same."""
    doctors = [listed_doctor(directory, f"Doc{i}", days=1 + i % 2, profile=False) for i in range(3)]
    ids = [doctor.pk for doctor in doctors]
    compiled = first_free_slots(doctor_ids=ids, per_doctor=1)
    compiled_video = first_free_slots(doctor_ids=ids, mode="video")
    monkeypatch.setattr("booking.selectors.scheduling.FIRST_SLOTS_BRANCHES", 0)  # the ORM's row numbers
    assert first_free_slots(doctor_ids=ids, per_doctor=1) == compiled
    assert first_free_slots(doctor_ids=ids, mode="video") == compiled_video
    assert all(len(slots) == 1 for slots in compiled.values())
