"""``first_free_slots``: each doctor's first few bookable slots, for the directory's quick slots, in one
query for any number of doctors; and ``doctor_search`` narrowed to a day (the directory's date filter)."""

from __future__ import annotations

import datetime as dt

import pytest

from booking.selectors import doctor_search, first_free_slots
from booking.services import availability_create, blocked_time_create
from tests.booking.scheduling.conftest import book, hold
from tests.booking.scheduling.factories import DoctorFactory, future_date, make_availability
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db


def test_each_doctor_gets_their_first_free_slots_in_order(dr_chau, dr_giang, now, clinic_defaults):
    make_availability(dr_chau, days=2, start="09:00", end="12:00", now=now)  # six slots
    make_availability(dr_giang, days=3, start="14:00", end="15:00", now=now)  # two slots
    found = first_free_slots(doctor_ids=[dr_chau.pk, dr_giang.pk], per_doctor=4, now=now, defaults=clinic_defaults)
    chau = list(dr_chau.slots.order_by("start"))
    assert found[dr_chau.pk] == chau[:4]
    assert found[dr_giang.pk] == list(dr_giang.slots.order_by("start"))


def test_taken_held_and_blocked_slots_are_skipped_and_lapsed_holds_count(dr_chau, now, clinic_defaults):
    slots = list(make_availability(dr_chau, days=2, start="09:00", end="12:00", now=now).slots.order_by("start"))
    book(slots[0])
    hold(slots[1], until=now + dt.timedelta(minutes=10))
    hold(slots[2], until=now - dt.timedelta(minutes=1))  # lapsed: free again
    blocked_time_create(doctor=dr_chau, starts_at=slots[3].start, ends_at=slots[3].end, actor=None, reason="")
    found = first_free_slots(doctor_ids=[dr_chau.pk], per_doctor=3, now=now, defaults=clinic_defaults)
    assert found[dr_chau.pk] == [slots[2], slots[4], slots[5]]


def test_each_doctors_own_notice_applies(dr_chau, dr_giang, now, clinic_defaults):
    make_availability(dr_chau, days=2, now=now)
    make_availability(dr_giang, days=2, now=now)
    dr_giang.min_notice_hours = 24 * 5
    dr_giang.save()
    found = first_free_slots(doctor_ids=[dr_chau.pk, dr_giang.pk], now=now, defaults=clinic_defaults)
    assert found[dr_chau.pk] and found[dr_giang.pk] == []


def test_place_and_day_filters_narrow_the_slots(dr_chau, now, clinic_defaults):
    video = make_availability(dr_chau, days=2, start="09:00", end="10:00", now=now)
    room = RoomFactory()
    availability_create(
        doctor=dr_chau,
        date=future_date(3, doctor=dr_chau, now=now),
        start_time=dt.time(14),
        end_time=dt.time(15),
        slot_minutes=30,
        actor=None,
        room=room,
        now=now,
    )
    in_person = first_free_slots(doctor_ids=[dr_chau.pk], now=now, defaults=clinic_defaults, mode="in_person")
    assert {slot.availability.facility_id for slot in in_person[dr_chau.pk]} == {room.facility_id}
    by_video = first_free_slots(doctor_ids=[dr_chau.pk], now=now, defaults=clinic_defaults, mode="video")
    assert by_video[dr_chau.pk] == list(video.slots.order_by("start"))
    at_city = first_free_slots(doctor_ids=[dr_chau.pk], now=now, defaults=clinic_defaults, city=room.facility.city)
    assert len(at_city[dr_chau.pk]) == 2

    first_video = video.slots.order_by("start").first().start
    day_start = first_video.replace(hour=0, minute=0)
    on_day = first_free_slots(
        doctor_ids=[dr_chau.pk],
        now=now,
        defaults=clinic_defaults,
        start=day_start,
        end=day_start + dt.timedelta(days=1),
    )
    assert on_day[dr_chau.pk] == list(video.slots.order_by("start"))


def test_doctor_search_narrowed_to_a_day_finds_doctors_free_that_day(dr_chau, dr_giang, now, clinic_defaults):
    make_availability(dr_chau, days=2, now=now)
    giang = make_availability(dr_giang, days=4, now=now)
    later = giang.slots.order_by("start").first().start
    start = later - dt.timedelta(hours=1)
    page = doctor_search(now=now, defaults=clinic_defaults, start=start, end=start + dt.timedelta(hours=6))
    assert [doctor.pk for doctor in page.doctors] == [dr_giang.pk]
    assert page.doctors[0].next_free_start == later


def test_one_query_whatever_the_number_of_doctors(now, clinic_defaults, django_assert_num_queries):
    doctors = [DoctorFactory() for _ in range(3)]
    for doctor in doctors:
        make_availability(doctor, days=2, now=now)
    with django_assert_num_queries(1):
        few = first_free_slots(doctor_ids=[d.pk for d in doctors], now=now, defaults=clinic_defaults)
    more = [DoctorFactory() for _ in range(9)]
    for doctor in more:
        make_availability(doctor, days=2, now=now)
    with django_assert_num_queries(1):
        many = first_free_slots(doctor_ids=[d.pk for d in doctors + more], now=now, defaults=clinic_defaults)
    assert all(len(slots) == 4 for slots in many.values()) and len(many) == 12 and len(few) == 3


def test_many_doctors_get_the_same_first_slots_as_a_page_of_them(dr_chau, dr_giang, now, clinic_defaults, monkeypatch):
    """Past ``FIRST_SLOTS_BRANCHES`` doctors the slots are numbered per doctor in one query instead of one
    index read each: both ways give the same slots."""
    from booking.selectors import scheduling

    slots = list(make_availability(dr_chau, days=2, start="09:00", end="12:00", now=now).slots.order_by("start"))
    make_availability(dr_giang, days=3, start="14:00", end="15:00", now=now)
    book(slots[1])
    blocked_time_create(doctor=dr_chau, starts_at=slots[3].start, ends_at=slots[3].end, actor=None, reason="")
    ids = [dr_chau.pk, dr_giang.pk]
    by_branches = first_free_slots(doctor_ids=ids, per_doctor=3, now=now, defaults=clinic_defaults)
    monkeypatch.setattr(scheduling, "FIRST_SLOTS_BRANCHES", 1)
    by_numbers = first_free_slots(doctor_ids=ids, per_doctor=3, now=now, defaults=clinic_defaults)
    assert by_branches == by_numbers
    assert by_branches[dr_chau.pk] == [slots[0], slots[2], slots[4]]
