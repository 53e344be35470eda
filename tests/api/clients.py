"""API clients as an app sees the API: a bearer token from allauth's headless login, and Django's test
client with CSRF checks switched ON (the default test client skips them, which once hid that every
bearer write failed)."""

from __future__ import annotations

import json

from django.test import Client

from tests.factories import PASSWORD

LOGIN = "/_allauth/app/v1/auth/login"


def bearer_token(user, *, password: str = PASSWORD) -> str:
    """Log ``user`` in through allauth's headless app API and return the JWT access token."""
    response = Client(enforce_csrf_checks=True).post(
        LOGIN, data=json.dumps({"email": user.email, "password": password}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]["access_token"]


def bearer_client(user) -> Client:
    """A client that sends only ``Authorization: Bearer …`` (no cookies), with CSRF enforced."""
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {bearer_token(user)}"})


def session_client(user) -> Client:
    """A browser: signed in with a session cookie, CSRF enforced, no token sent unless asked."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client: Client) -> str:
    """Get a CSRF cookie the way a page would set it, and return the token to send back."""
    client.get("/api/v1/docs")  # the Swagger page carries the token for its "Try it out" requests
    return client.cookies["csrftoken"].value


def send(client: Client, method: str, path: str, body=None, **headers):
    data = json.dumps(body) if body is not None else None
    return client.generic(method, path, data=data or "", content_type="application/json", headers=headers)
