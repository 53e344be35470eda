"""Writes for clinic operations. Each runs in its own transaction (retried on deadlock) and audits.

Lock order: the feed owner's user row first (the same first step as booking's lock order, see
``booking/services/common.py``), then their feed rows.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from booking import rules
from booking.models import OPEN_STATUSES, Appointment, AppointmentStatus, Doctor, Slot
from booking.rules import Action
from booking.selectors import free_slots, slot_free_q
from booking.services import appointment_book, slot_hold, slot_release_hold
from core.audit import audit_log
from core.db import retry_transaction
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.outbox import outbox_add
from workflows.operations.models import (
    CalendarFeed,
    CheckIn,
    Moderation,
    OfferStatus,
    PartOfDay,
    QueueBoard,
    QueueStatus,
    SlotOffer,
    VisitRating,
    WaitlistEntry,
    WaitlistMode,
    WaitlistStatus,
)

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
        # a dependant (a child, an elderly parent) has no login: the account holder is asked, once
        outbox_add(kind=RATING_INVITATION, recipient=appointment.patient.notification_recipient, obj=rating)
        return True


def rating_refusal(rating: VisitRating, *, user, now: dt.datetime) -> str | None:
    """Why ``user`` may not rate ``rating``'s visit now, or None when they may: the visit's patient, or
    the account holder who speaks for a dependant patient (``rules.speaks_for``)."""
    if user is None or not getattr(user, "is_active", False) or not rules.speaks_for(user=user, patient=rating.patient):
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
        row = (
            VisitRating.objects.select_for_update(of=("self",))
            .select_related("appointment")
            .filter(pk=rating.pk)
            .first()
        )
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


# --- the waitlist that refills freed slots --------------------------------------------------------
#
# Lock order (extends booking's, see booking/services/common.py): the patient's user row → their
# waitlist entry → the offer → the slot (then booking's order: appointments, payments). Offering
# locks the entry, then claims the slot with booking's conditional UPDATE (``slot_hold``), then inserts
# the offer; the partial unique index "one open offer per slot" settles two workers offering one slot.

#: how long an offered slot is held for the patient
OFFER_HOLD = dt.timedelta(minutes=15)
#: the offer's message kind (in-app, email and SMS; rendered by ``workflows.operations.messages``)
WAITLIST_OFFER = "waitlist.offered"
#: a waitlist reaches at most this far ahead
WAITLIST_MAX_DAYS = 180


class _OfferLost(Exception):
    """Raised inside an offer's transaction to roll back the slot hold when the offer row lost."""


def _in_part_of_day(part: str, local_hour: int) -> bool:
    if part == PartOfDay.MORNING:
        return local_hour < 12
    if part == PartOfDay.AFTERNOON:
        return 12 <= local_hour < 17
    if part == PartOfDay.EVENING:
        return local_hour >= 17
    return True


def entry_matches(entry: WaitlistEntry, slot, *, zone) -> bool:
    """Does ``slot`` fall in ``entry``'s dates and part of the day (in the doctor's time zone), and is
    it a visit of the kind the patient waits for (in person, video, or either)? Reads the slot's
    availability for its mode."""
    local = slot.start.astimezone(zone)
    if entry.mode != WaitlistMode.EITHER and slot.availability.mode != entry.mode:
        return False
    return entry.date_from <= local.date() <= entry.date_to and _in_part_of_day(entry.part_of_day, local.hour)


@retry_transaction
def waitlist_join(
    *,
    patient: User,
    doctor,
    date_from: dt.date,
    date_to: dt.date,
    part_of_day: str = PartOfDay.ANY,
    mode: str = WaitlistMode.EITHER,
    actor: User | None = None,
    now=None,
) -> WaitlistEntry:
    """Put ``patient`` on ``doctor``'s waitlist for ``date_from``–``date_to`` (the doctor's local dates),
    for visits in ``mode`` (in person, video, or either). A patient waits once per doctor: joining again
    replaces the dates and mode of the waiting entry. ``actor`` (default: the patient) is who may book
    for them (``rules.booking_for_refusal``): an account holder joins for a dependant, whose offers then
    reach the holder."""
    now = now or timezone.now()
    actor = actor or patient
    if not (patient.is_active and patient.role == Role.PATIENT):
        raise PermissionDenied(_("Only patients can join a waitlist."))
    refused = rules.booking_for_refusal(actor=actor, patient=patient)
    if refused is not None:
        raise refused
    today = now.astimezone(doctor.zone).date()
    if part_of_day not in PartOfDay.values:
        raise InvalidInput(_("Choose a part of the day."), fields=["part_of_day"])
    if mode not in WaitlistMode.values:
        raise InvalidInput(_("Choose in person, video or either."), fields=["mode"])
    if date_from < today or date_to < date_from:
        raise InvalidInput(
            _("Choose dates from today on, the first not after the last."), fields=["date_from", "date_to"]
        )
    if date_to > today + dt.timedelta(days=WAITLIST_MAX_DAYS):
        raise InvalidInput(
            _("A waitlist reaches at most %(days)s days ahead.") % {"days": WAITLIST_MAX_DAYS}, fields=["date_to"]
        )
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=patient.pk).first()
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(patient=patient, doctor=doctor, status=WaitlistStatus.WAITING)
            .first()
        )
        if entry is None:
            entry = WaitlistEntry.objects.create(
                patient=patient,
                doctor=doctor,
                date_from=date_from,
                date_to=date_to,
                part_of_day=part_of_day,
                mode=mode,
            )
            data = {"doctor": doctor.pk, **({"holder": actor.pk} if actor.pk != patient.pk else {})}
            audit_log(actor=actor, action="operations.waitlist.joined", obj=entry, data=data)
        else:
            entry.date_from, entry.date_to, entry.part_of_day, entry.mode = date_from, date_to, part_of_day, mode
            entry.save(update_fields=["date_from", "date_to", "part_of_day", "mode", "updated_at"])
            audit_log(actor=actor, action="operations.waitlist.changed", obj=entry)
        return entry


@retry_transaction
def waitlist_leave(*, entry: WaitlistEntry, actor: User, now=None) -> WaitlistEntry:
    """Leave the waitlist; an open offer is declined with it (its slot is freed for the next patient).
    The patient, their account holder (a dependant's entry) or a clinic admin may."""
    if not rules.speaks_for(user=actor, patient=entry.patient):
        _require_owner_or_admin(user=entry.patient, actor=actor)
    now = now or timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=entry.patient_id).first()
        row = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        for offer in SlotOffer.objects.select_for_update().filter(entry=row, status=OfferStatus.OPEN):
            _close_offer(offer, status=OfferStatus.DECLINED, now=now, actor=actor)
        if row.status == WaitlistStatus.WAITING:
            row.status = WaitlistStatus.LEFT
            row.save(update_fields=["status", "updated_at"])
            audit_log(actor=actor, action="operations.waitlist.left", obj=row)
        return row


def _close_offer(offer: SlotOffer, *, status: str, now: dt.datetime, actor=None) -> None:
    """Close a locked open offer and free the slot it held (only that hold)."""
    offer.status, offer.answered_at = status, now
    offer.save(update_fields=["status", "answered_at"])
    slot_release_hold(slot_id=offer.slot_id, until=offer.expires_at, now=now)
    audit_log(actor=actor, action=f"operations.slot_offer.{status}", obj=offer, data={"slot": offer.slot_id})


def _has_visit_that_day(entry: WaitlistEntry, slot, *, zone) -> bool:
    day = slot.start.astimezone(zone).date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    return Appointment.objects.filter(
        patient_id=entry.patient_id,
        doctor_id=entry.doctor_id,
        status__in=OPEN_STATUSES,
        starts_at__gte=start,
        starts_at__lt=start + dt.timedelta(days=1),
    ).exists()


@retry_transaction
def _offer(*, slot, entry_id: int, now: dt.datetime, hold: dt.timedelta) -> SlotOffer | None:
    """Offer ``slot`` to waitlist entry ``entry_id``: hold the slot, write the offer and the message, in
    one transaction. None when the entry moved on or the slot was taken (by a booking or another offer)."""
    try:
        with transaction.atomic():
            entry = (
                WaitlistEntry.objects.select_for_update(of=("self",))
                .select_related("patient")
                .filter(pk=entry_id, status=WaitlistStatus.WAITING)
                .first()
            )
            if entry is None or SlotOffer.objects.filter(entry=entry, status=OfferStatus.OPEN).exists():
                return None
            expires = now + hold
            if not slot_hold(slot_id=slot.pk, until=expires, now=now):
                return None
            try:
                with transaction.atomic():
                    offer = SlotOffer.objects.create(slot=slot, entry=entry, offered_at=now, expires_at=expires)
            except IntegrityError:
                raise _OfferLost from None  # another worker offered this slot (or to this entry) first
            audit_log(actor=None, action="operations.slot_offer.offered", obj=offer, data={"slot": slot.pk})
            # a dependant's offer reaches the account holder, who answers it
            outbox_add(kind=WAITLIST_OFFER, recipient=entry.patient.notification_recipient, obj=offer)
            return offer
    except _OfferLost:
        return None


def waitlist_offer_slot(*, slot, now: dt.datetime | None = None, hold: dt.timedelta = OFFER_HOLD) -> SlotOffer | None:
    """Offer one free ``slot`` to the first waiting patient it suits (first come, first served): their
    dates and part of the day, no open offer, not offered this slot before, no other visit with the
    doctor that day. None when nobody matches or the slot is taken meanwhile."""
    now = now or timezone.now()
    zone = slot.doctor.zone
    already = SlotOffer.objects.filter(slot=slot).values_list("entry_id", flat=True)
    candidates = (
        WaitlistEntry.objects.filter(doctor_id=slot.doctor_id, status=WaitlistStatus.WAITING)
        .exclude(pk__in=already)
        .exclude(offers__status=OfferStatus.OPEN)
        .order_by("created_at", "id")
    )
    for entry in candidates:
        if not entry_matches(entry, slot, zone=zone) or _has_visit_that_day(entry, slot, zone=zone):
            continue
        offer = _offer(slot=slot, entry_id=entry.pk, now=now, hold=hold)
        if offer is not None:
            return offer
        if not Slot.objects.filter(slot_free_q(now=now), pk=slot.pk).exists():
            return None  # taken meanwhile: nothing to offer
    return None


@retry_transaction
def _expire_offer(*, offer_id: int, now: dt.datetime) -> bool:
    with transaction.atomic():
        offer = SlotOffer.objects.select_for_update().filter(pk=offer_id, status=OfferStatus.OPEN).first()
        if offer is None or offer.expires_at > now:
            return False
        _close_offer(offer, status=OfferStatus.EXPIRED, now=now)
        return True


def waitlist_refill(*, now: dt.datetime | None = None, hold: dt.timedelta = OFFER_HOLD) -> dict[str, int]:
    """The periodic sweep: close offers nobody answered in time, then offer every free slot that suits a
    waiting patient (a slot freed by a cancellation, a lapsed hold, a reschedule or new availability
    looks the same: free). Each row is re-checked under its lock before it changes."""
    now = now or timezone.now()
    expired = sum(
        1
        for pk in SlotOffer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now).values_list("pk", flat=True)
        if _expire_offer(offer_id=pk, now=now)
    )
    offered = 0
    doctor_ids = set(
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).values_list("doctor_id", flat=True).distinct()
    )
    for doctor in Doctor.objects.filter(pk__in=doctor_ids):
        entries = list(WaitlistEntry.objects.filter(doctor=doctor, status=WaitlistStatus.WAITING))
        zone = doctor.zone
        start = dt.datetime.combine(min(e.date_from for e in entries), dt.time(0), tzinfo=zone)
        end = dt.datetime.combine(max(e.date_to for e in entries) + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        for slot in free_slots(doctor=doctor, start=max(start, now + hold), end=end, now=now).select_related(
            "doctor", "availability"
        ):
            if waitlist_offer_slot(slot=slot, now=now, hold=hold) is not None:
                offered += 1
    return {"expired": expired, "offered": offered}


def offer_refusal(offer: SlotOffer, *, user, now: dt.datetime) -> str | None:
    """Why ``user`` may not answer ``offer`` now, or None: the entry's patient answers, or the account
    holder of a dependant patient (``rules.speaks_for``)."""
    if user is None or not user.is_active or not rules.speaks_for(user=user, patient=offer.entry.patient):
        return _("This offer is not yours.")
    if offer.status != OfferStatus.OPEN:
        return _("This offer is closed.")
    if offer.expires_at <= now:
        return _("This offer has run out; the time went to the next patient.")
    return None


@retry_transaction
def waitlist_offer_accept(*, offer: SlotOffer, patient: User, details, now: dt.datetime | None = None):
    """Take the offered slot: it becomes the entry's patient's booking, held for payment as any booking
    is (``appointment_book``), all in one transaction. ``patient`` is who answers: the entry's patient,
    or the account holder of a dependant (the visit is then the dependant's, booked by the holder).
    Returns the appointment."""
    now = now or timezone.now()
    with transaction.atomic():
        entry_patient_id = WaitlistEntry.objects.filter(pk=offer.entry_id).values_list("patient_id", flat=True).first()
        User.objects.select_for_update().filter(pk=entry_patient_id).first()
        entry = WaitlistEntry.objects.select_for_update().get(pk=offer.entry_id)
        row = (
            SlotOffer.objects.select_for_update(of=("self",)).select_related("entry__patient", "slot").get(pk=offer.pk)
        )
        problem = offer_refusal(row, user=patient, now=now)
        if problem:
            raise (Conflict if rules.speaks_for(user=patient, patient=row.entry.patient) else PermissionDenied)(problem)
        slot_release_hold(slot_id=row.slot_id, until=row.expires_at, now=now)
        appointment = appointment_book(
            slot=row.slot, patient=row.entry.patient, actor=patient, details=details, now=now
        )
        row.status, row.answered_at, row.appointment = OfferStatus.ACCEPTED, now, appointment
        row.save(update_fields=["status", "answered_at", "appointment"])
        entry.status = WaitlistStatus.BOOKED
        entry.save(update_fields=["status", "updated_at"])
        audit_log(actor=patient, action="operations.slot_offer.accepted", obj=row, data={"appointment": appointment.pk})
        return appointment


def waitlist_offer_decline(*, offer: SlotOffer, patient: User, now: dt.datetime | None = None) -> SlotOffer:
    """Pass the offered slot on: the patient keeps waiting for another time; the slot is offered to the
    next waiting patient at once."""
    now = now or timezone.now()
    row = _decline(offer=offer, patient=patient, now=now)
    slot = Slot.objects.select_related("doctor", "availability").get(pk=row.slot_id)
    waitlist_offer_slot(slot=slot, now=now)
    return row


@retry_transaction
def _decline(*, offer: SlotOffer, patient: User, now: dt.datetime) -> SlotOffer:
    with transaction.atomic():
        entry_patient_id = WaitlistEntry.objects.filter(pk=offer.entry_id).values_list("patient_id", flat=True).first()
        User.objects.select_for_update().filter(pk=entry_patient_id).first()
        WaitlistEntry.objects.select_for_update().filter(pk=offer.entry_id).first()
        row = SlotOffer.objects.select_for_update(of=("self",)).select_related("entry__patient").get(pk=offer.pk)
        problem = offer_refusal(row, user=patient, now=now)
        if problem:
            raise (Conflict if rules.speaks_for(user=patient, patient=row.entry.patient) else PermissionDenied)(problem)
        _close_offer(row, status=OfferStatus.DECLINED, now=now, actor=patient)
        return row


# --- check-in and the waiting-room queue -----------------------------------------------------------
#
# Lock order: the appointment row (booking's order: … → appointments), then check-in rows. A queue
# number is max + 1 of the facility's day, inserted under a savepoint: two desks checking in at once
# at one facility collide on the unique (facility, day, number) index, and the loser takes the next.

#: how often a check-in retries its queue number after losing it to another desk
NUMBER_ATTEMPTS = 10


def _may_run_queue(check_in: CheckIn, *, user) -> bool:
    """Who moves a patient through the waiting room: the visit's doctor, the front desk, clinic admins."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser or user.role in {Role.ADMIN, Role.STAFF}:
        return True
    return user.role == Role.DOCTOR and check_in.doctor.user_id == user.pk


def queue_refusal(check_in: CheckIn, *, user, transition: str) -> str | None:
    """Why ``user`` may not take ``transition`` ("call", "start_consultation", "finish") on
    ``check_in`` now, or None when they may."""
    if not _may_run_queue(check_in, user=user):
        return _("Only the visit's doctor or the front desk can do this.")
    wanted = {
        "call": QueueStatus.ARRIVED,
        "start_consultation": QueueStatus.CALLED,
        "finish": QueueStatus.IN_CONSULTATION,
    }
    if check_in.status != wanted[transition]:
        return _("This is not possible while the patient is “%(status)s”.") % {"status": check_in.get_status_display()}
    return None


@retry_transaction
def check_in_arrive(*, appointment: Appointment, actor: User, now: dt.datetime | None = None) -> CheckIn:
    """The front desk checks the patient of ``appointment`` in: the visit gets the next queue number of
    its facility today and waits to be called. Only what ``booking.rules`` allows (``Action.CHECK_IN``:
    in person, paid or confirmed, today); a second check-in of one visit is refused. Arriving after the
    start time records the minutes late."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("doctor__user", "slot__availability__facility", "slot__availability__room")
            .filter(pk=appointment.pk)
            .first()
        )
        if row is None:
            raise NotFound(_("Appointment not found."))
        rules.require(Action.CHECK_IN, appointment=row, user=actor, now=now)
        _refuse_second_check_in(row)
        facility = row.facility
        if facility is None:
            raise Conflict(_("This visit has no facility to check in at."))
        day = rules.clinic_day(now)
        late = max(0, math.ceil((now - row.starts_at).total_seconds() / 60))
        for _attempt in range(NUMBER_ATTEMPTS):
            last = CheckIn.objects.filter(facility=facility, day=day).aggregate(last=Max("number"))["last"]
            try:
                with transaction.atomic():
                    check_in = CheckIn.objects.create(
                        appointment=row,
                        doctor_id=row.doctor_id,
                        facility=facility,
                        room=row.room,
                        day=day,
                        number=(last or 0) + 1,
                        checked_in_at=now,
                        checked_in_by=actor,
                        minutes_late=late,
                    )
                break
            except IntegrityError:
                _refuse_second_check_in(row)  # else another desk took this number: take the next
        else:
            raise Conflict(_("The desk is busy; please try again."))
        audit_log(
            actor=actor,
            action="operations.check_in.arrived",
            obj=check_in,
            data={"appointment": row.pk, "number": check_in.number, "minutes_late": late},
        )
        return check_in


def _refuse_second_check_in(appointment: Appointment) -> None:
    done = CheckIn.objects.filter(appointment=appointment).first()
    if done is not None:
        raise Conflict(
            _("%(name)s is already checked in (number %(number)s).")
            % {"name": appointment.patient_name, "number": done.number}
        )


def _move(*, check_in: CheckIn, actor: User, transition: str, now: dt.datetime) -> CheckIn:
    row = CheckIn.objects.select_for_update(of=("self",)).select_related("doctor").get(pk=check_in.pk)
    problem = queue_refusal(row, user=actor, transition=transition)
    if problem:
        raise (PermissionDenied if not _may_run_queue(row, user=actor) else Conflict)(problem)
    getattr(row, transition)(by=actor)
    fields = ["status"]
    if transition == "call":
        row.called_at, row.called_by = now, actor
        fields += ["called_at", "called_by"]
    elif transition == "start_consultation":
        row.consultation_started_at = now
        fields.append("consultation_started_at")
    else:
        row.done_at = now
        fields.append("done_at")
    row.save(update_fields=fields)
    audit_log(actor=actor, action=f"operations.check_in.{row.status}", obj=row, data={"number": row.number})
    return row


@retry_transaction
def check_in_call(*, check_in: CheckIn, actor: User, now: dt.datetime | None = None) -> CheckIn:
    """Call a waiting patient into their doctor's room (the queue board shows it)."""
    with transaction.atomic():
        return _move(check_in=check_in, actor=actor, transition="call", now=now or timezone.now())


@retry_transaction
def check_in_start(*, check_in: CheckIn, actor: User, now: dt.datetime | None = None) -> CheckIn:
    """The called patient came in: the consultation begins."""
    with transaction.atomic():
        return _move(check_in=check_in, actor=actor, transition="start_consultation", now=now or timezone.now())


@retry_transaction
def check_in_finish(*, check_in: CheckIn, actor: User, now: dt.datetime | None = None) -> CheckIn:
    """The patient left the room: their way through the waiting room is done."""
    with transaction.atomic():
        return _move(check_in=check_in, actor=actor, transition="finish", now=now or timezone.now())


def queue_next_q(*, doctor, now: dt.datetime) -> Q:
    """The doctor's patients waiting today (a ``Q`` on CheckIn)."""
    return Q(doctor=doctor, day=rules.clinic_day(now), status=QueueStatus.ARRIVED)


#: who is called next among those waiting: the earliest booked time, then the earlier arrival
NEXT_ORDER = ("appointment__starts_at", "number")


@retry_transaction
def queue_call_next(*, doctor: Doctor, actor: User, now: dt.datetime | None = None) -> CheckIn:
    """ "Call next": the doctor's next waiting patient today (earliest booked time first, then arrival
    order) is called into the room. Two presses at once call two different patients: a row being
    called by another press is skipped (``SKIP LOCKED`` on PostgreSQL; SQLite runs one at a time)."""
    now = now or timezone.now()
    allowed = (
        actor is not None
        and actor.is_active
        and (actor.is_superuser or actor.role in {Role.ADMIN, Role.STAFF} or doctor.user_id == actor.pk)
    )
    if not allowed:
        raise PermissionDenied(_("Only the doctor or the front desk can call the next patient."))
    with transaction.atomic():
        row = (
            CheckIn.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(queue_next_q(doctor=doctor, now=now))
            .order_by(*NEXT_ORDER)
            .first()
        )
        if row is None:
            raise Conflict(_("Nobody is waiting for %(doctor)s.") % {"doctor": doctor})
        return _move(check_in=row, actor=actor, transition="call", now=now)


def _require_front_desk(actor) -> None:
    if actor is None or not actor.is_active or not (actor.is_superuser or actor.role in {Role.ADMIN, Role.STAFF}):
        raise PermissionDenied(_("Only clinic staff manage queue boards."))


@retry_transaction
def queue_board_renew(*, facility, actor: User, now: dt.datetime | None = None) -> QueueBoard:
    """The facility's queue board link: created, or replaced by a new one (the old link stops at once)."""
    _require_front_desk(actor)
    now = now or timezone.now()
    with transaction.atomic():
        board = QueueBoard.objects.select_for_update().filter(facility=facility).first()
        token = secrets.token_urlsafe(32)
        if board is None:
            board = QueueBoard.objects.create(facility=facility, token=token)
            audit_log(actor=actor, action="operations.queue_board.created", obj=board, data={"facility": facility.pk})
        else:
            board.token, board.rotated_at = token, now
            board.save(update_fields=["token", "rotated_at"])
            audit_log(actor=actor, action="operations.queue_board.renewed", obj=board, data={"facility": facility.pk})
        return board
