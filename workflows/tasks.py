"""django-q2 tasks. Each takes primary keys (or nothing), re-reads what it needs and is idempotent."""

from core.health import record_heartbeat


def heartbeat() -> None:
    """Proves to /healthz that a worker is consuming the queue."""
    record_heartbeat()
