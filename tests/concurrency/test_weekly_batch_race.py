"""Weekly batches (issue 19) racing each other, a single doctor's run and a booking: every date of every
doctor is made exactly once and no doctor's time overlaps, nothing deadlocks (a batch locks its doctors
in ascending id whatever order it is given them), and a batch does not hold up a booking of one of its
doctors while it runs (PostgreSQL: scheduling writers lock the doctor ``FOR NO KEY UPDATE``, which a
booking's foreign-key check, ``FOR KEY SHARE`` at its commit, does not wait for)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, Availability, Slot
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.concurrency.test_booking_race import race
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def pattern(first: dt.date, **extra) -> dict:
    return {
        "weekdays": {0, 1, 2, 3, 4}, "start_time": dt.time(8), "end_time": dt.time(12), "slot_minutes": 30,
        "date_from": first, "date_to": first + dt.timedelta(days=13), "actor": None, **extra,
    }  # fmt: skip


def created_of(value) -> list:
    results = value.values() if isinstance(value, dict) else [value]
    return [availability for result in results for availability in result.created]


def test_batches_sharing_doctors_and_a_single_run_make_each_date_once(db):
    doctors = [make_doctor(f"batch{i}.race@clinic.test") for i in range(4)]
    first = timezone.now().astimezone(doctors[0].zone).date() + dt.timedelta(days=1)
    workdays = [first + dt.timedelta(days=n) for n in range(14) if (first + dt.timedelta(days=n)).weekday() < 5]
    results = race(
        [
            lambda: svc.availability_generate_weekly_batch(doctors=doctors[:3], **pattern(first)),
            lambda: svc.availability_generate_weekly_batch(doctors=doctors[::-1], **pattern(first)),
            lambda: svc.availability_generate_weekly(
                doctor=doctors[1], **pattern(first, start_time=dt.time(10), end_time=dt.time(14))
            ),
        ]
    )
    assert all(kind == "ok" for kind, _value in results), results
    made = [availability.pk for _kind, value in results for availability in created_of(value)]
    assert len(made) == len(set(made)) == Availability.objects.count() == 4 * len(workdays)
    for doctor in doctors:
        mine = Availability.objects.filter(doctor=doctor).order_by("starts_at")
        assert [a.date for a in mine] == workdays
        assert len({a.start_time for a in mine}) == 1  # all of one run: the runs queued up, whole
        slots = list(Slot.objects.filter(doctor=doctor).order_by("start").values_list("start", "end"))
        assert len(slots) == 8 * len(workdays)
        assert all(end <= following for (_start, end), (following, _end) in zip(slots, slots[1:], strict=False))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite serialises every write")
def test_a_booking_of_a_batch_doctor_goes_through_while_the_batch_still_holds_its_locks(db):
    doctor = make_doctor("batch.booked@clinic.test")
    other = make_doctor("batch.other@clinic.test")
    patient = make_user("lan.batch@example.test", "patient", first_name="Lan")
    slot = publish_slots(
        doctor, start=(timezone.now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    )[0]
    first = timezone.now().astimezone(doctor.zone).date() + dt.timedelta(days=10)
    inside, booked = threading.Event(), threading.Event()

    def batch():
        with transaction.atomic():
            result = svc.availability_generate_weekly_batch(doctors=[doctor, other], **pattern(first))
            inside.set()
            # the doctors stay locked until the booking has committed (or given up)
            assert booked.wait(timeout=60)
        return result

    def book():
        try:
            assert inside.wait(timeout=60)
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")  # waiting for the batch fails the test
            return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))
        finally:
            booked.set()

    (batch_kind, batch_value), (book_kind, book_value) = race([batch, book])
    assert (batch_kind, book_kind) == ("ok", "ok"), (batch_value, book_value)
    assert len(created_of(batch_value)) == 2 * 10
    assert Appointment.objects.filter(slot=slot, patient=patient).count() == 1
