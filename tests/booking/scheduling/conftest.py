"""Scheduling personas: Dr. Châu (the doctor_chau user with a profile) and Dr. Giang, another doctor."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import BookingDefaults, Slot, SlotStatus
from tests.booking.scheduling.factories import DoctorFactory, SpecialtyFactory
from tests.factories import make_user


@pytest.fixture
def now():
    """The present, to the second: services and selectors get it explicitly so tests never race the clock."""
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def clinic_defaults(db):
    return BookingDefaults.load()


@pytest.fixture
def general_medicine(db):
    return SpecialtyFactory(name="Nội tổng quát", slug="noi-tong-quat")


@pytest.fixture
def pediatrics(db):
    return SpecialtyFactory(name="Nhi khoa", slug="nhi-khoa")


@pytest.fixture
def dr_chau(doctor_chau, general_medicine):
    """The doctor_chau persona's doctor profile (Asia/Ho_Chi_Minh, no buffer)."""
    return DoctorFactory(user=doctor_chau, specialties=[general_medicine])


@pytest.fixture
def doctor_giang(db):
    return make_user("giang.doctor@clinic.test", "doctor", first_name="Giang", last_name="Lý")


@pytest.fixture
def dr_giang(doctor_giang, pediatrics):
    return DoctorFactory(user=doctor_giang, specialties=[pediatrics])


def book(slot: Slot) -> Slot:
    """Mark ``slot`` booked, as the appointment service does when a booking is paid."""
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.BOOKED)
    slot.refresh_from_db()
    return slot


def hold(slot: Slot, *, until: dt.datetime) -> Slot:
    """Put ``slot`` on a payment hold that lapses at ``until``."""
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.HELD, hold_expires_at=until)
    slot.refresh_from_db()
    return slot
