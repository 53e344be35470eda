from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from booking.payments.base import Gateway, StartResult


class CashGateway(Gateway):
    """Pay at the clinic: the booking waits in ``pending_payment`` until staff mark it paid."""

    name = "cash"
    label = _("Pay at the clinic")
    redirects = False

    def start(self, payment, *, success_url: str, cancel_url: str) -> StartResult:
        return StartResult(checkout_url="", provider_reference=f"cash-{payment.pk}")

    def refund(self, payment, amount: Decimal, *, idempotency_key: str) -> str:
        # Cash goes back over the counter; the refund row tells the front desk how much.
        return f"cash-{idempotency_key}"
