"""Rate limits of the JSON API: requests per client IP and per user in a fixed window.

Counters live in Django's cache (Redis when ``REDIS_URL`` is set, so every web process shares them;
local memory otherwise). Each window is one key incremented atomically; the first request of a
window creates the key with the window's lifetime, so nothing needs cleaning up. A request counts
with one increment (the window's first: an increment that finds no key, then the key's creation).

- per IP (``API_RATE_LIMIT_PER_IP``): every request under ``/api/``, before authentication, so that
  guessing tokens is limited too (``core.apimiddleware.ApiEdgeMiddleware``). The IP comes from
  ``core.net.client_ip`` (``TRUSTED_PROXY_COUNT``).
- per user (``API_RATE_LIMIT_PER_USER``): every authenticated request, after authentication (the
  user is known only then), whichever IP it comes from (``UserRateThrottle``, a django-ninja
  throttle set on the API object).

Both count requests in ``API_RATE_LIMIT_WINDOW`` seconds; 0 switches a limit off. Over the limit the
answer is 429 with ``Retry-After`` (seconds until the window ends) in the API's error shape. When the
cache is unreachable the limit is not applied (logged): the API keeps answering.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.utils.translation import gettext as _
from ninja.throttling import BaseThrottle

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the current window ends


def hit(scope: str, ident: str, *, limit: int, window: int, now: float | None = None) -> Verdict:
    """Count one request of ``ident`` in ``scope``; refused once more than ``limit`` were counted in
    the current window. ``limit`` 0 means no limit."""
    if limit <= 0 or window <= 0:
        return Verdict(True, 0)
    now = time.time() if now is None else now
    index = int(now // window)
    retry_after = max(1, math.ceil((index + 1) * window - now))
    key = f"ratelimit:{scope}:{ident}:{window}:{index}"
    try:
        try:
            count = cache.incr(key)  # the window's counter exists but for its first request
        except ValueError:
            # this request starts the window (or another process did so just now: then count on)
            count = 1 if cache.add(key, 1, timeout=window + 1) else cache.incr(key)
    except ValueError:
        # the key expired between add and incr: this request starts the window
        cache.set(key, 1, timeout=window + 1)
        count = 1
    except Exception:  # the cache is down: do not turn that into refusals or errors
        logger.warning("rate limit not applied: cache unavailable", exc_info=True)
        return Verdict(True, 0)
    return Verdict(count <= limit, retry_after)


def too_many_requests(retry_after: int) -> JsonResponse:
    response = JsonResponse(
        {
            "error": {
                "code": "rate_limited",
                "message": _("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": retry_after},
                "details": {"retryAfter": retry_after},
            }
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def window_seconds() -> int:
    return int(getattr(settings, "API_RATE_LIMIT_WINDOW", 60))


def count_user_request(request, user) -> bool:
    """Count ``request`` against ``user``'s limit, once per request (a fast write at the API edge
    counts it; when it then leaves the request to the route, the route's throttle takes this verdict
    instead of counting again). False when over the limit."""
    verdict = getattr(request, "_api_user_verdict", None)
    if verdict is None or verdict[0] != user.pk:
        verdict = (
            user.pk,
            hit(
                "user",
                str(user.pk),
                limit=int(getattr(settings, "API_RATE_LIMIT_PER_USER", 0)),
                window=window_seconds(),
            ),
        )
        request._api_user_verdict = verdict
    # one throttle object serves every request: keep the wait on the request, not on self
    request._api_retry_after = verdict[1].retry_after
    return verdict[1].allowed


class UserRateThrottle(BaseThrottle):
    """Per-user limit (a django-ninja throttle: it runs after authentication). Anonymous calls to
    public endpoints are covered by the per-IP limit only."""

    def allow_request(self, request) -> bool:
        user = getattr(request, "auth", None)
        if getattr(user, "pk", None) is None:
            return True
        return count_user_request(request, user)

    def wait(self) -> float | None:
        return None  # Retry-After is set by the API's 429 handler from the request
