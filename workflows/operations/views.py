"""The calendar feed itself: ``GET /calendar/<key>/<token>.ics``, fetched by calendar services without a
session. A wrong, revoked or unknown link answers 404, all alike. ``Cache-Control: no-store, private``
comes from ``core.security`` (``/calendar/`` is a private area)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from workflows import ics
from workflows.operations.selectors import feed_appointments, feed_by_url
from workflows.operations.services import calendar_feed_note_fetch, may_have_calendar_feed


@require_GET
def calendar_feed(request, key: str, token: str) -> HttpResponse:
    feed = feed_by_url(key=key, token=token)
    if feed is None or not may_have_calendar_feed(feed.user):
        raise Http404
    now = timezone.now()
    user = feed.user
    appointments = feed_appointments(user, now=now)
    sequences = ics.reschedule_counts(appointments)
    # the calendar service has no language of its own: the feed speaks its owner's language
    with translation.override(user.language or translation.get_language()):
        events = [
            ics.feed_event(visit, viewer=user, sequence=sequences.get(visit.pk, 0), with_names=feed.with_names)
            for visit in appointments
        ]
        body = ics.render_feed(events, name=_("Medbook visits"), now=now)
    calendar_feed_note_fetch(feed=feed, now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="medbook.ics"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
