"""Webhook writes and the rules around them: where deliveries may go (no SSRF), how they are signed,
sending one attempt, replaying a delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_log
from core.errors import DomainError
from workflows.integrations.events import enqueue_after_commit
from workflows.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "Medbook-Signature"
USER_AGENT = "Medbook-Webhooks/1"


class WebhookTargetRefused(DomainError):
    code = "webhook_target_refused"


class WebhookReplayRefused(DomainError):
    code = "webhook_replay_refused"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_target(url: str) -> None:
    """Refuse (``WebhookTargetRefused``) a URL a webhook must not be sent to: anything but https, and
    hosts that are or resolve to loopback, private, link-local (cloud metadata) or other non-public
    addresses — unless ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` (a receiver on the clinic's own network).

    Checked when an endpoint is saved and again before every attempt (a name can be re-pointed).
    """
    parts = urlsplit(url)
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookTargetRefused(_("A webhook URL must start with https:// and name a host."))
    if parts.scheme == "http" and not allow_private:
        raise WebhookTargetRefused(_("A webhook URL must use https://."))
    if parts.username or parts.password:
        raise WebhookTargetRefused(_("Put no user name or password in a webhook URL; deliveries are signed."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (OSError, ValueError, UnicodeError):
        raise WebhookTargetRefused(_("The host %(host)s cannot be resolved.") % {"host": parts.hostname}) from None
    if not allow_private and not all(_is_public(address) for address in addresses):
        raise WebhookTargetRefused(
            _("%(host)s is a local or private address; webhooks go only to public hosts.") % {"host": parts.hostname}
        )


def sign(body: bytes, secret: str, *, timestamp: int) -> str:
    """``Medbook-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 1, 2, 4, 8 … minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def webhook_endpoint_saved(*, endpoint: WebhookEndpoint, actor, created: bool) -> None:
    """Audit an endpoint the admin created or changed (ids and the event list, never the secret)."""
    audit_log(
        actor=actor,
        action="integrations.endpoint.created" if created else "integrations.endpoint.changed",
        obj=endpoint,
        data={"events": list(endpoint.events), "active": endpoint.is_active},
    )


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    """Remove an endpoint and its delivery log, audited (its id and name stay in the audit trail)."""
    with transaction.atomic():
        audit_log(actor=actor, action="integrations.endpoint.deleted", obj=endpoint, data={"name": endpoint.name})
        endpoint.delete()


def webhook_delivery_replay(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send ``delivery``'s event again to its endpoint: a new delivery with the same event id and
    payload (receivers deduplicate on the id), sent after commit."""
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        raise WebhookReplayRefused(_("This endpoint is switched off; switch it on to replay."))
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=delivery.event,
            event_id=delivery.event_id,
            payload=delivery.payload,
            replay_of=delivery,
            replayed_by=actor,
        )
        audit_log(
            actor=actor,
            action="integrations.delivery.replayed",
            obj=replay,
            data={"of": delivery.pk, "endpoint": endpoint.pk, "event": delivery.event},
        )
        enqueue_after_commit([replay.pk])
    return replay


def post_once(delivery: WebhookDelivery, *, now: datetime | None = None) -> WebhookAttempt:
    """One signed POST of ``delivery`` to its endpoint, outside any transaction; the attempt is
    recorded (response code or error, response time) and returned. Redirects are not followed."""
    endpoint = delivery.endpoint
    body = body_of(delivery)
    code, error, excerpt = None, "", ""
    started = time.monotonic()
    try:
        check_target(endpoint.url)
        response = requests.post(
            endpoint.url,
            data=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(body, endpoint.secret, timestamp=int(time.time())),
                "Medbook-Event": delivery.event,
                "Medbook-Delivery": str(delivery.pk),
            },
            timeout=settings.WEBHOOKS_TIMEOUT,
            allow_redirects=False,
        )
        code = response.status_code
        excerpt = response.text[:500]
    except WebhookTargetRefused as exc:
        error = str(exc)
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration = int((time.monotonic() - started) * 1000)
    return WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=now or timezone.now(),
        status_code=code,
        duration_ms=duration,
        error=error,
        response_excerpt=excerpt,
    )
