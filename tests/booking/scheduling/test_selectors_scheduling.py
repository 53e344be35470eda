"""Scheduling selectors: what counts as free, bookable dates, doctor search and the week view, with
query counts that do not grow with the number of doctors or slots."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.models import Slot, SlotStatus
from booking.selectors import available_dates, doctor_search, fold_text, free_slots, week_view
from booking.services import availability_create, blocked_time_create
from tests.booking.scheduling.conftest import book, hold
from tests.booking.scheduling.factories import DoctorFactory, future_date, make_availability

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def window(now):
    return {"start": now - dt.timedelta(days=1), "end": now + dt.timedelta(days=120)}


# --- free slots --------------------------------------------------------------------------------


def test_free_slots_skip_booked_live_holds_and_blocked_but_count_lapsed_holds(dr_chau, now):
    slots = list(make_availability(dr_chau, start="09:00", end="12:00", now=now).slots.order_by("start"))
    book(slots[0])
    hold(slots[1], until=now + dt.timedelta(minutes=5))
    hold(slots[2], until=now - dt.timedelta(seconds=1))
    Slot.objects.filter(pk=slots[3].pk).update(status=SlotStatus.BLOCKED)
    free = list(free_slots(doctor=dr_chau, now=now, **window(now)))
    assert free == [slots[2], slots[4], slots[5]]


def test_a_lapsed_hold_under_blocked_time_is_not_free(dr_chau, now):
    slots = list(make_availability(dr_chau, start="09:00", end="10:00", now=now).slots.order_by("start"))
    hold(slots[0], until=now + dt.timedelta(minutes=5))
    # blocked while the hold was live, so the slot kept its hold …
    blocked_time_create(doctor=dr_chau, starts_at=slots[0].start, ends_at=slots[1].end, reason="", actor=None, now=now)
    # … and when the hold lapses it must still not come back as free
    later = now + dt.timedelta(minutes=10)
    assert list(free_slots(doctor=dr_chau, now=later, **window(now))) == []


def test_free_slots_respect_notice_and_advance_window(dr_chau, now, clinic_defaults):
    clinic_defaults.min_notice_hours = 48
    clinic_defaults.max_advance_days = 10
    clinic_defaults.save()
    soon = make_availability(dr_chau, days=1, now=now)
    in_range = make_availability(dr_chau, days=5, now=now)
    too_far = make_availability(dr_chau, days=12, now=now)
    free = {s.availability_id for s in free_slots(doctor=dr_chau, now=now, **window(now))}
    assert free == {in_range.pk}
    # the doctor's own policy overrides the clinic's
    dr_chau.min_notice_hours = 0
    dr_chau.max_advance_days = 30
    free = {s.availability_id for s in free_slots(doctor=dr_chau, now=now, **window(now))}
    assert free == {soon.pk, in_range.pk, too_far.pk}


def test_past_slots_are_never_free(dr_chau, now):
    availability = make_availability(dr_chau, days=1, now=now)
    after_it = availability.ends_at + dt.timedelta(minutes=1)
    assert list(free_slots(doctor=dr_chau, now=after_it, **window(now))) == []


def test_free_slots_is_one_query(dr_chau, now, clinic_defaults, django_assert_num_queries):
    for days in range(1, 6):
        make_availability(dr_chau, days=days, now=now)
    with django_assert_num_queries(1):
        assert len(list(free_slots(doctor=dr_chau, now=now, defaults=clinic_defaults, **window(now)))) == 30


# --- available dates ---------------------------------------------------------------------------


def test_available_dates_are_local_dates_with_a_free_slot():
    now = dt.datetime(2027, 2, 1, tzinfo=UTC)
    doctor = DoctorFactory(time_zone="Asia/Ho_Chi_Minh")
    # 00:00–01:00 local on 10 March is 17:00–18:00 UTC on 9 March: the calendar must say the 10th
    midnight = availability_create(
        doctor=doctor, date=dt.date(2027, 3, 10), start_time=t("00:00"), end_time=t("01:00"), slot_minutes=30,
        actor=None, now=now,
    )  # fmt: skip
    assert midnight.slots.order_by("start")[0].start.date() == dt.date(2027, 3, 9)
    full = availability_create(
        doctor=doctor, date=dt.date(2027, 3, 12), start_time=t("09:00"), end_time=t("10:00"), slot_minutes=30,
        actor=None, now=now,
    )  # fmt: skip
    for slot in full.slots.all():
        book(slot)
    availability_create(
        doctor=doctor, date=dt.date(2027, 3, 31), start_time=t("23:00"), end_time=t("23:30"), slot_minutes=30,
        actor=None, now=now,
    )  # fmt: skip
    availability_create(
        doctor=doctor, date=dt.date(2027, 4, 1), start_time=t("00:00"), end_time=t("00:30"), slot_minutes=30,
        actor=None, now=now,
    )  # fmt: skip
    assert available_dates(doctor=doctor, year=2027, month=3, now=now) == [dt.date(2027, 3, 10), dt.date(2027, 3, 31)]
    assert available_dates(doctor=doctor, year=2027, month=4, now=now) == [dt.date(2027, 4, 1)]
    assert available_dates(doctor=doctor, year=2027, month=2, now=now) == []


def test_available_dates_on_a_dst_month_in_new_york():
    now = dt.datetime(2027, 2, 1, tzinfo=UTC)
    doctor = DoctorFactory(time_zone="America/New_York", max_advance_days=90)
    for day in (dt.date(2027, 3, 13), dt.date(2027, 3, 14), dt.date(2027, 3, 15)):
        availability_create(
            doctor=doctor, date=day, start_time=t("20:00"), end_time=t("23:00"), slot_minutes=60, actor=None, now=now
        )
    assert available_dates(doctor=doctor, year=2027, month=3, now=now) == [
        dt.date(2027, 3, 13), dt.date(2027, 3, 14), dt.date(2027, 3, 15),
    ]  # fmt: skip


def test_available_dates_is_one_query(dr_chau, now, clinic_defaults, django_assert_num_queries):
    for days in range(1, 20):
        make_availability(dr_chau, days=days, now=now)
    target = future_date(5, doctor=dr_chau, now=now)
    with django_assert_num_queries(1):
        dates = available_dates(doctor=dr_chau, year=target.year, month=target.month, now=now, defaults=clinic_defaults)
    assert target in dates


# --- doctor search -----------------------------------------------------------------------------


@pytest.fixture
def directory(now, general_medicine, pediatrics):
    """Dr. Dũng Phạm (general medicine), Dr. Hạnh Võ (pediatrics) and Dr. Khoa Đặng (both), all bookable."""
    dung = DoctorFactory(first_name="Dũng", last_name="Phạm", specialties=[general_medicine])
    hanh = DoctorFactory(first_name="Hạnh", last_name="Võ", specialties=[pediatrics])
    khoa = DoctorFactory(first_name="Khoa", last_name="Đặng", specialties=[general_medicine, pediatrics])
    for doctor in (dung, hanh, khoa):
        make_availability(doctor, days=2, now=now)
    return {"dung": dung, "hanh": hanh, "khoa": khoa}


def names(page):
    return [d.user.first_name for d in page.doctors]


def test_search_lists_only_active_doctors_with_upcoming_free_slots(directory, now):
    DoctorFactory(first_name="Inactive", is_active=False)
    make_availability(DoctorFactory(first_name="Lapsed", is_active=False), days=2, now=now)
    DoctorFactory(first_name="Unscheduled")
    fully_booked = DoctorFactory(first_name="Full")
    for slot in make_availability(fully_booked, days=2, now=now).slots.all():
        book(slot)
    page = doctor_search(now=now)
    assert names(page) == ["Dũng", "Hạnh", "Khoa"]  # same next slot: in the order they joined
    assert page.total == 3


def test_search_applies_each_doctors_own_notice(directory, now):
    directory["hanh"].min_notice_hours = 24 * 5  # her only slots are in two days
    directory["hanh"].save()
    assert names(doctor_search(now=now)) == ["Dũng", "Khoa"]


def test_search_shows_each_doctors_next_free_slot_soonest_first(directory, now):
    dung = directory["dung"]
    first, second = dung.slots.order_by("start")[:2]
    book(first)
    page = doctor_search(now=now)
    assert names(page) == ["Hạnh", "Khoa", "Dũng"]
    assert page.doctors[-1].next_free_start == second.start
    assert page.doctors[0].next_free_start == first.start


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("dung", ["Dũng"]),
        ("DŨNG", ["Dũng"]),
        ("phạm dũng", ["Dũng"]),
        ("dang", ["Khoa"]),
        ("Đặng", ["Khoa"]),
        ("nhi", ["Hạnh", "Khoa"]),
        ("nội tổng quát", ["Dũng", "Khoa"]),
        ("hanh nhi", ["Hạnh"]),
        ("nobody", []),
    ],
)
def test_search_by_name_or_specialty_ignores_case_and_accents(directory, now, q, expected):
    assert names(doctor_search(q=q, now=now)) == expected


def test_search_by_specialty_slug_or_id(directory, now, pediatrics):
    assert names(doctor_search(specialty="nhi-khoa", now=now)) == ["Hạnh", "Khoa"]
    assert names(doctor_search(specialty=pediatrics.pk, now=now)) == ["Hạnh", "Khoa"]
    assert names(doctor_search(specialty=str(pediatrics.pk), q="đặng", now=now)) == ["Khoa"]
    assert names(doctor_search(specialty="no-such-thing", now=now)) == []


def test_search_pages(directory, now):
    first = doctor_search(now=now, per_page=2)
    second = doctor_search(now=now, page=2, per_page=2)
    assert names(first) == ["Dũng", "Hạnh"] and names(second) == ["Khoa"]
    assert first.total == 3 and first.num_pages == 2 and first.has_next and not second.has_next
    past_the_end = doctor_search(now=now, page=3, per_page=2)
    assert names(past_the_end) == [] and past_the_end.total == 3  # counted all the same
    with pytest.raises(ValueError):
        doctor_search(now=now, page=0)


def test_fold_text_handles_vietnamese():
    assert fold_text("Đặng Thị Hạnh") == "dang thi hanh"
    assert fold_text("NGUYỄN") == "nguyen"


def _count_queries(**kwargs) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        page = doctor_search(**kwargs)
        for doctor in page.doctors:  # what a caller touches: names, specialties, next slot
            str(doctor), [s.name for s in doctor.specialties.all()], doctor.next_free_start
    return len(ctx.captured_queries), len(page.doctors)


@pytest.mark.parametrize("q", ["", "test"])
def test_search_query_count_does_not_grow_with_doctors_or_slots(now, clinic_defaults, general_medicine, q):
    def add_doctors(count):
        for _ in range(count):
            doctor = DoctorFactory(last_name="Test", specialties=[general_medicine])
            make_availability(doctor, days=2, now=now, start="08:00", end="12:00", minutes=15)

    add_doctors(3)
    few, shown_few = _count_queries(q=q, now=now, defaults=clinic_defaults, per_page=50)
    add_doctors(27)
    many, shown_many = _count_queries(q=q, now=now, defaults=clinic_defaults, per_page=50)
    assert (shown_few, shown_many) == (3, 30)
    assert few == many <= 4


# --- week view ---------------------------------------------------------------------------------


def test_week_view_has_seven_local_days_with_display_statuses(dr_chau, now, django_assert_max_num_queries):
    availability = make_availability(dr_chau, days=8, start="09:00", end="11:00", now=now)
    slots = list(availability.slots.order_by("start"))
    book(slots[0])
    hold(slots[1], until=now + dt.timedelta(minutes=5))
    hold(slots[2], until=now - dt.timedelta(minutes=5))
    Slot.objects.filter(pk=slots[3].pk).update(status=SlotStatus.BLOCKED)
    monday = availability.date - dt.timedelta(days=availability.date.weekday())
    with django_assert_max_num_queries(2):
        week = week_view(doctor=dr_chau, week_start=monday, now=now)
    assert [day.date for day in week.days] == [monday + dt.timedelta(days=n) for n in range(7)]
    day = next(d for d in week.days if d.date == availability.date)
    assert [item.display_status for item in day.slots] == ["booked", "held", "free", "blocked"]
    assert [item.local_start.strftime("%H:%M") for item in day.slots] == ["09:00", "09:30", "10:00", "10:30"]
    assert week.counts == {"free": 1, "held": 1, "booked": 1, "blocked": 1}
    assert week.previous_week == monday - dt.timedelta(days=7) and week.next_week == monday + dt.timedelta(days=7)
