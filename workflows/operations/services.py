"""Writes for clinic operations. Each runs in its own transaction (retried on deadlock) and audits.

Lock order: the feed owner's user row first (the same first step as booking's lock order, see
``booking/services/common.py``), then their feed rows.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from core.audit import audit_log
from core.db import retry_transaction
from core.errors import PermissionDenied
from workflows.operations.models import CalendarFeed

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
