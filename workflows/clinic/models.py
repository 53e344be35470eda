"""The clinic's back office: doctor applications, doctor subscriptions, support tickets, reminder times.

Transitions only check the source state and change ``status``; ``workflows.clinic.services`` calls them
inside one transaction, saves with ``update_fields``, audits and writes outbox rows.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from booking.models import Doctor, Specialty
from core.models import AuditLog

# --- doctor onboarding ----------------------------------------------------------------------------


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ApplicationSource(models.TextChoices):
    PUBLIC_FORM = "public", _("Public form")
    ADMIN = "admin", _("Entered by the clinic")


class DoctorApplication(models.Model):
    """A doctor asking to join the clinic. Approval creates their account and Doctor record."""

    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=32)
    specialties = models.ManyToManyField(
        Specialty, related_name="applications", verbose_name=_("specialties"), blank=True
    )
    bio = models.TextField(_("about you"), blank=True, max_length=4000)
    licence_number = models.CharField(_("practising licence number"), max_length=64)
    years_of_experience = models.PositiveSmallIntegerField(
        _("years of experience"), default=0, validators=[MaxValueValidator(70)]
    )
    source = models.CharField(
        _("source"), max_length=8, choices=ApplicationSource.choices, default=ApplicationSource.PUBLIC_FORM
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("submitted by"),
    )

    status = FSMField(
        _("status"), default=ApplicationStatus.SUBMITTED, choices=ApplicationStatus.choices, protected=True
    )
    rejection_reason = models.TextField(_("reason for rejection"), blank=True, max_length=2000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="doctor_applications",
        verbose_name=_("account"),
    )
    doctor = models.OneToOneField(
        Doctor, null=True, blank=True, on_delete=models.SET_NULL, related_name="application", verbose_name=_("doctor")
    )
    #: when the set-your-password invitation (approval) or the rejection email went out
    invitation_sent_at = models.DateTimeField(_("invitation sent at"), null=True, blank=True)
    decision_emailed_at = models.DateTimeField(_("decision emailed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("doctor application")
        verbose_name_plural = _("doctor applications")
        ordering = ["-created_at", "-id"]
        constraints = [
            # one open application per address: a second submit is answered, not stored twice
            models.UniqueConstraint(
                fields=["email"], condition=Q(status="submitted"), name="doctorapplication_one_open_per_email"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="doctorapplication_rejection_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="doctorapp_status_created_idx")]

    def __str__(self) -> str:
        return f"{self.last_name} {self.first_name} <{self.email}>".strip()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=ApplicationStatus.SUBMITTED, target=ApplicationStatus.APPROVED)
    def approve(self, *, by=None, description=None):
        """The clinic accepts the doctor (the service creates the account and Doctor record)."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=ApplicationStatus.SUBMITTED, target=ApplicationStatus.REJECTED)
    def reject(self, *, by=None, description=None):
        """The clinic declines, with a reason the applicant is told."""


# --- subscriptions --------------------------------------------------------------------------------


class SubscriptionPlan(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(
        _("price per period"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    period_months = models.PositiveSmallIntegerField(
        _("period (months)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(36)]
    )
    is_active = models.BooleanField(_("offered"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("subscription plan")
        verbose_name_plural = _("subscription plans")
        ordering = ["price", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="subscriptionplan_price_not_negative"),
            models.CheckConstraint(
                condition=Q(period_months__gte=1) & Q(period_months__lte=36), name="subscriptionplan_period_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.price == 0


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    OVERDUE = "overdue", _("Overdue")
    CANCELLED = "cancelled", _("Cancelled")


class DoctorSubscription(models.Model):
    """A doctor's subscription: the plan, the paid period and a credit of recorded payments.

    On ``current_period_end`` the sweep renews it from the credit (or for free on a free plan) or marks
    it overdue; an overdue doctor cannot be booked while ``SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING`` is on.
    """

    doctor = models.OneToOneField(
        Doctor, on_delete=models.CASCADE, related_name="subscription", verbose_name=_("doctor")
    )
    plan = models.ForeignKey(
        SubscriptionPlan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan")
    )
    status = FSMField(
        _("status"), default=SubscriptionStatus.ACTIVE, choices=SubscriptionStatus.choices, protected=True
    )
    #: periods are counted in calendar months from this moment (31 Jan → 28 Feb → 31 Mar, no drift)
    billing_anchor = models.DateTimeField(_("billing anchor"))
    current_period_start = models.DateTimeField(_("current period start"))
    current_period_end = models.DateTimeField(_("renewal date"))
    credit = models.DecimalField(
        _("credit"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Recorded payments not yet used by a renewal."),
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("doctor subscription")
        verbose_name_plural = _("doctor subscriptions")
        ordering = ["current_period_end", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_start__lt=F("current_period_end")), name="subscription_period_ordered"
            ),
            models.CheckConstraint(condition=Q(credit__gte=0), name="subscription_credit_not_negative"),
        ]
        indexes = [
            # the sweep's question: which active subscriptions reached their renewal date
            models.Index(fields=["status", "current_period_end"], name="subscription_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} · {self.plan}"

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=[SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE], target="active")
    def renew(self, *, by=None, description=None):
        """A new period starts (paid from the credit, or free)."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=SubscriptionStatus.ACTIVE, target=SubscriptionStatus.OVERDUE)
    def mark_overdue(self, *, by=None, description=None):
        """The renewal date passed unpaid."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=[SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE], target="cancelled")
    def cancel(self, *, by=None, description=None):
        """The clinic ends the subscription."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=SubscriptionStatus.CANCELLED, target=SubscriptionStatus.ACTIVE)
    def resume(self, *, by=None, description=None):
        """A cancelled subscription starts again with a new period."""


class SubscriptionEventKind(models.TextChoices):
    STARTED = "started", _("Started")
    RENEWED = "renewed", _("Renewed")
    OVERDUE = "overdue", _("Marked overdue")
    PAYMENT_RECORDED = "payment_recorded", _("Payment recorded")
    PLAN_CHANGED = "plan_changed", _("Plan changed")
    CANCELLED = "cancelled", _("Cancelled")
    RESUMED = "resumed", _("Resumed")


class SubscriptionEvent(models.Model):
    """The history of a subscription, one row per thing that happened to it."""

    subscription = models.ForeignKey(
        DoctorSubscription, on_delete=models.CASCADE, related_name="events", verbose_name=_("subscription")
    )
    kind = models.CharField(_("what happened"), max_length=20, choices=SubscriptionEventKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    period_start = models.DateTimeField(_("period start"), null=True, blank=True)
    period_end = models.DateTimeField(_("period end"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription history")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d}"


class ChargeStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed or cancelled")


class SubscriptionCharge(models.Model):
    """A doctor paying their subscription online ("Pay now"): a checkout at a payment gateway for the
    next period. The gateway's verified webhook credits and renews the subscription once
    (``workflows.clinic.services.subscription_charge_apply``)."""

    subscription = models.ForeignKey(
        DoctorSubscription, on_delete=models.PROTECT, related_name="charges", verbose_name=_("subscription")
    )
    gateway = models.CharField(_("gateway"), max_length=16)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=12, choices=ChargeStatus.choices, default=ChargeStatus.PENDING)
    provider_reference = models.CharField(_("provider reference"), max_length=255, blank=True)
    checkout_url = models.CharField(_("checkout URL"), max_length=1000, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=255, blank=True)
    #: the renewal this charge paid for (its invoice says how it was paid)
    renewal = models.OneToOneField(
        SubscriptionEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="charge",
        verbose_name=_("renewal"),
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscription charge")
        verbose_name_plural = _("subscription charges")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="subscriptioncharge_amount_positive"),
            models.UniqueConstraint(
                fields=["gateway", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="subscriptioncharge_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.amount} {self.currency} ({self.get_status_display()})"


# --- support tickets ------------------------------------------------------------------------------


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting for the patient")
    RESOLVED = "resolved", _("Resolved")


class SupportTicket(models.Model):
    """A patient's question to the clinic, answered by staff in the admin."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_tickets", verbose_name=_("patient")
    )
    subject = models.CharField(_("subject"), max_length=200)
    status = FSMField(_("status"), default=TicketStatus.OPEN, choices=TicketStatus.choices, protected=True)
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last activity"), auto_now=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="ticket_status_updated_idx"),
            models.Index(fields=["patient", "created_at"], name="ticket_patient_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=[TicketStatus.OPEN, TicketStatus.WAITING], target=TicketStatus.WAITING)
    def await_patient(self, *, by=None, description=None):
        """The clinic answered; the ball is with the patient."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=[TicketStatus.WAITING, TicketStatus.RESOLVED], target=TicketStatus.OPEN)
    def reopen(self, *, by=None, description=None):
        """The patient wrote again (or the clinic reopened it)."""

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source=[TicketStatus.OPEN, TicketStatus.WAITING], target=TicketStatus.RESOLVED)
    def resolve(self, *, by=None, description=None):
        """Done."""


class TicketMessage(models.Model):
    ticket = models.ForeignKey(
        SupportTicket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    body = models.TextField(_("message"), max_length=5000)
    is_internal = models.BooleanField(
        _("internal note"), default=False, help_text=_("Seen by the clinic only, never by the patient.")
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketmessage_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.body[:40]}"


# --- settings -------------------------------------------------------------------------------------


def validate_reminder_leads(value: str) -> None:
    try:
        leads = parse_reminder_leads(value)
    except ValueError:
        raise ValidationError(_("Write minutes before the visit separated by commas, e.g. 1440, 60.")) from None
    if any(lead < 5 or lead > 60 * 24 * 14 for lead in leads):
        raise ValidationError(_("Each reminder must be between 5 minutes and 14 days before the visit."))


def parse_reminder_leads(value: str) -> list[int]:
    """ "1440, 60" → [1440, 60]; raises ValueError on anything but whole numbers."""
    return [int(part) for part in (value or "").replace(";", ",").split(",") if part.strip()]


class ReminderSettings(models.Model):
    """When reminders go out (one row, edited in the admin's system settings).

    Empty means the environment's ``REMINDER_LEADS_MINUTES``.
    """

    reminder_leads = models.CharField(
        _("reminder times (minutes before the visit)"),
        max_length=100,
        blank=True,
        validators=[validate_reminder_leads],
        help_text=_("Comma-separated, e.g. 1440, 60 for a day and an hour before. Empty: the server default."),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("reminder times")
        verbose_name_plural = _("reminder times")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="remindersettings_singleton")]

    def __str__(self) -> str:
        return str(_("Reminder times"))


# --- audit views ----------------------------------------------------------------------------------


class MedicalRecordAccessManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(action="accounts.medical_record.viewed")


class MedicalRecordAccess(AuditLog):
    """Audit entries of medical records being read: who viewed which patient's record, where, when."""

    objects = MedicalRecordAccessManager()

    class Meta:
        proxy = True
        verbose_name = _("medical record access")
        verbose_name_plural = _("medical record accesses")
        ordering = ["-created_at", "-id"]
