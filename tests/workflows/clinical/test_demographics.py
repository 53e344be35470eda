"""Demographics (seed 002): gender, address, BHYT number, emergency contact; the patient keeps them in the
portal profile, the front desk on the patient page; the address is encrypted; FHIR Patient carries them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from fhir.resources.R4B.patient import Patient

from accounts.models import PatientProfile
from tests.api.clients import bearer_client

pytestmark = pytest.mark.django_db


def profile_post(patient_dao, **extra):
    data = {
        "first_name": "Đào",
        "last_name": "Nguyễn",
        "phone": "0909000111",
        "national_id": "",
        "date_of_birth": "1990-04-05",
        "gender": "female",
        "address": "12 Lê Lợi, Quận 1, TP.HCM",
        "health_insurance_number": "dn4797915123456",
        "emergency_contact_name": "Nguyễn Văn Bình",
        "emergency_contact_phone": "0909000222",
        "language": "vi",
        "time_zone": "Asia/Ho_Chi_Minh",
    }
    data.update(extra)
    client = Client()
    client.force_login(patient_dao)
    return client.post("/portal/profile/", data)


def test_the_patient_keeps_demographics_and_fhir_patient_carries_them(patient_dao):
    assert profile_post(patient_dao).status_code == 302
    profile = PatientProfile.objects.get(user=patient_dao)
    assert (profile.gender, profile.health_insurance_number) == ("female", "DN4797915123456")
    assert profile.emergency_contact_name == "Nguyễn Văn Bình"
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM accounts_patientprofile WHERE id = %s", [profile.pk])
        assert "Lê Lợi" not in cursor.fetchone()[0]
    resource = bearer_client(patient_dao).get(f"/api/fhir/Patient/{patient_dao.pk}").json()
    Patient.model_validate(resource)
    assert resource["gender"] == "female" and resource["address"][0]["text"].startswith("12 Lê Lợi")
    assert resource["identifier"][0]["value"] == "DN4797915123456"
    assert resource["contact"][0]["telecom"][0]["value"] == "0909000222"


def test_a_malformed_bhyt_number_is_refused(patient_dao):
    response = profile_post(patient_dao, health_insurance_number="12345")
    assert response.status_code == 200
    assert PatientProfile.objects.get(user=patient_dao).health_insurance_number == ""


def test_the_front_desk_sees_the_demographics_on_the_patient_page(patient_dao, staff_binh):
    profile_post(patient_dao)
    staff = Client()
    staff.force_login(staff_binh)
    page = staff.get(f"/admin/accounts/patientprofile/{patient_dao.patient_profile.pk}/change/").content.decode()
    assert "DN4797915123456" in page and "Nguyễn Văn Bình" in page
