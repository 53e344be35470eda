"""seed_demo gives the demo doctors profiles and two weeks of availability, once, even on a later day."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command
from freezegun import freeze_time

from booking.models import AppointmentType, Availability, Doctor, Slot, Specialty
from booking.selectors import doctor_search


def snapshot():
    return {
        "specialties": sorted(Specialty.objects.values_list("slug", "name")),
        "types": sorted(AppointmentType.objects.values_list("name", "kind", "duration_minutes")),
        "doctors": sorted(Doctor.objects.values_list("user__email", "is_active", "consultation_fee", "currency")),
        "availability": sorted(Availability.objects.values_list("pk", "doctor_id", "date", "start_time", "end_time")),
        "slots": Slot.objects.count(),
    }


def test_seed_demo_schedules_the_demo_doctors_once(db):
    call_command("seed_demo", "--quiet")
    first = snapshot()
    assert [slug for slug, _ in first["specialties"]] == ["nhi-khoa", "noi-tong-quat"]
    assert sorted(t[1:] for t in first["types"]) == [("follow_up", 20), ("initial", 30)]
    assert [d[0] for d in first["doctors"]] == [f"doctor{i}@example.com" for i in (1, 2, 3)]
    assert all(active and currency == "VND" and fee > 0 for _, active, fee, currency in first["doctors"])
    assert Doctor.objects.get(user__email="doctor3@example.com").specialties.count() == 2

    for doctor in Doctor.objects.all():
        today = dt.datetime.now(doctor.zone).date()
        # the past holds only the demo's visits that took place: completed (what follow-ups are suggested
        # from) or a no-show
        past = doctor.availabilities.filter(date__lte=today)
        assert all(a.slots.filter(appointments__status__in=("completed", "no_show")).exists() for a in past)
        dates = sorted(set(doctor.availabilities.filter(date__gt=today).values_list("date", flat=True)))
        assert dates and all(today < day <= today + dt.timedelta(days=14) and day.weekday() < 5 for day in dates)
        blocks = doctor.availabilities.filter(date=dates[0]).order_by("start_time")
        assert [(b.start_time.strftime("%H:%M"), b.end_time.strftime("%H:%M")) for b in blocks] == [
            ("08:00", "11:30"),
            ("13:30", "17:00"),
        ]
        assert all(b.slots.count() == 7 for b in blocks)
    assert doctor_search().total == 3  # every demo doctor can be found and booked

    call_command("seed_demo", "--quiet")
    assert snapshot() == first
    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)):
        call_command("seed_demo", "--quiet")
    assert snapshot() == first
