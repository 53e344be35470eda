from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

if TYPE_CHECKING:
    from booking.models import Payment


class GatewayError(DomainError):
    code = "payment_gateway_error"
    status = 502


class GatewayNotConfigured(DomainError):
    code = "payment_gateway_not_configured"
    status = 503


class GatewayNotEnabled(DomainError):
    code = "payment_gateway_not_enabled"
    status = 400


class InvalidWebhook(DomainError):
    code = "invalid_webhook"
    status = 400


@dataclass(frozen=True)
class StartResult:
    """Where to send the patient to pay, and the gateway's reference for this payment."""

    checkout_url: str
    provider_reference: str


@dataclass(frozen=True)
class Charge:
    """Money the clinic asks for that is not a visit's ``Payment``: e.g. a doctor's subscription.

    ``kind`` names the handler the webhook is dispatched to (``register_charge_kind``); ``pk`` is the
    id of that kind's own charge row. ``sandbox_page``: where the sandbox gateway's test checkout for
    this kind lives (a real gateway hosts its own page).
    """

    kind: str
    pk: int
    amount: Decimal
    currency: str
    description: str
    email: str = ""
    sandbox_page: str = ""

    @property
    def idempotency_key(self) -> str:
        return f"medbook-{self.kind}-charge-{self.pk}"


@dataclass(frozen=True)
class WebhookEvent:
    """A verified gateway event, reduced to what Medbook acts on."""

    event_id: str
    event_type: str  # "payment.succeeded" | "payment.failed" | "ignored"
    provider_reference: str = ""
    payment_id: int | None = None
    amount: Decimal | None = None
    failure_reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    #: "payment" (a visit's Payment, ``payment_id``) or a registered ``Charge.kind`` (``charge_id``)
    kind: str = "payment"
    charge_id: int | None = None


class Gateway:
    name = ""
    label = _("Payment")
    #: True when the patient pays on a page of the gateway (sandbox, Stripe) rather than at the desk
    redirects = True

    def start(self, payment: Payment, *, success_url: str, cancel_url: str) -> StartResult:
        raise NotImplementedError

    def start_charge(self, charge: Charge, *, success_url: str, cancel_url: str) -> StartResult:
        """A checkout for a ``Charge`` (not a visit); its webhook comes back with ``kind``/``charge_id``."""
        raise GatewayError(_("This gateway does not take such payments."))

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        """Refund ``amount`` of ``payment``; returns the gateway's refund reference. ``idempotency_key``
        is the same on every attempt for one refund: the gateway must refund at most once per key."""
        raise NotImplementedError

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        """Verify a callback's authenticity on the raw body and translate it."""
        raise InvalidWebhook(_("This gateway does not send webhooks."))
