"""PostgreSQL's exclusion constraints refuse overlapping slots and availability however they are written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from booking.models import Availability, Slot
from booking.services import availability_create
from tests.booking.scheduling.factories import future_date, make_availability
from tests.factories import RoomFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="exclusion constraints exist on PostgreSQL only"),
]


def test_the_database_rejects_an_overlapping_slot_written_behind_the_services_back(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="10:00", now=now)
    first = availability.slots.order_by("start").first()
    with pytest.raises(IntegrityError, match="slot_no_overlap"), transaction.atomic():
        Slot.objects.create(
            doctor=dr_chau,
            availability=availability,
            start=first.start + dt.timedelta(minutes=10),
            end=first.end + dt.timedelta(minutes=10),
        )
    # touching is not overlapping ([start, end) ranges)
    Slot.objects.create(
        doctor=dr_chau,
        availability=availability,
        start=availability.ends_at,
        end=availability.ends_at + dt.timedelta(minutes=30),
    )


def test_the_database_rejects_overlapping_availability(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="10:00", now=now)
    with pytest.raises(IntegrityError, match="availability_no_overlap"), transaction.atomic():
        Availability.objects.create(
            doctor=dr_chau,
            date=availability.date,
            start_time=dt.time(9, 30),
            end_time=dt.time(11, 0),
            slot_minutes=30,
            starts_at=availability.starts_at + dt.timedelta(minutes=30),
            ends_at=availability.ends_at + dt.timedelta(hours=1),
        )


def test_other_doctors_may_overlap(dr_chau, dr_giang, now):
    mine = make_availability(dr_chau, start="09:00", end="10:00", now=now)
    theirs = make_availability(dr_giang, start="09:00", end="10:00", now=now)
    assert mine.starts_at == theirs.starts_at


def test_the_database_rejects_two_blocks_in_one_room_at_once_whoever_the_doctors(dr_chau, dr_giang, now):
    room = RoomFactory()
    mine = availability_create(
        doctor=dr_chau,
        date=future_date(3, doctor=dr_chau, now=now),
        start_time=dt.time(9),
        end_time=dt.time(10),
        slot_minutes=30,
        actor=None,
        now=now,
        room=room,
    )
    with pytest.raises(IntegrityError, match="availability_room_no_overlap"), transaction.atomic():
        Availability.objects.create(
            doctor=dr_giang,
            date=mine.date,
            start_time=dt.time(9, 30),
            end_time=dt.time(10, 30),
            slot_minutes=30,
            mode="in_person",
            facility=room.facility,
            room=room,
            starts_at=mine.starts_at + dt.timedelta(minutes=30),
            ends_at=mine.ends_at + dt.timedelta(minutes=30),
        )
    # touching is not overlapping, and blocks without a room are not concerned
    Availability.objects.create(
        doctor=dr_giang,
        date=mine.date,
        start_time=dt.time(10),
        end_time=dt.time(11),
        slot_minutes=30,
        mode="in_person",
        facility=room.facility,
        room=room,
        starts_at=mine.ends_at,
        ends_at=mine.ends_at + dt.timedelta(hours=1),
    )


def test_the_bulk_slot_insert_of_the_weekly_pattern_is_checked_too(dr_chau, now):
    """The weekly pattern writes its slots with COPY (issue 19): the exclusion constraint still checks
    every row, and a refusal is Django's IntegrityError, which the service turns into a conflict."""
    from booking.services.scheduling import _insert_slots

    availability = make_availability(dr_chau, start="09:00", end="10:00", now=now)
    first = availability.slots.order_by("start").first()
    shifted = (first.start + dt.timedelta(minutes=10), first.end + dt.timedelta(minutes=10))
    with pytest.raises(IntegrityError, match="slot_no_overlap"), transaction.atomic():
        _insert_slots([(dr_chau.pk, availability.pk, *shifted, "free")])
    _insert_slots(
        [(dr_chau.pk, availability.pk, availability.ends_at, availability.ends_at + dt.timedelta(minutes=30), "free")]
    )
    assert availability.slots.count() == 3


def test_the_exclusion_constraint_checks_rows_of_one_copy_against_each_other(dr_chau, now):
    """A weekly batch sends the slots of all its doctors in one COPY (issue 19): two overlapping new
    rows of one doctor in it are refused, rows of two doctors at the same time are not."""
    from booking.services.scheduling import _insert_slots

    mine = make_availability(dr_chau, start="09:00", end="10:00", now=now)
    later = (mine.ends_at + dt.timedelta(hours=1), mine.ends_at + dt.timedelta(hours=1, minutes=30))
    shifted = (later[0] + dt.timedelta(minutes=10), later[1] + dt.timedelta(minutes=10))
    with pytest.raises(IntegrityError, match="slot_no_overlap"), transaction.atomic():
        _insert_slots([(dr_chau.pk, mine.pk, *later, "free"), (dr_chau.pk, mine.pk, *shifted, "free")])
    assert mine.slots.count() == 2


def test_the_bulk_availability_insert_of_the_weekly_pattern_is_checked_too(dr_chau, now):
    from booking.services.scheduling import _insert_rows

    mine = make_availability(dr_chau, start="09:00", end="10:00", now=now)
    names = ["doctor", "date", "start_time", "end_time", "slot_minutes", "mode", "facility", "room", "starts_at"]
    names += ["ends_at", "created_by", "created_at", "updated_at"]
    row = (
        dr_chau.pk, mine.date, dt.time(9, 30), dt.time(10, 30), 30, "video", None, None,
        mine.starts_at + dt.timedelta(minutes=30), mine.ends_at + dt.timedelta(minutes=30), None, now, now,
    )  # fmt: skip
    with pytest.raises(IntegrityError, match="availability_no_overlap"), transaction.atomic():
        _insert_rows(Availability, names, [row])
    assert Availability.objects.filter(doctor=dr_chau).count() == 1


def test_the_weekly_pattern_copies_slots_and_availability_in_binary_and_the_values_arrive_as_sent(dr_chau, now):
    """The COPY is binary when psycopg knows every column's type (issue 19: no text to format or parse);
    a binary COPY applies no casts, so the values read back must be exactly the ones written."""
    from booking.services.scheduling import _AVAILABILITY_FIELDS, _copy_types, _insert_slots

    with connection.cursor() as cursor:
        registry = cursor.cursor.adapters.types
        for model, names in (
            (Slot, ["doctor", "availability", "start", "end", "status", "updated_at"]),
            (Availability, _AVAILABILITY_FIELDS),
        ):
            assert _copy_types([model._meta.get_field(name) for name in names], connection, registry) is not None
    mine = make_availability(dr_chau, start="09:00", end="10:00", now=now)
    start = mine.ends_at + dt.timedelta(hours=1, microseconds=7)
    _insert_slots([(dr_chau.pk, mine.pk, start, start + dt.timedelta(minutes=30), "blocked")])
    slot = Slot.objects.get(doctor=dr_chau, start=start)
    assert (slot.availability_id, slot.end, slot.status) == (mine.pk, start + dt.timedelta(minutes=30), "blocked")
