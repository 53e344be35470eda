"""The weekly pattern is set-based: a fixed number of queries however many dates, one audit entry per
run, idempotent, and the same rules as one date at a time (blocked time, overlaps, rooms)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.models import Availability, Slot, SlotStatus
from booking.services import (
    availability_create,
    availability_generate_weekly,
    availability_generate_weekly_batch,
    blocked_time_create,
)
from core.models import AuditLog
from tests.booking.scheduling.factories import DoctorFactory
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db


def weekly(doctor, now, *, first: dt.date, days: int, **extra):
    return availability_generate_weekly(
        doctor=doctor, weekdays={0, 1, 2, 3, 4}, start_time=dt.time(8), end_time=dt.time(12), slot_minutes=30,
        date_from=first, date_to=first + dt.timedelta(days=days - 1), actor=doctor.user, now=now, **extra,
    )  # fmt: skip


def tomorrow(doctor, now) -> dt.date:
    return now.astimezone(doctor.zone).date() + dt.timedelta(days=1)


def test_a_month_costs_the_same_queries_as_a_week(dr_chau, dr_giang, now):
    with CaptureQueriesContext(connection) as week:
        small = weekly(dr_chau, now, first=tomorrow(dr_chau, now), days=7)
    with CaptureQueriesContext(connection) as quarter:
        large = weekly(dr_giang, now, first=tomorrow(dr_giang, now), days=90)
    assert len(small.created) == 5 and len(large.created) > 60
    assert Slot.objects.filter(doctor=dr_giang).count() == len(large.created) * 8
    assert len(week.captured_queries) == len(quarter.captured_queries) <= 12
    # the idempotent re-run reads and skips every date, again in a fixed number of queries
    with CaptureQueriesContext(connection) as rerun:
        again = weekly(dr_giang, now, first=tomorrow(dr_giang, now), days=90)
    assert again.created == [] and len(again.skipped) == len(large.created)
    assert {s.code for s in again.skipped} == {"schedule_overlap"}
    assert len(rerun.captured_queries) <= len(quarter.captured_queries)
    assert Slot.objects.filter(doctor=dr_giang).count() == len(large.created) * 8


def test_one_audit_entry_per_run_naming_what_was_made(dr_chau, now):
    result = weekly(dr_chau, now, first=tomorrow(dr_chau, now), days=14)
    entries = AuditLog.objects.filter(action__startswith="booking.availability.")
    assert [e.action for e in entries] == ["booking.availability.weekly_generated"]
    assert entries[0].data["created"] == [a.pk for a in result.created]
    assert entries[0].actor == dr_chau.user
    made = Availability.objects.filter(doctor=dr_chau).order_by("date")
    assert [a.pk for a in made] == [a.pk for a in result.created]
    assert all(a.created_by == dr_chau.user and a.slots.count() == 8 for a in made)


def test_slots_inside_blocked_time_start_blocked_and_the_rest_free(dr_chau, now):
    first = tomorrow(dr_chau, now)
    day = next(first + dt.timedelta(days=n) for n in range(7) if (first + dt.timedelta(days=n)).weekday() < 5)
    zone = ZoneInfo(dr_chau.time_zone)
    blocked_time_create(
        doctor=dr_chau, starts_at=dt.datetime.combine(day, dt.time(9), tzinfo=zone),
        ends_at=dt.datetime.combine(day, dt.time(10), tzinfo=zone), reason="", actor=None, now=now,
    )  # fmt: skip
    weekly(dr_chau, now, first=first, days=7)
    statuses = [s.status for s in Slot.objects.filter(availability__date=day, doctor=dr_chau).order_by("start")]
    assert statuses == ["free", "free", "blocked", "blocked", "free", "free", "free", "free"]
    assert Slot.objects.filter(doctor=dr_chau, status=SlotStatus.BLOCKED).count() == 2


def test_a_partly_overlapping_date_is_skipped_and_its_neighbours_are_made(dr_chau, now):
    first = tomorrow(dr_chau, now)
    workdays = [first + dt.timedelta(days=n) for n in range(14) if (first + dt.timedelta(days=n)).weekday() < 5]
    clash = availability_create(
        doctor=dr_chau, date=workdays[2], start_time=dt.time(11, 30), end_time=dt.time(13), slot_minutes=30,
        actor=None, now=now,
    )  # fmt: skip
    result = weekly(dr_chau, now, first=first, days=14)
    assert [s.date for s in result.skipped] == [workdays[2]]
    assert result.skipped[0].code == "schedule_overlap" and "11:30" in result.skipped[0].reason
    assert [a.date for a in result.created] == [d for d in workdays if d != workdays[2]]
    assert Slot.objects.filter(availability=clash).count() == 3


def test_generation_costs_the_same_queries_for_every_doctor_and_month(now, general_medicine):
    """Issue 19: the weekly pattern for many doctors is one call per doctor at a fixed cost: the
    queries per call do not grow with the number of dates or with the doctors (and their slots)
    already there. On PostgreSQL the slots go in with one COPY (not in Django's query log)."""
    doctors = [DoctorFactory(specialties=[general_medicine]) for _ in range(4)]
    counts = []
    for index, doctor in enumerate(doctors):
        with CaptureQueriesContext(connection) as queries:
            result = weekly(doctor, now, first=tomorrow(doctor, now), days=7 if index == 0 else 30)
        counts.append(len(queries.captured_queries))
        assert result.created and not result.skipped
        assert Slot.objects.filter(doctor=doctor).count() == len(result.created) * 8
    assert len(set(counts)) == 1 and counts[0] <= 12, counts
    # every slot stored as planned: inside its availability, free, one per start
    for doctor in doctors:
        for availability in Availability.objects.filter(doctor=doctor):
            starts = list(availability.slots.order_by("start").values_list("start", "end", "status"))
            assert len(starts) == 8 and all(status == SlotStatus.FREE for _s, _e, status in starts)
            assert starts[0][0] == availability.starts_at and starts[-1][1] == availability.ends_at


# --- many doctors in one call (issue 19: the bench's 200 doctors × 1 month in < 3 s) ----------------


def weekly_batch(doctors, now, *, first: dt.date, days: int, **extra):
    return availability_generate_weekly_batch(
        doctors=doctors, weekdays={0, 1, 2, 3, 4}, start_time=dt.time(8), end_time=dt.time(12), slot_minutes=30,
        date_from=first, date_to=first + dt.timedelta(days=days - 1), actor=None, now=now, **extra,
    )  # fmt: skip


def test_a_batch_costs_the_same_queries_whatever_its_doctors_dates_and_the_data_there(now, general_medicine):
    """2 doctors for a week cost the queries of 8 doctors for a month made after them (more rows than
    one of Django's SQLite bulk inserts takes), and the idempotent re-run makes nothing, in no more."""
    small = [DoctorFactory(specialties=[general_medicine]) for _ in range(2)]
    large = [DoctorFactory(specialties=[general_medicine]) for _ in range(8)]
    first = tomorrow(small[0], now)
    with CaptureQueriesContext(connection) as week:
        results = weekly_batch(small, now, first=first, days=7)
    assert [len(result.created) for result in results.values()] == [5, 5]
    with CaptureQueriesContext(connection) as month:
        results = weekly_batch(large, now, first=first, days=30)
    made = [availability for result in results.values() for availability in result.created]
    assert len(made) >= 8 * 20 and not any(result.skipped for result in results.values())
    assert Slot.objects.filter(doctor__in=large).count() == len(made) * 8
    assert len(week.captured_queries) == len(month.captured_queries) <= 11
    with CaptureQueriesContext(connection) as rerun:
        again = weekly_batch(large, now, first=first, days=30)
    assert all(result.created == [] for result in again.values())
    assert sum(len(result.skipped) for result in again.values()) == len(made)
    assert {s.code for result in again.values() for s in result.skipped} == {"schedule_overlap"}
    assert len(rerun.captured_queries) < len(month.captured_queries)
    assert Slot.objects.filter(doctor__in=large).count() == len(made) * 8
    assert AuditLog.objects.filter(action="booking.availability.weekly_generated").count() == 2 + 8 + 8


def test_a_batch_makes_and_skips_for_each_doctor_what_a_run_of_their_own_would(dr_chau, dr_giang, now):
    first = tomorrow(dr_chau, now)
    workdays = [first + dt.timedelta(days=n) for n in range(14) if (first + dt.timedelta(days=n)).weekday() < 5]
    availability_create(
        doctor=dr_chau, date=workdays[1], start_time=dt.time(11, 30), end_time=dt.time(13), slot_minutes=30,
        actor=None, now=now,
    )  # fmt: skip
    zone = ZoneInfo(dr_giang.time_zone)
    blocked_time_create(
        doctor=dr_giang, starts_at=dt.datetime.combine(workdays[2], dt.time(9), tzinfo=zone),
        ends_at=dt.datetime.combine(workdays[2], dt.time(10), tzinfo=zone), reason="", actor=None, now=now,
    )  # fmt: skip
    results = weekly_batch([dr_giang, dr_chau, dr_giang], now, first=first, days=14)
    assert list(results) == [dr_giang.pk, dr_chau.pk]  # each doctor once, in the caller's order
    chau, giang = results[dr_chau.pk], results[dr_giang.pk]
    assert [s.date for s in chau.skipped] == [workdays[1]]
    assert chau.skipped[0].code == "schedule_overlap" and "11:30" in chau.skipped[0].reason
    assert [a.date for a in chau.created] == [d for d in workdays if d != workdays[1]]
    assert [a.date for a in giang.created] == workdays and giang.skipped == []
    statuses = [
        s.status for s in Slot.objects.filter(availability__date=workdays[2], doctor=dr_giang).order_by("start")
    ]
    assert statuses == ["free", "free", "blocked", "blocked", "free", "free", "free", "free"]
    entries = {e.object_id: e for e in AuditLog.objects.filter(action="booking.availability.weekly_generated")}
    assert set(entries) == {str(dr_chau.pk), str(dr_giang.pk)}
    assert all(e.object_type == "booking.doctor" for e in entries.values())
    assert entries[str(dr_chau.pk)].data["created"] == [a.pk for a in chau.created]
    assert entries[str(dr_chau.pk)].data["skipped"] == [{"date": workdays[1].isoformat(), "code": "schedule_overlap"}]
    # what the batch hands back is what it stored, field by field
    fields = [f.attname for f in Availability._meta.concrete_fields]
    for doctor, result in ((dr_chau, chau), (dr_giang, giang)):
        for availability in result.created:
            stored = Availability.objects.get(pk=availability.pk)
            assert [getattr(availability, name) for name in fields] == [getattr(stored, name) for name in fields]
            assert availability.doctor is doctor and not availability._state.adding
            assert availability.slots.count() == 8


def test_doctors_of_one_batch_do_not_share_a_room_at_once(dr_chau, dr_giang, now):
    room = RoomFactory()
    lower, higher = sorted([dr_chau, dr_giang], key=lambda doctor: doctor.pk)
    results = weekly_batch([higher, lower], now, first=tomorrow(dr_chau, now), days=7, room=room)
    assert len(results[lower.pk].created) == 5 and results[lower.pk].skipped == []  # ascending id goes first
    assert results[higher.pk].created == []
    assert {s.code for s in results[higher.pk].skipped} == {"room_in_use"}
    assert Availability.objects.filter(room=room).count() == 5
    assert all(a.mode == "in_person" and a.facility_id == room.facility_id for a in results[lower.pk].created)
