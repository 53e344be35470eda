from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots


@pytest.fixture
def doctor_binh(db):
    return make_doctor()


@pytest.fixture
def slots(doctor_binh):
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    return publish_slots(doctor_binh, start=start, count=6)


@pytest.fixture
def patient_lan(db):
    """A patient who reads Vietnamese."""
    user = make_user("lan.patient@example.test", "patient", first_name="Lan", last_name="Hoàng")
    user.language = "vi"
    user.save(update_fields=["language"])
    return user


def book(slot, patient, *, voucher: str = "") -> Appointment:
    appointment = svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))
    if voucher:
        appointment = svc.appointment_apply_voucher(appointment=appointment, code=voucher, actor=patient)
    return appointment


def pay(appointment: Appointment, patient, capture) -> Appointment:
    """Paid through the sandbox gateway, with what runs after commit (the invoice task) run."""
    with capture(execute=True):
        payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient)
        svc.payment_succeeded(payment=payment)
    return Appointment.objects.get(pk=appointment.pk)
