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
    now = now or timezone.now()
    beat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).first()
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet: is `manage.py qcluster` running?"}
    age = (now - beat.seen_at).total_seconds()
    ok = age <= settings.WORKER_HEARTBEAT_MAX_AGE
    result = {"ok": ok, "last_heartbeat": beat.seen_at.isoformat(), "age_seconds": int(age)}
    if not ok:
        result["error"] = "heartbeat is stale: the worker is down or stuck"
    return result


def record_heartbeat(*, now=None) -> None:
    WorkerHeartbeat.objects.update_or_create(name=HEARTBEAT_NAME, defaults={"seen_at": now or timezone.now()})
