import pytest

from tests.booking.appointments.helpers import make_doctor
from tests.booking.video.helpers import APP_ID, CERTIFICATE, confirmed_visit
from tests.factories import make_user


@pytest.fixture
def agora(settings):
    settings.AGORA_APP_ID = APP_ID
    settings.AGORA_APP_CERTIFICATE = CERTIFICATE
    settings.VIDEO_JOIN_BEFORE_MINUTES = 10
    settings.VIDEO_GRACE_MINUTES = 15
    return settings


@pytest.fixture
def doctor_binh(db):
    return make_doctor()


@pytest.fixture
def doctor_giang(db):
    """Another doctor, with patients of his own."""
    return make_doctor("giang.doctor@clinic.test")


@pytest.fixture
def patient_lan(db):
    return make_user("lan.patient@example.test", "patient", first_name="Lan", last_name="Hoàng")


@pytest.fixture
def visit(doctor_binh, patient_dao):
    """Đào's confirmed video visit with Dr Bình, starting in five minutes (the call is open)."""
    return confirmed_visit(doctor_binh, patient_dao)
