"""The OpenAPI document is typed: every success answer is a named schema, every operation documents
the shared error shape; allauth's headless specification (login, refresh, logout) is served and
linked; the Swagger pages load from static files only."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

BINARY_TYPES = {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@pytest.fixture
def schema(client):
    return client.get("/api/v1/openapi.json").json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def resolve(schema, ref: str) -> dict:
    node = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def bare_objects(schema, node, seen=()) -> list[str]:
    """Places in ``node`` (followed through $refs) that are an object with no declared shape."""
    found = []
    if "$ref" in node:
        if node["$ref"] in seen:
            return []
        return bare_objects(schema, resolve(schema, node["$ref"]), (*seen, node["$ref"]))
    if (
        node.get("type") == "object"
        and not node.get("properties")
        and not isinstance(node.get("additionalProperties"), dict)
    ):
        found.append(node.get("title", "?"))
    for key in ("properties",):
        for child in node.get(key, {}).values():
            found += bare_objects(schema, child, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += bare_objects(schema, node[key], seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for child in node.get(key, []):
            found += bare_objects(schema, child, seen)
    return found


def test_every_success_answer_is_a_named_schema_without_bare_objects(schema):
    count = 0
    for name, operation in operations(schema):
        successes = {code: answer for code, answer in operation["responses"].items() if str(code).startswith("2")}
        assert successes, name
        for code, answer in successes.items():
            if str(code) == "204":
                continue
            for content_type, body in answer["content"].items():
                count += 1
                if content_type in BINARY_TYPES:
                    assert body["schema"]["type"] == "string", name
                    continue
                assert "$ref" in body["schema"], f"{name} {code}: {body['schema']}"
                assert bare_objects(schema, body["schema"]) == [], name
    assert count >= 40


def test_every_operation_documents_the_error_shape(schema):
    error = resolve(schema, "#/components/schemas/ErrorOut")
    assert error["required"] == ["error"]
    body = resolve(schema, error["properties"]["error"]["$ref"])
    assert set(body["properties"]) == {"code", "message", "details"}
    for name, operation in operations(schema):
        for code in ("400", "401", "403", "404", "422", "429"):
            answer = operation["responses"][code]
            assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, name


def test_bearer_and_session_are_the_documented_security(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["CsrfSessionAuth"]["in"] == "cookie"


def test_the_allauth_specification_documents_login_refresh_and_logout(client, schema):
    response = client.get("/_allauth/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "post" in paths["/_allauth/{client}/v1/auth/login"]
    assert "post" in paths["/_allauth/app/v1/tokens/refresh"]
    assert "delete" in paths["/_allauth/{client}/v1/auth/session"]
    assert "/api/v1/docs/accounts" in schema["info"]["description"]
    assert "/_allauth/openapi.json" in schema["info"]["description"]
    # allauth's own HTML page would load Redoc from a CDN: it is not served
    assert client.get("/_allauth/openapi.html").status_code == 404


@pytest.mark.parametrize(
    ("path", "spec"), [("/api/v1/docs", "/api/v1/openapi.json"), ("/api/v1/docs/accounts", "/_allauth/openapi.json")]
)
def test_the_swagger_pages_use_only_local_static_files(client, path, spec):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    # every file the page loads is served by us (a CSRF token may well contain "cdn": look at the URLs only)
    loaded = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
    assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded), loaded
    assert "https://" not in html and "http://" not in html
    assert "/static/ninja/swagger-ui-bundle.js" in html and f'"url": "{spec}"' in html
