"""API personas: the appointment suite's doctor and slots, and a patient whose profile is complete
enough to book with seed 000's two-field body."""

import pytest

from accounts.services import patient_profile_update
from tests.booking.appointments.conftest import doctor_binh, doctor_review, patient_lan, slots  # noqa: F401


@pytest.fixture
def patient_dao(patient_dao):
    patient_profile_update(user=patient_dao, actor=patient_dao, last_name="Nguyễn", phone="+84 90 000 0001")
    return patient_dao
