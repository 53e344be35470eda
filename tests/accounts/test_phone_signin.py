"""Patients sign up and sign in with a mobile number confirmed by a code texted through the SMS
backend; staff, doctors and admins never sign in by phone."""

from __future__ import annotations

import json
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.models import PatientProfile, Role, User
from accounts.services import has_real_email, patient_phone_set, patient_profile_update
from core.errors import Conflict, PermissionDenied
from tests.factories import PASSWORD, make_user
from workflows import sms

PASSWORD_LAN = "a-long-pass-phrase-7"
LAN_LOCAL, LAN_E164 = "0901 234 567", "+84901234567"


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "workflows.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def texted_code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.text).group(1)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def signup_by_phone(client, phone=LAN_LOCAL, email=""):
    data = {"first_name": "Lan", "last_name": "Hoàng", "email": email, "phone": phone, "password1": PASSWORD_LAN}
    return client.post("/accounts/signup/", data)


@pytest.fixture
def patient_lan(client, db, sms_outbox):
    """Lan signed up with her mobile number only and typed the texted code."""
    signup_by_phone(client)
    client.post("/accounts/phone/verify/", {"code": texted_code(sms_outbox[-1])})
    client.logout()
    sms_outbox.clear()
    return User.objects.get(patient_profile__phone=LAN_E164)


def test_a_patient_signs_up_with_only_a_mobile_number_and_types_the_texted_code(client, db, sms_outbox):
    response = signup_by_phone(client)
    assert response.status_code == 302 and response["Location"] == "/accounts/phone/verify/"
    user = User.objects.get(patient_profile__phone=LAN_E164)  # stored as E.164
    assert user.role == Role.PATIENT and not user.is_staff
    assert not has_real_email(user.email) and mail.outbox == []  # nothing to email
    assert user.patient_profile.phone_verified is False
    assert "_auth_user_id" not in client.session

    (message,) = sms_outbox
    assert message.to == LAN_E164 and message.text.startswith("Medbook: your code is ")
    code = texted_code(message)
    page = client.get("/accounts/phone/verify/").content.decode()
    assert 'autocomplete="one-time-code"' in page

    response = client.post("/accounts/phone/verify/", {"code": wrong(code)})
    assert response.status_code == 200 and "_auth_user_id" not in client.session  # a wrong code: stay
    response = client.post("/accounts/phone/verify/", {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert PatientProfile.objects.get(user=user).phone_verified is True


def test_the_code_is_texted_in_the_language_the_patient_signed_up_in(client, db, sms_outbox):
    client.cookies["django_language"] = "vi"
    signup_by_phone(client)
    (message,) = sms_outbox
    assert "mã của bạn là" in message.text


def test_signing_up_with_email_and_phone_verifies_both(client, db, sms_outbox):
    response = signup_by_phone(client, email="lan@example.test")
    assert response["Location"] == "/accounts/phone/verify/"
    client.post("/accounts/phone/verify/", {"code": texted_code(sms_outbox[0])})
    assert "_auth_user_id" not in client.session  # the email is next
    (email_message,) = mail.outbox
    code = re.search(r"^(\d{6})$", email_message.body, re.MULTILINE).group(1)
    response = client.post("/accounts/confirm-email/", {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"
    user = User.objects.get(email="lan@example.test")
    assert user.patient_profile.phone_verified and EmailAddress.objects.get(user=user).verified


def test_sign_up_needs_an_email_or_a_valid_mobile_number(client, db, sms_outbox):
    response = signup_by_phone(client, phone="")
    assert response.status_code == 200 and "Give an email address or a mobile number." in response.content.decode()
    response = signup_by_phone(client, phone="12")
    assert response.status_code == 200 and "Enter a valid mobile number" in response.content.decode()
    assert not User.objects.exists() and sms_outbox == []


def test_the_patient_signs_in_with_the_number_and_password(client, patient_lan):
    response = client.post("/accounts/login/", {"login": "+84 90 123 4567", "password": PASSWORD_LAN})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.session["_auth_user_id"] == str(patient_lan.pk)


def test_the_patient_signs_in_with_a_code_texted_to_the_number(client, patient_lan, sms_outbox):
    page = client.get("/accounts/login/code/").content.decode()
    assert 'name="phone"' in page and 'name="email"' not in page  # codes go by SMS only
    response = client.post("/accounts/login/code/", {"phone": LAN_LOCAL})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/confirm/"
    (message,) = sms_outbox
    assert message.to == LAN_E164
    code = texted_code(message)

    response = client.post("/accounts/login/code/confirm/", {"code": wrong(code)})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post("/accounts/login/code/confirm/", {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"
    assert client.session["_auth_user_id"] == str(patient_lan.pk)


def test_three_wrong_codes_end_the_attempt(client, patient_lan, sms_outbox):
    client.post("/accounts/login/code/", {"phone": LAN_LOCAL})
    code = texted_code(sms_outbox[0])
    for _ in range(3):
        client.post("/accounts/login/code/confirm/", {"code": wrong(code)})
    response = client.post("/accounts/login/code/confirm/", {"code": code})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_codes_for_one_number_are_rate_limited(client, patient_lan, sms_outbox):
    client.post("/accounts/login/code/", {"phone": LAN_LOCAL})
    again = Client()
    response = again.post("/accounts/login/code/", {"phone": LAN_LOCAL})
    assert response.status_code == 200  # the form again, with the error
    assert "Too many failed login attempts" in response.content.decode()
    assert len(sms_outbox) == 1


def test_codes_from_one_address_are_rate_limited_across_numbers(db, sms_outbox):
    responses = [
        Client(REMOTE_ADDR="203.0.113.9").post(
            "/accounts/signup/",
            {"first_name": "A", "last_name": "B", "phone": f"090123400{n}", "password1": PASSWORD_LAN},
        )
        for n in range(4)
    ]
    assert [r.status_code for r in responses] == [302, 302, 302, 200]  # "3/m/ip" on verify_phone
    assert "Too many codes were sent just now" in responses[3].content.decode()
    assert len(sms_outbox) == 3 and User.objects.count() == 3  # no account nobody could verify


def test_a_second_sign_up_with_the_same_number_at_once_is_refused_before_an_account_exists(client, db, sms_outbox):
    signup_by_phone(client)
    response = signup_by_phone(Client(), email="")
    assert response.status_code == 200 and "Too many codes were sent just now" in response.content.decode()
    assert len(sms_outbox) == 1 and User.objects.count() == 1


def test_an_unknown_number_gets_no_text_and_the_page_does_not_say_so(client, db, sms_outbox):
    response = client.post("/accounts/login/code/", {"phone": "0909 999 999"})
    assert response.status_code == 302 and sms_outbox == []


def test_staff_and_doctors_cannot_sign_in_by_phone(client, db, sms_outbox, staff_binh, doctor_chau):
    # even with a verified number written straight into the database, a clinic account is never found by it
    for person, number in ((staff_binh, "+84911000001"), (doctor_chau, "+84911000002")):
        PatientProfile.objects.create(user=person, phone=number, phone_verified=True)
        response = client.post("/accounts/login/", {"login": number, "password": PASSWORD})
        assert response.status_code == 200 and "_auth_user_id" not in client.session
        client.post("/accounts/login/code/", {"phone": number})
        assert sms_outbox == []
        # the same account with its email and password still signs in (then MFA as usual)
        response = client.post("/accounts/login/", {"login": person.email, "password": PASSWORD})
        assert response.status_code == 302
        client.logout()
    with pytest.raises(PermissionDenied):
        patient_phone_set(user=staff_binh, phone="0911 000 003", verified=True)


def test_a_doctor_with_mfa_still_needs_the_second_factor(client, db, doctor_chau):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=doctor_chau, type=Authenticator.Type.TOTP, data={"secret": "x"})
    response = client.post("/accounts/login/", {"login": doctor_chau.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session


def test_clinic_accounts_cannot_add_a_sign_in_number(client, db, staff_binh, sms_outbox):
    client.force_login(staff_binh)
    response = client.post("/accounts/phone/change/", {"phone": "0911 000 004"})
    assert response.status_code == 200 and sms_outbox == []
    assert not PatientProfile.objects.filter(user=staff_binh).exists()


def test_a_verified_number_belongs_to_one_patient(db, patient_lan, patient_dao):
    with pytest.raises(Conflict):
        patient_phone_set(user=patient_dao, phone=LAN_LOCAL, verified=True)
    # unverified, another patient may type the same number (it signs nobody in)
    patient_phone_set(user=patient_dao, phone=LAN_LOCAL, verified=False)
    assert User.objects.filter(patient_profile__phone=LAN_E164).count() == 2


def test_changing_the_number_on_the_profile_unverifies_it(client, db, patient_lan):
    patient_profile_update(user=patient_lan, actor=patient_lan, phone="+84 90 123 4567")  # the same number
    assert PatientProfile.objects.get(user=patient_lan).phone_verified is True
    patient_profile_update(user=patient_lan, actor=patient_lan, phone="0912 000 111")
    profile = PatientProfile.objects.get(user=patient_lan)
    assert (profile.phone, profile.phone_verified) == ("0912 000 111", False)  # as typed, unverified
    response = client.post("/accounts/login/", {"login": "0912 000 111", "password": PASSWORD_LAN})
    assert "_auth_user_id" not in client.session and response.status_code == 200


def test_an_email_patient_with_an_unverified_booking_number_signs_in_without_an_sms(client, patient_dao, sms_outbox):
    patient_profile_update(user=patient_dao, actor=patient_dao, phone="0933 000 111")
    response = client.post("/accounts/login/", {"login": patient_dao.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/portal/" and sms_outbox == []


def test_apps_sign_in_with_the_number_and_password_for_a_bearer_token(patient_lan):
    app = Client(enforce_csrf_checks=True)
    response = app.post(
        "/_allauth/app/v1/auth/login",
        json.dumps({"phone": LAN_E164, "password": PASSWORD_LAN}),
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["meta"]["access_token"]
    me = app.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


def test_an_sms_backend_failure_is_an_error_not_a_silent_code(client, db, settings):
    settings.SMS_BACKEND = "workflows.sms.HttpJsonSMSBackend"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/"  # nothing listens: the gateway cannot be reached
    settings.SMS_HTTP_AUTH_VALUE = "Bearer x"
    settings.SMS_TIMEOUT = 1
    with pytest.raises(sms.SMSError):
        signup_by_phone(client)
    make_user("x@example.test", Role.PATIENT)  # the database is still usable


def test_the_admin_shows_the_verification_and_a_number_changed_there_is_not_verified(rf, admin_an, patient_lan):
    from django.contrib import admin

    model_admin = admin.site._registry[PatientProfile]
    request = rf.post("/admin/")
    request.user = admin_an
    profile = PatientProfile.objects.get(user=patient_lan)
    assert "phone_verified" in model_admin.get_readonly_fields(request, profile)
    form_class = model_admin.get_form(request, profile, fields=["phone"])
    form = form_class(data={"phone": "0912 000 222"}, instance=profile)
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    profile.refresh_from_db()
    assert (profile.phone, profile.phone_verified) == ("0912 000 222", False)


def test_an_email_patient_adds_a_sign_in_number_from_the_profile_page(client, patient_dao, sms_outbox):
    client.post("/accounts/login/", {"login": patient_dao.email, "password": PASSWORD})
    page = client.get("/portal/profile/").content.decode()
    assert "Add a mobile number to sign in with a code by SMS" in page and 'href="/accounts/phone/change/"' in page
    response = client.post("/accounts/phone/change/", {"phone": "0933 000 222"})
    assert response.status_code == 302
    (message,) = sms_outbox
    assert message.to == "+84933000222"
    client.post("/accounts/phone/verify/", {"code": texted_code(message)})
    profile = PatientProfile.objects.get(user=patient_dao)
    assert (profile.phone, profile.phone_verified) == ("+84933000222", True)
    assert "+84933000222" in client.get("/portal/profile/").content.decode()

    client.logout()
    response = client.post("/accounts/login/", {"login": "0933 000 222", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(patient_dao.pk)


def test_a_phone_only_patient_sees_no_placeholder_address(client, patient_lan):
    client.force_login(patient_lan)
    page = client.get("/portal/profile/").content.decode()
    assert "no-email.invalid" not in page and "None yet" in page


def test_signing_up_again_with_a_verified_number_creates_no_account_and_mails_no_placeholder(
    client, patient_lan, sms_outbox
):
    cache.clear()  # Lan's own code a moment ago counts against the number
    response = signup_by_phone(Client())
    assert response.status_code == 302  # the same answer as a new number: nothing is revealed
    assert User.objects.count() == 1 and mail.outbox == [] and sms_outbox == []


def test_account_emails_never_go_to_a_placeholder_address(rf, patient_lan, patient_dao):
    from allauth.account.adapter import get_adapter
    from allauth.core.context import request_context

    request = rf.get("/")
    with request_context(request):
        adapter = get_adapter(request)
        adapter.send_mail("account/email/account_already_exists", patient_lan.email, {"user": patient_lan})
        assert mail.outbox == []
        adapter.send_mail("account/email/account_already_exists", patient_dao.email, {"user": patient_dao})
        assert len(mail.outbox) == 1


def _api(app, path, body, token=None):
    headers = {"X-Session-Token": token} if token else {}
    return app.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_an_app_signs_a_patient_up_with_a_phone_verifies_the_texted_code_then_signs_in(db, sms_outbox):
    app = Client(enforce_csrf_checks=True)
    body = {"email": "lan@example.test", "phone": LAN_LOCAL, "password": PASSWORD_LAN}
    response = _api(app, "/_allauth/app/v1/auth/signup", {**body, "first_name": "Lan", "last_name": "Hoàng"})
    assert response.status_code == 401, response.content  # pending: the number is verified first
    token = response.json()["meta"]["session_token"]
    assert any(flow.get("is_pending") and flow["id"] == "verify_phone" for flow in response.json()["data"]["flows"])
    (message,) = sms_outbox
    assert message.to == LAN_E164
    user = User.objects.get(email="lan@example.test")
    assert user.role == Role.PATIENT and user.patient_profile.phone_verified is False

    response = _api(app, "/_allauth/app/v1/auth/phone/verify", {"code": wrong(texted_code(message))}, token)
    assert response.status_code == 400
    response = _api(app, "/_allauth/app/v1/auth/phone/verify", {"code": texted_code(message)}, token)
    assert PatientProfile.objects.get(user=user).phone_verified is True
    # then the email, by its emailed code
    assert response.status_code == 401 and any(
        flow.get("is_pending") and flow["id"] == "verify_email" for flow in response.json()["data"]["flows"]
    )
    code = re.search(r"^(\d{6})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    response = _api(app, "/_allauth/app/v1/auth/email/verify", {"key": code}, token)
    assert response.status_code == 200, response.content

    # a fresh app signs in with the verified number and password and uses the API
    fresh = Client(enforce_csrf_checks=True)
    response = _api(fresh, "/_allauth/app/v1/auth/login", {"phone": LAN_E164, "password": PASSWORD_LAN})
    assert response.status_code == 200, response.content
    access = response.json()["meta"]["access_token"]
    assert fresh.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"}).status_code == 200


def test_an_app_cannot_sign_a_clinic_account_in_with_an_emailed_code(db, sms_outbox, staff_binh, doctor_chau):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=doctor_chau, type=Authenticator.Type.TOTP, data={"secret": "x"})
    for person in (staff_binh, doctor_chau):
        app = Client(enforce_csrf_checks=True)
        mail.outbox.clear()
        response = _api(app, "/_allauth/app/v1/auth/code/request", {"email": person.email})
        token = (response.json().get("meta") or {}).get("session_token")
        # allauth's sign-in code by email looks like "SFMC-HMZL"
        codes = [m for m in mail.outbox if re.search(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", m.body, re.MULTILINE)]
        if response.status_code == 401 and codes:
            code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", codes[-1].body, re.MULTILINE).group(1)
            response = _api(app, "/_allauth/app/v1/auth/code/confirm", {"code": code}, token)
        # never a session, never an access token without the password and the second factor; no code mailed
        assert response.status_code != 200, (person.role, response.content)
        assert codes == []
        assert "access_token" not in (response.json().get("meta") or {})


def test_an_app_still_gets_a_sign_in_code_texted_to_a_patients_number(patient_lan, sms_outbox):
    app = Client(enforce_csrf_checks=True)
    response = _api(app, "/_allauth/app/v1/auth/code/request", {"phone": LAN_LOCAL})
    assert response.status_code == 401 and response.json()["meta"]["session_token"]
    (message,) = sms_outbox
    token = response.json()["meta"]["session_token"]
    response = _api(app, "/_allauth/app/v1/auth/code/confirm", {"code": texted_code(message)}, token)
    assert response.status_code == 200 and response.json()["meta"]["access_token"]
