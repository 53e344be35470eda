"""Back-office personas and builders: appointments and payments made straight with the ORM (exact
statuses and times, so each dashboard number can be computed by hand) on slots published through the
availability service (``tests.factories.publish_slots``); flows through the real services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Model

from booking.models import Appointment, Doctor, Slot, Specialty
from tests.factories import make_user


def make_doctor_for(email: str, *, first_name: str, last_name: str, specialties=(), fee=Decimal("500000")) -> Doctor:
    user = make_user(email, "doctor", first_name=first_name, last_name=last_name)
    doctor = Doctor.objects.create(user=user, consultation_fee=fee, is_active=True, time_zone="Asia/Ho_Chi_Minh")
    doctor.specialties.set(specialties)
    return doctor


def set_created(obj: Model, when: datetime) -> None:
    type(obj).objects.filter(pk=obj.pk).update(created_at=when)


def appointment(
    doctor: Doctor,
    patient,
    *,
    status: str,
    slot: Slot | None = None,
    starts_at: datetime | None = None,
    created_at: datetime | None = None,
    mode: str = "video",
    price: Decimal = Decimal("500000"),
    **extra,
) -> Appointment:
    """An appointment in exactly ``status`` (rows for reports; flows use the services)."""
    if slot is not None:
        starts_at = slot.start
    row = Appointment.objects.create(
        doctor=doctor,
        patient=patient,
        slot=slot,
        status=status,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30) if starts_at else None,
        hold_expires_at=extra.pop("hold_expires_at", None)
        or (datetime(2099, 1, 1, tzinfo=UTC) if status == "pending_payment" else None),
        mode=mode,
        first_name=patient.first_name or "Đào",
        last_name=patient.last_name or "Nguyễn",
        phone="+84 90 000 0001",
        email=patient.email,
        price=price,
        currency="VND",
        **extra,
    )
    if created_at is not None:
        set_created(row, created_at)
    return row


@pytest.fixture
def general(db):
    return Specialty.objects.create(name="Nội tổng quát", slug="general")


@pytest.fixture
def paediatrics(db):
    return Specialty.objects.create(name="Nhi khoa", slug="paediatrics")


@pytest.fixture
def dr_an(general):
    return make_doctor_for("an.doctor@clinic.test", first_name="An", last_name="Lê", specialties=[general])


@pytest.fixture
def dr_bao(general, paediatrics):
    return make_doctor_for(
        "bao.doctor@clinic.test", first_name="Bảo", last_name="Trần", specialties=[general, paediatrics]
    )


@pytest.fixture
def patient_lan(db):
    return make_user("lan.patient@example.test", "patient", first_name="Lan", last_name="Hoàng")
