"""Factories and builders shared by the whole suite.

Rows are made the way the clinic makes them: people through ``accounts.services.user_create``, slots
only through ``booking.services.availability_create`` (``publish_slots`` is the one slot helper),
appointments through the booking services (``tests.booking.appointments.helpers``). factory_boy
factories cover the reference data that the admin simply saves (specialties, visit types, doctors,
vouchers, subscription plans).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from accounts.services import user_create
from booking.models import AppointmentType, Doctor, Facility, Room, Slot, Specialty, Voucher
from booking.services import availability_create

PASSWORD = "correct-horse-battery-9"


def make_user(email: str, role: str, *, password: str = PASSWORD, first_name: str = "", last_name: str = "Test"):
    """A user created the way the clinic creates them (verified email, role groups, patient profile)."""
    return user_create(email=email, role=role, password=password, first_name=first_name, last_name=last_name)


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
    mode = "video"


class DoctorFactory(factory.django.DjangoModelFactory):
    """An active doctor whose user is created the way the clinic creates users."""

    class Meta:
        model = Doctor
        skip_postgeneration_save = True

    class Params:
        first_name = factory.Sequence(lambda n: f"Doctor{n}")
        last_name = "Test"
        email = factory.Sequence(lambda n: f"doctor{n}@clinic.test")

    user = factory.LazyAttribute(lambda o: make_user(o.email, "doctor", first_name=o.first_name, last_name=o.last_name))
    title = "Dr."
    is_active = True
    time_zone = "Asia/Ho_Chi_Minh"
    consultation_fee = Decimal("300000")

    @factory.post_generation
    def specialties(self, create, extracted, **kwargs):
        if create and extracted:
            self.specialties.set(extracted)


class FacilityFactory(factory.django.DjangoModelFactory):
    """A clinic building in Ho Chi Minh City (District 1 unless told)."""

    class Meta:
        model = Facility

    name = factory.Sequence(lambda n: f"Phòng khám Medbook {n}")
    slug = factory.Sequence(lambda n: f"medbook-{n}")
    address = factory.Sequence(lambda n: f"{n + 10} Lê Lợi")
    district = "Quận 1"
    city = "Hồ Chí Minh"
    latitude = Decimal("10.776889")
    longitude = Decimal("106.700806")
    phone = "+84 28 3822 0000"
    opening_hours = "Mon–Fri 07:30–17:00"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    facility = factory.SubFactory(FacilityFactory)
    name = factory.Sequence(lambda n: f"Room {n + 101}")


class VoucherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voucher

    code = factory.Sequence(lambda n: f"CODE{n}")
    kind = Voucher.Kind.PERCENT
    value = Decimal("10")


def publish_slots(
    doctor: Doctor,
    *,
    start: dt.datetime,
    count: int = 4,
    minutes: int = 30,
    facility: Facility | None = None,
    room: Room | None = None,
) -> list[Slot]:
    """``count`` consecutive free slots of ``minutes`` from ``start`` (UTC), published the only way
    slots exist: one ``availability_create``, as the doctor would have done two days before (a run
    past the doctor's local midnight is a shift that ends the next day). It must not overlap the
    doctor's other availability: the service refuses overlaps, as it would for a doctor. Video visits,
    unless a ``facility`` (or ``room``) makes them in person there."""
    zone = doctor.zone
    end = start + dt.timedelta(minutes=minutes * count)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    assert end - start < dt.timedelta(days=1), "one run of slots is shorter than a day"
    availability = availability_create(
        doctor=doctor,
        date=local_start.date(),
        start_time=local_start.time(),
        end_time=local_end.time(),
        slot_minutes=minutes,
        actor=None,
        now=start - dt.timedelta(days=2),
        facility=facility,
        room=room,
    )
    slots = list(availability.slots.order_by("start"))
    assert len(slots) == count, f"published {len(slots)} slots instead of {count} (a buffer, or a clock change?)"
    return slots
