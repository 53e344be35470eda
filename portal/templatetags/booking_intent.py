"""``{% chosen_slot as chosen %}`` on the sign-in, sign-up and code pages: the time a visitor picked
before being asked to sign up, so they see that it is kept while they create their account.

The slot comes from the ``next`` address (``/portal/book/<doctor>/?slot=<id>``) and is remembered in
the session for the email-code page, which allauth opens without it. Only a slot that is still free
is shown; the booking page re-checks it anyway when the patient holds it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from django import template
from django.urls import Resolver404, resolve
from django.utils import timezone

from booking.models import BookingDefaults, Slot
from booking.selectors import free_slots

register = template.Library()

SESSION_KEY = "medbook_chosen_slot"


def _slot_from_next(next_url: str) -> tuple[int, int] | None:
    parsed = urlparse(next_url or "")
    if parsed.scheme or parsed.netloc:
        return None
    try:
        match = resolve(parsed.path)
    except Resolver404:
        return None
    if match.view_name != "portal:book":
        return None
    slot = (parse_qs(parsed.query).get("slot") or [""])[0]
    return (int(match.kwargs["doctor_id"]), int(slot)) if slot.isdigit() else None


@register.simple_tag(takes_context=True)
def chosen_slot(context):
    request = context.get("request")
    if request is None:
        return None
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    picked = _slot_from_next(next_url)
    if picked is not None:
        request.session[SESSION_KEY] = {"doctor": picked[0], "slot": picked[1], "next": next_url}
    elif request.resolver_match and request.resolver_match.url_name == "account_email_verification_sent":
        remembered = request.session.get(SESSION_KEY) or {}
        if remembered.get("slot"):
            picked = (remembered["doctor"], remembered["slot"])
    if picked is None:
        return None
    slot = (
        Slot.objects.select_related("doctor__user", "availability__facility")
        .filter(pk=picked[1], doctor_id=picked[0])
        .first()
    )
    if slot is None:
        return None
    now = timezone.now()
    still_free = free_slots(
        doctor=slot.doctor, start=slot.start, end=slot.end, now=now, defaults=BookingDefaults.load()
    ).filter(pk=slot.pk)
    if not still_free.exists():
        return None
    return slot
