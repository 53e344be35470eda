"""Writes for clinic operations. Each runs in its own transaction (retried on deadlock) and audits.

Lock order: the feed owner's user row first (the same first step as booking's lock order, see
``booking/services/common.py``), then their feed rows.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from booking.models import Appointment, AppointmentStatus
from core.audit import audit_log
from core.db import retry_transaction
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.outbox import outbox_add
from workflows.operations.models import CalendarFeed, Moderation, VisitRating

#: roles that have visits of their own to subscribe to
FEED_ROLES = frozenset({Role.DOCTOR, Role.PATIENT})
#: a fetch is written down at most this often (calendar services poll every few minutes to hours)
FETCH_NOTE_EVERY = dt.timedelta(minutes=15)


def may_have_calendar_feed(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active and user.role in FEED_ROLES


@retry_transaction
def calendar_feed_renew(*, user: User, actor: User, with_names: bool | None = None) -> CalendarFeed:
    """A new private feed link for ``user``; the previous link (if any) stops working at once.

    ``with_names`` keeps the previous feed's choice when None. Only the owner (or a clinic admin) may
    ask; a patient or doctor only for themself.
    """
    _require_owner_or_admin(user=user, actor=actor)
    if not may_have_calendar_feed(user):
        raise PermissionDenied(_("This account has no visits to put in a calendar."))
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        now = timezone.now()
        previous = list(CalendarFeed.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
        for feed in previous:
            feed.revoked_at = now
            feed.save(update_fields=["revoked_at"])
            audit_log(actor=actor, action="operations.calendar_feed.revoked", obj=feed, data={"renewed": True})
        if with_names is None:
            with_names = previous[0].with_names if previous else False
        feed = CalendarFeed.objects.create(user=user, key=secrets.token_urlsafe(24), with_names=with_names)
        audit_log(actor=actor, action="operations.calendar_feed.created", obj=feed, data={"with_names": with_names})
        return feed


@retry_transaction
def calendar_feed_revoke(*, feed: CalendarFeed, actor: User) -> CalendarFeed:
    """Switch ``feed`` off: its link answers 404 from now on. Revoking a revoked feed changes nothing."""
    _require_owner_or_admin(user=feed.user, actor=actor)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=feed.user_id).first()
        row = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
        if row.revoked_at is None:
            row.revoked_at = timezone.now()
            row.save(update_fields=["revoked_at"])
            audit_log(actor=actor, action="operations.calendar_feed.revoked", obj=row)
        return row


@retry_transaction
def calendar_feed_set_names(*, feed: CalendarFeed, actor: User, with_names: bool) -> CalendarFeed:
    """Whether ``feed`` shows the other person's name in each event (the owner's choice)."""
    _require_owner_or_admin(user=feed.user, actor=actor)
    with transaction.atomic():
        row = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
        if row.with_names != with_names:
            row.with_names = with_names
            row.save(update_fields=["with_names"])
            audit_log(actor=actor, action="operations.calendar_feed.changed", obj=row, data={"with_names": with_names})
        return row


def calendar_feed_note_fetch(*, feed: CalendarFeed, now: dt.datetime | None = None) -> None:
    """Write down that a calendar service fetched ``feed`` (at most every ``FETCH_NOTE_EVERY``), so its
    owner can see whether their calendar is subscribed. One conditional UPDATE, no lock."""
    now = now or timezone.now()
    stale = now - FETCH_NOTE_EVERY
    CalendarFeed.objects.filter(Q(last_fetched_at__isnull=True) | Q(last_fetched_at__lt=stale), pk=feed.pk).update(
        last_fetched_at=now
    )


def _require_owner_or_admin(*, user: User, actor: User) -> None:
    if actor is None or (actor.pk != user.pk and not (actor.is_superuser or actor.role == Role.ADMIN)):
        raise PermissionDenied(_("Only the owner of a calendar feed can change it."))


# --- ratings and feedback -------------------------------------------------------------------------

#: a visit completed longer ago than this is not invited any more (a new deployment does not write to
#: everyone who ever had a visit)
INVITE_WITHIN = dt.timedelta(days=7)
#: how long after the invitation the patient may rate
RATING_WINDOW = dt.timedelta(days=30)
#: the invitation's message kind (rendered by ``workflows.operations.messages``)
RATING_INVITATION = "rating.invited"
#: at most this many invitations per run of the task (the next run takes the rest)
INVITE_BATCH = 200


def rating_invite_completed(*, now: dt.datetime | None = None, batch: int = INVITE_BATCH) -> int:
    """Invite the patient of each recently completed visit to rate it, once: one ``VisitRating`` row per
    visit (a one-to-one key, so a second run or a second worker invites nobody twice) and an outbox
    message in the same transaction. Returns how many were invited."""
    now = now or timezone.now()
    due = list(
        Appointment.objects.filter(
            status=AppointmentStatus.COMPLETED, completed_at__gte=now - INVITE_WITHIN, rating__isnull=True
        )
        .order_by("completed_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    return sum(1 for pk in due if _invite(appointment_id=pk, now=now))


@retry_transaction
def _invite(*, appointment_id: int, now: dt.datetime) -> bool:
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_related("patient")
            .filter(pk=appointment_id, status=AppointmentStatus.COMPLETED)
            .first()
        )
        if appointment is None or VisitRating.objects.filter(appointment_id=appointment_id).exists():
            return False
        try:
            with transaction.atomic():
                rating = VisitRating.objects.create(
                    appointment=appointment,
                    doctor_id=appointment.doctor_id,
                    patient=appointment.patient,
                    invited_at=now,
                )
        except IntegrityError:  # another worker invited this patient a moment ago
            return False
        audit_log(actor=None, action="operations.rating.invited", obj=rating, data={"appointment": appointment.pk})
        outbox_add(kind=RATING_INVITATION, recipient=appointment.patient, obj=rating)
        return True


def rating_refusal(rating: VisitRating, *, user, now: dt.datetime) -> str | None:
    """Why ``user`` may not rate ``rating``'s visit now, or None when they may."""
    if user is None or user.pk != rating.patient_id:
        return _("Only the patient of a visit can rate it.")
    if rating.appointment.status != AppointmentStatus.COMPLETED:
        return _("Only a completed visit can be rated.")
    if rating.is_rated:
        return _("You have already rated this visit. Thank you!")
    if now > rating.invited_at + RATING_WINDOW:
        return _("The time to rate this visit has passed.")
    return None


@retry_transaction
def rating_submit(
    *, rating: VisitRating, patient: User, score: int, comment: str = "", now: dt.datetime | None = None
) -> VisitRating:
    """The patient rates their completed visit, once: ``score`` 1–5 and an optional ``comment``, which
    waits for staff moderation before anyone else sees it."""
    now = now or timezone.now()
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput(_("Choose a rating from 1 to 5."), fields=["score"])
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise InvalidInput(_("The comment is too long (at most 2000 characters)."), fields=["comment"])
    if "\x00" in comment:
        raise InvalidInput(_("The comment contains characters that cannot be stored."), fields=["comment"])
    with transaction.atomic():
        row = VisitRating.objects.select_for_update().select_related("appointment").filter(pk=rating.pk).first()
        if row is None:
            raise NotFound(_("No such visit."))
        problem = rating_refusal(row, user=patient, now=now)
        if problem:
            raise (Conflict if row.is_rated else PermissionDenied)(problem)
        row.score, row.comment, row.rated_at = score, comment, now
        row.moderation = Moderation.PENDING if comment else Moderation.NONE
        row.save(update_fields=["score", "comment", "rated_at", "moderation"])
        audit_log(
            actor=patient,
            action="operations.rating.submitted",
            obj=row,
            data={"score": score, "comment": bool(comment)},
        )
        return row


@retry_transaction
def rating_moderate(*, rating: VisitRating, actor: User, approve: bool, now: dt.datetime | None = None) -> VisitRating:
    """Staff publish (``approve``) or withhold a rating's comment. A withheld comment can be published
    later and the other way round; a rating without a comment has nothing to moderate."""
    if actor is None or not (actor.is_superuser or actor.role in {Role.ADMIN, Role.STAFF}):
        raise PermissionDenied(_("Only clinic staff moderate comments."))
    now = now or timezone.now()
    with transaction.atomic():
        row = VisitRating.objects.select_for_update().get(pk=rating.pk)
        if not row.comment:
            raise Conflict(_("This rating has no comment to moderate."))
        wanted = Moderation.APPROVED if approve else Moderation.REJECTED
        if row.moderation != wanted:
            row.moderation, row.moderated_by, row.moderated_at = wanted, actor, now
            row.save(update_fields=["moderation", "moderated_by", "moderated_at"])
            audit_log(actor=actor, action=f"operations.rating.{wanted}", obj=row)
        return row
