from datetime import timedelta

from django.utils import timezone

from core.health import record_heartbeat


def test_healthz_is_503_until_a_worker_has_reported(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False


def test_healthz_is_200_with_a_fresh_worker_heartbeat(client, db):
    record_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_reports_a_stale_worker(client, db, settings):
    record_heartbeat(now=timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE + 5))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "stale" in response.json()["checks"]["worker"]["error"]


def test_healthz_checks_redis_when_it_is_the_broker(client, db, settings, monkeypatch):
    """With REDIS_URL the broker check pings the real Redis server on localhost."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:6379/15")
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    record_heartbeat()
    body = client.get("/healthz").json()
    assert body["checks"]["broker"] == {"ok": True, "kind": "redis"}
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_healthz_ignores_a_heartbeat_from_before_the_worker_restarted(client, db):
    from core.health import record_worker_start

    record_heartbeat(now=timezone.now() - timedelta(seconds=30))  # fresh, but from the previous run
    record_worker_start()
    response = client.get("/healthz")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert "since the worker started" in worker["error"] and worker["started_at"]

    record_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["down"] == []
