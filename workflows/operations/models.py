"""Clinic operations: private calendar feeds of a person's visits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from booking.models import Appointment
from core.dates import day_month_text


class CalendarFeed(models.Model):
    """A private iCalendar subscription of one person's visits (as doctor and as patient).

    The URL is ``/calendar/<key>/<token>.ics``: ``key`` is random and finds the row; ``token`` is an
    HMAC of the key under the site's secret (``workflows.operations.selectors.feed_token``), compared
    in constant time. The database alone therefore cannot rebuild a working link, yet the owner can be
    shown their link again. A new link revokes the old one (``revoked_at``); revoked rows are kept
    for the audit trail and answer 404.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds", verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=64, unique=True, editable=False)
    with_names = models.BooleanField(
        _("show names"),
        default=False,
        help_text=_("Show the other person's name in each event (off: only “Medbook visit”)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_fetched_at = models.DateTimeField(_("last fetched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendarfeed_one_active_per_user"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Calendar feed of %(user)s") % {"user": self.user})

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Moderation(models.TextChoices):
    NONE = "none", _("No comment")
    PENDING = "pending", _("Waiting for moderation")
    APPROVED = "approved", _("Published")
    REJECTED = "rejected", _("Not published")


class VisitRating(models.Model):
    """A patient's rating of one completed visit: created when the patient is invited (once per visit,
    the one-to-one key says so), filled in when they rate (1–5, an optional comment). A comment is shown
    publicly only after staff approve it; the score counts towards the doctor's average at once."""

    appointment = models.OneToOneField(
        "booking.Appointment", on_delete=models.PROTECT, related_name="rating", verbose_name=_("appointment")
    )
    doctor = models.ForeignKey(
        "booking.Doctor", on_delete=models.PROTECT, related_name="ratings", verbose_name=_("doctor")
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visit_ratings", verbose_name=_("patient")
    )
    invited_at = models.DateTimeField(_("invited at"))
    score = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    moderation = models.CharField(
        _("moderation"), max_length=16, choices=Moderation.choices, default=Moderation.NONE, db_index=True
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit rating")
        verbose_name_plural = _("visit ratings")
        ordering = ["-rated_at", "-invited_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="visitrating_score_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True, rated_at__isnull=True) | Q(score__isnull=False, rated_at__isnull=False),
                name="visitrating_rated_has_score_and_time",
            ),
            # a comment waits for moderation; a rating without one has nothing to moderate
            models.CheckConstraint(
                condition=Q(comment="", moderation="none") | (~Q(comment="") & ~Q(moderation="none")),
                name="visitrating_comment_is_moderated",
            ),
        ]
        indexes = [models.Index(fields=["doctor", "rated_at"], name="visitrating_doctor_rated")]

    def __str__(self) -> str:
        return str(_("Rating of visit #%(number)s") % {"number": self.appointment_id})

    @property
    def is_rated(self) -> bool:
        return self.score is not None


class PartOfDay(models.TextChoices):
    ANY = "any", _("Any time")
    MORNING = "morning", _("Morning (before 12:00)")
    AFTERNOON = "afternoon", _("Afternoon (12:00–17:00)")
    EVENING = "evening", _("Evening (from 17:00)")


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Booked from the waitlist")
    LEFT = "left", _("Left the waitlist")


class WaitlistMode(models.TextChoices):
    EITHER = "either", _("In person or video")
    IN_PERSON = "in_person", _("In person")
    VIDEO = "video", _("Video")


class WaitlistEntry(models.Model):
    """A patient waiting for a time with one doctor between two dates (the doctor's local dates), in a
    part of the day. Served first come, first served (``created_at``, then ``id``)."""

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries", verbose_name=_("patient")
    )
    doctor = models.ForeignKey(
        "booking.Doctor", on_delete=models.CASCADE, related_name="waitlist_entries", verbose_name=_("doctor")
    )
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("until"))
    part_of_day = models.CharField(_("part of day"), max_length=16, choices=PartOfDay.choices, default=PartOfDay.ANY)
    mode = models.CharField(_("visit"), max_length=16, choices=WaitlistMode.choices, default=WaitlistMode.EITHER)
    status = models.CharField(
        _("status"), max_length=16, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING, db_index=True
    )
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(date_from__lte=models.F("date_to")), name="waitlist_dates_ordered"),
            models.UniqueConstraint(
                fields=["patient", "doctor"], condition=Q(status="waiting"), name="waitlist_one_waiting_per_doctor"
            ),
        ]
        indexes = [models.Index(fields=["doctor", "status", "created_at"], name="waitlist_doctor_queue")]

    def __str__(self) -> str:
        return str(_("%(patient)s waiting for %(doctor)s") % {"patient": self.patient, "doctor": self.doctor})


class OfferStatus(models.TextChoices):
    OPEN = "open", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Not answered in time")


class SlotOffer(models.Model):
    """A freed slot offered to one waiting patient, held for them until ``expires_at``. At most one open
    offer per slot and one per waitlist entry (partial unique constraints): two workers refilling the
    same slot cannot both offer it."""

    slot = models.ForeignKey("booking.Slot", on_delete=models.CASCADE, related_name="offers", verbose_name=_("slot"))
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers", verbose_name=_("entry"))
    status = models.CharField(
        _("status"), max_length=16, choices=OfferStatus.choices, default=OfferStatus.OPEN, db_index=True
    )
    offered_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("held until"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    appointment = models.ForeignKey(
        "booking.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("appointment"),
    )

    class Meta:
        verbose_name = _("slot offer")
        verbose_name_plural = _("slot offers")
        ordering = ["-offered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["slot"], condition=Q(status="open"), name="slotoffer_one_open_per_slot"),
            models.UniqueConstraint(fields=["entry"], condition=Q(status="open"), name="slotoffer_one_open_per_entry"),
            # a slot is offered to a waiting patient once: a decline or a timeout passes it on for good
            models.UniqueConstraint(fields=["slot", "entry"], name="slotoffer_once_per_slot_and_entry"),
            models.CheckConstraint(condition=Q(offered_at__lt=models.F("expires_at")), name="slotoffer_expires_later"),
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="open"), name="slotoffer_open_expiry")]

    def __str__(self) -> str:
        return str(_("Offer of %(slot)s") % {"slot": self.slot})


# --- check-in and the waiting-room queue -------------------------------------------------------------


class Arrival(Appointment):
    """Today's in-person visits as the front desk sees them: the admin's "Check in" list (a proxy of
    ``booking.Appointment``; nothing is stored)."""

    class Meta:
        proxy = True
        verbose_name = _("arrival")
        verbose_name_plural = _("check in")


class QueueStatus(models.TextChoices):
    ARRIVED = "arrived", _("Waiting")
    CALLED = "called", _("Called")
    IN_CONSULTATION = "in_consultation", _("In consultation")
    DONE = "done", _("Done")


Q_ = QueueStatus


class CheckIn(ConcurrentTransitionMixin, models.Model):
    """A patient's arrival at a facility for one in-person visit, and their way through the waiting
    room: *arrived → called → in consultation → done*. Separate from the booking's status (a check-in
    neither confirms nor completes the appointment).

    The queue number counts per facility and day (the clinic's local date) from 1; the database keeps
    it unique (``checkin_unique_number``) and keeps one check-in per appointment. Transitions only
    check the state; ``workflows.operations.services`` calls them, saves, and audits (django-fsm-log
    writes who and when).
    """

    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="check_in", verbose_name=_("appointment")
    )
    doctor = models.ForeignKey(
        "booking.Doctor", on_delete=models.PROTECT, related_name="check_ins", verbose_name=_("doctor")
    )
    facility = models.ForeignKey(
        "booking.Facility", on_delete=models.PROTECT, related_name="check_ins", verbose_name=_("facility")
    )
    room = models.ForeignKey(
        "booking.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("room")
    )
    day = models.DateField(_("day"))
    number = models.PositiveIntegerField(_("queue number"))
    status = FSMField(_("status"), default=Q_.ARRIVED, choices=Q_.choices, protected=True, db_index=True)
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("checked in by"),
    )
    minutes_late = models.PositiveIntegerField(
        _("minutes late"), default=0, help_text=_("Checked in this many minutes after the visit's start time.")
    )
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("called by"),
    )
    consultation_started_at = models.DateTimeField(_("consultation started at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("queue")
        ordering = ["day", "number"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "day", "number"], name="checkin_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="checkin_number_positive"),
            models.CheckConstraint(
                condition=Q(status="arrived") | Q(called_at__isnull=False), name="checkin_called_has_time"
            ),
        ]
        indexes = [models.Index(fields=["doctor", "day", "status"], name="checkin_doctor_day")]

    def __str__(self) -> str:
        return str(_("No. %(number)s · %(day)s") % {"number": self.number, "day": day_month_text(self.day)})

    @property
    def is_late(self) -> bool:
        return self.minutes_late > 0

    @property
    def initials(self) -> str:
        """What the queue board shows of the patient: the first letter of each part of their name."""
        words = f"{self.appointment.last_name} {self.appointment.first_name}".split()
        return ".".join(word[0].upper() for word in words if word) + ("." if words else "")

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=Q_.ARRIVED, target=Q_.CALLED)
    def call(self, *, by=None, description=None):
        """The doctor (or the front desk) calls the patient into the room."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=Q_.CALLED, target=Q_.IN_CONSULTATION)
    def start_consultation(self, *, by=None, description=None):
        """The patient came in; the consultation begins."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=Q_.IN_CONSULTATION, target=Q_.DONE)
    def finish(self, *, by=None, description=None):
        """The patient left the room."""


class QueueBoard(models.Model):
    """The waiting-room screen of one facility: a page without login at ``/board/<token>/`` (a long
    random token; staff make a new one when the old link got out, which stops it at once)."""

    facility = models.OneToOneField(
        "booking.Facility", on_delete=models.CASCADE, related_name="queue_board", verbose_name=_("facility")
    )
    token = models.CharField(_("token"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rotated_at = models.DateTimeField(_("new link made at"), null=True, blank=True)

    class Meta:
        verbose_name = _("queue board")
        verbose_name_plural = _("queue boards")
        ordering = ["facility__name"]

    def __str__(self) -> str:
        return str(_("Queue board of %(facility)s") % {"facility": self.facility.name})
