"""Series personas: Dr. Bình's weekly Tuesday mornings (09:00–11:00, 30-minute visits, six weeks
published through the real weekly generator), patient Đào and the front desk (Hạnh)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Slot
from booking.slotting import resolve_local
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user

WEEKS = 6


@pytest.fixture
def dr_binh(db):
    return make_doctor()


@pytest.fixture
def front_desk(db):
    return make_user("front.desk@clinic.test", "staff", first_name="Hạnh")


@pytest.fixture
def patient_lan(db):
    return make_user("lan.patient@example.test", "patient", first_name="Lan", last_name="Hoàng")


@pytest.fixture
def first_tuesday(dr_binh) -> dt.date:
    """A Tuesday at least three days ahead in the doctor's zone."""
    day = timezone.now().astimezone(dr_binh.zone).date() + dt.timedelta(days=3)
    return day + dt.timedelta(days=(1 - day.weekday()) % 7)


@pytest.fixture
def tuesdays(dr_binh, first_tuesday):
    """``WEEKS`` Tuesday mornings published; returns the first visit's wanted start (09:00 local)."""
    svc.availability_generate_weekly(
        doctor=dr_binh,
        weekdays={1},
        start_time=dt.time(9),
        end_time=dt.time(11),
        slot_minutes=30,
        date_from=first_tuesday,
        date_to=first_tuesday + dt.timedelta(weeks=WEEKS - 1),
        actor=None,
    )
    return resolve_local(first_tuesday, dt.time(9), dr_binh.zone)


def slot_at(doctor, day: dt.date, hour: int, minute: int = 0) -> Slot:
    return Slot.objects.get(doctor=doctor, start=resolve_local(day, dt.time(hour, minute), doctor.zone))


def book_series(doctor, patient, actor, first_start, count=4):
    occurrences = svc.series_preview(doctor=doctor, first_start=first_start, count=count)
    return svc.series_book(
        doctor=doctor,
        patient=patient,
        actor=actor,
        slots=[item.slot for item in occurrences],
        details=details_for(patient, reason="Physiotherapy, knee"),
    )
