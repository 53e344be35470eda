"""Writes for the clinic back office: doctor onboarding, patient accounts, subscriptions, support tickets.

Every function runs in one transaction: lock, check, transition, save with ``update_fields``, audit,
outbox. Domain errors are ``core.errors`` subclasses with translated messages; the admin and the
portal show them, never a 500. Emails leave after commit (outbox rows, or a task enqueued on commit
for applicants, who have no account yet).
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from importlib.util import find_spec

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from accounts.models import Role
from accounts.services import patient_profile_update, user_create
from booking.models import Doctor, Specialty, money
from booking.payments import Charge, WebhookEvent, get_gateway, redirect_gateway
from booking.services.doctors import doctor_set_accepts_bookings
from core.audit import audit_log
from core.errors import Conflict, DomainError, NotFound, PermissionDenied
from core.outbox import outbox_add
from core.tasks import enqueue_on_commit
from workflows.clinic.models import (
    ApplicationSource,
    ApplicationStatus,
    ChargeStatus,
    DoctorApplication,
    DoctorSubscription,
    ReminderSettings,
    SubscriptionCharge,
    SubscriptionEvent,
    SubscriptionEventKind,
    SubscriptionPlan,
    SubscriptionStatus,
    SupportTicket,
    TicketMessage,
    TicketStatus,
)
from workflows.clinic.selectors import REMINDER_LEADS_CACHE_KEY

logger = logging.getLogger(__name__)

SUPPORT_REPLY = "support.reply"


class NotAllowedNow(Conflict):
    code = "not_allowed_now"


def _transition(obj, name: str, *, actor, description: str = "") -> None:
    try:
        getattr(obj, name)(
            by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
            description=description or None,
        )
    except TransitionNotAllowed:
        raise NotAllowedNow(
            _("This is not possible while it is “%(status)s”.") % {"status": obj.get_status_display()},
            details={"status": obj.status},
        ) from None


def _is_clinic(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active and user.role in {Role.ADMIN, Role.STAFF}


def _require_admin(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active or not actor.is_superuser:
        raise PermissionDenied(_("Only clinic admins can do this."))


def _on_commit_task(func: str, *args) -> None:
    """Enqueue a django-q2 task once the transaction commits; a broker problem is logged, never undoes
    the change (the admin can send again)."""

    def enqueue():
        from django_q.tasks import async_task

        async_task(func, *args)

    transaction.on_commit(enqueue, robust=True)


# --- doctor onboarding ----------------------------------------------------------------------------


def doctor_application_submit(
    *,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    licence_number: str,
    years_of_experience: int = 0,
    bio: str = "",
    specialties=(),
    actor=None,
) -> DoctorApplication:
    """Record an application (from the public form, ``actor`` None, or entered by an admin).

    Raises Conflict when this address already has an open application or an account.
    """
    email = (email or "").strip().lower()
    if not all(v.strip() for v in (first_name, last_name, email, phone, licence_number)):
        raise DomainError(_("Please fill in every required field."), code="details_missing")
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise Conflict(
            _("An account with this email address already exists. Please contact the clinic."), code="account_exists"
        )
    if actor is not None:
        _require_admin(actor)
    with transaction.atomic():
        application = DoctorApplication(
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            email=email,
            phone=phone.strip(),
            licence_number=licence_number.strip(),
            years_of_experience=years_of_experience or 0,
            bio=(bio or "").strip(),
            source=ApplicationSource.ADMIN if actor is not None else ApplicationSource.PUBLIC_FORM,
            submitted_by=actor,
        )
        try:
            with transaction.atomic():
                application.save()
        except IntegrityError:
            raise Conflict(
                _("We already have an application from this email address; we will be in touch."),
                code="application_exists",
            ) from None
        if specialties:
            application.specialties.set(specialties)
        audit_log(
            actor=actor,
            action="clinic.doctor_application.submitted",
            obj=application,
            data={"source": application.source},
        )
    return application


def doctor_application_duplicate_notice(*, email: str, reason: str) -> None:
    """The public form got an application for an address that has an account or an open application
    (``reason``: ``account_exists`` or ``application_exists``). The form answers as for any
    application; only the address's owner learns, by email, what happened and what to do."""
    email = email.strip().lower()
    owner = get_user_model().objects.filter(email__iexact=email).first()
    outbox_add(
        kind="application.duplicate",
        recipient=owner,
        to_email="" if owner else email,
        context={"reason": reason},
        # at most one such email per address and day: the form can be sent again and again
        dedupe_key=f"application.duplicate:{email}:{timezone.now().date().isoformat()}",
    )


def _application_email(application: DoctorApplication, kind: str, *, now: datetime) -> None:
    """Tell the applicant the decision through the outbox (delivered after commit, retried, one stable
    Message-ID): the new doctor's account gets the invitation, a rejected applicant (no account) the
    reason by email. Each decision or resend is its own message."""
    outbox_add(
        kind=kind,
        recipient=application.user,
        to_email="" if application.user else application.email,
        obj=application,
        dedupe_key=f"{kind}:{application.pk}:{now.isoformat()}",
    )
    field = "invitation_sent_at" if kind == "application.invitation" else "decision_emailed_at"
    setattr(application, field, now)
    application.save(update_fields=[field])


def _locked_application(application: DoctorApplication) -> DoctorApplication:
    return DoctorApplication.objects.select_for_update().get(pk=application.pk)


def doctor_application_approve(*, application: DoctorApplication, actor, now: datetime | None = None) -> Doctor:
    """Approve: create the doctor's account (role doctor, verified email, no password yet), their active
    Doctor record, queue the set-your-password invitation and the draft profile page."""
    _require_admin(actor)
    now = now or timezone.now()
    with transaction.atomic():
        application = _locked_application(application)
        if application.status != ApplicationStatus.SUBMITTED:
            raise NotAllowedNow(_("This application has already been decided."))
        if get_user_model().objects.filter(email__iexact=application.email).exists():
            raise Conflict(
                _("An account with this email address already exists; change it there instead."),
                code="account_exists",
            )
        user = user_create(
            email=application.email,
            role=Role.DOCTOR,
            password=None,  # unusable until they follow the invitation
            first_name=application.first_name,
            last_name=application.last_name,
            actor=actor,
            email_verified=True,
        )
        doctor = Doctor.objects.create(
            user=user,
            bio=application.bio,
            years_of_experience=application.years_of_experience,
            is_active=True,
        )
        doctor.specialties.set(application.specialties.all())
        _transition(application, "approve", actor=actor)
        application.decided_by = actor
        application.decided_at = now
        application.user = user
        application.doctor = doctor
        application.save(update_fields=["status", "decided_by", "decided_at", "user", "doctor", "updated_at"])
        audit_log(
            actor=actor,
            action="clinic.doctor_application.approved",
            obj=application,
            data={"user": user.pk, "doctor": doctor.pk},
        )
        audit_log(actor=actor, action="booking.doctor.created", obj=doctor, data={"application": application.pk})
        _application_email(application, "application.invitation", now=now)
        _queue_profile_page_sync()
    return doctor


def _queue_profile_page_sync() -> None:
    """The public site (cms) makes draft profile pages for new doctors; booking never imports cms, so
    the task is named in settings and queued only when that module exists."""
    task = getattr(settings, "CLINIC_DOCTOR_PROFILE_SYNC_TASK", "")
    if not task:
        return
    module = task.rsplit(".", 1)[0]
    try:
        available = find_spec(module) is not None
    except ModuleNotFoundError:
        available = False
    if not available:
        logger.info("No %s: draft profile pages are not created automatically.", module)
        return
    _on_commit_task(task)


def doctor_application_reject(
    *, application: DoctorApplication, actor, reason: str, now: datetime | None = None
) -> DoctorApplication:
    """Reject with a reason; the applicant is emailed after commit."""
    _require_admin(actor)
    now = now or timezone.now()
    if not (reason or "").strip():
        raise DomainError(_("Please give a reason for the applicant."), code="reason_required")
    with transaction.atomic():
        application = _locked_application(application)
        _transition(application, "reject", actor=actor, description=reason.strip())
        application.rejection_reason = reason.strip()
        application.decided_by = actor
        application.decided_at = now
        application.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at", "updated_at"])
        audit_log(actor=actor, action="clinic.doctor_application.rejected", obj=application)
        _application_email(application, "application.rejection", now=now)
    return application


def doctor_application_resend_invitation(*, application: DoctorApplication, actor) -> None:
    """Send the set-your-password invitation again (the link is only valid for a few days)."""
    _require_admin(actor)
    with transaction.atomic():
        application = _locked_application(application)
        if application.status != ApplicationStatus.APPROVED or application.user_id is None:
            raise NotAllowedNow(_("Only approved applications have an invitation."))
        audit_log(actor=actor, action="clinic.doctor_application.invitation_resent", obj=application)
        _application_email(application, "application.invitation", now=timezone.now())


# --- patients -------------------------------------------------------------------------------------


# --- subscriptions --------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months, keeping the day where the month has it (31 Jan + 1 → 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


#: subscription history rows that charge the doctor for a period: each gets an invoice
CHARGED_EVENTS = frozenset({SubscriptionEventKind.STARTED, SubscriptionEventKind.RENEWED})
SUBSCRIPTION_INVOICE_TASK = "workflows.clinic.tasks.subscription_invoice_issue"


def _event(subscription: DoctorSubscription, kind: str, *, actor=None, **fields) -> SubscriptionEvent:
    event = SubscriptionEvent.objects.create(
        subscription=subscription,
        kind=kind,
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        **fields,
    )
    if kind in CHARGED_EVENTS and event.amount:
        # the invoice is numbered and written by the worker after commit (workflows.clinic.invoices)
        enqueue_on_commit(SUBSCRIPTION_INVOICE_TASK, event.pk, task_name=f"invoice-subscription-event-{event.pk}")
    return event


def _locked_subscription(subscription: DoctorSubscription) -> DoctorSubscription:
    return DoctorSubscription.objects.select_for_update().select_related("plan", "doctor").get(pk=subscription.pk)


def subscription_start(
    *, doctor: Doctor, plan: SubscriptionPlan, actor, now: datetime | None = None, paid: bool = False
) -> DoctorSubscription:
    """Put ``doctor`` on ``plan`` from now for one period. ``paid``: the first period's payment was
    received (recorded in the history); a paid plan started unpaid is still active until its renewal
    date, when the sweep asks for payment."""
    _require_admin(actor)
    now = now or timezone.now()
    with transaction.atomic():
        if DoctorSubscription.objects.filter(doctor=doctor).exists():
            raise Conflict(_("This doctor already has a subscription; change its plan instead."))
        subscription = DoctorSubscription.objects.create(
            doctor=doctor,
            plan=plan,
            billing_anchor=now,
            current_period_start=now,
            current_period_end=add_months(now, plan.period_months),
        )
        _event(
            subscription,
            SubscriptionEventKind.STARTED,
            actor=actor,
            amount=plan.price if paid else None,
            period_start=subscription.current_period_start,
            period_end=subscription.current_period_end,
        )
        audit_log(actor=actor, action="clinic.subscription.started", obj=subscription, data={"plan": plan.pk})
    return subscription


def _renew(subscription: DoctorSubscription, *, now: datetime, actor=None, reference: str = "") -> SubscriptionEvent:
    """Start the next period: right after the current one, or from now if the doctor was overdue."""
    plan = subscription.plan
    if subscription.status == SubscriptionStatus.ACTIVE:
        anchor, start = subscription.billing_anchor, subscription.current_period_end
    else:
        anchor = start = now  # an overdue doctor's new period starts the day they pay
    _transition(subscription, "renew", actor=actor)
    months_so_far = (start.year - anchor.year) * 12 + start.month - anchor.month
    subscription.billing_anchor = anchor
    subscription.current_period_start = start
    subscription.current_period_end = add_months(anchor, months_so_far + plan.period_months)
    subscription.credit = money(subscription.credit - plan.price)
    subscription.save(
        update_fields=[
            "status",
            "billing_anchor",
            "current_period_start",
            "current_period_end",
            "credit",
            "updated_at",
        ]
    )
    _sync_bookability(subscription, actor=actor)
    event = _event(
        subscription,
        SubscriptionEventKind.RENEWED,
        actor=actor,
        amount=plan.price,
        reference=reference[:120],
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
    )
    audit_log(
        actor=actor,
        action="clinic.subscription.renewed",
        obj=subscription,
        data={"until": subscription.current_period_end.isoformat()},
    )
    return event


def _sync_bookability(subscription: DoctorSubscription, *, actor=None) -> None:
    """Booking reads ``Doctor.accepts_bookings``; an overdue subscription closes it, any other state opens it."""
    doctor_set_accepts_bookings(
        doctor_id=subscription.doctor_id,
        accepts=subscription.status != SubscriptionStatus.OVERDUE,
        actor=actor,
        reason=f"subscription {subscription.status}",
    )


def _can_pay_next_period(subscription: DoctorSubscription) -> bool:
    return subscription.plan.is_free or subscription.credit >= subscription.plan.price


def subscription_payment_record(
    *, subscription: DoctorSubscription, amount: Decimal, actor, reference: str = "", now: datetime | None = None
) -> DoctorSubscription:
    """Record money received for a subscription; it is credited and used at the renewal date. An overdue
    subscription whose credit now covers a period is renewed at once (from today)."""
    _require_admin(actor)
    now = now or timezone.now()
    amount = money(amount)
    if amount <= 0:
        raise DomainError(_("Enter an amount above zero."), code="amount_invalid")
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        if subscription.status == SubscriptionStatus.CANCELLED:
            raise NotAllowedNow(_("Resume the subscription before recording a payment."))
        subscription.credit = money(subscription.credit + amount)
        subscription.save(update_fields=["credit", "updated_at"])
        _event(subscription, SubscriptionEventKind.PAYMENT_RECORDED, actor=actor, amount=amount, reference=reference)
        audit_log(
            actor=actor,
            action="clinic.subscription.payment_recorded",
            obj=subscription,
            data={"amount": str(amount), "reference": reference[:120]},
        )
        if subscription.status == SubscriptionStatus.OVERDUE and _can_pay_next_period(subscription):
            _renew(subscription, now=now, actor=actor)
    return subscription


def subscription_process_due(*, subscription_id: int, now: datetime | None = None) -> str:
    """The sweep's step for one subscription, re-checked under lock: renew it (from the credit or for
    free) when its renewal date has come, else mark it overdue. Returns what happened."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = (
            DoctorSubscription.objects.select_for_update().select_related("plan", "doctor").filter(pk=subscription_id)
        ).first()
        if subscription is None or subscription.status != SubscriptionStatus.ACTIVE:
            return "skipped"
        if subscription.current_period_end > now:
            return "not due"
        if _can_pay_next_period(subscription):
            _renew(subscription, now=now)
            return "renewed"
        _transition(subscription, "mark_overdue", actor=None, description="renewal date passed unpaid")
        subscription.save(update_fields=["status", "updated_at"])
        _sync_bookability(subscription)
        _event(subscription, SubscriptionEventKind.OVERDUE, period_end=subscription.current_period_end)
        audit_log(actor=None, action="clinic.subscription.overdue", obj=subscription)
        return "overdue"


# --- paying online ("Pay now") ----------------------------------------------------------------------

#: ``booking.payments.Charge.kind`` of subscription charges; webhooks of this kind come to
#: ``subscription_charge_apply`` (registered in ``ClinicConfig.ready``)
CHARGE_KIND = "subscription"
#: a pending checkout younger than this is offered again instead of opening a second one
CHECKOUT_REUSE = timedelta(minutes=30)


#: the next period can be paid from this long before its renewal date (or any time while overdue)
PAY_AHEAD = timedelta(days=31)


def subscription_amount_due(subscription: DoctorSubscription, *, now: datetime | None = None) -> Decimal:
    """What the doctor pays now for the next period: the plan's price less the credit already held.
    Zero on a free plan, a cancelled subscription, when the credit covers it, or while the renewal
    date is more than ``PAY_AHEAD`` away (the next period is already paid)."""
    now = now or timezone.now()
    if subscription.status == SubscriptionStatus.CANCELLED or subscription.plan.is_free:
        return Decimal("0")
    if subscription.status == SubscriptionStatus.ACTIVE and subscription.current_period_end > now + PAY_AHEAD:
        return Decimal("0")
    return money(max(subscription.plan.price - subscription.credit, Decimal("0")))


def subscription_can_pay(*, subscription: DoctorSubscription, user, now: datetime | None = None) -> bool:
    """Only the subscription's own doctor pays it online, and only when something is due."""
    return (
        user is not None
        and user.is_authenticated
        and user.is_active
        and subscription.doctor.user_id == user.pk
        and subscription_amount_due(subscription, now=now) > 0
    )


def _charge_open(
    *, subscription: DoctorSubscription, actor, gateway: str, now: datetime
) -> tuple[SubscriptionCharge, bool]:
    """The pending charge to send the doctor to (created if needed); True: it still needs a checkout."""
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        if subscription.doctor.user_id != getattr(actor, "pk", None):
            raise NotFound(_("Subscription not found."))
        amount = subscription_amount_due(subscription, now=now)
        if not subscription_can_pay(subscription=subscription, user=actor, now=now):
            raise NotAllowedNow(_("Nothing is due on this subscription now."))
        charge = (
            subscription.charges.filter(
                status=ChargeStatus.PENDING, gateway=gateway, amount=amount, created_at__gte=now - CHECKOUT_REUSE
            )
            .order_by("-pk")
            .first()
        )
        if charge is not None:
            return charge, not charge.provider_reference
        charge = SubscriptionCharge.objects.create(
            subscription=subscription,
            gateway=gateway,
            amount=amount,
            currency=subscription.plan.currency,
            started_by=actor,
        )
        audit_log(
            actor=actor, action="clinic.subscription.checkout_started", obj=subscription, data={"charge": charge.pk}
        )
    return charge, True


def subscription_checkout_start(
    *,
    subscription: DoctorSubscription,
    actor,
    sandbox_page: Callable[[int], str],
    success_url: str = "",
    cancel_url: str = "",
    now: datetime | None = None,
) -> SubscriptionCharge:
    """The doctor's "Pay now": a checkout through the clinic's online gateway for what is due for the
    next period; returns the charge with its ``checkout_url``. ``sandbox_page(charge_id)`` is the URL
    of the sandbox gateway's test checkout for a charge. The gateway is called with no
    transaction open; a retry within half an hour returns the same checkout."""
    now = now or timezone.now()
    gateway = redirect_gateway()
    gw = get_gateway(gateway)
    charge, needs_checkout = _charge_open(subscription=subscription, actor=actor, gateway=gateway, now=now)
    if not needs_checkout:
        return charge
    plan = charge.subscription.plan
    request = Charge(
        kind=CHARGE_KIND,
        pk=charge.pk,
        amount=charge.amount,
        currency=charge.currency,
        description=f"Medbook subscription {plan.name} #{charge.subscription_id}",
        email=actor.email,
        sandbox_page=sandbox_page(charge.pk),
    )
    try:
        result = gw.start_charge(request, success_url=success_url, cancel_url=cancel_url)  # network: no lock held
    except DomainError as exc:
        SubscriptionCharge.objects.filter(pk=charge.pk, status=ChargeStatus.PENDING, provider_reference="").update(
            status=ChargeStatus.FAILED, failure_reason=str(exc)[:255]
        )
        raise
    with transaction.atomic():
        SubscriptionCharge.objects.filter(pk=charge.pk, provider_reference="").update(
            checkout_url=result.checkout_url, provider_reference=result.provider_reference
        )
    charge.refresh_from_db()
    return charge


def subscription_charge_apply(*, gateway: str, event: WebhookEvent, now: datetime | None = None) -> None:
    """A verified gateway event for a subscription charge (``booking``'s webhook dispatches here, inside
    its transaction, after storing the event id: a replayed event never arrives twice). Paid: the
    amount is credited and the subscription renewed for the next period, once per charge (the
    renewal is invoiced after commit). Failed or cancelled: the charge is closed, nothing else
    changes. Locks subscription → charge."""
    now = now or timezone.now()
    found = SubscriptionCharge.objects.filter(gateway=gateway)
    charge = found.filter(pk=event.charge_id).first() if event.charge_id is not None else None
    if charge is None and event.provider_reference:
        charge = found.filter(provider_reference=event.provider_reference).first()
    if charge is None:
        raise NotFound(_("No payment matches this event."))
    subscription = _locked_subscription(charge.subscription)
    charge = SubscriptionCharge.objects.select_for_update().get(pk=charge.pk)
    if charge.status != ChargeStatus.PENDING:
        return  # already settled (a second event for the same checkout)
    if event.event_type != "payment.succeeded":
        charge.status = ChargeStatus.FAILED
        charge.failure_reason = event.failure_reason[:255]
        charge.save(update_fields=["status", "failure_reason"])
        audit_log(actor=None, action="clinic.subscription.charge_failed", obj=subscription, data={"charge": charge.pk})
        return
    if event.amount is not None and money(event.amount) != money(charge.amount):
        raise Conflict(_("The amount paid does not match the amount due."), code="amount_mismatch")
    reference = charge.provider_reference or event.provider_reference
    charge.status = ChargeStatus.SUCCEEDED
    charge.paid_at = now
    subscription.credit = money(subscription.credit + charge.amount)
    subscription.save(update_fields=["credit", "updated_at"])
    _event(
        subscription,
        SubscriptionEventKind.PAYMENT_RECORDED,
        actor=charge.started_by,
        amount=charge.amount,
        reference=reference[:120],
    )
    audit_log(
        actor=charge.started_by,
        action="clinic.subscription.paid_online",
        obj=subscription,
        data={"charge": charge.pk, "gateway": gateway, "amount": str(charge.amount)},
    )
    if subscription.status != SubscriptionStatus.CANCELLED and _can_pay_next_period(subscription):
        charge.renewal = _renew(subscription, now=now, actor=charge.started_by, reference=reference)
    charge.save(update_fields=["status", "paid_at", "renewal"])


def subscription_cancel(*, subscription: DoctorSubscription, actor, now: datetime | None = None) -> None:
    _require_admin(actor)
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        _transition(subscription, "cancel", actor=actor)
        subscription.cancelled_at = now
        subscription.save(update_fields=["status", "cancelled_at", "updated_at"])
        _sync_bookability(subscription, actor=actor)
        _event(subscription, SubscriptionEventKind.CANCELLED, actor=actor)
        audit_log(actor=actor, action="clinic.subscription.cancelled", obj=subscription)


def subscription_resume(*, subscription: DoctorSubscription, actor, now: datetime | None = None) -> None:
    """A cancelled subscription starts a new period from now (paid from the credit at its renewal)."""
    _require_admin(actor)
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        _transition(subscription, "resume", actor=actor)
        subscription.cancelled_at = None
        subscription.billing_anchor = now
        subscription.current_period_start = now
        subscription.current_period_end = add_months(now, subscription.plan.period_months)
        subscription.save(
            update_fields=[
                "status",
                "cancelled_at",
                "billing_anchor",
                "current_period_start",
                "current_period_end",
                "updated_at",
            ]
        )
        _sync_bookability(subscription, actor=actor)
        _event(
            subscription,
            SubscriptionEventKind.RESUMED,
            actor=actor,
            period_start=subscription.current_period_start,
            period_end=subscription.current_period_end,
        )
        audit_log(actor=actor, action="clinic.subscription.resumed", obj=subscription)


def subscription_change_plan(*, subscription: DoctorSubscription, plan: SubscriptionPlan, actor) -> None:
    """Switch plans; the new price and period apply from the next renewal."""
    _require_admin(actor)
    with transaction.atomic():
        subscription = _locked_subscription(subscription)
        if subscription.plan_id == plan.pk:
            return
        previous = subscription.plan_id
        subscription.plan = plan
        subscription.save(update_fields=["plan", "updated_at"])
        _event(subscription, SubscriptionEventKind.PLAN_CHANGED, actor=actor, reference=plan.name[:120])
        audit_log(
            actor=actor,
            action="clinic.subscription.plan_changed",
            obj=subscription,
            data={"from": previous, "to": plan.pk},
        )


# --- support tickets ------------------------------------------------------------------------------


def ticket_open(*, patient, subject: str, body: str) -> SupportTicket:
    """A patient asks the clinic something; the clinic sees it in the admin's open tickets."""
    if patient.role != Role.PATIENT or not patient.is_active:
        raise PermissionDenied(_("Only patients can open support tickets."))
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or not body:
        raise DomainError(_("Please write a subject and a message."), code="details_missing")
    with transaction.atomic():
        ticket = SupportTicket.objects.create(patient=patient, subject=subject[:200])
        TicketMessage.objects.create(ticket=ticket, author=patient, body=body[:5000])
        audit_log(actor=patient, action="clinic.ticket.opened", obj=ticket)
    return ticket


def ticket_reply(*, ticket: SupportTicket, author, body: str, internal: bool = False) -> TicketMessage:
    """Add a message. The clinic answering puts the ticket in "waiting" and emails the patient (an
    internal note changes nothing and tells nobody); the patient writing reopens it."""
    body = (body or "").strip()
    if not body:
        raise DomainError(_("Please write a message."), code="details_missing")
    clinic = _is_clinic(author)
    if not clinic and not (author.is_authenticated and author.is_active and author.pk == ticket.patient_id):
        raise NotFound(_("Ticket not found."))
    if internal and not clinic:
        raise PermissionDenied(_("Only the clinic writes internal notes."))
    with transaction.atomic():
        ticket = SupportTicket.objects.select_for_update().select_related("patient").get(pk=ticket.pk)
        message = TicketMessage.objects.create(ticket=ticket, author=author, body=body[:5000], is_internal=internal)
        if clinic and not internal:
            if ticket.status == TicketStatus.RESOLVED:
                _transition(ticket, "reopen", actor=author)
            _transition(ticket, "await_patient", actor=author)
            ticket.resolved_at = None
            outbox_add(
                kind=SUPPORT_REPLY,
                recipient=ticket.patient,
                obj=ticket,
                context={"ticket": ticket.pk, "message": message.pk},
                dedupe_key=f"{SUPPORT_REPLY}:{message.pk}",
            )
        elif not clinic and ticket.status != TicketStatus.OPEN:
            _transition(ticket, "reopen", actor=author)
            ticket.resolved_at = None
        ticket.save(update_fields=["status", "resolved_at", "updated_at"])
        audit_log(
            actor=author,
            action="clinic.ticket.note_added" if internal else "clinic.ticket.replied",
            obj=ticket,
            data={"message": message.pk, "by": "clinic" if clinic else "patient"},
        )
    return message


def ticket_resolve(*, ticket: SupportTicket, actor, now: datetime | None = None) -> SupportTicket:
    """Close a ticket (the clinic, or the patient who opened it)."""
    now = now or timezone.now()
    if not _is_clinic(actor) and not (actor.is_authenticated and actor.pk == ticket.patient_id):
        raise NotFound(_("Ticket not found."))
    with transaction.atomic():
        ticket = SupportTicket.objects.select_for_update().get(pk=ticket.pk)
        _transition(ticket, "resolve", actor=actor)
        ticket.resolved_at = now
        ticket.save(update_fields=["status", "resolved_at", "updated_at"])
        audit_log(actor=actor, action="clinic.ticket.resolved", obj=ticket)
    return ticket


def ticket_reopen(*, ticket: SupportTicket, actor) -> SupportTicket:
    if not _is_clinic(actor):
        raise PermissionDenied(_("Only the clinic can reopen a ticket without writing to it."))
    with transaction.atomic():
        ticket = SupportTicket.objects.select_for_update().get(pk=ticket.pk)
        _transition(ticket, "reopen", actor=actor)
        ticket.resolved_at = None
        ticket.save(update_fields=["status", "resolved_at", "updated_at"])
        audit_log(actor=actor, action="clinic.ticket.reopened", obj=ticket)
    return ticket


# --- settings -------------------------------------------------------------------------------------


def reminder_settings_update(*, reminder_leads: str, actor) -> ReminderSettings:
    _require_admin(actor)
    with transaction.atomic():
        obj, _created = ReminderSettings.objects.select_for_update().get_or_create(pk=1)
        obj.reminder_leads = (reminder_leads or "").strip()
        obj.full_clean()
        obj.save(update_fields=["reminder_leads", "updated_at"])
        audit_log(actor=actor, action="clinic.reminder_settings.changed", obj=obj, data={"leads": obj.reminder_leads})
        transaction.on_commit(lambda: cache.delete(REMINDER_LEADS_CACHE_KEY))
    return obj


def specialties_by_ids(ids) -> list[Specialty]:
    return list(Specialty.objects.filter(pk__in=list(ids), is_active=True))


# --- patients registered by the clinic ------------------------------------------------------------


def patient_register(
    *,
    email: str,
    actor,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    national_id: str = "",
    date_of_birth=None,
):
    """Front desk registers a patient (seed 002 ``POST /users/patients``): an account with a verified
    email and no password yet (the patient sets one with "Forgot password"), and their contact data.
    Staff and admins only; an email that already has an account is a Conflict ``email_taken``."""
    if not _is_clinic(actor):
        raise PermissionDenied(_("Only the clinic registers patients."))
    email = email.strip().lower()
    taken = Conflict(_("An account with this email address already exists."), code="email_taken")
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise taken
    try:
        with transaction.atomic():
            user = user_create(
                email=email, role=Role.PATIENT, actor=actor, first_name=first_name.strip(), last_name=last_name.strip()
            )
            patient_profile_update(
                user=user,
                actor=actor,
                phone=phone.strip(),
                national_id=national_id.strip(),
                date_of_birth=date_of_birth,
            )
    except IntegrityError:
        raise taken from None  # registered by someone else in the meantime
    return user
