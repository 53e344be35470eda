"""Reads for clinic operations, with their queries written in."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from booking.models import SLOT_OCCUPYING, Appointment
from workflows.links import absolute
from workflows.operations.models import CalendarFeed

FEED_SALT = "medbook.operations.calendar-feed"
#: how far back a feed reaches (the future is complete)
FEED_HISTORY = dt.timedelta(days=90)


def _token(key: str, secret: str) -> str:
    return salted_hmac(FEED_SALT, key, secret=secret, algorithm="sha256").hexdigest()


def feed_token(feed: CalendarFeed) -> str:
    """The secret half of ``feed``'s URL: an HMAC of its random key under ``SECRET_KEY``."""
    return _token(feed.key, settings.SECRET_KEY)


def feed_path(feed: CalendarFeed) -> str:
    return reverse("calendar_feed", kwargs={"key": feed.key, "token": feed_token(feed)})


def feed_url(feed: CalendarFeed) -> str:
    """The https address to paste into Google Calendar ("From URL") or Outlook ("Subscribe from web")."""
    return absolute(feed_path(feed))


def feed_webcal_url(feed: CalendarFeed) -> str:
    """The same address as ``webcal://``: Apple Calendar (and Outlook) subscribe when it is opened."""
    url = feed_url(feed)
    return "webcal://" + url.split("://", 1)[1]


def feed_by_url(*, key: str, token: str) -> CalendarFeed | None:
    """The active feed whose URL is ``key``/``token``, or None. The token is compared in constant time
    against the current secret and each of ``SECRET_KEY_FALLBACKS`` (a key rotation keeps links working
    for as long as the old key is kept as a fallback)."""
    feed = CalendarFeed.objects.select_related("user").filter(key=key, revoked_at__isnull=True).first()
    if feed is None or not feed.user.is_active:
        return None
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    matches = [constant_time_compare(token, _token(feed.key, secret)) for secret in secrets]
    return feed if any(matches) else None


def active_feed(user) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


def feed_appointments(user, *, now: dt.datetime | None = None) -> list[Appointment]:
    """The visits of ``user``'s feed: as the doctor and as the patient, from ``FEED_HISTORY`` ago on,
    that hold a time (pending payment, awaiting the doctor, confirmed, completed, no-show). Cancelled
    and expired visits are left out, so they disappear from a subscribed calendar."""
    now = now or timezone.now()
    return list(
        Appointment.objects.filter(Q(doctor__user=user) | Q(patient=user))
        .filter(status__in=SLOT_OCCUPYING, starts_at__isnull=False, starts_at__gte=now - FEED_HISTORY)
        .select_related("doctor__user", "patient")
        .order_by("starts_at", "id")
    )
