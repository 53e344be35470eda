"""Patient management in the admin: search, history and payments, deactivation that ends sessions,
who sees the medical record, and the record-access log."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from allauth.usersessions.models import UserSession

from accounts.services import patient_deactivate, patient_profile_update, patient_reactivate
from booking.models import Payment
from core.errors import PermissionDenied
from core.models import AuditLog
from tests.factories import PASSWORD
from tests.workflows.clinic.conftest import appointment


def sign_in(client, user):
    """A real sign-in through allauth (so the session is tracked like a browser's)."""
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]


def test_deactivating_a_patient_ends_their_sessions_and_reactivating_lets_them_back(
    client, admin_an, patient_dao, django_capture_on_commit_callbacks
):
    from django.test import Client

    patient_browser, patient_phone = Client(), Client()
    sign_in(patient_browser, patient_dao)
    sign_in(patient_phone, patient_dao)
    assert patient_browser.get("/portal/").status_code == 200
    assert UserSession.objects.filter(user=patient_dao).count() == 2

    client.force_login(admin_an)
    profile = patient_dao.patient_profile
    page = client.get(f"/admin/accounts/patientprofile/{profile.pk}/change/").content.decode()
    assert "deactivate_patient" in page
    response = client.post(
        f"/admin/accounts/patientprofile/{profile.pk}/deactivate_patient/", {"_form_submitted": "on", "confirm": "on"}
    )
    assert response.status_code == 302

    patient_dao.refresh_from_db()
    assert not patient_dao.is_active
    assert UserSession.objects.filter(user=patient_dao).count() == 0
    for browser in (patient_browser, patient_phone):
        response = browser.get("/portal/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    bad_login = patient_browser.post("/accounts/login/", {"login": patient_dao.email, "password": PASSWORD})
    assert bad_login.status_code != 302 or "inactive" in bad_login["Location"]
    assert AuditLog.objects.filter(
        action="accounts.patient.deactivated", actor=admin_an, data__sessions_ended=2
    ).exists()

    response = client.post(
        f"/admin/accounts/patientprofile/{profile.pk}/reactivate_patient/", {"_form_submitted": "on"}
    )
    assert response.status_code == 302
    patient_dao.refresh_from_db()
    assert patient_dao.is_active
    sign_in(patient_browser, patient_dao)
    assert patient_browser.get("/portal/").status_code == 200


def test_only_clinic_admins_deactivate_and_only_patients(staff_binh, admin_an, patient_dao, doctor_chau, client):
    with pytest.raises(PermissionDenied):
        patient_deactivate(user=patient_dao, actor=staff_binh)
    client.force_login(staff_binh)
    profile = patient_dao.patient_profile
    assert (
        "deactivate_patient" not in client.get(f"/admin/accounts/patientprofile/{profile.pk}/change/").content.decode()
    )
    assert client.get(f"/admin/accounts/patientprofile/{profile.pk}/reactivate_patient/").status_code == 403
    from core.errors import DomainError

    with pytest.raises(DomainError):
        patient_deactivate(user=doctor_chau, actor=admin_an)
    with pytest.raises(DomainError):
        patient_reactivate(user=patient_dao, actor=admin_an)  # already active


@pytest.mark.parametrize(
    ("term", "found"),
    [("0912 345", True), ("079300001234", True), ("dao.patient", True), ("Đào", True), ("nobody", False)],
)
def test_patients_are_found_by_phone_national_id_email_and_name(client, staff_binh, patient_dao, term, found):
    patient_profile_update(user=patient_dao, actor=staff_binh, phone="0912 345 678", national_id="079300001234")
    client.force_login(staff_binh)
    html = client.get("/admin/accounts/patientprofile/", {"q": term}).content.decode()
    assert (patient_dao.email in html) == found


def test_the_patient_page_shows_appointments_and_payments(client, staff_binh, patient_dao, dr_an, dr_bao):
    mine = appointment(dr_an, patient_dao, status="completed", starts_at=datetime(2025, 3, 1, 3, tzinfo=UTC))
    Payment.objects.create(
        appointment=mine,
        gateway="cash",
        amount=Decimal("500000"),
        currency="VND",
        status="succeeded",
        paid_at=datetime(2025, 3, 1, 3, tzinfo=UTC),
    )
    appointment(dr_bao, patient_dao, status="confirmed", starts_at=datetime(2025, 3, 2, 3, tzinfo=UTC))
    client.force_login(staff_binh)
    html = client.get(f"/admin/accounts/patientprofile/{patient_dao.patient_profile.pk}/change/").content.decode()
    assert "Appointments and payments" in html
    assert "1 Mar 2025" in html and "2 Mar 2025" in html  # the one date style (core.dates)
    assert "500,000" in html
    assert f"?patient__id__exact={patient_dao.pk}" in html
    listing = client.get("/admin/booking/appointment/", {"patient__id__exact": patient_dao.pk})
    assert listing.status_code == 200


def test_a_doctor_sees_only_their_own_patients_and_only_their_visits_with_them(
    client, patient_dao, patient_lan, dr_an, dr_bao
):
    appointment(dr_an, patient_dao, status="completed", starts_at=datetime(2025, 3, 1, 3, tzinfo=UTC))
    appointment(dr_bao, patient_dao, status="completed", starts_at=datetime(2025, 3, 2, 3, tzinfo=UTC))
    appointment(dr_bao, patient_lan, status="completed", starts_at=datetime(2025, 3, 3, 3, tzinfo=UTC))
    record = patient_dao.patient_profile.medical_record
    record.allergies = "penicillin"
    record.save()
    client.force_login(dr_an.user)
    html = client.get(f"/admin/accounts/patientprofile/{patient_dao.patient_profile.pk}/change/").content.decode()
    assert "penicillin" in html
    assert "1 Mar 2025" in html and "2 Mar 2025" not in html  # Dr Bảo's visit is not Dr An's business
    other = client.get(f"/admin/accounts/patientprofile/{patient_lan.patient_profile.pk}/change/")
    assert other.status_code == 302  # not in their list: the admin answers as for a missing object
    viewed = AuditLog.objects.filter(action="accounts.medical_record.viewed", actor=dr_an.user)
    assert [entry.object_id for entry in viewed] == [str(patient_dao.patient_profile.pk)]


def test_staff_see_contact_data_but_not_the_medical_record(client, staff_binh, patient_dao):
    record = patient_dao.patient_profile.medical_record
    record.chronic_conditions = "asthma"
    record.save()
    patient_profile_update(user=patient_dao, actor=staff_binh, phone="0912 345 678")
    client.force_login(staff_binh)
    html = client.get(f"/admin/accounts/patientprofile/{patient_dao.patient_profile.pk}/change/").content.decode()
    assert "0912 345 678" in html and "asthma" not in html
    assert not AuditLog.objects.filter(action="accounts.medical_record.viewed", actor=staff_binh).exists()


def test_the_access_log_shows_who_viewed_which_record(client, admin_an, patient_dao, dr_an):
    appointment(dr_an, patient_dao, status="completed", starts_at=datetime(2025, 3, 1, 3, tzinfo=UTC))
    client.force_login(dr_an.user)
    client.get(f"/admin/accounts/patientprofile/{patient_dao.patient_profile.pk}/change/")
    client.force_login(patient_dao)
    client.get("/portal/profile/medical-record/")
    client.force_login(admin_an)
    html = client.get("/admin/clinic/medicalrecordaccess/").content.decode()
    assert dr_an.user.email in html or "An" in html
    assert patient_dao.email in html
    assert "admin" in html and "portal" in html
    by_patient = client.get("/admin/clinic/medicalrecordaccess/", {"q": "Đào"}).content.decode()
    assert patient_dao.email in by_patient
    nobody = client.get("/admin/clinic/medicalrecordaccess/", {"q": "zzz-nobody"}).content.decode()
    assert patient_dao.email not in nobody


def test_the_audit_log_filters_by_actor_action_and_object(client, admin_an, staff_binh, patient_dao):
    patient_profile_update(user=patient_dao, actor=staff_binh, phone="1")
    client.force_login(admin_an)

    def actions(**params):
        response = client.get("/admin/core/auditlog/", params)
        assert response.status_code == 200
        return {entry.action for entry in response.context["cl"].result_list}

    assert actions(actor=staff_binh.pk) == {"accounts.patient.profile_updated"}
    assert "accounts.patient.profile_updated" not in actions(action="accounts.user.created")
    assert actions(object_type="accounts.user", object_id=str(patient_dao.pk)) == {
        "accounts.user.created",
        "accounts.patient.profile_updated",
    }
