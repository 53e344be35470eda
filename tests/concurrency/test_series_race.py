"""Series racing each other and a single booking for a shared slot (issue 17 item 4): in every round
exactly one of them gets the shared slot, and a series that loses books nothing at all (no half
series), on SQLite and PostgreSQL. The slot claim is the ordinary conditional UPDATE, taken in
ascending slot order, so two series over the same slots cannot deadlock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentSeries, Slot, SlotStatus
from booking.slotting import resolve_local
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.concurrency.test_booking_race import race
from tests.factories import make_user

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

ROUNDS = 3


def test_two_series_and_a_patient_race_for_one_slot_one_wins_and_no_half_series(db):
    doctor = make_doctor("series.race@clinic.test")
    desk = make_user("desk.race@clinic.test", "staff", first_name="Hạnh")
    day = timezone.now().astimezone(doctor.zone).date() + dt.timedelta(days=3)
    svc.availability_generate_weekly(
        doctor=doctor,
        weekdays={day.weekday()},
        start_time=dt.time(9),
        end_time=dt.time(9 + ROUNDS),
        slot_minutes=60,
        date_from=day,
        date_to=day + dt.timedelta(weeks=2),
        actor=None,
    )
    for hour in range(9, 9 + ROUNDS):
        weekly = [
            Slot.objects.get(
                doctor=doctor, start=resolve_local(day + dt.timedelta(weeks=k), dt.time(hour), doctor.zone)
            )
            for k in range(3)
        ]
        shared = weekly[1]
        lan, khoa, mai = (
            make_user(f"{name}{hour}@example.test", "patient", first_name=name) for name in ("lan", "khoa", "mai")
        )
        results = race(
            [
                lambda p=lan, w=weekly: svc.series_book(
                    doctor=doctor, patient=p, actor=desk, slots=w[:2], details=details_for(p)
                ),
                lambda p=khoa, w=weekly: svc.series_book(
                    doctor=doctor, patient=p, actor=desk, slots=w[1:], details=details_for(p)
                ),
                lambda p=mai, s=shared: svc.appointment_book(slot=s, patient=p, actor=p, details=details_for(p)),
            ]
        )
        winners = [value for kind, value in results if kind == "ok"]
        errors = [value for kind, value in results if kind == "error"]
        assert len(winners) == 1, results
        assert all(isinstance(err, (svc.SeriesNotBooked, svc.SlotTaken)) for err in errors), errors
        assert Appointment.objects.filter(slot=shared).count() == 1
        for patient in (lan, khoa):  # all of a series, or nothing
            assert Appointment.objects.filter(patient=patient).count() in (0, 2)
        assert AppointmentSeries.objects.filter(patient__in=[lan, khoa]).count() == sum(
            isinstance(w, AppointmentSeries) for w in winners
        )
        assert Slot.objects.get(pk=shared.pk).status in (SlotStatus.BOOKED, SlotStatus.HELD)
