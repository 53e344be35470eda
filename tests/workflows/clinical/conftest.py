"""Clinical personas: doctor Bình treats patient Đào (a completed visit made through the booking
services); doctor Giang has seen Đào before; doctor Hải never has."""

from __future__ import annotations

import pytest

from tests.booking.appointments.helpers import completed_visit, make_doctor
from tests.factories import make_user


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


@pytest.fixture
def visit(doctor_binh, patient_dao):
    return completed_visit(doctor_binh, patient_dao, days_ago=1)


@pytest.fixture
def doctor_giang(db, patient_dao):
    """A doctor the patient saw earlier."""
    doctor = make_doctor("giang.doctor@clinic.test")
    completed_visit(doctor, patient_dao, days_ago=5)
    return doctor


@pytest.fixture
def doctor_hai(db):
    return make_doctor("hai.doctor@clinic.test")


@pytest.fixture
def patient_khoa(db):
    return make_user("khoa.patient@example.test", "patient", first_name="Khoa")


@pytest.fixture(autouse=True)
def _english():
    """Service messages are in the active language: these tests read them in English, whatever an
    earlier test in the process left active."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _documents_dir(settings, tmp_path):
    settings.CLINICAL_DOCUMENTS_DIR = tmp_path / "clinical-documents"
    return settings.CLINICAL_DOCUMENTS_DIR
