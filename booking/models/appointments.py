"""Appointments and their state machine, payments, refunds, vouchers and idempotency records.

Transitions only check guards and change ``status``; ``booking.services.appointments`` calls them
inside one transaction, saves, audits and writes outbox rows.
"""

from __future__ import annotations

import functools
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from booking.models.scheduling import AppointmentMode, AppointmentType, Doctor, Slot


class AppointmentStatus(models.TextChoices):
    PENDING_PATIENT_CONFIRMATION = "pending_patient_confirmation", _("Follow-up suggested")
    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    PENDING = "pending", _("Awaiting doctor's confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")
    EXPIRED = "expired", _("Expired")


S = AppointmentStatus
#: statuses in which an appointment occupies its slot (one per slot, enforced by a partial unique index)
SLOT_OCCUPYING = (S.PENDING_PAYMENT, S.PENDING, S.CONFIRMED, S.COMPLETED, S.NO_SHOW)
#: statuses a patient still "has" (upcoming, counted for the two-holds limit etc.)
OPEN_STATUSES = (S.PENDING_PAYMENT, S.PENDING, S.CONFIRMED)
#: the most visits one series books in one step (half a year of weekly visits)
MAX_SERIES_VISITS = 26


class CancelledBy(models.TextChoices):
    PATIENT = "patient", _("Patient")
    DOCTOR = "doctor", _("Doctor")
    STAFF = "staff", _("Staff")
    ADMIN = "admin", _("Admin")
    SYSTEM = "system", _("System")


def money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class AppointmentSeries(models.Model):
    """Visits booked together in one step (weekly physiotherapy, 8 sessions): each visit is an
    ``Appointment`` of its own (moved or cancelled on its own, or "this and following"); the series
    only groups them and says who booked it and how it was meant to repeat."""

    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="series", verbose_name=_("doctor"))
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointment_series", verbose_name=_("patient")
    )
    interval_weeks = models.PositiveSmallIntegerField(
        _("every (weeks)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    planned_count = models.PositiveSmallIntegerField(
        _("visits planned"), validators=[MinValueValidator(2), MaxValueValidator(MAX_SERIES_VISITS)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("booked by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("appointment series")
        verbose_name_plural = _("appointment series")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_weeks__gte=1) & Q(interval_weeks__lte=4), name="series_interval_range"
            ),
            models.CheckConstraint(
                condition=Q(planned_count__gte=2) & Q(planned_count__lte=MAX_SERIES_VISITS), name="series_count_range"
            ),
        ]

    def __str__(self) -> str:
        return _("Series #%(number)s (%(count)s visits)") % {"number": self.pk, "count": self.planned_count}


@functools.cache
def _state_fields(model) -> tuple:
    from django_fsm import FSMFieldMixin

    return tuple(field for field in model._meta.fields if isinstance(field, FSMFieldMixin))


class Appointment(ConcurrentTransitionMixin, models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    # doctor, patient and status: indexed first in the Meta indexes (``appt_doctor_start_idx``,
    # ``appt_patient_start_idx``, ``appt_status_start_idx``), not each again on its own (every booking
    # writes every index of this table)
    doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("doctor"), db_index=False
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("patient"),
        db_index=False,
    )
    # who made the booking when it was not the patient: the account holder for a dependant (a child, an
    # elderly parent), or the clinic's staff; history of who booked, not who may see it (booking.rules)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("booked by"),
    )
    # indexed with its status (``appt_slot_status_idx``): utilisation asks of every slot whether it is booked
    slot = models.ForeignKey(
        Slot,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
        verbose_name=_("slot"),
        db_index=False,
    )
    appointment_type = models.ForeignKey(
        AppointmentType, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("appointment type")
    )
    # a copy of the slot's times: history survives the slot being regenerated or deleted
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    mode = models.CharField(_("mode"), max_length=16, choices=AppointmentMode.choices, default=AppointmentMode.VIDEO)
    reason = models.TextField(_("reason for visit"), blank=True, max_length=2000)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    phone = models.CharField(_("phone"), max_length=32)
    national_id = models.CharField(_("national ID"), max_length=32, blank=True)
    email = models.EmailField(_("email"))

    status = FSMField(_("status"), default=S.PENDING_PAYMENT, choices=S.choices, protected=True)
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)

    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, default=Decimal("0"))
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    voucher = models.ForeignKey(
        "booking.Voucher",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("voucher"),
    )

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    cancelled_by = models.CharField(_("cancelled by"), max_length=16, choices=CancelledBy.choices, blank=True)
    cancelled_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("cancelled by user"),
    )
    cancellation_reason = models.TextField(_("cancellation reason"), blank=True, max_length=1000)
    cancelled_late = models.BooleanField(_("late cancellation"), default=False)

    video_channel = models.CharField(_("video channel"), max_length=64, blank=True)
    video_token = models.TextField(_("last video token"), blank=True)

    # follow-up (seed 001)
    is_follow_up_suggestion = models.BooleanField(_("follow-up suggestion"), default=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups", verbose_name=_("parent")
    )
    suggested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("suggested by"),
    )
    suggested_date = models.DateField(_("suggested date"), null=True, blank=True)
    suggested_time = models.TimeField(_("suggested time"), null=True, blank=True)
    follow_up_discount_percent = models.DecimalField(
        _("follow-up discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    follow_up_notes = models.TextField(_("follow-up notes"), blank=True, max_length=2000)
    # a visit booked as part of a series (issue 17 item 4)
    series = models.ForeignKey(
        AppointmentSeries,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("series"),
    )

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status__in=[s.value for s in SLOT_OCCUPYING]),
                name="appointment_one_active_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(starts_at__lt=F("ends_at")), name="appointment_times_ordered"
            ),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=F("price")), name="appointment_discount_within_price"
            ),
            models.CheckConstraint(
                condition=~Q(status="pending_payment") | Q(hold_expires_at__isnull=False),
                name="appointment_hold_has_expiry",
            ),
            # one open follow-up suggestion per visit (a double submit cannot suggest twice)
            models.UniqueConstraint(
                fields=["parent"],
                condition=Q(status="pending_patient_confirmation"),
                name="appointment_one_open_follow_up_per_visit",
            ),
        ]
        indexes = [
            models.Index(fields=["doctor", "starts_at"], name="appt_doctor_start_idx"),
            models.Index(fields=["patient", "starts_at"], name="appt_patient_start_idx"),
            models.Index(fields=["status", "starts_at"], name="appt_status_start_idx"),
            # the admin list's order (newest first, then id): its pages read the index, not a sort of every row
            models.Index(fields=["starts_at", "id"], name="appt_start_id_idx"),
            models.Index(
                fields=["hold_expires_at"], condition=Q(status="pending_payment"), name="appt_hold_expiry_idx"
            ),
            # a patient's live holds (every booking counts them): read without visiting their other visits
            models.Index(
                fields=["patient", "hold_expires_at"],
                condition=Q(status="pending_payment"),
                name="appt_patient_hold_idx",
            ),
            # the dashboards' cancellation and follow-up rates read the appointments made in a period:
            # every column they count is in the index, so the read never visits the table
            models.Index(
                fields=["created_at", "status", "is_follow_up_suggestion", "cancelled_late", "starts_at"],
                name="appt_created_cover_idx",
            ),
            # a slot's appointments by status without visiting the table (also the slot foreign key's index)
            models.Index(fields=["slot", "status"], name="appt_slot_status_idx"),
        ]

    def __str__(self) -> str:
        # Short: it is the last crumb of the admin's breadcrumbs, beside the page's buttons. The
        # number is the one the admin's lists and activity use; the time is on the page itself.
        return " · ".join(part for part in (f"#{self.pk}", self.patient_name) if part)

    # --- row-local helpers -------------------------------------------------------------------
    @property
    def state_fields(self):
        """django-fsm's state fields of this model (``status``): found once per process, not by testing
        every field each time an appointment is made or read (``ConcurrentTransitionMixin``)."""
        return _state_fields(type(self))

    @property
    def amount_due(self) -> Decimal:
        return money(self.price - self.discount)

    # Where an in-person visit happens is its slot's place (select_related
    # "slot__availability__facility", "slot__availability__room" when reading many); video visits and
    # visits without a slot have none.
    @property
    def facility(self):
        if self.mode != "in_person" or self.slot_id is None:
            return None
        return self.slot.availability.facility

    @property
    def room(self):
        if self.mode != "in_person" or self.slot_id is None:
            return None
        return self.slot.availability.room

    @property
    def booking_code(self) -> str:
        """The short code a patient shows at the front desk (also as a QR code): the first eight hex
        digits of ``public_id``, upper case. A search key for today's visits, not an identifier."""
        return self.public_id.hex[:8].upper()

    @property
    def patient_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()

    def hold_is_live(self, now) -> bool:
        return self.status == S.PENDING_PAYMENT and self.hold_expires_at is not None and self.hold_expires_at > now

    def has_started(self, now) -> bool:
        return self.starts_at is not None and self.starts_at <= now

    # --- transitions (guards and state only) ---------------------------------------------------
    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.PENDING_PAYMENT, target=S.CONFIRMED)
    def confirm_paid(self, *, by=None, description=None):
        """Paid, and the doctor confirms automatically."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.PENDING_PAYMENT, target=S.PENDING)
    def await_doctor(self, *, by=None, description=None):
        """Paid; the doctor reviews the request."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.PENDING, target=S.CONFIRMED)
    def confirm(self, *, by=None, description=None):
        """The doctor (or staff, or an admin forcing it) confirms."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.PENDING, target=S.CANCELLED)
    def decline(self, *, by=None, description=None):
        """The doctor declines a paid request (the payment is refunded)."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.PENDING_PAYMENT, target=S.EXPIRED)
    def expire(self, *, by=None, description=None):
        """The hold lapsed unpaid, or the payment failed."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=[S.PENDING_PAYMENT, S.PENDING, S.CONFIRMED], target=S.CANCELLED)
    def cancel(self, *, by=None, description=None):
        """Cancelled by the patient, the doctor, staff or an admin."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.CONFIRMED, target=S.COMPLETED)
    def complete(self, *, by=None, description=None):
        """The visit took place."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.CONFIRMED, target=S.NO_SHOW)
    def mark_no_show(self, *, by=None, description=None):
        """The patient did not come (only after the start time; checked by the service)."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.EXPIRED, target=S.CONFIRMED)
    def reinstate_confirmed(self, *, by=None, description=None):
        """A payment arrived after the hold lapsed and the slot was still free (auto-confirming doctor)."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.EXPIRED, target=S.PENDING)
    def reinstate_pending(self, *, by=None, description=None):
        """A payment arrived after the hold lapsed and the slot was still free (doctor reviews)."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.PENDING_PATIENT_CONFIRMATION, target=S.PENDING_PAYMENT)
    def accept_follow_up(self, *, by=None, description=None):
        """The patient accepted a suggested follow-up and picked its slot."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=S.PENDING_PATIENT_CONFIRMATION, target=S.CANCELLED)
    def reject_follow_up(self, *, by=None, description=None):
        """The patient rejected a suggested follow-up."""


class Voucher(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        FIXED = "fixed", _("Fixed amount off")

    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.PERCENT)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(_("maximum uses"), null=True, blank=True)
    used_count = models.PositiveIntegerField(_("times used"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="voucher_percent_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(used_count__lte=F("max_uses")), name="voucher_within_max_uses"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def discount_for(self, amount: Decimal) -> Decimal:
        if self.kind == self.Kind.PERCENT:
            return min(amount, money(amount * self.value / 100))
        return min(amount, money(self.value))


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    REFUNDED = "refunded", _("Refunded")


class Payment(models.Model):
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="payments", verbose_name=_("appointment")
    )
    gateway = models.CharField(_("gateway"), max_length=16)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    provider_reference = models.CharField(_("provider reference"), max_length=255, blank=True, db_index=True)
    provider_payment_intent = models.CharField(max_length=255, blank=True, verbose_name=_("provider payment intent"))
    checkout_url = models.CharField(_("checkout URL"), max_length=1000, blank=True)
    refunded_amount = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    failure_reason = models.CharField(max_length=255, blank=True, verbose_name=_("failure reason"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(refunded_amount__lte=F("amount")), name="payment_refund_within_amount"),
            # one successful payment per appointment: a second success is refunded, not recorded twice
            models.UniqueConstraint(
                fields=["appointment"], condition=Q(status="succeeded"), name="payment_one_success_per_appointment"
            ),
        ]
        # the dashboard's revenue reads the payments received in a period
        indexes = [models.Index(fields=["paid_at"], name="payment_paid_idx")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.amount} {self.currency} ({self.get_status_display()})"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Queued")
    SENDING = "sending", _("Sending to the gateway")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed (needs attention)")


class Refund(models.Model):
    """Money owed back to a patient. Written in the transaction that decides it (cancel, decline, a
    late or duplicate payment); sent to the gateway afterwards by the worker
    (``booking.services.refund_deliver``), with retries and the row's id as the idempotency key."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=255)
    status = models.CharField(
        _("status"), max_length=12, choices=RefundStatus.choices, default=RefundStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    provider_reference = models.CharField(_("provider reference"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="refund_due_idx",
            ),
            # the dashboard's revenue reads the refunds made in a period
            models.Index(fields=["created_at"], name="refund_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.reason})"

    @property
    def idempotency_key(self) -> str:
        """Sent to the gateway with every attempt: a retry can never refund twice."""
        return f"medbook-refund-{self.pk}"


class PaymentEvent(models.Model):
    """A gateway callback, stored once per provider event id: replays are recognised and ignored."""

    gateway = models.CharField(max_length=16, verbose_name=_("gateway"))
    event_id = models.CharField(max_length=255, verbose_name=_("event id"))
    event_type = models.CharField(max_length=100, verbose_name=_("event type"))
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="paymentevent_unique_event")]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.event_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an ``Idempotency-Key``; a retry gets the same answer."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    scope = models.CharField(max_length=100, verbose_name=_("scope"))
    request_fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    response_status = models.PositiveSmallIntegerField(verbose_name=_("response status"))
    response_body = models.JSONField(default=dict, verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique_key"),
        ]
