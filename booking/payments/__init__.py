"""Payment gateways behind one interface (``base.Gateway``): sandbox, cash and Stripe."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from booking.payments.base import (
    Gateway,
    GatewayError,
    GatewayNotConfigured,
    GatewayNotEnabled,
    StartResult,
    WebhookEvent,
)
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
    """The gateways this clinic takes payments through (``PAYMENT_GATEWAYS``), the default first."""
    unknown = [name for name in settings.PAYMENT_GATEWAYS if name not in GATEWAYS]
    if unknown:
        raise ImproperlyConfigured(f"PAYMENT_GATEWAYS names unknown gateways: {', '.join(unknown)}")
    return list(settings.PAYMENT_GATEWAYS)


def require_enabled(name: str) -> str:
    """``name`` if payments may go through it; GatewayNotEnabled (400) otherwise. Every face that
    takes money (API, portal, sandbox checkout, webhooks) passes through here."""
    if name not in enabled_gateways():
        raise GatewayNotEnabled(
            _("Payments through “%(gateway)s” are not accepted here.") % {"gateway": name},
            details={"gateway": name, "enabled": enabled_gateways()},
        )
    return name


def sandbox_enabled() -> bool:
    """True while test payments are possible: the portal and the admin show a banner."""
    return SandboxGateway.name in settings.PAYMENT_GATEWAYS


__all__ = [
    "GATEWAYS",
    "Gateway",
    "GatewayError",
    "GatewayNotConfigured",
    "GatewayNotEnabled",
    "StartResult",
    "WebhookEvent",
    "enabled_gateways",
    "get_gateway",
    "require_enabled",
    "sandbox_enabled",
]
