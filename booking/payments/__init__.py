"""Payment gateways behind one interface (``base.Gateway``): sandbox, cash and Stripe."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from booking.payments.base import Gateway, GatewayError, GatewayNotConfigured, StartResult, WebhookEvent
from booking.payments.cash import CashGateway
from booking.payments.sandbox import SandboxGateway
from booking.payments.stripe import StripeGateway

GATEWAYS: dict[str, type[Gateway]] = {
    SandboxGateway.name: SandboxGateway,
    CashGateway.name: CashGateway,
    StripeGateway.name: StripeGateway,
}


def get_gateway(name: str) -> Gateway:
    try:
        return GATEWAYS[name]()
    except KeyError:
        raise GatewayError(f"Unknown payment gateway {name!r}.") from None


def enabled_gateways() -> list[str]:
    unknown = [name for name in settings.PAYMENT_GATEWAYS if name not in GATEWAYS]
    if unknown:
        raise ImproperlyConfigured(f"PAYMENT_GATEWAYS names unknown gateways: {', '.join(unknown)}")
    return list(settings.PAYMENT_GATEWAYS)


__all__ = [
    "GATEWAYS",
    "Gateway",
    "GatewayError",
    "GatewayNotConfigured",
    "StartResult",
    "WebhookEvent",
    "enabled_gateways",
    "get_gateway",
]
