"""Payment gateways behind one interface (``base.Gateway``): sandbox, cash and Stripe."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from booking.payments.base import (
    Charge,
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


#: webhook handlers for charges that are not a visit's Payment, by ``Charge.kind``. A later layer
#: (e.g. workflows.clinic for "subscription") registers at ``ready()``: booking never imports it.
CHARGE_HANDLERS: dict[str, Callable[..., None]] = {}


def register_charge_kind(kind: str, handler: Callable[..., None]) -> None:
    """``handler(*, gateway, event, now)`` applies a verified event for a ``kind`` charge. It runs inside
    the webhook's transaction, after the event id was stored (a replay never reaches it twice), and
    must not call the network."""
    if kind == "payment":
        raise ImproperlyConfigured("'payment' is the visits' own kind.")
    CHARGE_HANDLERS[kind] = handler


def redirect_gateway() -> str:
    """The gateway a charge that is paid online goes through: the first enabled one with a checkout
    page (the sandbox by default, Stripe when configured)."""
    for name in enabled_gateways():
        if GATEWAYS[name].redirects:
            return name
    raise GatewayNotEnabled(_("No online payment method is configured."))


def sandbox_enabled() -> bool:
    """True while test payments are possible: the portal and the admin show a banner."""
    return SandboxGateway.name in settings.PAYMENT_GATEWAYS


__all__ = [
    "CHARGE_HANDLERS",
    "GATEWAYS",
    "Charge",
    "Gateway",
    "GatewayError",
    "GatewayNotConfigured",
    "GatewayNotEnabled",
    "StartResult",
    "WebhookEvent",
    "enabled_gateways",
    "get_gateway",
    "redirect_gateway",
    "register_charge_kind",
    "require_enabled",
    "sandbox_enabled",
]
