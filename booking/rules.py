"""The rulebook: who may do what to an appointment now, who may book for whom, which doctors, slots
and visit types are bookable, who may join the video call and when, which visits may have a
conversation, and what a follow-up costs.

Every face (admin buttons, dashboards, portal pages, API handlers) and every service asks here;
nothing else re-derives a rule. Services call ``require`` under their transaction, on the row they
locked; faces call ``available_actions`` (or ``refusal`` for the reason a button is disabled).

Functions here are pure: they read the rows they are given and the clock, and run no query unless
their docstring says so (``Doctor.policy()`` reads the clinic defaults once unless a policy is given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from booking.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentMode,
    AppointmentStatus,
    AppointmentType,
    Doctor,
    EffectivePolicy,
    PaymentStatus,
    Slot,
    money,
)
from core.errors import Conflict, DomainError, NotFound, PermissionDenied

S = AppointmentStatus


class NotAllowedNow(Conflict):
    """The action exists for this person, but not in the appointment's current state or time."""

    code = "not_allowed_now"


class PolicyViolation(DomainError):
    code = "policy_violation"


class Action(StrEnum):
    PAY = "pay"
    APPLY_VOUCHER = "apply_voucher"
    MARK_PAID = "mark_paid"
    CONFIRM = "confirm"
    FORCE_CONFIRM = "force_confirm"
    DECLINE = "decline"
    CANCEL = "cancel"
    FORCE_CANCEL = "force_cancel"
    RESCHEDULE = "reschedule"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    SUGGEST_FOLLOW_UP = "suggest_follow_up"
    ACCEPT_FOLLOW_UP = "accept_follow_up"
    REJECT_FOLLOW_UP = "reject_follow_up"
    JOIN_VIDEO = "join_video"
    MESSAGE = "message"
    CHECK_IN = "check_in"


CLINIC_ROLES = frozenset({"doctor", "staff", "admin"})
#: visits whose patient and doctor may open a conversation about them
CONVERSATION_STATUSES = (S.PENDING, S.CONFIRMED, S.COMPLETED, S.NO_SHOW)
#: visits the front desk may check in: paid (waiting for the doctor's confirmation) or confirmed
CHECK_IN_STATUSES = (S.PENDING, S.CONFIRMED)


# --- who is this person to the appointment --------------------------------------------------------


def speaks_for(*, user, patient) -> bool:
    """Whether ``user`` acts as ``patient``: it is them, or they are the account holder of this
    dependant (a child, an elderly parent managed from the holder's account). Runs no query when
    ``patient`` is loaded."""
    if user is None or patient is None or getattr(user, "role", None) != "patient":
        return False
    return patient.pk == user.pk or (patient.guardian_id is not None and patient.guardian_id == user.pk)


def role_in(*, appointment: Appointment, user) -> str | None:
    """``user``'s relation to ``appointment``: "patient" (the patient, or the account holder of a
    dependant patient), "doctor", "staff", "admin", or None (a stranger, an inactive account or
    anonymous). Reads ``appointment.patient`` when the user is a patient who is not the patient."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.role in {"admin", "staff"}:
        return user.role
    if user.role == "doctor" and appointment.doctor.user_id == user.pk:
        return "doctor"
    if user.role == "patient" and (
        appointment.patient_id == user.pk or speaks_for(user=user, patient=appointment.patient)
    ):
        return "patient"
    return None


def visibility_q(*, user) -> Q | None:
    """The appointments ``user`` may see (a ``Q`` on Appointment), or None for none at all: a patient
    their own and their dependants' (the holder manages a dependant's visits; for a patient this runs
    one query, for their dependants' ids), a doctor theirs, staff and admins all."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.role == "patient":
        # the family's ids, read here (one small query), as a list on the indexed patient column: an
        # OR reaching through the join to the guardian, or an IN over a subquery, leads SQLite and
        # PostgreSQL alike to walk every open appointment of the clinic by date instead
        from django.contrib.auth import get_user_model

        dependants = get_user_model().objects.filter(guardian=user).order_by().values_list("pk", flat=True)
        return Q(patient_id__in=[user.pk, *dependants])
    if user.role == "doctor":
        return Q(doctor__user=user)
    if user.role in {"staff", "admin"}:
        return Q()
    return None


# --- time and money -------------------------------------------------------------------------------


def live_hold_q(*, now: datetime, prefix: str = "") -> Q:
    """Appointments holding their slot for payment right now (a lapsed hold is not live)."""
    return Q(**{f"{prefix}status": S.PENDING_PAYMENT, f"{prefix}hold_expires_at__gt": now})


@dataclass(frozen=True)
class ChangeTerms:
    """What a patient may still change about a visit, seen at one moment: until ``deadline`` they
    cancel free of charge and reschedule; after it (``late``) they may not reschedule and a
    cancellation refunds ``late_refund_percent`` of what they paid."""

    deadline: datetime
    late: bool
    notice: timedelta
    late_refund_percent: int

    @property
    def notice_hours(self) -> int:
        return int(self.notice.total_seconds() // 3600)


def change_terms(*, starts_at: datetime, now: datetime, policy: EffectivePolicy) -> ChangeTerms:
    """The change rules for a visit starting at ``starts_at`` (booked, or about to be booked), at
    ``now``. The one place the late window is computed: the booking page, "My appointments", the
    cancel and reschedule services and the API all read it from here."""
    deadline = starts_at - policy.cancellation_notice
    return ChangeTerms(
        deadline=deadline,
        late=now > deadline,
        notice=policy.cancellation_notice,
        late_refund_percent=policy.late_cancellation_refund_percent,
    )


def is_late(*, appointment: Appointment, now: datetime, policy: EffectivePolicy | None = None) -> bool:
    """Inside the cancellation notice: a patient's cancellation is late and they may not reschedule."""
    if appointment.starts_at is None:
        return False
    policy = policy or appointment.doctor.policy()
    return change_terms(starts_at=appointment.starts_at, now=now, policy=policy).late


def change_deadline(*, appointment: Appointment, policy: EffectivePolicy | None = None) -> datetime | None:
    """Until when a patient may cancel free of charge and reschedule."""
    if appointment.starts_at is None:
        return None
    policy = policy or appointment.doctor.policy()
    return change_terms(starts_at=appointment.starts_at, now=appointment.starts_at, policy=policy).deadline


def follow_up_discount(*, price: Decimal, percent: Decimal) -> Decimal:
    """The follow-up discount on ``price`` (the only rounding: half up to the cent)."""
    return money(Decimal(price) * Decimal(percent) / 100)


def follow_up_price(*, price: Decimal, percent: Decimal) -> Decimal:
    return money(Decimal(price) - follow_up_discount(price=price, percent=percent))


def is_video_visit(appointment: Appointment) -> bool:
    """A confirmed visit by video: its page offers the call (which opens inside ``video_window``)."""
    return (
        appointment.mode == AppointmentMode.VIDEO and appointment.status == S.CONFIRMED and bool(appointment.starts_at)
    )


def clinic_day(moment: datetime):
    """The clinic's local date of ``moment``: an in-person visit's day (check-in, queue numbers)."""
    return moment.astimezone(ZoneInfo(settings.CLINIC_TIME_ZONE)).date()


def expects_check_in(appointment: Appointment, *, now: datetime) -> bool:
    """An in-person visit, paid or confirmed, not over yet: the patient will check in at the desk (the
    portal shows its booking code and QR code for that)."""
    return (
        appointment.mode == AppointmentMode.IN_PERSON
        and appointment.status in CHECK_IN_STATUSES
        and appointment.starts_at is not None
        and clinic_day(appointment.starts_at) >= clinic_day(now)
    )


def clinic_day_bounds(day) -> tuple[datetime, datetime]:
    """[start, end) of the clinic's local ``day``, as aware datetimes."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(settings.CLINIC_TIME_ZONE))
    return start, datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=start.tzinfo)


def check_in_today_q(*, now: datetime, prefix: str = "") -> Q:
    """The appointments the front desk may check in today (a ``Q`` on Appointment): what ``refusal``
    allows for ``Action.CHECK_IN`` to staff, as a query (in person, paid or confirmed, today)."""
    start, end = clinic_day_bounds(clinic_day(now))
    return Q(
        **{
            f"{prefix}mode": AppointmentMode.IN_PERSON,
            f"{prefix}status__in": CHECK_IN_STATUSES,
            f"{prefix}starts_at__gte": start,
            f"{prefix}starts_at__lt": end,
        }
    )


def video_window(*, appointment: Appointment) -> tuple[datetime, datetime]:
    """[opens, closes], both inclusive: from VIDEO_JOIN_BEFORE_MINUTES before the start until the end
    plus VIDEO_GRACE_MINUTES."""
    opens = appointment.starts_at - timedelta(minutes=settings.VIDEO_JOIN_BEFORE_MINUTES)
    closes = appointment.ends_at + timedelta(minutes=settings.VIDEO_GRACE_MINUTES)
    return opens, closes


# --- actions on an appointment --------------------------------------------------------------------


def _not_now(message) -> NotAllowedNow:
    return NotAllowedNow(message)


def _state(appointment: Appointment) -> NotAllowedNow:
    return NotAllowedNow(
        _("This is not possible while the appointment is “%(status)s”.") % {"status": appointment.get_status_display()},
        details={"status": appointment.status},
    )


def _hold_lapsed() -> NotAllowedNow:
    return NotAllowedNow(_("The time reserved for payment has run out. Please book again."), code="hold_expired")


def refusal(
    action: Action | str,
    *,
    appointment: Appointment,
    user,
    now: datetime,
    policy: EffectivePolicy | None = None,
) -> DomainError | None:
    """Why ``user`` may not take ``action`` on ``appointment`` at ``now``, or None when they may.

    The answer is an exception instance for the caller to raise or show: NotFound for a stranger (no
    hint that the appointment exists), PermissionDenied for the wrong role, NotAllowedNow for the
    wrong state or time.
    """
    action = Action(action)
    role = role_in(appointment=appointment, user=user)
    if role is None:
        return NotFound(_("Appointment not found."))
    status = appointment.status
    started = appointment.has_started(now)

    if action in (Action.PAY, Action.APPLY_VOUCHER):
        if action == Action.PAY and role != "patient":
            return PermissionDenied(_("Only the patient pays online; the clinic records payments at the desk."))
        if action == Action.APPLY_VOUCHER and role == "doctor":
            return PermissionDenied(_("Your account cannot do this."))
        if status != S.PENDING_PAYMENT:
            return _not_now(_("This appointment is not waiting for payment."))
        if not appointment.hold_is_live(now):
            return _hold_lapsed()
        if action == Action.APPLY_VOUCHER and appointment.voucher_id:
            return PolicyViolation(_("A voucher is already applied to this appointment."), code="voucher_invalid")
        return None

    if action == Action.MARK_PAID:
        if role not in {"staff", "admin"}:
            return PermissionDenied(_("Only clinic staff can record a payment at the desk."))
        if status == S.PENDING_PAYMENT or (status == S.EXPIRED and not started):
            return None
        # a visit of a series is booked confirmed and paid at the desk, visit by visit
        if (
            appointment.series_id is not None
            and status in (S.CONFIRMED, S.COMPLETED)
            and appointment.amount_due > 0
            and not appointment.payments.filter(status=PaymentStatus.SUCCEEDED).exists()
        ):
            return None
        return _not_now(_("This appointment has nothing to pay."))

    if action == Action.FORCE_CONFIRM:
        if role != "admin":
            return PermissionDenied(_("Only clinic admins can force a confirmation."))
        if status in (S.PENDING_PAYMENT, S.PENDING) or (status == S.EXPIRED and not started):
            return None
        return _not_now(_("This appointment cannot be confirmed now."))

    if action in (Action.CONFIRM, Action.DECLINE):
        if role == "patient":
            return PermissionDenied(_("Only the clinic can confirm or decline a request."))
        return None if status == S.PENDING else _state(appointment)

    if action == Action.CANCEL:
        if role == "admin":
            return PermissionDenied(_("Clinic admins force-cancel."))
        if status not in OPEN_STATUSES:
            return _state(appointment)
        if role == "patient" and started:
            return _not_now(_("The visit has already started; it can no longer be cancelled."))
        return None

    if action == Action.FORCE_CANCEL:
        if role != "admin":
            return PermissionDenied(_("Only clinic admins can force a cancellation."))
        return None if status in OPEN_STATUSES else _state(appointment)

    if action == Action.RESCHEDULE:
        if status not in OPEN_STATUSES:
            return _not_now(_("Only open appointments can be rescheduled."))
        if status == S.PENDING_PAYMENT and not appointment.hold_is_live(now):
            return _hold_lapsed()
        if role == "patient":
            if started:
                return _not_now(_("The visit has already started."))
            if is_late(appointment=appointment, now=now, policy=policy):
                return _not_now(_("It is too close to the visit to reschedule. Please contact the clinic."))
        return None

    if action in (Action.COMPLETE, Action.NO_SHOW):
        if role == "patient":
            return PermissionDenied(_("Only the doctor or the clinic can record how a visit went."))
        if status != S.CONFIRMED:
            return _state(appointment)
        if not started:
            if action == Action.COMPLETE:
                return _not_now(_("A visit can be completed once it has started."))
            return _not_now(_("A no-show can only be recorded after the start time."))
        return None

    if action == Action.SUGGEST_FOLLOW_UP:
        if role != "doctor":
            return PermissionDenied(_("Only the visit's doctor can suggest a follow-up."))
        if status == S.COMPLETED or (status == S.CONFIRMED and started):
            return None
        return _not_now(_("A follow-up is suggested from a visit that has taken place or is under way."))

    if action in (Action.ACCEPT_FOLLOW_UP, Action.REJECT_FOLLOW_UP):
        if role != "patient":
            return PermissionDenied(_("Only the patient can answer a follow-up suggestion."))
        if status != S.PENDING_PATIENT_CONFIRMATION:
            return _not_now(_("This follow-up suggestion is no longer open."))
        return None

    if action == Action.JOIN_VIDEO:
        if role not in {"patient", "doctor"}:
            return NotFound(_("Appointment not found."))  # staff are not in the room
        if appointment.mode != AppointmentMode.VIDEO or appointment.starts_at is None:
            return _not_now(_("This is not a video visit."))
        if not is_video_visit(appointment):
            return _state(appointment)
        opens, closes = video_window(appointment=appointment)
        if now < opens:
            return NotAllowedNow(_("The call has not opened yet."), code="video_not_open_yet")
        if now > closes:
            return NotAllowedNow(_("This visit has ended."), code="video_ended")
        return None

    if action == Action.MESSAGE:
        if role not in {"patient", "doctor"}:
            return NotFound(_("Appointment not found."))
        if status not in CONVERSATION_STATUSES:
            return _not_now(_("Messages are for visits that were paid for."))
        return None

    if action == Action.CHECK_IN:
        if role not in {"staff", "admin"}:
            return PermissionDenied(_("Only the front desk checks patients in."))
        if appointment.mode != AppointmentMode.IN_PERSON or appointment.starts_at is None:
            return _not_now(_("Only in-person visits are checked in at the desk."))
        if status not in CHECK_IN_STATUSES:
            return _state(appointment)
        if clinic_day(appointment.starts_at) != clinic_day(now):
            return _not_now(_("A patient is checked in on the day of their visit."))
        return None

    raise ValueError(f"unknown action {action!r}")  # pragma: no cover (Action() above refuses it)


def require(
    action: Action | str, *, appointment: Appointment, user, now: datetime, policy: EffectivePolicy | None = None
) -> str:
    """Raise the refusal if there is one; otherwise return ``user``'s role in the appointment."""
    problem = refusal(action, appointment=appointment, user=user, now=now, policy=policy)
    if problem is not None:
        raise problem
    return role_in(appointment=appointment, user=user)


def available_actions(
    *, appointment: Appointment, user, now: datetime, policy: EffectivePolicy | None = None
) -> frozenset[Action]:
    """Every action ``user`` may take on ``appointment`` at ``now`` (what buttons to show)."""
    if role_in(appointment=appointment, user=user) is None:
        return frozenset()
    policy = policy or appointment.doctor.policy()
    return frozenset(
        action
        for action in Action
        if refusal(action, appointment=appointment, user=user, now=now, policy=policy) is None
    )


#: seed 000's status values (``PATCH {status}``) and the actions that can reach each, preferred first
STATUS_ACTIONS: dict[str, tuple[Action, ...]] = {
    "confirmed": (Action.CONFIRM, Action.FORCE_CONFIRM),
    "cancelled": (Action.DECLINE, Action.CANCEL, Action.FORCE_CANCEL),
    "done": (Action.COMPLETE,),
    "completed": (Action.COMPLETE,),
    "no_show": (Action.NO_SHOW,),
}


def action_for_status(status: str, *, appointment: Appointment, user, now: datetime) -> Action:
    """The action that takes ``appointment`` to seed status ``status`` for ``user`` now: a doctor's
    "cancelled" on a request waiting for them is a decline, an admin's "confirmed" a forced one. When
    none is allowed, the first candidate (its service explains why)."""
    candidates = STATUS_ACTIONS[status]
    allowed = available_actions(appointment=appointment, user=user, now=now)
    return next((action for action in candidates if action in allowed), candidates[0])


# --- booking --------------------------------------------------------------------------------------


def overdue_blocks_booking() -> bool:
    return bool(getattr(settings, "SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING", True))


def bookable_doctors_q(*, prefix: str = "") -> Q:
    """Doctors patients can book (a ``Q`` on Doctor, or on a relation with ``prefix="doctor__"``): an
    onboarded doctor, whose account is active, whose subscription is in good standing (the
    subscription service keeps ``accepts_bookings``; SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING=0 ignores it)."""
    q = Q(**{f"{prefix}is_active": True, f"{prefix}user__is_active": True})
    if overdue_blocks_booking():
        q &= Q(**{f"{prefix}accepts_bookings": True})
    return q


def doctor_refusal(doctor: Doctor) -> DomainError | None:
    if not doctor.is_active or not doctor.user.is_active:
        return PolicyViolation(_("This doctor is not taking bookings."), code="doctor_not_bookable")
    if overdue_blocks_booking() and not doctor.accepts_bookings:
        return PolicyViolation(_("This doctor is not taking bookings."), code="subscription_overdue")
    return None


def slot_refusal(slot: Slot, *, now: datetime, policy: EffectivePolicy | None = None) -> DomainError | None:
    """Whether ``slot``'s time can be booked at ``now`` under its doctor's policy (not whether someone
    holds it: the claim decides that)."""
    problem = doctor_refusal(slot.doctor)
    if problem is not None:
        return problem
    policy = policy or slot.doctor.policy()
    if slot.start <= now:
        return PolicyViolation(_("This time has already passed."), code="slot_in_past")
    if slot.start < now + policy.min_notice:
        hours = int(policy.min_notice.total_seconds() // 3600)
        return PolicyViolation(
            _("Bookings must be made at least %(hours)s hours ahead.") % {"hours": hours}, code="inside_minimum_notice"
        )
    if slot.start > now + policy.max_advance:
        return PolicyViolation(
            _("Bookings open %(days)s days ahead.") % {"days": policy.max_advance.days}, code="beyond_advance_window"
        )
    return None


def booking_for_refusal(*, actor, patient) -> DomainError | None:
    """Who may book for whom: a patient for themselves and their dependants; staff and admins for any
    active patient; doctors never (they suggest follow-ups instead)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return PermissionDenied(_("Please sign in to book."))
    if patient.role != "patient" or not patient.is_active:
        return PolicyViolation(_("Appointments are booked for patients."), code="not_a_patient")
    if actor.role == "patient":
        if speaks_for(user=actor, patient=patient):
            return None
        return PermissionDenied(_("You can only book for yourself and your family members."))
    if actor.role in {"staff", "admin"}:
        return None
    return PermissionDenied(_("Only patients (or clinic staff on their behalf) can book."))


def series_booking_refusal(*, actor, patient, doctor: Doctor) -> DomainError | None:
    """Who may book a series of visits (issue 17 item 4): staff and admins for any active patient with
    any bookable doctor; a doctor for their own diary only. Patients book one visit at a time. A series
    is booked by the clinic, so its visits are confirmed at once (paid at the desk, visit by visit) and
    the patient-facing notice and advance window do not apply, as for a staff reschedule; past times,
    blocked time and taken slots still refuse. Runs one query for a doctor (is this their patient?)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return PermissionDenied(_("Please sign in to book."))
    if actor.role not in {"staff", "admin", "doctor"}:
        return PermissionDenied(_("Only clinic staff and doctors can book a series of visits."))
    if actor.role == "doctor" and doctor.user_id != actor.pk:
        return PermissionDenied(_("Doctors book series in their own diary only."))
    if patient is None or patient.role != "patient" or not patient.is_active:
        return PolicyViolation(_("Appointments are booked for patients."), code="not_a_patient")
    if actor.role == "doctor" and not series_patients(actor=actor).filter(pk=patient.pk).exists():
        return PermissionDenied(_("Doctors book series for their own patients only."))
    return doctor_refusal(doctor)


def series_patients(*, actor):
    """The patients ``actor`` may book a series for (a queryset of users; runs when evaluated): staff
    and admins any active patient, a doctor the active patients who have had a visit with them."""
    from django.contrib.auth import get_user_model

    patients = get_user_model().objects.filter(role="patient", is_active=True)
    if actor.role == "doctor":
        return patients.filter(appointments__doctor__user=actor).distinct()
    return patients


def appointment_type_refusal(kind: AppointmentType | None, *, follow_up: bool = False) -> DomainError | None:
    """Visit types on offer: active ones; follow-up-only types only through a follow-up suggestion."""
    if kind is None:
        return None
    if not kind.is_active:
        return PolicyViolation(_("This type of visit is not offered."), code="appointment_type_inactive")
    if kind.kind == AppointmentType.Kind.FOLLOW_UP and not follow_up:
        return PolicyViolation(
            _("This type of visit is only offered as a follow-up your doctor suggests."), code="follow_up_only"
        )
    return None


def bookable_types_q() -> Q:
    """Visit types a patient may pick when booking directly."""
    return Q(is_active=True) & ~Q(kind=AppointmentType.Kind.FOLLOW_UP)
