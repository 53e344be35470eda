"""Rate limits per client IP and per user: 429 with Retry-After in the JSON error shape, counted in
the cache (Redis when REDIS_URL is set), the IP taken from core.net.client_ip."""

from __future__ import annotations

import os

import pytest
from django.test import Client, override_settings

from core.ratelimit import hit
from tests.api.clients import bearer_client, send

pytestmark = pytest.mark.django_db


def assert_limited(response):
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60 and error["details"]["retryAfter"] == retry_after


@override_settings(API_RATE_LIMIT_PER_IP=3, API_RATE_LIMIT_PER_USER=0)
def test_an_ip_over_its_limit_gets_429_even_before_authenticating(db):
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [401, 401, 401]
    assert_limited(client.get("/api/v1/me"))
    assert_limited(client.get("/api/v1/doctors"))
    # another address has its own budget
    assert Client(REMOTE_ADDR="203.0.113.8").get("/api/v1/doctors").status_code == 200
    vietnamese = client.get("/api/v1/doctors", headers={"Accept-Language": "vi"}).json()["error"]["message"]
    assert vietnamese.startswith("Quá nhiều yêu cầu")
    # pages outside the API are not counted
    assert client.get("/healthz").status_code in {200, 503}


@override_settings(API_RATE_LIMIT_PER_IP=3, API_RATE_LIMIT_PER_USER=0, TRUSTED_PROXY_COUNT=0)
def test_a_forged_forwarded_for_header_does_not_pick_a_new_bucket(db):
    statuses = [
        Client(REMOTE_ADDR="203.0.113.9").get("/api/v1/doctors", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


@override_settings(API_RATE_LIMIT_PER_IP=3, API_RATE_LIMIT_PER_USER=0, TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(db):
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    for client_ip in ("198.51.100.1", "198.51.100.2"):
        statuses = [proxy.get("/api/v1/doctors", headers={"X-Forwarded-For": client_ip}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


@override_settings(API_RATE_LIMIT_PER_IP=0, API_RATE_LIMIT_PER_USER=2)
def test_a_user_over_their_limit_gets_429_from_any_address(patient_dao):
    app = bearer_client(patient_dao)
    assert app.get("/api/v1/me", REMOTE_ADDR="198.51.100.1").status_code == 200
    assert send(app, "PUT", "/api/v1/profile", {"firstName": "Đào"}, REMOTE_ADDR="198.51.100.2").status_code == 200
    assert_limited(app.get("/api/v1/me", REMOTE_ADDR="198.51.100.3"))


@override_settings(API_RATE_LIMIT_PER_IP=0, API_RATE_LIMIT_PER_USER=1)
def test_users_have_separate_budgets(patient_dao, admin_an):
    assert bearer_client(patient_dao).get("/api/v1/me").status_code == 200
    assert bearer_client(admin_an).get("/api/v1/me").status_code == 200


@override_settings(API_RATE_LIMIT_PER_IP=0, API_RATE_LIMIT_PER_USER=0)
def test_zero_switches_the_limits_off(client, db):
    assert all(client.get("/api/v1/doctors").status_code == 200 for _ in range(20))


def test_the_window_resets_and_retry_after_counts_down():
    assert hit("t", "a", limit=1, window=60, now=120.0).allowed
    refused = hit("t", "a", limit=1, window=60, now=150.5)
    assert not refused.allowed and refused.retry_after == 30
    assert hit("t", "a", limit=1, window=60, now=180.0).allowed  # the next window


# a Redis db of its own: CI's black-box stack flushes db 1 and resets rate-limit counters there, and CI
# runs the suite on SQLite and on PostgreSQL side by side, each clearing its cache after a test: one db each
REDIS = f"redis://127.0.0.1:6379/{12 if os.environ.get('DATABASE_URL') else 11}"


def redis_cache(location: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}


@override_settings(API_RATE_LIMIT_PER_IP=2, API_RATE_LIMIT_PER_USER=0, CACHES=redis_cache(REDIS))
def test_with_redis_every_process_shares_the_counters(db):
    import ipaddress
    import uuid

    import redis

    # written the way core.net.client_ip normalises it ("2001:db8::0a1b" is counted as "2001:db8::a1b")
    address = str(ipaddress.ip_address(f"2001:db8::{uuid.uuid4().hex[:4]}"))
    client = Client(REMOTE_ADDR=address)
    assert [client.get("/api/v1/doctors").status_code for _ in range(3)] == [200, 200, 429]
    keys = redis.Redis.from_url(REDIS).keys(f"*ratelimit:ip:{address}:*")
    assert len(keys) == 1  # the counter is in Redis, not in this process


@override_settings(CACHES=redis_cache("redis://127.0.0.1:1/0"))
def test_an_unreachable_cache_does_not_refuse():
    assert hit("t", "b", limit=1, window=60).allowed
    assert hit("t", "b", limit=1, window=60).allowed


def test_the_defaults_are_sensible(settings):
    assert settings.API_RATE_LIMIT_WINDOW == 60
    assert settings.API_RATE_LIMIT_PER_IP >= settings.API_RATE_LIMIT_PER_USER > 0
