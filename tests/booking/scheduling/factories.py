"""Builders for scheduling tests: availability made by the service (the factories live in tests.factories)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from booking.models import Doctor
from booking.services import availability_create
from tests.factories import AppointmentTypeFactory, DoctorFactory, SpecialtyFactory  # noqa: F401 (re-exported)


def future_date(days: int, *, doctor: Doctor, now: dt.datetime | None = None) -> dt.date:
    """The local date ``days`` after today in ``doctor``'s zone."""
    now = now or timezone.now()
    return now.astimezone(doctor.zone).date() + dt.timedelta(days=days)


def make_availability(
    doctor: Doctor,
    *,
    days: int = 3,
    start: str = "09:00",
    end: str = "12:00",
    minutes: int = 30,
    now: dt.datetime | None = None,
    actor=None,
):
    """Availability ``days`` ahead made through ``availability_create`` (the only way slots are made)."""
    return availability_create(
        doctor=doctor,
        date=future_date(days, doctor=doctor, now=now),
        start_time=dt.time.fromisoformat(start),
        end_time=dt.time.fromisoformat(end),
        slot_minutes=minutes,
        actor=actor if actor is not None else doctor.user,
        now=now,
    )
