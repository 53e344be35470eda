"""Pages of clinic operations fetched without a session, behind a secret link:

- the calendar feed, ``GET /calendar/<key>/<token>.ics``, fetched by calendar services;
- the waiting-room queue board, ``GET /board/<token>/``, shown on a screen in the waiting room.

A wrong, revoked or unknown link answers 404, all alike. ``Cache-Control: no-store, private`` comes
from ``core.security`` (``/calendar/`` and ``/board/`` are private areas)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from workflows import ics
from workflows.operations.selectors import board_by_token, board_lines, feed_appointments, feed_by_url
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


#: the board reloads itself this often (seconds): a meta refresh, no script
BOARD_REFRESH_SECONDS = 10


@require_GET
def queue_board(request, token: str) -> HttpResponse:
    """The waiting-room screen of one facility: who is called to which room, and who still waits, as
    queue numbers and initials. ``?lang=vi`` (or ``en``) pins the screen's language (a TV keeps no
    cookie); otherwise the browser's."""
    board = board_by_token(token)
    if board is None:
        raise Http404
    language = request.GET.get("lang")
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language()
    with translation.override(language):
        response = render(
            request,
            "operations/queue_board.html",
            {
                "facility": board.facility,
                "lines": board_lines(board.facility),
                "now": timezone.now(),
                "refresh": BOARD_REFRESH_SECONDS,
                "clinic_zone": settings.CLINIC_TIME_ZONE,
                "language": language,
            },
        )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
