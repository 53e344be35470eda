"""Bearer tokens write without CSRF; sessions write only with the CSRF token; every failure is JSON.

Tried on EVERY write operation of the OpenAPI document, with Django's CSRF checks switched on."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.api.clients import bearer_client, csrf_token, send, session_client

pytestmark = pytest.mark.django_db


def write_operations(client) -> list[tuple[str, str]]:
    """(method, path with its parameters filled in) of every authenticated write operation."""
    schema = client.get("/api/v1/openapi.json").json()
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in {"post", "put", "patch", "delete"} and operation.get("security"):
                filled = re.sub(r"\{public_id\}", str(uuid.uuid4()), path)
                filled = re.sub(r"\{[a-z_]+\}", "1", filled)
                operations.append((method.upper(), filled))
    return operations


def test_every_write_operation_is_listed(client):
    operations = write_operations(client)
    assert ("POST", "/api/v1/appointments") in operations
    assert ("PUT", "/api/v1/profile") in operations
    assert len(operations) >= 15


def test_bearer_token_alone_passes_every_write_without_csrf(client, patient_dao):
    app = bearer_client(patient_dao)
    for method, path in write_operations(client):
        response = send(app, method, path, {})
        body = response.json() if response.status_code != 204 else {}
        assert response.status_code != 401, (method, path, body)
        assert body.get("error", {}).get("code") != "csrf_failed", (method, path, body)


def test_a_session_without_the_csrf_token_is_refused_on_every_write(client, patient_dao):
    browser = session_client(patient_dao)
    for method, path in write_operations(client):
        response = send(browser, method, path, {})
        assert response.status_code == 403, (method, path, response.content)
        assert response.json()["error"]["code"] == "csrf_failed"


def test_a_session_with_the_csrf_token_passes_every_write(client, patient_dao):
    browser = session_client(patient_dao)
    token = csrf_token(browser)
    for method, path in write_operations(client):
        response = send(browser, method, path, {}, **{"X-CSRFToken": token})
        body = response.json() if response.status_code != 204 else {}
        assert response.status_code != 401, (method, path, body)
        assert body.get("error", {}).get("code") != "csrf_failed", (method, path, body)


def test_a_bearer_app_books_with_the_seed_body(patient_dao, slots):
    app = bearer_client(patient_dao)
    response = send(app, "POST", "/api/v1/appointments", {"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk})
    assert response.status_code == 201, response.content


def test_an_invalid_bearer_token_is_401_not_a_csrf_failure(db):
    from django.test import Client

    app = Client(enforce_csrf_checks=True, headers={"Authorization": "Bearer not-a-token"})
    response = send(app, "POST", "/api/v1/appointments", {})
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_an_anonymous_post_is_401(db):
    from django.test import Client

    response = send(Client(enforce_csrf_checks=True), "POST", "/api/v1/appointments", {})
    assert response.status_code == 401


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nothing/here/", "/api/v2/appointments"])
def test_unknown_api_paths_answer_json_404_even_with_a_session_and_no_csrf(patient_dao, method, path):
    response = send(session_client(patient_dao), method, path, {})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_a_method_the_path_does_not_have_is_a_json_405(patient_dao):
    response = send(bearer_client(patient_dao), "DELETE", "/api/v1/profile")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_django_csrf_failures_under_api_answer_json(rf):
    from core.views import csrf_failure

    response = csrf_failure(rf.post("/api/v1/anything"), reason="CSRF cookie not set.")
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    assert csrf_failure(rf.post("/accounts/login/"), reason="x")["Content-Type"].startswith("text/html")


def test_the_documented_login_refresh_and_logout_work_for_an_app(patient_dao):
    import json

    from django.test import Client

    from tests.factories import PASSWORD

    app = Client(enforce_csrf_checks=True)
    meta = app.post(
        "/_allauth/app/v1/auth/login",
        json.dumps({"email": patient_dao.email, "password": PASSWORD}),
        content_type="application/json",
    ).json()["meta"]
    refreshed = app.post(
        "/_allauth/app/v1/tokens/refresh",
        json.dumps({"refresh_token": meta["refresh_token"]}),
        content_type="application/json",
    )
    assert refreshed.status_code == 200
    token = refreshed.json()["data"]["access_token"]
    refresh = refreshed.json()["data"].get("refresh_token", meta["refresh_token"])  # rotated, or the same
    assert app.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # allauth answers a successful logout with 401 "not authenticated"
    assert app.delete("/_allauth/app/v1/auth/session", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    again = app.post(
        "/_allauth/app/v1/tokens/refresh",
        json.dumps({"refresh_token": refresh}),
        content_type="application/json",
    )
    assert again.status_code == 400  # the session and its refresh token are gone


def test_error_messages_speak_the_callers_language(db):
    from django.test import Client

    response = Client(headers={"Accept-Language": "vi"}).get("/api/v1/me")
    assert response.json()["error"] == {"code": "not_authenticated", "message": "Cần đăng nhập.", "details": {}}
    response = Client(headers={"Accept-Language": "vi"}).get("/api/v1/nowhere")
    assert response.json()["error"]["message"] == "Không tìm thấy."
