"""A local stand-in for a card gateway: a checkout page with Pay and Decline buttons.

The buttons post a signed event to ``/api/v1/payments/webhooks/sandbox``, the same path a real
gateway's webhook takes, so the sandbox exercises the whole callback flow.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from booking.payments.base import Charge, Gateway, InvalidWebhook, StartResult, WebhookEvent

SIGNATURE_HEADER = "X-Sandbox-Signature"


def _key() -> bytes:
    return hashlib.sha256(f"medbook-sandbox-gateway:{settings.SECRET_KEY}".encode()).digest()


def sign(body: bytes) -> str:
    return hmac.new(_key(), body, hashlib.sha256).hexdigest()


def build_event(*, payment=None, outcome: str, charge: Charge | None = None, reference: str = "") -> bytes:
    """The body the checkout page posts: ``outcome`` is "succeeded" or "failed". For a visit, its
    ``payment``; for another ``charge`` (a subscription), the charge and its ``reference``."""
    data = {"id": f"sbx_evt_{secrets.token_hex(8)}", "type": f"payment.{outcome}"}
    if charge is not None:
        data |= {"kind": charge.kind, "charge": charge.pk, "reference": reference, "amount": str(charge.amount)}
    else:
        data |= {"payment": payment.pk, "reference": payment.provider_reference, "amount": str(payment.amount)}
    return json.dumps(data, sort_keys=True).encode()


class SandboxGateway(Gateway):
    name = "sandbox"
    label = _("Card (sandbox)")

    def start(self, payment, *, success_url: str, cancel_url: str) -> StartResult:
        reference = f"sbx_{secrets.token_urlsafe(12)}"
        return StartResult(
            checkout_url=reverse("portal:sandbox_checkout", kwargs={"reference": reference}),
            provider_reference=reference,
        )

    def start_charge(self, charge: Charge, *, success_url: str, cancel_url: str) -> StartResult:
        return StartResult(checkout_url=charge.sandbox_page, provider_reference=f"sbx_{secrets.token_urlsafe(12)}")

    def refund(self, payment, amount: Decimal, *, idempotency_key: str) -> str:
        # deterministic per key, like a real gateway answering a retried request
        return "sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        signature = headers.get(SIGNATURE_HEADER, "")
        if not signature or not hmac.compare_digest(signature, sign(body)):
            raise InvalidWebhook(_("Invalid sandbox signature."))
        try:
            data = json.loads(body)
            event_id = str(data["id"])
            payment_id = data.get("payment")
            payment_id = int(payment_id) if payment_id not in (None, "") else None
            kind = str(data.get("kind") or "payment")
            charge_id = int(data["charge"]) if kind != "payment" else None
            amount = Decimal(str(data["amount"])) if data.get("amount") else None
        except (ValueError, TypeError, KeyError, ArithmeticError, AttributeError):
            raise InvalidWebhook(_("Malformed event.")) from None
        event_type = data.get("type")
        if event_type not in {"payment.succeeded", "payment.failed"}:
            event_type = "ignored"
        return WebhookEvent(
            event_id=event_id,
            event_type=event_type,
            provider_reference=str(data.get("reference", "")),
            payment_id=payment_id,
            amount=amount,
            failure_reason="declined in sandbox" if event_type == "payment.failed" else "",
            payload=data,
            kind=kind,
            charge_id=charge_id,
        )
