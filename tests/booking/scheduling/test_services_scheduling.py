"""Scheduling services: every rule with its message, DST days, regeneration, weekly patterns, blocked time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from booking.models import Availability, BlockedTime, Slot, SlotStatus
from booking.services import (
    AvailabilityLocked,
    ScheduleConflict,
    SchedulingError,
    availability_create,
    availability_delete,
    availability_generate_weekly,
    availability_preview,
    availability_update,
    blocked_time_create,
    blocked_time_delete,
)
from core.models import AuditLog
from tests.booking.scheduling.conftest import book, hold
from tests.booking.scheduling.factories import DoctorFactory, future_date, make_availability

UTC = dt.UTC

pytestmark = pytest.mark.django_db


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def local_labels(availability):
    zone = availability.doctor.zone
    return [s.start.astimezone(zone).strftime("%H:%M") for s in availability.slots.order_by("start")]


# --- creating ----------------------------------------------------------------------------------


def test_doctor_creates_availability_and_gets_its_slots_in_utc(dr_chau, now):
    availability = make_availability(dr_chau, days=3, start="09:00", end="12:00", minutes=30, now=now)
    slots = list(availability.slots.order_by("start"))
    assert len(slots) == 6
    assert all(s.status == SlotStatus.FREE and s.doctor_id == dr_chau.pk for s in slots)
    # Ho Chi Minh City is UTC+7: 09:00 local is 02:00 UTC
    assert slots[0].start == dt.datetime.combine(availability.date, t("02:00"), tzinfo=UTC)
    assert availability.starts_at == slots[0].start and availability.ends_at == slots[-1].end
    assert availability.created_by == dr_chau.user
    entry = AuditLog.objects.get(action="booking.availability.created")
    assert entry.actor == dr_chau.user and entry.object_id == str(availability.pk)
    assert entry.data["slots"] == 6 and entry.data["doctor_id"] == dr_chau.pk


@pytest.mark.parametrize("days", [0, -1, -30])
def test_only_future_dates_can_be_scheduled(dr_chau, now, days):
    with pytest.raises(SchedulingError) as error:
        make_availability(dr_chau, days=days, now=now)
    assert str(error.value) == "Only future dates can be scheduled."
    assert error.value.code == "date_not_in_future"
    assert not Availability.objects.exists()


def test_tomorrow_is_judged_in_the_doctors_zone(now):
    # At 23:30 in Ho Chi Minh City it is still 16:30 UTC: "tomorrow" there is the day after that.
    late_evening = dt.datetime(2027, 5, 3, 16, 30, tzinfo=UTC)
    saigon = DoctorFactory(time_zone="Asia/Ho_Chi_Minh")
    new_york = DoctorFactory(time_zone="America/New_York")
    with pytest.raises(SchedulingError):
        availability_create(
            doctor=saigon, date=dt.date(2027, 5, 3), start_time=t("09:00"), end_time=t("10:00"),
            slot_minutes=30, actor=None, now=late_evening,
        )  # fmt: skip
    availability_create(
        doctor=saigon, date=dt.date(2027, 5, 4), start_time=t("09:00"), end_time=t("10:00"),
        slot_minutes=30, actor=None, now=late_evening,
    )  # fmt: skip
    with pytest.raises(SchedulingError):
        availability_create(
            doctor=new_york, date=dt.date(2027, 5, 3), start_time=t("15:00"), end_time=t("16:00"),
            slot_minutes=30, actor=None, now=late_evening,
        )  # fmt: skip


@pytest.mark.parametrize(("start", "end"), [("10:00", "09:00"), ("09:00", "09:00")])
def test_the_start_must_be_before_the_end(dr_chau, now, start, end):
    with pytest.raises(SchedulingError) as error:
        make_availability(dr_chau, start=start, end=end, now=now)
    assert str(error.value) == "The start time must be before the end time."


def test_the_visit_must_fit_at_least_once(dr_chau, now):
    with pytest.raises(SchedulingError) as error:
        make_availability(dr_chau, start="09:00", end="09:30", minutes=45, now=now)
    assert str(error.value) == "A 45-minute visit does not fit between 09:00 and 09:30."
    assert error.value.code == "visit_does_not_fit" and error.value.status == 400


@pytest.mark.parametrize("minutes", [0, 4, 481])
def test_the_visit_length_has_limits(dr_chau, now, minutes):
    with pytest.raises(SchedulingError) as error:
        make_availability(dr_chau, minutes=minutes, now=now)
    assert str(error.value) == "The visit length must be between 5 and 480 minutes."


def test_preview_lists_slots_leftover_and_every_problem_without_writing(dr_chau, now):
    day = future_date(2, doctor=dr_chau, now=now)
    preview = availability_preview(
        doctor=dr_chau, date=day, start_time=t("09:00"), end_time=t("10:45"), slot_minutes=30, now=now
    )
    assert preview.ok and preview.problems == []
    assert [s.local_start.strftime("%H:%M") for s in preview.local_slots] == ["09:00", "09:30", "10:00"]
    assert preview.leftover_minutes == 15
    assert any("The last 15 minutes (from 10:30) are too short" in note for note in preview.notes)
    past = availability_preview(
        doctor=dr_chau, date=now.date() - dt.timedelta(days=2), start_time=t("10:00"), end_time=t("09:00"),
        slot_minutes=30, now=now,
    )  # fmt: skip
    assert past.problems == ["Only future dates can be scheduled.", "The start time must be before the end time."]
    assert not Availability.objects.exists() and not Slot.objects.exists()


def test_the_doctors_buffer_separates_visits(dr_chau, now):
    dr_chau.buffer_minutes = 10
    dr_chau.save()
    availability = make_availability(dr_chau, start="09:00", end="11:00", minutes=30, now=now)
    assert local_labels(availability) == ["09:00", "09:40", "10:20"]


# --- overlaps ----------------------------------------------------------------------------------


def test_overlapping_availability_is_rejected_with_the_clash_named(dr_chau, now):
    first = make_availability(dr_chau, start="09:00", end="12:00", now=now)
    with pytest.raises(ScheduleConflict) as error:
        make_availability(dr_chau, start="11:30", end="13:00", now=now)
    assert error.value.status == 409 and error.value.code == "schedule_overlap"
    assert "overlaps the doctor's availability" in str(error.value) and "09:00–12:00" in str(error.value)
    assert error.value.details == {"availability_id": first.pk}
    assert Availability.objects.count() == 1 and Slot.objects.count() == 6


def test_touching_availability_and_other_doctors_are_fine(dr_chau, dr_giang, now):
    make_availability(dr_chau, start="09:00", end="12:00", now=now)
    make_availability(dr_chau, start="12:00", end="13:00", now=now)
    make_availability(dr_giang, start="09:00", end="12:00", now=now)
    assert Availability.objects.count() == 3 and Slot.objects.count() == 6 + 2 + 6


def test_overlap_found_by_the_database_becomes_the_same_conflict(dr_chau, now, monkeypatch):
    """Simulate a race the service check missed: the database still says no, and it becomes a 409.

    A slot on the same start hits the unique (doctor, start) constraint on both databases; a shifted
    overlap only PostgreSQL's exclusion constraint catches. On SQLite it would be stored (the negative
    control): there the check inside the IMMEDIATE transaction is the guard, as the tests above prove.
    """
    from booking.services import scheduling

    make_availability(dr_chau, start="09:00", end="12:00", now=now)
    real_evaluate = scheduling._evaluate

    def evaluate_without_overlap_check(**kwargs):
        preview = real_evaluate(**kwargs)
        preview.errors[:] = [e for e in preview.errors if not isinstance(e, ScheduleConflict)]
        return preview

    monkeypatch.setattr(scheduling, "_evaluate", evaluate_without_overlap_check)
    with pytest.raises(ScheduleConflict) as error:
        make_availability(dr_chau, start="10:00", end="11:00", now=now)
    assert error.value.status == 409 and Availability.objects.count() == 1
    if connection.vendor == "postgresql":
        with pytest.raises(ScheduleConflict):
            make_availability(dr_chau, start="10:15", end="11:15", now=now)
        assert Availability.objects.count() == 1
    else:
        make_availability(dr_chau, start="10:15", end="11:15", now=now)
        assert Availability.objects.count() == 2


# --- DST days through the service ----------------------------------------------------------------

BEFORE_2027_DST = dt.datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("Europe/Paris", dt.date(2027, 3, 28), ["01:00", "01:30", "03:00", "03:30"]),
        ("America/New_York", dt.date(2027, 3, 14), ["01:00", "01:30", "03:00", "03:30"]),
        (
            "Europe/Paris",
            dt.date(2027, 10, 31),
            ["01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00", "03:30"],
        ),
        (
            "America/New_York",
            dt.date(2027, 11, 7),
            ["01:00", "01:30", "01:00", "01:30", "02:00", "02:30", "03:00", "03:30"],
        ),
        ("Asia/Ho_Chi_Minh", dt.date(2027, 3, 28), ["01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]),
    ],
    ids=["paris-spring", "new-york-spring", "paris-autumn", "new-york-autumn", "ho-chi-minh"],
)
def test_availability_on_dst_days_gets_real_slots(zone, day, expected):
    doctor = DoctorFactory(time_zone=zone)
    availability = availability_create(
        doctor=doctor, date=day, start_time=t("01:00"), end_time=t("04:00"), slot_minutes=30, actor=None,
        now=BEFORE_2027_DST,
    )  # fmt: skip
    slots = list(availability.slots.order_by("start"))
    assert local_labels(availability) == expected
    assert len({s.start for s in slots}) == len(slots)
    assert all(s.end - s.start == dt.timedelta(minutes=30) for s in slots)
    assert availability.ends_at - availability.starts_at == dt.timedelta(minutes=30 * len(expected))


def test_preview_warns_when_the_clocks_change():
    doctor = DoctorFactory(time_zone="Europe/Paris")
    preview = availability_preview(
        doctor=doctor, date=dt.date(2027, 3, 28), start_time=t("01:00"), end_time=t("04:00"), slot_minutes=30,
        now=BEFORE_2027_DST,
    )  # fmt: skip
    assert any("The clocks change on this day in Europe/Paris" in note for note in preview.notes)


def test_hours_swallowed_by_the_spring_forward_gap_do_not_fit():
    doctor = DoctorFactory(time_zone="Europe/Paris")
    with pytest.raises(SchedulingError) as error:
        availability_create(
            doctor=doctor, date=dt.date(2027, 3, 28), start_time=t("02:00"), end_time=t("02:45"), slot_minutes=15,
            actor=None, now=BEFORE_2027_DST,
        )  # fmt: skip
    assert error.value.code == "visit_does_not_fit"


# --- changing and deleting -----------------------------------------------------------------------


def test_update_regenerates_slots_and_keeps_the_unchanged_ones(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="11:00", minutes=30, now=now)
    kept = {s.start: s.pk for s in availability.slots.all()}
    updated = availability_update(
        availability=availability, start_time=t("10:00"), end_time=t("12:00"), slot_minutes=30,
        actor=dr_chau.user, now=now,
    )  # fmt: skip
    assert local_labels(updated) == ["10:00", "10:30", "11:00", "11:30"]
    for slot in updated.slots.all():
        if slot.start in kept:
            assert slot.pk == kept[slot.start]
    assert updated.start_time == t("10:00") and updated.starts_at == updated.slots.order_by("start")[0].start
    entry = AuditLog.objects.get(action="booking.availability.changed")
    assert entry.data["before"]["start_time"] == "09:00" and entry.data["slots_created"] == 2
    assert entry.data["slots_deleted"] == 2 and entry.data["slots_kept"] == 2


def test_update_can_change_the_visit_length(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="10:00", minutes=30, now=now)
    updated = availability_update(
        availability=availability, start_time=t("09:00"), end_time=t("10:00"), slot_minutes=15, actor=None, now=now
    )
    assert local_labels(updated) == ["09:00", "09:15", "09:30", "09:45"]
    assert Slot.objects.count() == 4


def test_booked_availability_cannot_be_changed_or_deleted(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="11:00", now=now)
    booked = book(availability.slots.order_by("start")[1])
    with pytest.raises(AvailabilityLocked) as error:
        availability_update(
            availability=availability, start_time=t("09:00"), end_time=t("12:00"), slot_minutes=30, actor=None, now=now
        )
    assert error.value.status == 409
    assert str(error.value) == (
        "This availability cannot be changed: some of its slots are already booked or being booked."
    )
    with pytest.raises(AvailabilityLocked) as error:
        availability_delete(availability=availability, actor=None, now=now)
    assert "cannot be deleted" in str(error.value)
    booked.refresh_from_db()
    assert booked.status == SlotStatus.BOOKED and Slot.objects.count() == 4
    assert not AuditLog.objects.filter(action__in=["booking.availability.changed", "booking.availability.deleted"])


def test_a_live_hold_locks_the_availability_but_a_lapsed_one_does_not(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="11:00", now=now)
    slot = hold(availability.slots.first(), until=now + dt.timedelta(minutes=5))
    with pytest.raises(AvailabilityLocked):
        availability_update(
            availability=availability, start_time=t("09:00"), end_time=t("10:00"), slot_minutes=30, actor=None, now=now
        )
    hold(slot, until=now - dt.timedelta(minutes=1))
    updated = availability_update(
        availability=availability, start_time=t("09:00"), end_time=t("10:00"), slot_minutes=30, actor=None, now=now
    )
    assert updated.slots.count() == 2


def test_update_rejects_overlap_with_the_doctors_other_availability(dr_chau, now):
    make_availability(dr_chau, start="13:00", end="15:00", now=now)
    morning = make_availability(dr_chau, start="09:00", end="11:00", now=now)
    with pytest.raises(ScheduleConflict):
        availability_update(
            availability=morning, start_time=t("09:00"), end_time=t("13:30"), slot_minutes=30, actor=None, now=now
        )
    assert local_labels(Availability.objects.get(pk=morning.pk)) == ["09:00", "09:30", "10:00", "10:30"]


def test_update_keeps_other_rules(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="11:00", now=now)
    with pytest.raises(SchedulingError) as error:
        availability_update(
            availability=availability, start_time=t("11:00"), end_time=t("10:00"), slot_minutes=30, actor=None, now=now
        )
    assert str(error.value) == "The start time must be before the end time."
    later = now + dt.timedelta(days=10)
    with pytest.raises(SchedulingError) as error:
        availability_update(
            availability=availability,
            start_time=t("09:00"),
            end_time=t("10:00"),
            slot_minutes=30,
            actor=None,
            now=later,
        )
    assert str(error.value) == "Only availability on future dates can be changed."


def test_delete_removes_the_availability_and_its_slots(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="11:00", now=now)
    other = make_availability(dr_chau, days=4, now=now)
    assert availability_delete(availability=availability, actor=dr_chau.user, now=now) == 4
    assert not Availability.objects.filter(pk=availability.pk).exists()
    assert set(Slot.objects.values_list("availability_id", flat=True)) == {other.pk}
    entry = AuditLog.objects.get(action="booking.availability.deleted")
    assert entry.object_id == str(availability.pk) and entry.data["slots"] == 4


# --- weekly patterns ---------------------------------------------------------------------------


def test_weekly_pattern_creates_the_chosen_weekdays_and_skips_what_cannot_be_had(dr_chau, now):
    today = now.astimezone(dr_chau.zone).date()
    date_from = today - dt.timedelta(days=2)
    date_to = today + dt.timedelta(days=20)
    clash_day = next(today + dt.timedelta(days=n) for n in range(1, 8) if (today + dt.timedelta(days=n)).weekday() < 5)
    availability_create(
        doctor=dr_chau, date=clash_day, start_time=t("08:00"), end_time=t("09:30"), slot_minutes=30, actor=None,
        now=now,
    )  # fmt: skip
    result = availability_generate_weekly(
        doctor=dr_chau, weekdays={0, 1, 2, 3, 4}, start_time=t("09:00"), end_time=t("11:00"), slot_minutes=30,
        date_from=date_from, date_to=date_to, actor=dr_chau.user, now=now,
    )  # fmt: skip
    all_weekdays = [
        date_from + dt.timedelta(days=n) for n in range(23) if (date_from + dt.timedelta(days=n)).weekday() < 5
    ]
    expected_created = [d for d in all_weekdays if d > today and d != clash_day]
    assert [a.date for a in result.created] == expected_created
    skipped = {s.date: s for s in result.skipped}
    assert set(skipped) == {d for d in all_weekdays if d <= today} | {clash_day}
    assert skipped[clash_day].code == "schedule_overlap"
    assert all(skipped[d].reason == "Only future dates can be scheduled." for d in skipped if d <= today)
    assert all(a.slots.count() == 4 for a in result.created)
    summary = AuditLog.objects.get(action="booking.availability.weekly_generated")
    assert summary.data["created"] == [a.pk for a in result.created]


def test_weekly_pattern_limits(dr_chau, now):
    today = now.astimezone(dr_chau.zone).date()
    common = {"doctor": dr_chau, "start_time": t("09:00"), "end_time": t("11:00"), "slot_minutes": 30, "actor": None}
    with pytest.raises(SchedulingError) as error:
        availability_generate_weekly(weekdays={0}, date_from=today, date_to=today + dt.timedelta(days=92), **common)
    assert str(error.value) == "A weekly pattern can cover at most 92 days per run; this range has 93."
    with pytest.raises(SchedulingError) as error:
        availability_generate_weekly(weekdays=set(), date_from=today, date_to=today, **common)
    assert str(error.value) == "Pick at least one weekday."
    with pytest.raises(SchedulingError) as error:
        availability_generate_weekly(weekdays={7}, date_from=today, date_to=today, **common)
    assert error.value.code == "invalid_weekday"
    with pytest.raises(SchedulingError) as error:
        availability_generate_weekly(weekdays={0}, date_from=today, date_to=today - dt.timedelta(days=1), **common)
    assert str(error.value) == "The first date must not be after the last date."
    with pytest.raises(SchedulingError) as error:
        availability_generate_weekly(weekdays={0}, date_from=today, date_to=today, **{**common, "end_time": t("09:20")})
    assert str(error.value) == "A 30-minute visit does not fit between 09:00 and 09:20."
    assert not Availability.objects.exists()
    result = availability_generate_weekly(
        weekdays=set(range(7)), date_from=today + dt.timedelta(days=1), date_to=today + dt.timedelta(days=92),
        now=now, **common,
    )  # fmt: skip
    assert len(result.created) == 92 and not result.skipped


# --- blocked time ------------------------------------------------------------------------------


def test_blocking_time_blocks_free_slots_and_leaves_booked_ones(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="12:00", now=now)
    slots = list(availability.slots.order_by("start"))  # 09:00 … 11:30
    booked = book(slots[1])
    live = hold(slots[2], until=now + dt.timedelta(minutes=5))
    lapsed = hold(slots[3], until=now - dt.timedelta(minutes=5))
    result = blocked_time_create(
        doctor=dr_chau, starts_at=slots[0].start, ends_at=slots[4].start, reason="Hội chẩn", actor=dr_chau.user,
        now=now,
    )  # fmt: skip
    assert result.blocked_slots == 2 and result.booked_slots == 2
    statuses = {s.pk: s.status for s in Slot.objects.all()}
    assert statuses[slots[0].pk] == SlotStatus.BLOCKED
    assert statuses[lapsed.pk] == SlotStatus.BLOCKED
    assert statuses[booked.pk] == SlotStatus.BOOKED and statuses[live.pk] == SlotStatus.HELD
    assert statuses[slots[4].pk] == SlotStatus.FREE and statuses[slots[5].pk] == SlotStatus.FREE
    assert AuditLog.objects.get(action="booking.blocked_time.created").data["slots_booked"] == 2


def test_new_availability_inside_blocked_time_starts_blocked(dr_chau, now):
    day = future_date(3, doctor=dr_chau, now=now)
    zone = ZoneInfo(dr_chau.time_zone)
    blocked_time_create(
        doctor=dr_chau, starts_at=dt.datetime.combine(day, t("10:00"), tzinfo=zone),
        ends_at=dt.datetime.combine(day, t("11:00"), tzinfo=zone), reason="", actor=None, now=now,
    )  # fmt: skip
    availability = make_availability(dr_chau, start="09:00", end="12:00", now=now)
    statuses = [s.status for s in availability.slots.order_by("start")]
    assert statuses == ["free", "free", "blocked", "blocked", "free", "free"]


def test_deleting_blocked_time_frees_its_slots_unless_another_block_covers_them(dr_chau, now):
    availability = make_availability(dr_chau, start="09:00", end="12:00", now=now)
    slots = list(availability.slots.order_by("start"))
    wide = blocked_time_create(
        doctor=dr_chau, starts_at=slots[0].start, ends_at=slots[4].start, reason="leave", actor=None, now=now
    ).blocked_time
    narrow = blocked_time_create(
        doctor=dr_chau, starts_at=slots[3].start, ends_at=slots[5].end, reason="meeting", actor=None, now=now
    ).blocked_time
    freed = blocked_time_delete(blocked_time=wide, actor=dr_chau.user, now=now)
    assert freed == 3
    statuses = [s.status for s in Slot.objects.order_by("start")]
    assert statuses == ["free", "free", "free", "blocked", "blocked", "blocked"]
    assert not BlockedTime.objects.filter(pk=wide.pk).exists()
    assert blocked_time_delete(blocked_time=narrow, actor=None, now=now) == 3
    assert set(Slot.objects.values_list("status", flat=True)) == {"free"}
    assert AuditLog.objects.filter(action="booking.blocked_time.deleted").count() == 2


def test_blocked_time_rules(dr_chau, now):
    start = now + dt.timedelta(days=1)
    with pytest.raises(SchedulingError) as error:
        blocked_time_create(doctor=dr_chau, starts_at=start, ends_at=start, reason="", actor=None, now=now)
    assert str(error.value) == "The blocked time must end after it starts."
    with pytest.raises(SchedulingError) as error:
        blocked_time_create(
            doctor=dr_chau, starts_at=now - dt.timedelta(hours=3), ends_at=now - dt.timedelta(hours=1), reason="",
            actor=None, now=now,
        )  # fmt: skip
    assert str(error.value) == "Blocked time must end in the future."
    with pytest.raises(SchedulingError) as error:
        blocked_time_create(
            doctor=dr_chau,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            reason="x" * 201,
            actor=None,
            now=now,
        )
    assert error.value.code == "reason_too_long"
    assert not BlockedTime.objects.exists()


@pytest.mark.parametrize("field", ["start_time", "end_time"])
def test_times_with_a_utc_offset_are_refused_naming_the_field(dr_chau, field):
    from core.errors import InvalidInput

    times = {"start_time": dt.time(9, 0), "end_time": dt.time(11, 0)}
    times[field] = times[field].replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with pytest.raises(InvalidInput) as refused:
        availability_create(doctor=dr_chau, date=future_date(3, doctor=dr_chau), slot_minutes=30, actor=None, **times)
    assert refused.value.status == 422 and refused.value.details["fields"] == [field]


def test_an_evening_shift_can_run_to_midnight_and_a_night_shift_past_it(dr_chau):
    availability = availability_create(
        doctor=dr_chau,
        date=future_date(3, doctor=dr_chau),
        start_time=dt.time(21, 0),
        end_time=dt.time(0, 0),
        slot_minutes=30,
        actor=None,
    )
    local = [s.start.astimezone(dr_chau.zone).strftime("%H:%M") for s in availability.slots.order_by("start")]
    assert local == ["21:00", "21:30", "22:00", "22:30", "23:00", "23:30"]
    night = availability_create(
        doctor=dr_chau,
        date=future_date(5, doctor=dr_chau),
        start_time=dt.time(23, 0),
        end_time=dt.time(1, 0),
        slot_minutes=30,
        actor=None,
    )
    ends = [s.end.astimezone(dr_chau.zone) for s in night.slots.order_by("start")]
    assert [e.strftime("%H:%M") for e in ends] == ["23:30", "00:00", "00:30", "01:00"]
    assert ends[-1].date() == future_date(6, doctor=dr_chau)
    with pytest.raises(SchedulingError):  # the same time at both ends is no shift at all
        availability_create(
            doctor=dr_chau,
            date=future_date(4, doctor=dr_chau),
            start_time=dt.time(0, 0),
            end_time=dt.time(0, 0),
            slot_minutes=30,
            actor=None,
        )
