"""Front-desk registration: staff register a walk-in patient with their demographics (email optional),
and are shown patients already registered with the same phone, national ID, BHYT number or email
before a second account is made."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client

from accounts.models import User
from accounts.services import DuplicatePatient, has_real_email, patient_profile_update, patient_register
from core.errors import InvalidInput, PermissionDenied
from core.models import AuditLog

pytestmark = pytest.mark.django_db

LAN = {
    "first_name": "Lan",
    "last_name": "Phạm",
    "phone": "0912 345 678",
    "email": "lan.pham@example.test",
    "date_of_birth": date(1988, 4, 2),
    "gender": "female",
    "address": "12 Lê Lợi, Quận 1, TP. Hồ Chí Minh",
    "national_id": "079188000123",
    "health_insurance_number": "dn4797915123456",
    "emergency_contact_name": "Phạm Minh",
    "emergency_contact_phone": "0909 000 111",
}


def test_staff_register_a_patient_with_demographics_and_an_empty_record(staff_binh):
    user = patient_register(actor=staff_binh, **LAN)
    profile = user.patient_profile
    assert (user.role, user.get_full_name(), user.email) == ("patient", "Lan Phạm", "lan.pham@example.test")
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified
    assert (profile.phone, profile.national_id, profile.health_insurance_number) == (
        "0912 345 678",
        "079188000123",
        "DN4797915123456",
    )
    assert (profile.date_of_birth, profile.gender, profile.emergency_contact_name) == (
        date(1988, 4, 2),
        "female",
        "Phạm Minh",
    )
    assert profile.address == LAN["address"] and profile.medical_record.is_empty
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM accounts_patientprofile WHERE id = %s", [profile.pk])
        assert "Lê Lợi" not in cursor.fetchone()[0]  # the address is encrypted at rest
    entry = AuditLog.objects.get(action="accounts.patient.registered")
    assert entry.actor == staff_binh and "Lan" not in str(entry.data) and "0912" not in str(entry.data)


def test_a_patient_without_email_gets_an_address_that_is_never_written_to(staff_binh):
    user = patient_register(actor=staff_binh, first_name="Hùng", last_name="Trần", phone="0988 111 222")
    assert user.email.endswith("@no-email.invalid") and not has_real_email(user.email)
    assert not EmailAddress.objects.filter(user=user, verified=True).exists()
    second = patient_register(actor=staff_binh, first_name="Tâm", last_name="Lê", phone="0988 333 444")
    assert second.email != user.email


@pytest.mark.parametrize(
    ("field", "stored", "typed"),
    [
        ("phone", "0912345678", "+84 912 345 678"),
        ("national_id", "079188000123", " 079188000123 "),
        ("health_insurance_number", "DN4797915123456", "dn 4797915123456"),
    ],
)
def test_a_patient_with_the_same_phone_national_id_or_bhyt_is_shown_before_registering(
    staff_binh, patient_dao, field, stored, typed
):
    patient_profile_update(user=patient_dao, actor=patient_dao, **{field: stored})
    details = {"first_name": "Đào", "last_name": "Test", "phone": "0977 000 000", field: typed}
    with pytest.raises(DuplicatePatient) as refused:
        patient_register(actor=staff_binh, **details)
    [match] = refused.value.duplicates
    assert (match.profile.user, match.reasons) == (patient_dao, (field,))
    assert User.objects.filter(role="patient").count() == 1

    # staff checked: a different person (twins share a phone): registered, and the override is audited
    user = patient_register(actor=staff_binh, allow_duplicate=True, **details)
    assert user.pk != patient_dao.pk
    entry = AuditLog.objects.get(action="accounts.patient.registered")
    assert entry.data["duplicates_overridden"] == [patient_dao.patient_profile.pk]


def test_an_email_that_has_an_account_is_refused_even_when_staff_insist(staff_binh, patient_dao):
    with pytest.raises(InvalidInput) as refused:
        patient_register(
            actor=staff_binh,
            first_name="Đào",
            last_name="Test",
            phone="0977 000 000",
            email="DAO.patient@example.test",
            allow_duplicate=True,
        )
    assert "email" in refused.value.field_errors


def test_bad_details_are_named(staff_binh):
    with pytest.raises(InvalidInput) as refused:
        patient_register(
            actor=staff_binh,
            first_name=" ",
            last_name="",
            phone="12",
            health_insurance_number="DN123",
            date_of_birth=date.today() + timedelta(days=2),
            gender="unknown",
        )
    assert set(refused.value.field_errors) == {
        "first_name",
        "last_name",
        "phone",
        "health_insurance_number",
        "date_of_birth",
        "gender",
    }
    assert not User.objects.filter(role="patient").exists()


def test_only_staff_and_admins_register_patients(admin_an, doctor_chau, patient_dao):
    for outsider in (doctor_chau, patient_dao):
        with pytest.raises(PermissionDenied):
            patient_register(actor=outsider, first_name="X", last_name="Y", phone="0912 000 999")
    assert patient_register(actor=admin_an, first_name="Yến", last_name="Võ", phone="0912 000 999").role == "patient"


# --- the admin ------------------------------------------------------------------------------------

REGISTER = "/admin/accounts/patientprofile/register/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(**overrides) -> dict:
    data = {**LAN, "date_of_birth": "1988-04-02"}
    data.update(overrides)
    return data


def test_staff_register_at_the_front_desk_in_the_admin(staff_binh):
    staff = client_for(staff_binh)
    assert REGISTER in staff.get("/admin/booking/appointment/book/").content.decode()  # from "Book for a patient"
    assert staff.get("/admin/accounts/patientprofile/add/").url == REGISTER
    page = staff.get(REGISTER)
    assert page.status_code == 200 and "health insurance number (BHYT)" in page.content.decode()
    done = staff.post(REGISTER, form_data())
    user = User.objects.get(email="lan.pham@example.test")
    assert done.status_code == 302 and done.url == f"/admin/accounts/patientprofile/{user.patient_profile.pk}/change/"
    assert user.patient_profile.health_insurance_number == "DN4797915123456"


def test_the_admin_lists_possible_duplicates_and_registers_only_when_staff_confirm(staff_binh, patient_dao):
    patient_profile_update(user=patient_dao, actor=patient_dao, phone="0912345678")
    staff = client_for(staff_binh)
    warned = staff.post(REGISTER, form_data(email=""))
    page = warned.content.decode()
    assert warned.status_code == 200 and "possible-duplicates" in page
    assert f"/admin/accounts/patientprofile/{patient_dao.patient_profile.pk}/change/" in page
    assert "same phone number" in page and 'name="register_anyway"' in page
    assert User.objects.filter(role="patient").count() == 1

    done = staff.post(REGISTER, form_data(email="", register_anyway="on"))
    assert done.status_code == 302 and User.objects.filter(role="patient").count() == 2


def test_a_bad_bhyt_number_is_a_form_error_next_to_its_field(staff_binh):
    response = client_for(staff_binh).post(REGISTER, form_data(health_insurance_number="DN12"))
    assert response.status_code == 200
    assert "2 letters and 13 digits" in response.content.decode()
    assert not User.objects.filter(role="patient").exists()


def test_the_registration_page_speaks_vietnamese(staff_binh):
    staff_binh.language = "vi"
    staff_binh.save(update_fields=["language"])
    page = client_for(staff_binh).get(REGISTER, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Đăng ký bệnh nhân" in page


def test_doctors_cannot_register_patients(doctor_chau):
    assert client_for(doctor_chau).get(REGISTER).status_code in {302, 403, 404}
