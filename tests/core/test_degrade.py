"""Degrade, don't fail: Redis down keeps login and public pages up; database down answers 503.

Redis "down" is a real closed port on localhost; the database errors are real errors from
connecting to a closed port (the black-box fault suite cuts a live stack's connections too).
"""

from __future__ import annotations

import logging
import socket

import psycopg
import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.db.backends.postgresql.base import DatabaseWrapper
from django.test import Client, RequestFactory

from core import cache as fallback_cache
from core.api import api
from core.health import record_heartbeat
from core.unavailable import database_unavailable
from core.views import server_error
from tests.factories import make_user

REDIS_DB = "redis://127.0.0.1:6379/15"


def closed_port() -> int:
    """A localhost port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_cache_settings(url: str) -> dict:
    return {"default": {"BACKEND": "core.cache.FallbackRedisCache", "LOCATION": url, "KEY_PREFIX": "degrade-test"}}


@pytest.fixture
def redis_down(settings, monkeypatch):
    monkeypatch.setattr(fallback_cache, "_outages", {})
    settings.CACHES = redis_cache_settings(f"redis://127.0.0.1:{closed_port()}/0")
    yield


def test_with_redis_down_login_and_the_home_page_still_answer(db, redis_down, caplog):
    make_user("lan.patient@example.test", "patient", password="a-good-password-1")
    client = Client()
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert client.get("/").status_code == 200
        response = client.post(
            "/accounts/login/", {"login": "lan.patient@example.test", "password": "a-good-password-1"}
        )
        assert response.status_code == 302
        assert client.get("/portal/").status_code == 200
    outage_logs = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_logs) == 1, "logged once per interval, not once per call"


def test_with_redis_down_login_rate_limits_still_count_in_the_process(db, redis_down, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    make_user("lan.patient@example.test", "patient", password="a-good-password-1")
    client = Client()
    codes = [
        client.post("/accounts/login/", {"login": "lan.patient@example.test", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429


def test_healthz_names_the_redis_cache_when_it_is_down(client, db, redis_down):
    record_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["cache"]
    assert body["checks"]["cache"]["ok"] is False and body["checks"]["cache"]["fallback"] == "local memory"
    assert body["checks"]["database"]["ok"] is True


def test_with_redis_up_the_cache_is_redis(db, settings, monkeypatch):
    monkeypatch.setattr(fallback_cache, "_outages", {})
    settings.CACHES = redis_cache_settings(REDIS_DB)
    cache.set("probe", "from redis", 30)
    import redis

    raw = redis.Redis.from_url(REDIS_DB)
    assert raw.exists(cache.make_key("probe")) == 1
    assert cache.get("probe") == "from redis" and cache.ping() == ""
    cache.delete("probe")


@pytest.fixture
def connection_error(django_db_blocker) -> OperationalError:
    """What Django raises when PostgreSQL cannot be reached (a real attempt at a closed port)."""
    wrapper = DatabaseWrapper(
        {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "medbook",
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": str(closed_port()),
            "OPTIONS": {"connect_timeout": 2},
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TIME_ZONE": None,
            "TEST": {},
        }
    )
    try:
        with django_db_blocker.unblock():
            wrapper.ensure_connection()
    except OperationalError as exc:
        return exc
    raise AssertionError("a closed port accepted a connection")


def test_a_lost_database_is_told_apart_from_a_deadlock_or_a_bad_statement(connection_error):
    assert database_unavailable(connection_error)
    for error in (psycopg.errors.DeadlockDetected("deadlock"), psycopg.errors.UndefinedTable("no table")):
        wrapped = OperationalError(str(error))
        wrapped.__cause__ = error
        assert not database_unavailable(wrapped)
    assert not database_unavailable(ValueError("not a database error"))


@pytest.mark.parametrize("path", ["/", "/portal/appointments/"])
def test_a_page_answers_503_with_retry_after_while_the_database_is_down(path, settings, connection_error):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 17
    request = RequestFactory().get(path)
    try:
        raise connection_error
    except OperationalError:
        response = server_error(request)  # Django calls its 500 handler inside the except block
    assert response.status_code == 503 and response["Retry-After"] == "17"
    assert response["Content-Type"].startswith("text/html") and b"Temporarily unavailable" in response.content


def test_the_api_answers_503_in_its_error_shape_while_the_database_is_down(settings, connection_error):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 17
    response = api.on_exception(RequestFactory().get("/api/v1/doctors"), connection_error)
    assert response.status_code == 503 and response["Retry-After"] == "17"
    import json

    body = json.loads(response.content)
    assert body["error"]["code"] == "service_unavailable" and body["error"]["details"] == {"retry_after": 17}


def test_any_other_server_error_is_a_plain_500_in_the_clients_shape():
    request = RequestFactory().get("/api/v1/doctors")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500 and b'"server_error"' in response.content
