"""Database helpers shared by the services: retrying a whole transaction when the database asks for it.

PostgreSQL aborts one of two transactions that wait on each other (deadlock, SQLSTATE 40P01) or that
cannot be serialised (40001); SQLite answers "database is locked" when its busy timeout runs out. The
right reaction to all three is to run the whole unit of work again from the start, a few times, with a
short randomised pause (exponential backoff) so the contenders do not collide again.
"""

from __future__ import annotations

import functools
import logging
import random
import time

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40P01", "40001"}
ATTEMPTS = 4


def is_retryable(exc: BaseException) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc)


def retry_transaction(func):
    """Run ``func`` (a service that opens its own transaction) again when the database aborted it for a
    deadlock or a serialisation failure; at most ``ATTEMPTS`` runs, then the error propagates.

    Inside an outer transaction nothing can be retried (the outer block is already aborted): the call
    runs once and the outermost retrying caller starts over.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == ATTEMPTS or not is_retryable(exc):
                    raise
                logger.warning("%s: %s; running it again (attempt %s)", func.__qualname__, exc, attempt + 1)
                time.sleep(random.uniform(0.005, 0.02) * 2**attempt)  # noqa: S311 (jitter, not security)
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper
