"""The connection health check, once per idle spell instead of once per request.

With ``CONN_HEALTH_CHECKS`` Django pings a persistent connection (``SELECT 1``) before the first query
of every request: a round trip, and work for the database server, on every request — a tenth of a
small API call's database time. A connection that served a request without an error a moment ago
(``DB_HEALTH_CHECK_IDLE_SECONDS``, default 5) is used without the ping; one idle for longer is pinged
as before, and one that saw an error is checked by Django at the end of that request anyway (and
closed if broken). What this gives up: a database restart inside those few seconds fails the next
request of each worker (answered 503 with ``Retry-After``, ``core.unavailable``) instead of being
noticed by the ping; the connection is then dropped and the request after it reconnects. 0 pings
before every request, as Django does.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import connections


def _idle_limit() -> float:
    return float(getattr(settings, "DB_HEALTH_CHECK_IDLE_SECONDS", 5))


def note_healthy(**kwargs) -> None:
    """``request_finished``: connections that served the request without an error were healthy now."""
    now = time.monotonic()
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.errors_occurred:
            connection.medbook_healthy_at = now


def skip_fresh_checks(**kwargs) -> None:
    """``request_started``, after Django's ``close_old_connections`` asked for a health check: skip it
    for a connection found healthy within the last ``DB_HEALTH_CHECK_IDLE_SECONDS``."""
    limit = _idle_limit()
    if limit <= 0:
        return
    now = time.monotonic()
    for connection in connections.all(initialized_only=True):
        healthy_at = getattr(connection, "medbook_healthy_at", None)
        if (
            connection.health_check_enabled
            and connection.connection is not None
            and not connection.errors_occurred
            and healthy_at is not None
            and now - healthy_at < limit
        ):
            connection.health_check_done = True


def connect() -> None:
    # connected after django.db's own close_old_connections (at import of django.db): runs after it
    request_started.connect(skip_fresh_checks, dispatch_uid="medbook-db-skip-fresh-health-checks")
    request_finished.connect(note_healthy, dispatch_uid="medbook-db-note-healthy")
