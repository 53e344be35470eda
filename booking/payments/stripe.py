"""Stripe Checkout without the SDK: form-encoded HTTPS requests and webhook signature checks.

Requests go to ``STRIPE_API_BASE`` (https://api.stripe.com); tests point it at a local HTTP server
and verify what was sent. Webhooks are verified on the raw body with ``STRIPE_WEBHOOK_SECRET``
(``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import requests
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from booking.payments.base import (
    Charge,
    Gateway,
    GatewayError,
    GatewayNotConfigured,
    InvalidWebhook,
    StartResult,
    WebhookEvent,
)

# Stripe amounts are in the currency's smallest unit; these have none (VND, JPY, KRW, …).
ZERO_DECIMAL_CURRENCIES = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "JPY",
    "KMF",
    "KRW",
    "MGA",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}


def to_minor_units(amount: Decimal, currency: str) -> int:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return int(amount.quantize(Decimal("1")))
    return int((amount * 100).quantize(Decimal("1")))


def from_minor_units(value: int, currency: str) -> Decimal:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(value)
    return Decimal(value) / 100


def signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The header Stripe sends for ``body`` (used by tests and the CLI-less local replay)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(body: bytes, header: str, secret: str, *, tolerance: int, now: float | None = None) -> None:
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _sep, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidWebhook(_("Missing or malformed Stripe-Signature header.")) from None
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise InvalidWebhook(_("Stripe signature does not match."))
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidWebhook(_("Stripe event is too old (possible replay)."))


def _as_payment_id(value) -> int | None:
    """Our payment id from the event's metadata; anything that is not one matches no payment."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


class StripeGateway(Gateway):
    name = "stripe"
    label = _("Card (Stripe)")

    def __init__(self) -> None:
        self.secret_key = settings.STRIPE_SECRET_KEY
        self.webhook_secret = settings.STRIPE_WEBHOOK_SECRET
        self.api_base = settings.STRIPE_API_BASE.rstrip("/")

    def _require_keys(self) -> None:
        if not self.secret_key:
            raise GatewayNotConfigured(_("Card payments by Stripe are not configured (STRIPE_SECRET_KEY is not set)."))

    def _post(self, path: str, data: dict[str, str], *, idempotency_key: str) -> dict:
        self._require_keys()
        try:
            response = requests.post(
                f"{self.api_base}{path}",
                data=data,
                auth=(self.secret_key, ""),
                headers={"Idempotency-Key": idempotency_key, "Stripe-Version": "2024-06-20"},
                timeout=15,
            )
        except requests.RequestException as exc:
            raise GatewayError(_("Stripe could not be reached: %(error)s") % {"error": exc.__class__.__name__}) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            message = (body.get("error") or {}).get("message") or response.reason
            raise GatewayError(_("Stripe refused the request: %(message)s") % {"message": message})
        return body

    def start(self, payment, *, success_url: str, cancel_url: str) -> StartResult:
        appointment = payment.appointment
        data = {
            "mode": "payment",
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(payment.pk),
            "customer_email": appointment.email,
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": payment.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(to_minor_units(payment.amount, payment.currency)),
            "line_items[0][price_data][product_data][name]": f"Medbook appointment #{appointment.pk}",
            "metadata[payment_id]": str(payment.pk),
            "metadata[appointment]": str(appointment.public_id),
            "expires_at": str(int(max(appointment.hold_expires_at.timestamp(), time.time() + 1800))),
        }
        session = self._post("/v1/checkout/sessions", data, idempotency_key=f"medbook-payment-{payment.pk}")
        return StartResult(checkout_url=session["url"], provider_reference=session["id"])

    def start_charge(self, charge: Charge, *, success_url: str, cancel_url: str) -> StartResult:
        data = {
            "mode": "payment",
            "success_url": success_url,
            "cancel_url": cancel_url,
            # not a number: a visit's webhook reads client_reference_id as its payment id
            "client_reference_id": f"{charge.kind}-{charge.pk}",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": charge.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(to_minor_units(charge.amount, charge.currency)),
            "line_items[0][price_data][product_data][name]": charge.description[:250],
            "metadata[kind]": charge.kind,
            "metadata[charge_id]": str(charge.pk),
            "expires_at": str(int(time.time() + 3600)),
        }
        if charge.email:
            data["customer_email"] = charge.email
        session = self._post("/v1/checkout/sessions", data, idempotency_key=charge.idempotency_key)
        return StartResult(checkout_url=session["url"], provider_reference=session["id"])

    def refund(self, payment, amount: Decimal, *, idempotency_key: str) -> str:
        data = {
            "payment_intent": payment.provider_payment_intent or "",
            "amount": str(to_minor_units(amount, payment.currency)),
            "metadata[payment_id]": str(payment.pk),
        }
        refund = self._post("/v1/refunds", data, idempotency_key=idempotency_key)
        return refund["id"]

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        if not self.webhook_secret:
            raise GatewayNotConfigured(_("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is not set)."))
        verify_signature(
            body, headers.get("Stripe-Signature", ""), self.webhook_secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
        )
        try:
            event = json.loads(body)
            obj = event["data"]["object"]
            if not isinstance(obj, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise InvalidWebhook(_("Malformed Stripe event.")) from None
        stripe_type = event.get("type", "")
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        kind = str(metadata.get("kind") or "payment")
        if kind == "payment":
            payment_id, charge_id = metadata.get("payment_id") or obj.get("client_reference_id"), None
        else:
            payment_id, charge_id = None, metadata.get("charge_id")
        if stripe_type in {"checkout.session.completed", "checkout.session.async_payment_succeeded"}:
            if obj.get("payment_status") not in {"paid", "no_payment_required"}:
                mapped = "ignored"  # async methods settle later with their own event
            else:
                mapped = "payment.succeeded"
        elif stripe_type in {"checkout.session.expired", "checkout.session.async_payment_failed"}:
            mapped = "payment.failed"
        else:
            mapped = "ignored"
        amount = None
        if obj.get("amount_total") is not None and obj.get("currency"):
            try:
                amount = from_minor_units(int(obj["amount_total"]), str(obj["currency"]))
            except (TypeError, ValueError):
                raise InvalidWebhook(_("Malformed Stripe event.")) from None
        return WebhookEvent(
            event_id=str(event.get("id", "")),
            event_type=mapped,
            provider_reference=str(obj.get("id", "")),
            payment_id=_as_payment_id(payment_id),
            amount=amount,
            failure_reason=stripe_type if mapped == "payment.failed" else "",
            payload={"id": event.get("id"), "type": stripe_type, "payment_intent": obj.get("payment_intent")},
            kind=kind,
            charge_id=_as_payment_id(charge_id),
        )
