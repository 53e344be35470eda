"""Queue background tasks (django-q2) from a service without importing the worker's code.

Tasks are named by dotted path, so the domain (``booking``) can ask for work that ``workflows``
performs without importing it (the dependency arrow stays ``booking ← workflows``).
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(func: str, *args, task_name: str | None = None) -> None:
    from django_q.tasks import async_task

    async_task(func, *args, task_name=task_name)


def enqueue_on_commit(func: str, *args, task_name: str | None = None) -> None:
    """Queue ``func(*args)`` once the current transaction commits (never if it rolls back). A broker
    that is down only delays the work: the periodic sweep for that kind of row picks it up."""
    transaction.on_commit(lambda: enqueue(func, *args, task_name=task_name), robust=True)
