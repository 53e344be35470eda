"""Sessions end when they should: switching MFA on, changing or resetting the password and
deactivation end the user's other sessions and revoke their app tokens; a session that signed in
before MFA was switched on must pass it before it reaches /api/, /admin/ or /cms/."""

from __future__ import annotations

import re

import jwt
import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core import mail
from django.test import Client

from tests.accounts.test_mfa import activate_totp, current_code
from tests.factories import PASSWORD

NEW_PASSWORD = "another-Strong-passw0rd!"


def browser_login(user, password=PASSWORD) -> Client:
    """A browser signed in with the password through allauth (so the session is tracked)."""
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": password})
    assert response.status_code == 302 and "_auth_user_id" in client.session, response
    return client


def app_login(user, password=PASSWORD) -> dict:
    """An app signed in through allauth's headless API: its JWT access and refresh tokens."""
    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": user.email, "password": password},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]


def api_me(tokens) -> int:
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code


def refresh(tokens) -> int:
    return (
        Client()
        .post(
            "/_allauth/app/v1/tokens/refresh",
            {"refresh_token": tokens["refresh_token"]},
            content_type="application/json",
        )
        .status_code
    )


def is_signed_in(client) -> bool:
    return client.get("/accounts/email/").status_code == 200


def test_the_access_token_lives_at_most_five_minutes(patient_dao):
    assert settings.HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN <= 300
    claims = jwt.decode(app_login(patient_dao)["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] <= 300


def test_changing_the_password_ends_the_other_sessions_and_tokens(patient_dao):
    here, elsewhere, app = browser_login(patient_dao), browser_login(patient_dao), app_login(patient_dao)
    assert api_me(app) == 200 and is_signed_in(elsewhere)
    response = here.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert is_signed_in(here)  # the session that changed it stays
    assert not is_signed_in(elsewhere)
    assert api_me(app) == 401 and refresh(app) != 200
    assert UserSession.objects.filter(user=patient_dao).count() == 1


def test_resetting_the_password_ends_every_session_and_token(client, patient_dao):
    elsewhere, app = browser_login(patient_dao), app_login(patient_dao)
    client.post("/accounts/password/reset/", {"email": patient_dao.email})
    link = re.search(r"(/accounts/password/reset/key/[^\s]+)", mail.outbox[-1].body).group(1)
    page = client.get(link, follow=True)  # allauth moves the key into the session first
    response = client.post(page.request["PATH_INFO"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert not is_signed_in(elsewhere)
    assert api_me(app) == 401 and refresh(app) != 200


@pytest.mark.django_db(transaction=True)  # allauth announces it after the real commit
def test_switching_mfa_on_ends_the_other_sessions_and_keeps_this_one_in(staff_binh):
    here, elsewhere, app = browser_login(staff_binh), browser_login(staff_binh), app_login(staff_binh)
    here.post("/accounts/reauthenticate/", {"password": PASSWORD})  # allauth asks before MFA changes
    page = here.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = here.session["mfa.totp.secret"]
    response = here.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert not is_signed_in(elsewhere)
    assert api_me(app) == 401 and refresh(app) != 200
    # the code typed to switch it on counts: this session goes on into the admin and the API
    assert here.get("/admin/").status_code == 200
    assert here.get("/api/v1/me").status_code == 200


def test_a_session_from_before_mfa_must_pass_it_for_the_api_admin_and_cms(staff_binh, editor_em):
    browser, app = browser_login(staff_binh), app_login(staff_binh)
    activate_totp(staff_binh)  # switched on without the web flow: these sessions survive
    assert browser.get("/admin/")["Location"].startswith("/accounts/2fa/reauthenticate/")
    for response in (
        browser.get("/api/v1/me"),
        Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {app['access_token']}"),
    ):
        assert response.status_code == 401 and response.json()["error"]["code"] == "mfa_required"
    editor = browser_login(editor_em)
    activate_totp(editor_em)
    assert editor.get("/cms/").status_code == 302


def test_an_app_that_passed_mfa_uses_the_api(staff_binh):
    secret = activate_totp(staff_binh)
    client = Client()
    first = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": staff_binh.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert first.status_code == 401
    session_token = first.json()["meta"]["session_token"]
    second = client.post(
        "/_allauth/app/v1/auth/2fa/authenticate",
        {"code": current_code(secret)},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=session_token,
    )
    assert second.status_code == 200, second.content
    assert api_me(second.json()["meta"]) == 200


def test_deactivating_an_account_in_the_admin_ends_its_sessions(client, admin_an, doctor_chau):
    elsewhere, app = browser_login(doctor_chau), app_login(doctor_chau)
    client.force_login(admin_an)
    page = client.get(f"/admin/accounts/user/{doctor_chau.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(is_active="", groups=[], user_permissions=[])
    data = {k: v for k, v in data.items() if k not in {"is_active", "password", "last_login", "date_joined"}}
    response = client.post(f"/admin/accounts/user/{doctor_chau.pk}/change/", data)
    assert response.status_code == 302, page.context["adminform"].form.errors
    doctor_chau.refresh_from_db()
    assert not doctor_chau.is_active
    assert UserSession.objects.filter(user=doctor_chau).count() == 0
    assert not is_signed_in(elsewhere) and api_me(app) == 401


@pytest.mark.parametrize("who", ["patient_dao"])
def test_a_patient_without_mfa_is_not_asked_for_it(request, who):
    user = request.getfixturevalue(who)
    assert browser_login(user).get("/api/v1/me").status_code == 200
