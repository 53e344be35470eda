"""Invoices for doctors' subscription charges: one per period charged (a subscription started as paid,
a renewal), numbered in the clinic's one invoice sequence by ``booking.services.invoices``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from booking.models import Invoice, money
from booking.payments import GATEWAYS
from booking.services.invoices import Line, invoice_issue
from core.dates import day_text
from workflows.clinic.models import SubscriptionEvent


def subscription_invoice_source(event: SubscriptionEvent) -> str:
    return f"{SubscriptionEvent._meta.label_lower}:{event.pk}"


def subscription_invoice(*, event_id: int) -> Invoice | None:
    """The invoice of subscription charge ``event_id`` (issued now if it has none); None for an event
    that charges nothing."""
    event = (
        SubscriptionEvent.objects.select_related("subscription__plan", "subscription__doctor__user", "charge")
        .filter(pk=event_id)
        .first()
    )
    if event is None or not event.amount:
        return None
    subscription = event.subscription
    user = subscription.doctor.user
    language = user.language or settings.LANGUAGE_CODE
    zone = ZoneInfo(user.effective_time_zone)
    with translation.override(language):
        period = ""
        if event.period_start and event.period_end:
            period = _("%(start)s to %(end)s") % {
                "start": day_text(event.period_start, zone),
                "end": day_text(event.period_end, zone),
            }
        line = Line(
            _("Subscription: %(plan)s") % {"plan": subscription.plan.name},
            money(event.amount),
            period,
        )
        reference = _("Subscription #%(number)s") % {"number": subscription.pk}
        paid = {"method": _("Subscription credit"), "when": "", "reference": event.reference}
        charge = getattr(event, "charge", None)  # paid online ("Pay now"): say how and when
        if charge is not None and charge.gateway in GATEWAYS:
            paid["method"] = str(GATEWAYS[charge.gateway].label)
            paid["when"] = day_text(charge.paid_at, zone) if charge.paid_at else ""
    return invoice_issue(
        source=subscription_invoice_source(event),
        recipient=user,
        language=language,
        currency=subscription.plan.currency,
        lines=[line],
        buyer={"name": str(subscription.doctor), "email": user.email, "phone": "", "national_id": ""},
        reference=reference,
        paid=paid,
    )
