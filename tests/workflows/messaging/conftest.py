import pytest

from tests.booking.appointments.helpers import make_doctor
from tests.booking.video.helpers import confirmed_visit
from tests.factories import make_user
from workflows.messaging.services import conversation_open_for_appointment, conversation_open_support


@pytest.fixture
def doctor_binh(db):
    return make_doctor()


@pytest.fixture
def doctor_giang(db):
    return make_doctor("giang.doctor@clinic.test")


@pytest.fixture
def patient_lan(db):
    return make_user("lan.patient@example.test", "patient", first_name="Lan", last_name="Hoàng")


@pytest.fixture
def visit(doctor_binh, patient_dao):
    return confirmed_visit(doctor_binh, patient_dao)


@pytest.fixture
def visit_chat(visit, patient_dao):
    """Đào's conversation with Dr Bình about her visit."""
    return conversation_open_for_appointment(appointment=visit, actor=patient_dao)


@pytest.fixture
def support_chat(patient_dao):
    """Đào's conversation with the clinic team."""
    return conversation_open_support(patient=patient_dao, actor=patient_dao)


@pytest.fixture
def people(patient_dao, doctor_binh, doctor_giang, patient_lan, staff_binh, admin_an):
    return {
        "patient": patient_dao,
        "their_doctor": doctor_binh.user,
        "another_doctor": doctor_giang.user,
        "another_patient": patient_lan,
        "staff": staff_binh,
        "admin": admin_an,
    }
