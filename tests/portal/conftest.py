from datetime import timedelta

import pytest
from django.utils import timezone

from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user, publish_slots


@pytest.fixture
def doctor_binh(db):
    return make_doctor()


@pytest.fixture
def week_slots(doctor_binh):
    """Slots over the next days: three days from now, far enough for on-time cancellation."""
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    return publish_slots(doctor_binh, start=start, count=6)


@pytest.fixture
def patient_lan(db):
    return make_user("lan.patient@example.test", "patient", first_name="Lan", last_name="Hoàng")
