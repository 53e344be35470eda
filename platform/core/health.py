"""Health of the real components, as /healthz reports it."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.models import WorkerHeartbeat

HEARTBEAT_NAME = "qcluster"


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # the point is to report any failure, not to crash
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_cache() -> dict:
    """The shared cache (Redis when ``REDIS_URL`` is set); pages keep working on a local fallback
    while it is down (``core.cache``), but rate limits are then counted per process."""
    from django.core.cache import caches

    from core.cache import FallbackRedisCache

    cache = caches["default"]
    if not isinstance(cache, FallbackRedisCache):
        return {"ok": True, "kind": "local memory"}
    error = cache.ping()
    if error:
        return {"ok": False, "kind": "redis", "error": error, "fallback": "local memory"}
    return {"ok": True, "kind": "redis"}


def check_broker() -> dict:
    from django_q.brokers import get_broker

    try:
        broker = get_broker()
        alive = bool(broker.ping())
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    kind = "redis" if getattr(settings, "REDIS_URL", None) else "database"
    return {"ok": alive, "kind": kind}


def check_worker(*, now=None) -> dict:
    """OK while a heartbeat written since the newest worker started is younger than the limit."""
    now = now or timezone.now()
    beat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).first()
    if beat is None or (beat.seen_at is None and beat.started_at is None):
        return {"ok": False, "error": "no heartbeat yet: is `manage.py qcluster` running?"}
    result: dict = {"ok": False}
    if beat.started_at:
        result["started_at"] = beat.started_at.isoformat()
    if beat.seen_at:
        result["last_heartbeat"] = beat.seen_at.isoformat()
        result["age_seconds"] = int((now - beat.seen_at).total_seconds())
    if beat.seen_at is None or (beat.started_at and beat.seen_at < beat.started_at):
        result["error"] = "no heartbeat since the worker started: it is starting, or stuck"
    elif (now - beat.seen_at).total_seconds() > settings.WORKER_HEARTBEAT_MAX_AGE:
        result["error"] = "heartbeat is stale: the worker is down or stuck"
    else:
        result["ok"] = True
    return result


def record_heartbeat(*, now=None) -> None:
    WorkerHeartbeat.objects.update_or_create(name=HEARTBEAT_NAME, defaults={"seen_at": now or timezone.now()})


def record_worker_start(*, now=None) -> None:
    """Called by ``manage.py qcluster`` as it starts: heartbeats older than this no longer count."""
    WorkerHeartbeat.objects.update_or_create(name=HEARTBEAT_NAME, defaults={"started_at": now or timezone.now()})
