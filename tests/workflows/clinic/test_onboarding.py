"""Doctor onboarding end to end: apply on the public form → an admin approves in the admin → the
invitation email → set a password → sign in as the doctor; and rejection with a reason."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_fsm_log.models import StateLog

from accounts.models import User
from booking.models import Doctor
from core.errors import Conflict, PermissionDenied
from core.models import AuditLog
from workflows.clinic.models import ApplicationStatus, DoctorApplication
from workflows.clinic.services import doctor_application_approve, doctor_application_reject, doctor_application_submit

NEW_PASSWORD = "a-brand-new-Passw0rd!"


def apply_on_the_form(client, general, **overrides):
    data = {
        "first_name": "Giang",
        "last_name": "Võ",
        "email": "giang.vo@example.test",
        "phone": "+84 91 234 5678",
        "specialties": [general.pk],
        "licence_number": "HCM-000123",
        "years_of_experience": "7",
        "bio": "Bác sĩ nội khoa, 7 năm kinh nghiệm.",
        "website": "",
        **overrides,
    }
    return client.post("/join/", data)


def test_the_public_form_records_an_application(client, general):
    assert client.get("/join/").status_code == 200
    response = apply_on_the_form(client, general)
    assert response.status_code == 302 and response["Location"] == "/join/thanks/"
    application = DoctorApplication.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.email == "giang.vo@example.test"
    assert list(application.specialties.all()) == [general]
    assert application.source == "public"
    assert AuditLog.objects.filter(action="clinic.doctor_application.submitted", object_id=str(application.pk)).exists()


def test_a_second_open_application_from_the_same_address_is_answered_not_stored(
    client, general, django_capture_on_commit_callbacks
):
    apply_on_the_form(client, general)
    with django_capture_on_commit_callbacks(execute=True):
        response = apply_on_the_form(client, general, email="GIANG.VO@example.test")
    # answered like any application (the form tells nobody what it knows); the address's owner is told
    assert response.status_code == 302 and response["Location"] == "/join/thanks/"
    assert DoctorApplication.objects.count() == 1
    (notice,) = mail.outbox
    assert notice.to == ["giang.vo@example.test"] and "open application" in notice.body


def test_the_form_refuses_a_bot_and_a_flood(client, general, settings):
    apply_on_the_form(client, general, website="http://spam.example")
    assert DoctorApplication.objects.count() == 0
    settings.CLINIC_APPLICATIONS_PER_HOUR = 2
    for n in range(3):
        response = apply_on_the_form(client, general, email=f"doctor{n}@example.test")
    assert DoctorApplication.objects.count() == 2
    assert "Too many applications" in response.content.decode()


def test_approval_creates_the_doctor_and_the_invitation_lets_them_set_a_password_and_sign_in(
    client, general, admin_an, django_capture_on_commit_callbacks
):
    apply_on_the_form(client, general)
    application = DoctorApplication.objects.get()
    client.force_login(admin_an)
    page = client.get(f"/admin/clinic/doctorapplication/{application.pk}/change/")
    assert page.status_code == 200 and "Approve" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/clinic/doctorapplication/{application.pk}/approve_detail/", {"_form_submitted": "on"}
        )
    assert response.status_code == 302

    application = DoctorApplication.objects.get()
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by == admin_an and application.invitation_sent_at is not None
    user = User.objects.get(email="giang.vo@example.test")
    assert user.role == "doctor" and user.is_staff and not user.has_usable_password()
    assert user.emailaddress_set.get().verified
    doctor = Doctor.objects.get(user=user)
    assert doctor.is_active and list(doctor.specialties.all()) == [general]
    assert doctor.years_of_experience == 7
    assert StateLog.objects.filter(object_id=str(application.pk), transition="approve", by=admin_an).exists()
    assert AuditLog.objects.filter(action="clinic.doctor_application.approved", actor=admin_an).exists()

    (invitation,) = mail.outbox
    assert invitation.to == ["giang.vo@example.test"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", invitation.body)[1]

    client.logout()
    response = client.get(link, follow=True)
    assert response.status_code == 200
    set_password_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    response = client.post("/accounts/login/", {"login": "giang.vo@example.test", "password": NEW_PASSWORD})
    assert response.status_code == 302
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert "Today&#x27;s schedule" in dashboard.content.decode() or "Today's schedule" in dashboard.content.decode()

    # the link worked once: a second use is refused
    client.logout()
    again = client.get(link, follow=True)
    assert "token" in again.content.decode().lower() or again.redirect_chain == []


def test_approval_queues_the_draft_profile_page_task_when_the_site_provides_it(
    general, admin_an, django_capture_on_commit_callbacks, monkeypatch, settings
):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: queued.append(func))
    settings.CLINIC_DOCTOR_PROFILE_SYNC_TASK = "workflows.clinic.tasks.subscriptions_sweep"  # any existing task
    application = doctor_application_submit(
        first_name="Hà", last_name="Đỗ", email="ha@example.test", phone="1", licence_number="L1"
    )
    with django_capture_on_commit_callbacks(execute=True):
        doctor_application_approve(application=application, actor=admin_an)
    assert queued == ["workflows.tasks.deliver_outbox_message", "workflows.clinic.tasks.subscriptions_sweep"]

    queued.clear()
    settings.CLINIC_DOCTOR_PROFILE_SYNC_TASK = "nowhere.tasks.sync"
    other = doctor_application_submit(
        first_name="Hà", last_name="Lý", email="ly@example.test", phone="1", licence_number="L2"
    )
    with django_capture_on_commit_callbacks(execute=True):
        doctor_application_approve(application=other, actor=admin_an)
    assert queued == ["workflows.tasks.deliver_outbox_message"]


def test_rejection_with_a_reason_emails_the_applicant(client, general, admin_an, django_capture_on_commit_callbacks):
    apply_on_the_form(client, general)
    application = DoctorApplication.objects.get()
    client.force_login(admin_an)
    url = f"/admin/clinic/doctorapplication/{application.pk}/reject_detail/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"_form_submitted": "on", "reason": "Your licence could not be verified."})
    assert response.status_code == 302
    application = DoctorApplication.objects.get()
    assert application.status == ApplicationStatus.REJECTED
    assert application.rejection_reason == "Your licence could not be verified."
    assert not User.objects.filter(email="giang.vo@example.test").exists()
    (email,) = mail.outbox
    assert email.to == ["giang.vo@example.test"]
    assert "Your licence could not be verified." in email.body
    assert AuditLog.objects.filter(action="clinic.doctor_application.rejected").exists()
    # through the outbox, though the applicant has no account: sent once, with the row's Message-ID
    from core.models import OutboxMessage
    from workflows.tasks import outbox_message_id

    (message,) = OutboxMessage.objects.filter(kind="application.rejection")
    assert message.recipient is None and message.to_email == "giang.vo@example.test"
    assert message.status == "sent" and email.extra_headers["Message-ID"] == outbox_message_id(message)


def test_a_decided_application_cannot_be_decided_again_and_staff_cannot_decide(general, admin_an, staff_binh):
    application = doctor_application_submit(
        first_name="Hà", last_name="Đỗ", email="ha@example.test", phone="1", licence_number="L1"
    )
    with pytest.raises(PermissionDenied):
        doctor_application_approve(application=application, actor=staff_binh)
    doctor_application_reject(application=application, actor=admin_an, reason="No.")
    with pytest.raises(Conflict):
        doctor_application_approve(application=application, actor=admin_an)


def test_staff_read_applications_but_see_no_decision_buttons(client, general, staff_binh):
    application = doctor_application_submit(
        first_name="Hà", last_name="Đỗ", email="ha@example.test", phone="1", licence_number="L1"
    )
    client.force_login(staff_binh)
    page = client.get(f"/admin/clinic/doctorapplication/{application.pk}/change/").content.decode()
    assert "ha@example.test" in page and "approve_detail" not in page
    assert client.get(f"/admin/clinic/doctorapplication/{application.pk}/approve_detail/").status_code == 403
    assert DoctorApplication.objects.get().status == ApplicationStatus.SUBMITTED


def test_an_admin_can_enter_an_application(client, general, admin_an):
    client.force_login(admin_an)
    response = client.post(
        "/admin/clinic/doctorapplication/add/",
        {
            "first_name": "Khoa",
            "last_name": "Phan",
            "email": "khoa@example.test",
            "phone": "0909",
            "specialties": [general.pk],
            "licence_number": "L9",
            "years_of_experience": "3",
            "bio": "",
        },
    )
    assert response.status_code == 302
    application = DoctorApplication.objects.get()
    assert application.source == "admin" and application.submitted_by == admin_an
    assert list(application.specialties.all()) == [general]
