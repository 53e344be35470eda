from datetime import timedelta

import pytest
from django.utils import timezone

from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user, publish_slots


@pytest.fixture
def doctor_binh(db):
    return make_doctor()


@pytest.fixture
def doctor_review(db):
    """A doctor who reviews paid requests before confirming them."""
    return make_doctor("giang.doctor@clinic.test", auto_confirm=False)


@pytest.fixture
def slots(doctor_binh):
    """Six slots starting about six hours from now: past the 2 h minimum notice, inside the 24 h
    cancellation notice, whatever the time of day the suite runs."""
    start = (timezone.now() + timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    return publish_slots(doctor_binh, start=start, count=6)


@pytest.fixture
def patient_lan(db):
    return make_user("lan.patient@example.test", "patient", first_name="Lan", last_name="Hoàng")
