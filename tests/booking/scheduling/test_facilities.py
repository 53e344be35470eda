"""Facilities and rooms: where availability happens, what a slot knows about its place, and a room
that holds one block at a time whoever the doctor (the service on every database; PostgreSQL's
exclusion constraint behind it, tests/booking/scheduling/test_postgres_constraints.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from booking.models import AppointmentMode, Availability, Slot
from booking.services import ScheduleConflict, availability_create, availability_generate_weekly, availability_update
from core.errors import InvalidInput
from core.models import AuditLog
from tests.booking.scheduling.factories import future_date, make_availability
from tests.factories import FacilityFactory, RoomFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def le_loi(db):
    return FacilityFactory(name="Medbook Lê Lợi", district="Quận 1", city="Hồ Chí Minh")


@pytest.fixture
def room_101(le_loi):
    return RoomFactory(facility=le_loi, name="101")


def create(doctor, now, **place):
    return availability_create(
        doctor=doctor,
        date=future_date(3, doctor=doctor, now=now),
        start_time=dt.time(9),
        end_time=dt.time(10),
        slot_minutes=30,
        actor=doctor.user,
        now=now,
        **place,
    )


def test_availability_without_a_place_stays_video(dr_chau, now):
    availability = make_availability(dr_chau, now=now)
    assert (availability.mode, availability.facility, availability.room) == (AppointmentMode.VIDEO, None, None)


def test_a_room_makes_the_availability_in_person_at_its_facility_and_its_slots_know_it(dr_chau, room_101, now):
    availability = create(dr_chau, now, room=room_101)
    assert (availability.mode, availability.facility, availability.room) == ("in_person", room_101.facility, room_101)
    slot = Slot.objects.select_related("availability__facility", "availability__room").filter(
        availability=availability
    )[0]
    assert (slot.mode, slot.facility, slot.room) == ("in_person", room_101.facility, room_101)
    entry = AuditLog.objects.filter(action="booking.availability.created").latest("pk")
    assert entry.data["room_id"] == room_101.pk and entry.data["mode"] == "in_person"


@pytest.mark.parametrize(
    ("place", "field", "code"),
    [
        ({"mode": "in_person"}, "facility", "facility_required"),
        ({"mode": "teleport"}, "mode", "invalid_mode"),
        ({"mode": "video", "facility": "le_loi"}, "facility", "video_has_place"),
        ({"mode": "video", "room": "room_101"}, "room", "video_has_place"),
        ({"facility": "elsewhere", "room": "room_101"}, "room", "room_not_in_facility"),
    ],
)
def test_a_bad_place_is_refused_naming_the_field(dr_chau, le_loi, room_101, now, place, field, code):
    things = {"le_loi": le_loi, "room_101": room_101, "elsewhere": FacilityFactory(name="Elsewhere")}
    place = {key: things.get(value, value) if key != "mode" else value for key, value in place.items()}
    with pytest.raises(InvalidInput) as refused:
        create(dr_chau, now, **place)
    assert refused.value.code == code
    assert field in refused.value.details["fields"]
    assert not Availability.objects.exists()


def test_a_closed_facility_or_a_room_out_of_use_is_refused(dr_chau, le_loi, room_101, now):
    room_101.is_active = False
    room_101.save()
    with pytest.raises(InvalidInput, match="out of use"):
        create(dr_chau, now, room=room_101)
    le_loi.is_active = False
    le_loi.save()
    with pytest.raises(InvalidInput, match="closed"):
        create(dr_chau, now, facility=le_loi)


def test_a_room_holds_one_block_at_a_time_whoever_the_doctor(dr_chau, dr_giang, room_101, now):
    create(dr_chau, now, room=room_101)
    with pytest.raises(ScheduleConflict) as refused:
        availability_create(
            doctor=dr_giang,
            date=future_date(3, doctor=dr_giang, now=now),
            start_time=dt.time(9, 30),
            end_time=dt.time(11),
            slot_minutes=30,
            actor=dr_giang.user,
            now=now,
            room=room_101,
        )
    assert refused.value.code == "room_in_use"
    assert str(dr_chau) in str(refused.value)
    # another room of the same facility, or the room right after, is fine
    other_room = RoomFactory(facility=room_101.facility, name="102")
    availability_create(
        doctor=dr_giang,
        date=future_date(3, doctor=dr_giang, now=now),
        start_time=dt.time(9, 30),
        end_time=dt.time(11),
        slot_minutes=30,
        actor=dr_giang.user,
        now=now,
        room=other_room,
    )
    availability_create(
        doctor=dr_giang,
        date=future_date(3, doctor=dr_giang, now=now),
        start_time=dt.time(11),
        end_time=dt.time(12),
        slot_minutes=30,
        actor=dr_giang.user,
        now=now,
        room=room_101,
    )


def test_changing_times_cannot_push_into_a_room_in_use(dr_chau, dr_giang, room_101, now):
    create(dr_chau, now, room=room_101)
    later = availability_create(
        doctor=dr_giang,
        date=future_date(3, doctor=dr_giang, now=now),
        start_time=dt.time(10),
        end_time=dt.time(11),
        slot_minutes=30,
        actor=dr_giang.user,
        now=now,
        room=room_101,
    )
    with pytest.raises(ScheduleConflict, match="room is already in use"):
        availability_update(
            availability=later, start_time=dt.time(9, 30), end_time=dt.time(11), slot_minutes=30, actor=None, now=now
        )


def test_the_weekly_pattern_carries_the_place_and_skips_dates_where_the_room_is_taken(dr_chau, dr_giang, room_101, now):
    taken = create(dr_giang, now, room=room_101)
    first = future_date(2, doctor=dr_chau, now=now)
    result = availability_generate_weekly(
        doctor=dr_chau,
        weekdays=set(range(7)),
        start_time=dt.time(9),
        end_time=dt.time(10),
        slot_minutes=30,
        date_from=first,
        date_to=first + dt.timedelta(days=2),
        actor=None,
        now=now,
        room=room_101,
    )
    assert [s.date for s in result.skipped] == [taken.date] and result.skipped[0].code == "room_in_use"
    assert {a.room_id for a in result.created} == {room_101.pk} and len(result.created) == 2


def test_the_database_refuses_a_place_that_does_not_match_the_mode(dr_chau, le_loi, now):
    availability = make_availability(dr_chau, now=now)
    with pytest.raises(IntegrityError, match="availability_mode_place"), transaction.atomic():
        Availability.objects.filter(pk=availability.pk).update(facility=le_loi)
    with pytest.raises(IntegrityError, match="availability_mode_place"), transaction.atomic():
        Availability.objects.filter(pk=availability.pk).update(mode="in_person")


def test_a_facility_knows_its_one_line_address_and_map_link(le_loi):
    le_loi.address = "12 Lê Lợi"
    assert le_loi.full_address == "12 Lê Lợi, Quận 1, Hồ Chí Minh"
    assert le_loi.map_url.startswith("https://www.openstreetmap.org/?mlat=10.776889&mlon=106.700806")
    le_loi.latitude = le_loi.longitude = None
    assert le_loi.map_url == ""


def test_the_database_refuses_coordinates_off_the_globe(le_loi):
    with pytest.raises(IntegrityError, match="facility_coordinates_valid"), transaction.atomic():
        type(le_loi).objects.filter(pk=le_loi.pk).update(latitude=Decimal("91"))
