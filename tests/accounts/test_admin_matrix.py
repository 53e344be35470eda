"""Each role sees exactly its own admin sections: a permission matrix over admin pages and the sidebar."""

import pytest

# page → roles allowed (admins are superusers and see everything)
ADMIN_PAGES = {
    "/admin/": {"admin", "staff", "doctor"},
    "/admin/accounts/user/": {"admin", "staff"},
    "/admin/accounts/patientprofile/": {"admin", "staff", "doctor"},
    "/admin/auth/group/": {"admin"},
    "/admin/core/auditlog/": {"admin"},
    "/admin/django_q/schedule/": {"admin"},
    "/admin/django_q/failure/": {"admin"},
    "/admin/account/emailaddress/": {"admin"},
    "/admin/mfa/authenticator/": {"admin"},
    "/admin/django_fsm_log/statelog/": {"admin"},
    "/admin/booking/appointment/": {"admin", "staff", "doctor"},
    "/admin/booking/appointment/book/": {"admin", "staff"},
    "/admin/booking/payment/": {"admin", "staff"},
    # issued invoices: every one for the clinic, a doctor's own (subscription) for the doctor
    "/admin/booking/invoice/": {"admin", "staff", "doctor"},
    "/admin/booking/voucher/": {"admin"},
    "/admin/messaging/conversation/": {"admin", "staff", "doctor"},
    # the clinic back office (workflows.clinic)
    "/admin/clinic/doctorapplication/": {"admin", "staff"},
    "/admin/clinic/doctorapplication/add/": {"admin"},
    # a doctor sees their own subscription (what is due, "Pay now")
    "/admin/clinic/doctorsubscription/": {"admin", "doctor"},
    "/admin/clinic/doctorsubscription/add/": {"admin"},
    "/admin/clinic/subscriptionplan/": {"admin"},
    "/admin/clinic/supportticket/": {"admin", "staff"},
    "/admin/clinic/medicalrecordaccess/": {"admin"},
    # the clinical record (workflows.clinical): staff list notes without their content
    "/admin/clinical/visitnote/": {"admin", "staff", "doctor"},
    "/admin/clinical/clinicalrecordaccess/": {"admin"},
    "/admin/booking/appointment/exports/": {"admin", "staff", "doctor"},
    "/admin/booking/appointment/export/": {"admin", "staff", "doctor"},
    "/admin/booking/payment/export/": {"admin", "staff"},
    "/admin/booking/doctor/export/": {"admin", "staff", "doctor"},
    "/admin/accounts/patientprofile/export/": {"admin", "staff", "doctor"},
    "/admin/accounts/patientprofile/import/": {"admin"},
    # check-in and the waiting room (workflows.operations)
    "/admin/operations/arrival/": {"admin", "staff"},
    "/admin/operations/checkin/": {"admin", "staff", "doctor"},
    "/admin/operations/queueboard/": {"admin", "staff"},
    # integrations and text messages: clinic admins only
    "/admin/integrations/webhookendpoint/": {"admin"},
    "/admin/integrations/webhookendpoint/add/": {"admin"},
    "/admin/integrations/webhookdelivery/": {"admin"},
    "/admin/messaging/smsmessage/": {"admin"},
    "/admin/messaging/smsoptout/": {"admin"},
    "/admin/messaging/smsoptout/add/": {"admin"},
}
ROLES = ["admin", "staff", "doctor", "patient", "editor"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(ADMIN_PAGES))
def test_admin_page_permission_matrix(client, personas, role, path):
    client.force_login(personas[role])
    response = client.get(path)
    if role in ADMIN_PAGES[path]:
        assert response.status_code == 200, f"{role} should open {path}"
    elif role in {"patient", "editor"}:
        # Not admin users at all: the admin sends them to the login page, which explains.
        assert response.status_code == 302
        assert client.get(response["Location"]).status_code == 403
    else:
        assert response.status_code in {403, 404}, f"{role} must not open {path}"


SIDEBAR_LINKS = {
    "/admin/accounts/user/": {"admin", "staff"},
    "/admin/accounts/patientprofile/": {"admin", "staff", "doctor"},
    "/admin/auth/group/": {"admin"},
    "/admin/core/auditlog/": {"admin"},
    "/admin/django_q/schedule/": {"admin"},
    "/admin/clinical/visitnote/": {"admin", "staff", "doctor"},
    "/admin/clinical/clinicalrecordaccess/": {"admin"},
    "/admin/integrations/webhookendpoint/": {"admin"},
    "/admin/messaging/smsoptout/": {"admin"},
    "/cms/": {"admin"},
    "/admin/operations/arrival/": {"admin", "staff"},
    "/admin/operations/checkin/": {"admin", "staff", "doctor"},
    "/admin/operations/queueboard/": {"admin", "staff"},
    "/admin/booking/invoice/": {"admin", "staff", "doctor"},
}


@pytest.mark.parametrize("role", ["admin", "staff", "doctor"])
def test_sidebar_shows_each_role_only_its_sections(client, personas, role):
    client.force_login(personas[role])
    html = client.get("/admin/").content.decode()
    for link, allowed in SIDEBAR_LINKS.items():
        assert (f'href="{link}"' in html) == (role in allowed), f"{role} sidebar and {link}"


def test_staff_only_manage_patients_and_cannot_grant_roles(client, staff_binh, doctor_chau, patient_dao):
    client.force_login(staff_binh)
    listing = client.get("/admin/accounts/user/").content.decode()
    assert patient_dao.email in listing
    assert doctor_chau.email not in listing
    assert client.get(f"/admin/accounts/user/{doctor_chau.pk}/change/").status_code == 302  # not in their list
    response = client.post(
        "/admin/accounts/user/add/",
        {"email": "walkin@example.test", "first_name": "Walk", "last_name": "In", "role": "admin", "password": ""},
    )
    # The role is not theirs to choose: whatever is posted, the front desk creates a patient.
    assert response.status_code == 302
    from accounts.models import User

    walk_in = User.objects.get(email="walkin@example.test")
    assert walk_in.role == "patient" and not walk_in.is_staff and not walk_in.is_superuser


def test_staff_do_not_see_medical_records_but_admins_do(client, staff_binh, admin_an, patient_dao):
    profile = patient_dao.patient_profile
    profile.medical_record.allergies = "penicillin"
    profile.medical_record.save()
    client.force_login(staff_binh)
    assert "penicillin" not in client.get(f"/admin/accounts/patientprofile/{profile.pk}/change/").content.decode()
    client.force_login(admin_an)
    assert "penicillin" in client.get(f"/admin/accounts/patientprofile/{profile.pk}/change/").content.decode()
    from core.models import AuditLog

    assert AuditLog.objects.filter(action="accounts.medical_record.viewed", actor=admin_an).exists()


def test_editors_reach_wagtail_without_admin_access(client, editor_em):
    assert editor_em.is_staff is False
    client.force_login(editor_em)
    assert client.get("/cms/").status_code == 200
    assert client.get("/admin/").status_code == 302


def test_role_change_moves_the_user_between_groups(db, staff_binh):
    staff_binh.role = "doctor"
    staff_binh.save()
    assert set(staff_binh.groups.values_list("name", flat=True)) == {"Doctors"}
    assert staff_binh.is_staff and not staff_binh.is_superuser
