"""/api/v1/: anonymous 401, session and allauth headless JWT bearer tokens, one JSON error shape."""

import json

from tests.factories import PASSWORD


def test_anonymous_gets_401_with_the_error_shape(client, db):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "not_authenticated", "message": "Authentication required.", "details": {}}
    }


def test_session_user_gets_me(client, patient_dao):
    client.force_login(patient_dao)
    body = client.get("/api/v1/me").json()
    assert body["email"] == patient_dao.email
    assert body["role"] == "patient"
    assert body["time_zone"] == "Asia/Ho_Chi_Minh"


def test_app_logs_in_through_allauth_headless_and_uses_the_bearer_token(client, patient_dao):
    response = client.post(
        "/_allauth/app/v1/auth/login",
        data=json.dumps({"email": patient_dao.email, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"]["access_token"]
    anonymous = client.__class__()
    response = anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["email"] == patient_dao.email
    assert anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"}).status_code == 401


def test_openapi_schema_and_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in schema["paths"]
    html = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in html.lower()
    assert "/static/ninja/swagger-ui-bundle.js" in html


def test_unknown_path_is_a_json_404(client, patient_dao):
    client.force_login(patient_dao)
    for path in ("/api/v1/nope", "/api/v1/nope/", "/api/v2/me"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
