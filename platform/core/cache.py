"""The Redis cache with a local fallback: a Redis outage degrades the site instead of failing it.

Login rate limits (allauth), Wagtail's site lookup and the API's limits all read the default cache
on every request; with a plain ``RedisCache`` an unreachable Redis turns each of those requests
into a 500. ``FallbackRedisCache`` answers from a per-process local-memory cache instead, stops
trying Redis for ``RETRY_SECONDS`` after a failure (so a dead server costs one short connection
attempt, not one per call), and logs the outage at most once per ``LOG_EVERY_SECONDS``. While it
is down, counters such as rate limits are counted per web process. ``/healthz`` reports it.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
LOG_EVERY_SECONDS = 60.0
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class _Outage:
    """Shared by every thread's cache instance for one server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.logged_at = -LOG_EVERY_SECONDS

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until

    def trip(self, server: str, error: Exception) -> None:
        now = time.monotonic()
        with self.lock:
            self.down_until = now + RETRY_SECONDS
            log = now - self.logged_at >= LOG_EVERY_SECONDS
            if log:
                self.logged_at = now
        if log:
            logger.warning(
                "Redis cache at %s is unreachable (%s: %s): using a local in-memory cache in this process "
                "(rate limits are counted per process until it is back)",
                server,
                type(error).__name__,
                error,
            )

    def recover(self, server: str) -> None:
        with self.lock:
            was_down = self.down_until > 0
            self.down_until = 0.0
            self.logged_at = -LOG_EVERY_SECONDS
        if was_down:
            logger.warning("Redis cache at %s is reachable again", server)


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(server: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(server, _Outage())


def _fallback_call(name: str):
    def method(self, *args, **kwargs):
        outage = self._outage
        if not outage.is_down():
            try:
                return getattr(super(FallbackRedisCache, self), name)(*args, **kwargs)
            except REDIS_DOWN as exc:
                outage.trip(self._server_label, exc)
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on Redis, or on the local fallback while Redis is unreachable."
    return method


class FallbackRedisCache(RedisCache):
    """``RedisCache`` that falls back to a local-memory cache while Redis cannot be reached.

    Connection attempts are short by default (``socket_connect_timeout`` 0.5 s, ``socket_timeout``
    1 s; override them in ``OPTIONS``).
    """

    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._server_label = server if isinstance(server, str) else ",".join(server)
        self._outage = _outage_for(self._server_label)
        self._fallback = LocMemCache(
            f"redis-fallback:{self._server_label}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "KEY_PREFIX": params.get("KEY_PREFIX", "")},
        )

    add = _fallback_call("add")
    get = _fallback_call("get")
    set = _fallback_call("set")
    touch = _fallback_call("touch")
    delete = _fallback_call("delete")
    get_many = _fallback_call("get_many")
    has_key = _fallback_call("has_key")
    incr = _fallback_call("incr")
    set_many = _fallback_call("set_many")
    delete_many = _fallback_call("delete_many")
    clear = _fallback_call("clear")

    def ping(self) -> str:
        """Ask Redis directly (whatever the outage state): "" when it answers, else the error."""
        try:
            self._cache.get_client(write=True).ping()
        except REDIS_DOWN as exc:
            self._outage.trip(self._server_label, exc)
            return f"{type(exc).__name__}: {exc}"
        self._outage.recover(self._server_label)
        return ""
