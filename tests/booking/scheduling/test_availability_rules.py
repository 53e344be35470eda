"""Doctors' standing weekly hours published a rolling number of weeks ahead (issue 17 item 4): the task
twice makes nothing twice, the horizon rolls, blocked time stays blocked, local times survive DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from booking import services as svc
from booking.models import Availability, AvailabilityRule, BlockedTime, Slot, SlotStatus
from booking.slotting import resolve_local
from tests.booking.scheduling.factories import DoctorFactory
from workflows.schedules import PERIODIC_TASKS
from workflows.tasks import extend_availability_rules

pytestmark = pytest.mark.django_db


def monday_rule(doctor, **extra):
    return AvailabilityRule.objects.create(
        doctor=doctor, weekday=0, start_time=dt.time(9), end_time=dt.time(11), slot_minutes=30, **extra
    )


def mondays_between(first: dt.date, last: dt.date) -> int:
    return sum(1 for n in range((last - first).days + 1) if (first + dt.timedelta(days=n)).weekday() == 0)


def test_the_rule_publishes_every_matching_day_up_to_the_horizon(dr_chau, now, settings):
    settings.AVAILABILITY_RULES_WEEKS_AHEAD = 4
    rule = monday_rule(dr_chau)
    summary = svc.availability_rules_extend(now=now)
    today = now.astimezone(dr_chau.zone).date()
    expected = mondays_between(today + dt.timedelta(days=1), today + dt.timedelta(weeks=4))
    assert summary == {"rules": 1, "created": expected, "failed": 0}
    days = list(Availability.objects.filter(doctor=dr_chau).values_list("date", flat=True))
    assert len(days) == expected and {d.weekday() for d in days} == {0}
    assert Slot.objects.filter(doctor=dr_chau).count() == expected * 4
    rule.refresh_from_db()
    assert rule.generated_through == today + dt.timedelta(weeks=4)


def test_running_the_task_twice_makes_nothing_twice(dr_chau, now):
    rule = monday_rule(dr_chau)
    svc.availability_rules_extend(now=now)
    slots = Slot.objects.count()
    assert svc.availability_rules_extend(now=now)["created"] == 0
    # even with its memory wiped, the generator finds the hours already there and skips them
    AvailabilityRule.objects.filter(pk=rule.pk).update(generated_through=None)
    assert svc.availability_rules_extend(now=now)["created"] == 0
    assert Slot.objects.count() == slots


def test_the_horizon_rolls_forward_a_week_later(dr_chau, now):
    monday_rule(dr_chau, weeks_ahead=2)
    first = svc.availability_rules_extend(now=now)["created"]
    assert first in (1, 2)
    assert svc.availability_rules_extend(now=now + dt.timedelta(days=7))["created"] == 1
    last = Availability.objects.filter(doctor=dr_chau).order_by("-date").first().date
    assert last <= (now + dt.timedelta(days=7)).astimezone(dr_chau.zone).date() + dt.timedelta(weeks=2)


def test_a_day_the_doctor_cleared_by_hand_is_not_made_again(dr_chau, now):
    monday_rule(dr_chau)
    svc.availability_rules_extend(now=now)
    cleared = Availability.objects.filter(doctor=dr_chau).order_by("date").first()
    svc.availability_delete(availability=cleared, actor=dr_chau.user, now=now)
    svc.availability_rules_extend(now=now + dt.timedelta(hours=1))
    assert not Availability.objects.filter(doctor=dr_chau, date=cleared.date).exists()


def test_blocked_time_is_respected(dr_chau, now):
    today = now.astimezone(dr_chau.zone).date()
    monday = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)
    BlockedTime.objects.create(
        doctor=dr_chau,
        starts_at=resolve_local(monday, dt.time(9), dr_chau.zone),
        ends_at=resolve_local(monday, dt.time(10), dr_chau.zone),
        reason="Staff meeting",
    )
    monday_rule(dr_chau)
    svc.availability_rules_extend(now=now)
    statuses = list(Slot.objects.filter(availability__date=monday).order_by("start").values_list("status", flat=True))
    assert statuses == [SlotStatus.BLOCKED, SlotStatus.BLOCKED, SlotStatus.FREE, SlotStatus.FREE]
    assert not svc.series_preview(doctor=dr_chau, first_start=resolve_local(monday, dt.time(9), dr_chau.zone), count=2)[
        0
    ].free


def test_local_hours_survive_the_change_to_summer_time(db):
    berlin = ZoneInfo("Europe/Berlin")
    doctor = DoctorFactory(time_zone="Europe/Berlin")
    monday_rule(doctor, weeks_ahead=3)
    now = dt.datetime(2027, 3, 17, 12, 0, tzinfo=berlin)  # summer time starts on Sunday 28 March 2027
    svc.availability_rules_extend(now=now)
    firsts = [a.slots.order_by("start").first().start.astimezone(berlin) for a in Availability.objects.order_by("date")]
    assert [f.strftime("%m-%d %H:%M") for f in firsts] == ["03-22 09:00", "03-29 09:00", "04-05 09:00"]
    assert [f.astimezone(dt.UTC).hour for f in firsts] == [8, 7, 7]


def test_inactive_rules_and_doctors_publish_nothing(dr_chau, dr_giang, now):
    monday_rule(dr_chau, is_active=False)
    monday_rule(dr_giang)
    dr_giang.is_active = False
    dr_giang.save(update_fields=["is_active"])
    assert svc.availability_rules_extend(now=now) == {"rules": 0, "created": 0, "failed": 0}
    assert not Availability.objects.exists()


def test_the_worker_runs_it_every_hour(dr_chau):
    monday_rule(dr_chau)
    task = next(t for t in PERIODIC_TASKS if t.name == "medbook.availability_rules")
    assert task.func == "workflows.tasks.extend_availability_rules" and task.minutes == 60
    assert extend_availability_rules()["created"] >= 1
    assert extend_availability_rules()["created"] == 0
