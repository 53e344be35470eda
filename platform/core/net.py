"""The client's IP address, for rate limits and audit rows.

Behind ``TRUSTED_PROXY_COUNT`` reverse proxies (each appends the address it saw to
``X-Forwarded-For``), the client is the entry that many places from the right: everything to its left
was written by the client and is ignored. With no trusted proxy (the default) the header is ignored
entirely and the socket's ``REMOTE_ADDR`` is the client, so nobody can pick their own rate-limit bucket.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    remote = _valid(request.META.get("REMOTE_ADDR", "")) or "0.0.0.0"  # noqa: S104 (a bucket name, not a bind)
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    hops = [hop for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    if len(hops) < count:
        return remote  # a request that bypassed the proxies: trust only the socket
    return _valid(hops[-count]) or remote
