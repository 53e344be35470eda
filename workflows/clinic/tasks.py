"""django-q2 tasks of the clinic back office. Each takes primary keys (or nothing), re-reads what it
needs under lock and is idempotent."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from workflows.clinic.invoices import subscription_invoice
from workflows.clinic.selectors import subscriptions_due
from workflows.clinic.services import subscription_process_due

logger = logging.getLogger(__name__)


def subscriptions_sweep(now: datetime | None = None) -> dict[str, int]:
    """Periodic: renew subscriptions whose renewal date came (from recorded payments, or for free on
    a free plan) or mark them overdue. Each row is re-checked under lock by the service."""
    now = now or timezone.now()
    outcome: dict[str, int] = {}
    for pk in subscriptions_due(now=now):
        result = subscription_process_due(subscription_id=pk, now=now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def subscription_invoice_issue(event_id: int) -> str:
    """Enqueued on commit of a subscription charge: its invoice (idempotent)."""
    invoice = subscription_invoice(event_id=event_id)
    return invoice.number if invoice else "nothing charged"
