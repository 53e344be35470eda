"""MFA cannot be side-stepped: both staff logins go through allauth, and the staff areas refuse a
session that did not pass the second factor."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, hotp_value
from django.utils import timezone

from tests.factories import PASSWORD


def activate_totp(user):
    from allauth.mfa.totp.internal import auth as totp_auth

    secret = totp_auth.generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def current_code(secret):
    from allauth.mfa import app_settings

    counter = int(timezone.now().timestamp()) // app_settings.TOTP_PERIOD
    return str(hotp_value(secret, counter)).zfill(app_settings.TOTP_DIGITS)


@pytest.mark.parametrize(("area", "home"), [("/admin/", "/admin/"), ("/cms/", "/cms/")])
def test_staff_login_pages_hand_over_to_allauth(client, db, area, home):
    response = client.get(f"{area}login/?next={home}")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_posting_a_password_to_the_django_admin_login_does_not_log_in(client, admin_an):
    activate_totp(admin_an)
    client.post("/admin/login/", {"username": admin_an.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(("who", "area"), [("admin", "/admin/"), ("editor", "/cms/")])
def test_password_alone_does_not_open_admin_or_cms_when_mfa_is_on(client, personas, who, area):
    user = personas[who]
    secret = activate_totp(user)
    response = client.post(f"/accounts/login/?next={area}", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert "_auth_user_id" not in client.session
    assert client.get(area).status_code == 302

    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == area
    assert client.get(area).status_code == 200


@pytest.mark.parametrize("area", ["/admin/", "/cms/"])
def test_a_session_without_the_second_factor_is_sent_to_reauthenticate(client, admin_an, area):
    activate_totp(admin_an)
    client.force_login(admin_an)  # e.g. a session created by a password-only path
    response = client.get(area)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")


def test_required_staff_mfa_sends_clinic_accounts_to_set_it_up(client, staff_binh, settings):
    settings.MEDBOOK_REQUIRE_STAFF_MFA = True
    client.force_login(staff_binh)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")


def test_recovery_codes_can_be_generated_for_a_totp_user(client, patient_dao):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    activate_totp(patient_dao)
    codes = RecoveryCodes.activate(patient_dao).get_unused_codes()
    assert len(codes) >= 10
    client.post("/accounts/login/", {"login": patient_dao.email, "password": PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response.status_code == 302
    assert client.get("/portal/").status_code == 200
