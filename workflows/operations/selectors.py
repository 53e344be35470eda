"""Reads for clinic operations, with their queries written in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from booking.models import SLOT_OCCUPYING, Appointment, AppointmentStatus
from workflows.links import absolute
from workflows.operations.models import CalendarFeed, Moderation, VisitRating

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
        .select_related("doctor__user", "patient", "slot__availability__facility", "slot__availability__room")
        .order_by("starts_at", "id")
    )


# --- ratings --------------------------------------------------------------------------------------

#: fewer ratings than this: the count is shown, the average is not (two ratings say little)
MIN_RATINGS_FOR_AVERAGE = 3


@dataclass(frozen=True)
class RatingSummary:
    count: int = 0
    #: the mean score, rounded to one decimal; None below ``MIN_RATINGS_FOR_AVERAGE``
    average: Decimal | None = None

    @property
    def shows_average(self) -> bool:
        return self.average is not None


def _counted() -> Q:
    """Ratings that count: scored, of a visit that is (still) completed."""
    return Q(score__isnull=False, appointment__status=AppointmentStatus.COMPLETED)


def rating_summaries(doctor_ids) -> dict[int, RatingSummary]:
    """Each doctor's rating count and average (one query for all of ``doctor_ids``)."""
    ids = list(doctor_ids)
    if not ids:
        return {}
    rows = (
        VisitRating.objects.filter(_counted(), doctor_id__in=ids)
        .values("doctor_id")
        .annotate(count=Count("id"), total=Sum("score"))
    )
    found = {}
    for row in rows:
        count = row["count"]
        average = None
        if count >= MIN_RATINGS_FOR_AVERAGE:
            average = (Decimal(row["total"]) / count).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        found[row["doctor_id"]] = RatingSummary(count=count, average=average)
    return {pk: found.get(pk, RatingSummary()) for pk in ids}


def rating_summary(doctor_id: int) -> RatingSummary:
    return rating_summaries([doctor_id])[doctor_id]


def published_comments(doctor_id: int, *, limit: int = 10) -> list[VisitRating]:
    """The doctor's newest comments that staff approved (no names: shown as "a patient")."""
    return list(
        VisitRating.objects.filter(_counted(), doctor_id=doctor_id, moderation=Moderation.APPROVED).order_by(
            "-rated_at", "-id"
        )[:limit]
    )


def doctor_feedback(doctor_id: int, *, limit: int = 100) -> list[VisitRating]:
    """What a doctor sees in their workspace: every rating of their visits, newest first, with its
    comment whatever its moderation (it is about their own visits)."""
    return list(
        VisitRating.objects.filter(_counted(), doctor_id=doctor_id)
        .select_related("appointment")
        .order_by("-rated_at", "-id")[:limit]
    )


def _rated_by_q(patient, visible: Q | None = None) -> Q:
    """The ratings ``patient`` gives: of the visits the rulebook shows them as the patient (their own
    and their dependants': the account holder answers for a child or an elderly parent). Call it for
    a patient only (a doctor's visibility is their diary, not visits to rate). ``visible``: the
    patient's ``visibility_q`` when the caller already has it."""
    from booking.rules import visibility_q

    if visible is None:
        visible = visibility_q(user=patient)
    if visible is None:
        return Q(pk__in=[])
    return Q(appointment__in=Appointment.objects.filter(visible).values("pk"))


def rating_for_patient(*, patient, public_id) -> VisitRating | None:
    """The rating row of the patient's (or their dependant's) visit ``public_id`` (None: not invited,
    or not theirs)."""
    if getattr(patient, "role", None) != "patient":
        return None
    return (
        VisitRating.objects.select_related("appointment__doctor__user", "patient")
        .filter(_rated_by_q(patient), appointment__public_id=public_id)
        .first()
    )


def rating_of_visit(*, appointment: Appointment, user) -> VisitRating | None:
    """``rating_for_patient`` of a visit already loaded: its rating row when ``user`` is its patient
    (or the account holder of a dependant patient: ``rules.role_in``), else None; one query."""
    from booking.rules import role_in

    if role_in(appointment=appointment, user=user) != "patient":
        return None
    # one row at most (one-to-one): no ORDER BY, which with the joins costs more to compile than the read
    found = VisitRating.objects.select_related("appointment__doctor__user", "patient").filter(
        appointment_id=appointment.pk
    )
    return next(iter(found.order_by()[:1]), None)


def ratings_to_give(patient, *, now: dt.datetime | None = None, visible: Q | None = None) -> list[VisitRating]:
    """The patient's invitations that are still open (not rated, within the window), their dependants'
    included. ``visible``: ``rules.visibility_q(user=patient)`` when the caller already read it."""
    from workflows.operations.services import RATING_WINDOW

    now = now or timezone.now()
    if getattr(patient, "role", None) != "patient":
        return []
    return list(
        VisitRating.objects.select_related("appointment__doctor__user", "patient")
        .filter(
            _rated_by_q(patient, visible),
            score__isnull=True,
            invited_at__gte=now - RATING_WINDOW,
            appointment__status=AppointmentStatus.COMPLETED,
        )
        .order_by("-invited_at")
    )


# --- the waitlist ---------------------------------------------------------------------------------


def patient_waitlist(patient) -> list:
    """The patient's waiting entries, their dependants' included (the account holder answers their
    offers), each with its open offer (or None), newest first."""
    from booking.rules import speaks_for
    from workflows.operations.models import OfferStatus, SlotOffer, WaitlistEntry, WaitlistStatus

    if getattr(patient, "role", None) != "patient":
        return []
    waiting = WaitlistEntry.objects.filter(
        Q(patient=patient) | Q(patient__guardian=patient), status=WaitlistStatus.WAITING
    )
    entries = [
        entry
        for entry in waiting.select_related("doctor__user", "patient").order_by("-created_at", "-id")
        if speaks_for(user=patient, patient=entry.patient)  # the rulebook has the last word
    ]
    offers = {
        offer.entry_id: offer
        for offer in SlotOffer.objects.filter(
            entry__in=[e.pk for e in entries], status=OfferStatus.OPEN
        ).select_related("slot")
    }
    return [(entry, offers.get(entry.pk)) for entry in entries]


def refill_counts(*, since: dt.datetime) -> dict[str, int]:
    """For the dashboard: slots offered from the waitlist since ``since`` and how many were booked."""
    from workflows.operations.models import OfferStatus, SlotOffer

    offers = SlotOffer.objects.filter(offered_at__gte=since)
    return {
        "offered": offers.values("slot_id").distinct().count(),
        "refilled": offers.filter(status=OfferStatus.ACCEPTED).count(),
    }


# --- check-in and the queue -----------------------------------------------------------------------


def check_in_of(appointment):
    """The visit's check-in at the desk (its queue number and state), or None."""
    from workflows.operations.models import CheckIn

    return next(iter(CheckIn.objects.filter(appointment=appointment).order_by()[:1]), None)  # one-to-one


def board_by_token(token: str):
    """The queue board whose link is ``token`` (of an active facility), or None."""
    from workflows.operations.models import QueueBoard

    if not token or len(token) > 64:
        return None
    return QueueBoard.objects.select_related("facility").filter(token=token, facility__is_active=True).first()


def board_path(board) -> str:
    return reverse("queue_board", kwargs={"token": board.token})


def board_url(board) -> str:
    return absolute(board_path(board))


@dataclass(frozen=True)
class BoardLine:
    number: int
    initials: str
    room: str


#: how many calls the board shows (the newest first)
BOARD_CALLS = 6


def board_lines(facility, *, now: dt.datetime | None = None) -> dict[str, list[BoardLine]]:
    """What the waiting-room screen of ``facility`` shows today: who is called to which room (newest
    first) and the numbers still waiting. Initials only, never a name."""
    from booking.rules import clinic_day
    from workflows.operations.models import CheckIn, QueueStatus

    now = now or timezone.now()
    rows = CheckIn.objects.filter(facility=facility, day=clinic_day(now)).select_related(
        "appointment", "room", "doctor__user"
    )

    def line(row) -> BoardLine:
        room = row.room.name if row.room_id else str(row.doctor)
        return BoardLine(number=row.number, initials=row.initials, room=room)

    called = rows.filter(status=QueueStatus.CALLED).order_by("-called_at", "-number")[:BOARD_CALLS]
    waiting = rows.filter(status=QueueStatus.ARRIVED).order_by("number")
    return {"called": [line(row) for row in called], "waiting": [line(row) for row in waiting]}


@dataclass(frozen=True)
class QueueDayStats:
    day: dt.date
    doctor: str
    check_ins: int
    called: int
    #: average minutes from check-in to being called (None: nobody called yet)
    average_wait: int | None
    late: int
    average_late: int | None


def queue_stats(*, days: int = 7, now: dt.datetime | None = None, doctor_id: int | None = None) -> list[QueueDayStats]:
    """For the dashboard: per doctor and day over the last ``days`` clinic days (newest first), how
    many checked in, the average wait from check-in to being called, and how many arrived late (one
    doctor's only with ``doctor_id``)."""
    from booking.rules import clinic_day
    from workflows.operations.models import CheckIn

    now = now or timezone.now()
    since = clinic_day(now) - dt.timedelta(days=days - 1)
    rows = CheckIn.objects.filter(day__gte=since).select_related("doctor__user").order_by("-day", "doctor_id")
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row.day, row.doctor_id), []).append(row)
    found = []
    for (day, _doctor_id), group in groups.items():
        waits = [(row.called_at - row.checked_in_at).total_seconds() / 60 for row in group if row.called_at]
        lates = [row.minutes_late for row in group if row.minutes_late > 0]
        found.append(
            QueueDayStats(
                day=day,
                doctor=str(group[0].doctor),
                check_ins=len(group),
                called=len(waits),
                average_wait=round(sum(waits) / len(waits)) if waits else None,
                late=len(lates),
                average_late=round(sum(lates) / len(lates)) if lates else None,
            )
        )
    return found
