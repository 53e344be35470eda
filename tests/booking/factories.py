"""Factories for scheduling tests: specialties, doctors (with their user) and availability made by the service."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from booking.models import AppointmentType, Doctor, Specialty
from booking.services import availability_create
from tests.factories import make_user


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Specialty {n}")
    slug = factory.Sequence(lambda n: f"specialty-{n}")


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType

    name = factory.Sequence(lambda n: f"Visit type {n}")
    duration_minutes = 30


class DoctorFactory(factory.django.DjangoModelFactory):
    """An active doctor whose user is created the way the clinic creates users."""

    class Meta:
        model = Doctor
        skip_postgeneration_save = True

    class Params:
        first_name = factory.Sequence(lambda n: f"Doctor{n}")
        last_name = "Test"

    user = factory.LazyAttributeSequence(
        lambda o, n: make_user(f"doctor{n}@clinic.test", "doctor", first_name=o.first_name, last_name=o.last_name)
    )
    title = "Dr."
    is_active = True
    time_zone = "Asia/Ho_Chi_Minh"
    consultation_fee = 300000

    @factory.post_generation
    def specialties(self, create, extracted, **kwargs):
        if create and extracted:
            self.specialties.set(extracted)


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
