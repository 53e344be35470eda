"""Appointment writes: book (claim a slot), apply a voucher, confirm, decline, cancel, reschedule,
complete, no-show, admin force-confirm, hold expiry. Payments live in ``payments``, follow-ups in
``followups``; nothing else saves an Appointment or a slot's claim.

Every function runs in one transaction: lock (in the order written in ``common``) or claim first,
ask ``booking.rules`` under the lock, transition, save with ``update_fields``, audit, outbox. Domain
errors are ``core.errors.DomainError`` subclasses with translated messages; callers show them, never
a 500. Deadlocks and serialisation failures are retried (``core.db.retry_transaction``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import rules
from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CancelledBy,
    PaymentStatus,
    Slot,
    SlotStatus,
    Voucher,
    money,
)
from booking.rules import Action
from booking.services.common import (
    LIVE_HOLDS,
    BookingDetails,
    NotAllowedNow,
    VoucherInvalid,
    _base_price,
    _check_claimed_slot,
    _check_hold_limit,
    _claim,
    _claim_held_check_and_reserve,
    _ensure_video_channel,
    _expire,
    _give_back_voucher,
    _lock_patient_with_defaults,
    _notice,
    _notify,
    _raise_if,
    _release_slot,
    _retire_lapsed_holder,
    _save,
    _slot_taken,
    _transition,
    lock_appointment,
)
from booking.services.payments import _refund_all, payment_mark_cash_paid
from core.audit import audit_entry, audit_log, audit_recorded, statement_reads
from core.db import retry_transaction
from core.errors import DomainError, NotFound, PermissionDenied
from core.models import AuditLog, OutboxMessage
from core.outbox import outbox_deliver_after_commit, outbox_delivery_row, outbox_message, outbox_unless_present
from core.prepared import hot_cursor, insert_for

S = AppointmentStatus


# --- booking --------------------------------------------------------------------------------------


@retry_transaction
def appointment_book(
    *,
    slot: Slot,
    patient,
    actor,
    details: BookingDetails,
    appointment_type: AppointmentType | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Hold ``slot`` for ``patient`` and create the appointment in ``pending_payment``.

    ``actor`` is the patient, the account holder of a dependant patient, or staff booking on their
    behalf (``rules.booking_for_refusal``); anyone but the patient is kept as ``booked_by``. Raises
    InvalidInput (details naming the fields), SlotTaken (with the nearest alternatives) when the slot
    was claimed first, HoldLimitReached, PolicyViolation. A second call for a slot the patient already
    holds returns that appointment.
    """
    now = now or timezone.now()
    details = details.cleaned()
    _raise_if(rules.booking_for_refusal(actor=actor, patient=patient))
    _raise_if(rules.appointment_type_refusal(appointment_type))
    claimed: list[Slot] = []  # the claimed slot, once the appointment's INSERT is under way
    try:
        return _book(
            slot=slot,
            patient=patient,
            actor=actor,
            details=details,
            appointment_type=appointment_type,
            now=now,
            claimed=claimed,
        )
    except IntegrityError:
        if not claimed:
            raise
        # the partial unique index on the slot: someone else's appointment got there first. Answered
        # after the transaction (or its savepoint, when nested) rolled back: no savepoint of our own
        # around the INSERT, whose two round trips every booking paid for this rare case
        raise _slot_taken(claimed[0], now=now) from None


def _book(
    *,
    slot: Slot,
    patient,
    actor,
    details: BookingDetails,
    appointment_type: AppointmentType | None,
    now: datetime,
    claimed: list[Slot],
) -> Appointment:
    with transaction.atomic():
        # the patient's bookings queue here (hold limit and double submits); the clinic's defaults come
        # with the lock (read once, in the transaction: from the database)
        defaults = _lock_patient_with_defaults(patient)
        hold_until = now + defaults.hold
        # ``slot`` may be an unsaved ``Slot(pk=…, doctor_id=…)`` naming the one asked for: the claim
        # takes it only if it is that doctor's, and a failed claim finds out why
        claim = {"doctor_id": slot.doctor_id, "now": now, "hold_until": hold_until, "defaults": defaults}
        reserve = (Appointment, OutboxMessage)  # on PostgreSQL: the ids of the new rows (``_write_booked``)
        mine = reserved = None
        if slot.doctor_id:
            # on PostgreSQL the claim refuses by itself when the patient's live holds forbid it
            # (a double submit, the hold limit): the common case in one statement
            limit = (patient.pk, settings.BOOKING_MAX_HOLDS_PER_PATIENT)
            mine, reserved = _claim_held_check_and_reserve(slot.pk, **claim, reserve=reserve, holds_of=limit)
        if mine is None:
            # the patient's live holds, once: a double submit for this slot, and the hold limit
            holds = LIVE_HOLDS.rows(patient_id=patient.pk, now=now)
            already = next((pk for pk, slot_id in holds if slot_id == slot.pk), None)
            if already is not None:
                # a double submit or a retry: the patient already holds this slot
                return Appointment.objects.select_related("doctor__user").get(pk=already)
            _check_hold_limit(patient, now=now, live=len(holds))
            if slot.doctor_id:  # the claim and, when it took the slot, its checks under the lock
                mine, reserved = _claim_held_check_and_reserve(slot.pk, **claim, reserve=reserve)
            elif _claim(slot.pk, now=now, status=SlotStatus.HELD, hold_until=hold_until):
                mine = _check_claimed_slot(slot.pk, now=now, defaults=defaults)  # the claim is ours: check it
        if mine is None:
            target = Slot.objects.select_related("doctor").filter(pk=slot.pk)
            target = (target.filter(doctor_id=slot.doctor_id) if slot.doctor_id else target).first()
            if target is None:
                raise NotFound(_("This time slot does not exist."))
            raise _slot_taken(target, now=now)
        slot = mine
        if slot.has_lapsed_holder:
            _retire_lapsed_holder(slot.pk, now=now)
        appointment = Appointment(
            doctor=slot.doctor,
            patient=patient,
            booked_by=actor if actor.pk != patient.pk else None,
            slot=slot,
            appointment_type=appointment_type,
            starts_at=slot.start,
            ends_at=slot.end,
            mode=slot.mode,  # the slot's place decides: in person at its facility, or video
            first_name=details.first_name,
            last_name=details.last_name,
            phone=details.phone,
            email=details.email,
            national_id=details.national_id,
            reason=details.reason,
            hold_expires_at=hold_until,
            price=_base_price(slot.doctor, appointment_type),
            currency=slot.doctor.currency,
        )
        claimed.append(slot)
        # an IntegrityError here: the slot is taken (``appointment_book``)
        _write_booked(
            appointment,
            actor=actor,
            audit_data={
                "slot": slot.pk,
                "doctor": slot.doctor_id,
                "on_behalf": actor.pk != patient.pk,
                # a family member's visit: the account holder who manages it (ids only)
                **({"holder": patient.guardian_id} if patient.guardian_id else {}),
            },
            reserved=reserved,
        )
        claimed.clear()
    # the clinic's defaults this booking was checked against (read in its transaction): whoever shows
    # the new appointment (its cancellation terms) uses them instead of reading them again
    appointment.booking_defaults = defaults
    return appointment


BOOKED = "booking.appointment.booked"
HELD = "appointment.held"


def _write_booked(appointment: Appointment, *, actor, audit_data: dict, reserved: tuple[int, ...] | None) -> None:
    """The rows of a new booking, as ``appointment.save()``, ``audit_log`` and ``_notify`` write them
    (the same rows and signals): the appointment, its audit entry (``audit_recorded`` sent), the
    patient's message and its queued delivery. The delivery row is written in this transaction when
    django-q queues tasks in this database (committed with the booking, where the broker wrote it just
    after the commit; otherwise it is queued after the commit as ``outbox_add`` does).

    Each row as a statement built once per process, not through the ORM's save (which costs more
    than the database's work); on PostgreSQL, given the ``reserved`` ids of the appointment and the
    message, all of them one statement: one round trip instead of four, and one commit."""
    connection = connections[router.db_for_write(Appointment)]
    inserts = [insert_for(model, connection.alias) for model in (Appointment, AuditLog, OutboxMessage)]
    if reserved is None or any(router.db_for_write(i.model) != connection.alias for i in inserts):
        _write_booked_one_by_one(appointment, actor=actor, audit_data=audit_data, connection=connection)
        return
    appointment.pk = reserved[0]
    entry = audit_entry(actor=actor, action=BOOKED, obj=appointment, data=audit_data)
    message = _booked_message(appointment)
    message.pk = reserved[1]
    task = outbox_delivery_row(message)
    parts = [(inserts[0], appointment, ""), (inserts[1], entry, ""), (inserts[2], message, "unless")]
    if task is not None:
        parts.append((insert_for(type(task), connection.alias), task, "after_message"))
    pk = connection.ops.quote_name("id")
    statements, params = [], []
    for number, (insert, row, how) in enumerate(parts):
        if row._meta.pk.column != "id":  # pragma: no cover - the models of this statement
            raise ImproperlyConfigured(f"{row._meta.label}: the statement reads back an id column")
        insert.before(row)
        # the delivery only with the message: not when a message with its key was there already
        sql, values = insert.statement(
            connection, row, only_if="EXISTS (SELECT 1 FROM row2)" * (how == "after_message")
        )
        if how == "unless":
            sql = f"{sql} {outbox_unless_present(connection)}"
        statements.append(f"row{number} AS ({sql} RETURNING {pk})")
        params += values
    reads = [f"(SELECT {pk} FROM row{number})" for number in range(len(parts))]  # noqa: S608
    # what the receivers of audit_recorded read for this entry (the webhook endpoints), read here too
    side_reads = statement_reads(entry.action, connection)
    reads += [f"({sql})" for _name, sql, _decode in side_reads]
    with hot_cursor(connection) as cursor:
        cursor.execute(f"WITH {', '.join(statements)} SELECT {', '.join(reads)}", params)  # noqa: S608
        values = cursor.fetchone()
    ids, side_values = values[: len(parts)], values[len(parts) :]
    for (insert, row, _how), pk_value in zip(parts, ids, strict=True):
        if pk_value is not None:
            insert.after(row, pk_value)
    appointment._update_initial_state()  # as its save() does (django-fsm)
    audit_recorded.send(
        sender=AuditLog,
        entry=entry,
        obj=appointment,
        reads={name: decode(value) for (name, _sql, decode), value in zip(side_reads, side_values, strict=True)},
    )
    if ids[2] is not None and task is None:
        outbox_deliver_after_commit(message)


def _booked_message(appointment: Appointment) -> OutboxMessage:
    """The patient's message about a new booking, as ``_notify`` writes it."""
    return outbox_message(**_notice(HELD, appointment, appointment.patient))


def _write_booked_one_by_one(appointment: Appointment, *, actor, audit_data: dict, connection) -> None:
    insert_for(Appointment, connection.alias).insert(appointment)
    appointment._update_initial_state()  # as its save() does (django-fsm)
    entry = audit_entry(actor=actor, action=BOOKED, obj=appointment, data=audit_data)
    insert_for(AuditLog, connection.alias).insert(entry)
    audit_recorded.send(sender=AuditLog, entry=entry, obj=appointment)
    message = _booked_message(appointment)
    if not insert_for(OutboxMessage, connection.alias).insert(message, suffix=outbox_unless_present(connection)):
        return
    task = outbox_delivery_row(message)
    if task is None:
        outbox_deliver_after_commit(message)
    else:
        insert_for(type(task), connection.alias).insert(task)


@retry_transaction
def appointment_apply_voucher(
    *, appointment: Appointment, code: str, actor, now: datetime | None = None
) -> Appointment:
    """Apply a voucher to an unpaid appointment (one voucher per appointment; its use is reserved now
    and given back if the appointment expires or is cancelled unpaid)."""
    now = now or timezone.now()
    code = (code or "").strip().upper()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        problem = rules.refusal(Action.APPLY_VOUCHER, appointment=appointment, user=actor, now=now)
        if problem is not None:
            if problem.code == "voucher_invalid":
                raise VoucherInvalid(problem.message)
            if problem.code == "not_allowed_now":
                raise NotAllowedNow(_("Vouchers can only be applied before paying."))
            raise problem
        voucher = Voucher.objects.filter(code__iexact=code, is_active=True).first()
        if voucher is None:
            raise VoucherInvalid(_("This voucher code is not valid."))
        if (voucher.valid_from and voucher.valid_from > now) or (voucher.valid_until and voucher.valid_until < now):
            raise VoucherInvalid(_("This voucher is not valid today."))
        used = (
            Voucher.objects.filter(pk=voucher.pk)
            .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
            .update(used_count=F("used_count") + 1)
        )
        if not used:
            raise VoucherInvalid(_("This voucher has been used up."))
        appointment.voucher = voucher
        appointment.discount = min(
            appointment.price, money(appointment.discount + voucher.discount_for(appointment.amount_due))
        )
        appointment.save(update_fields=["voucher", "discount", "updated_at"])
        audit_log(
            actor=actor, action="booking.appointment.voucher_applied", obj=appointment, data={"voucher": voucher.pk}
        )
    return appointment


# --- expiry ---------------------------------------------------------------------------------------


@retry_transaction
def appointment_expire_lapsed_hold(*, appointment_id: int, now: datetime | None = None) -> bool:
    """Expire one lapsed hold, re-checked under lock (slot, then appointment). False when there was
    nothing to do: paid, cancelled or re-held meanwhile."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment_id)
        if appointment.status != S.PENDING_PAYMENT or appointment.hold_is_live(now):
            return False
        _expire(appointment, now=now, reason="hold lapsed")
    return True


def appointments_expire_lapsed_holds(*, now: datetime | None = None, limit: int = 500) -> int:
    """Tidy up: mark lapsed holds ``expired`` and tell the patients. Availability never waits for this
    (an expired hold already counts as free); each row is re-checked under lock before it changes."""
    now = now or timezone.now()
    ids = list(
        Appointment.objects.filter(status=S.PENDING_PAYMENT, hold_expires_at__lte=now)
        .order_by("hold_expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(appointment_expire_lapsed_hold(appointment_id=pk, now=now) for pk in ids)


# --- doctor decisions -----------------------------------------------------------------------------


@retry_transaction
def appointment_confirm(*, appointment: Appointment, actor, now=None) -> Appointment:
    """The doctor accepts a paid request (staff may confirm for them)."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        rules.require(Action.CONFIRM, appointment=appointment, user=actor, now=now)
        _confirm(appointment, actor=actor, now=now)
    return appointment


def _confirm(appointment: Appointment, *, actor, now: datetime) -> None:
    _transition(appointment, "confirm", actor=actor)
    appointment.confirmed_at = now
    _ensure_video_channel(appointment)
    _save(appointment, "confirmed_at", "video_channel")
    audit_log(actor=actor, action="booking.appointment.confirmed", obj=appointment)
    confirmed_for = [appointment.patient]
    if actor is None or actor.pk != appointment.doctor.user_id:
        confirmed_for.append(appointment.doctor.user)  # staff or an admin confirmed for the doctor
    _notify("appointment.confirmed", appointment, *confirmed_for)


@retry_transaction
def appointment_decline(*, appointment: Appointment, actor, reason: str, now=None) -> Appointment:
    """The doctor declines a paid request: cancelled, slot freed, payment refunded in full (queued)."""
    now = now or timezone.now()
    if not (reason or "").strip():
        raise DomainError(_("Please give a reason."), code="reason_required")
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        role = rules.require(Action.DECLINE, appointment=appointment, user=actor, now=now)
        _transition(appointment, "decline", actor=actor, description=reason)
        appointment.cancelled_at = now
        appointment.cancelled_by = CancelledBy(role)
        appointment.cancelled_by_user = actor
        appointment.cancellation_reason = reason.strip()
        _save(appointment, "cancelled_at", "cancelled_by", "cancelled_by_user", "cancellation_reason")
        _release_slot(appointment, now=now)
        _refund_all(appointment, reason="declined by the clinic")
        audit_log(actor=actor, action="booking.appointment.declined", obj=appointment)
        _notify("appointment.declined", appointment, appointment.patient)
    return appointment


@retry_transaction
def appointment_force_confirm(*, appointment: Appointment, actor, now: datetime | None = None) -> Appointment:
    """Admin override (seed 000 ``PATCH /appointments/:id``): confirm an open appointment now.

    Unpaid: the amount due is recorded as paid at the desk (cash), which books the slot; waiting for
    the doctor: confirmed on the doctor's behalf. Raises NotAllowedNow when it cannot end confirmed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        rules.require(Action.FORCE_CONFIRM, appointment=appointment, user=actor, now=now)
        if appointment.status in (S.PENDING_PAYMENT, S.EXPIRED):
            payment_mark_cash_paid(appointment=appointment, actor=actor, now=now)
            appointment.refresh_from_db()
        if appointment.status == S.PENDING:
            _confirm(appointment, actor=actor, now=now)
        if appointment.status != S.CONFIRMED:
            # the late cash payment found the slot taken and was refunded: nothing to confirm
            raise NotAllowedNow(_("This appointment cannot be confirmed now."), details={"status": appointment.status})
    return appointment


# --- cancel and reschedule -------------------------------------------------------------------------


def cancellation_terms(*, appointment: Appointment, now: datetime) -> dict:
    """What cancelling now means for the patient: is it late, until when it is free, what share is
    refunded."""
    policy = appointment.doctor.policy()
    late = rules.is_late(appointment=appointment, now=now, policy=policy)
    percent = policy.late_cancellation_refund_percent if late else 100
    paid = sum(
        (p.amount - p.refunded_amount for p in appointment.payments.all() if p.status == PaymentStatus.SUCCEEDED),
        Decimal("0"),
    )
    return {
        "late": late,
        "deadline": rules.change_deadline(appointment=appointment, policy=policy),
        "refund_percent": percent,
        "refund_amount": money(paid * percent / 100),
        "notice_hours": int(policy.cancellation_notice.total_seconds() // 3600),
    }


@retry_transaction
def appointment_cancel(
    *, appointment: Appointment, actor, reason: str = "", force: bool = False, now: datetime | None = None
) -> Appointment:
    """Cancel. Patients: until the visit starts (inside the notice period it is recorded as late and
    refunded per policy). Doctors and staff: with a reason, full refund. Admins force-cancel any open
    appointment (``force`` says so explicitly; an admin's cancel is always a forced one)."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        role = rules.role_in(appointment=appointment, user=actor)
        if force and role not in (None, "admin"):
            raise PermissionDenied(_("Only clinic admins can force a cancellation."))
        action = Action.FORCE_CANCEL if role == "admin" else Action.CANCEL
        rules.require(action, appointment=appointment, user=actor, now=now)
        if role in {"doctor", "staff"} and not (reason or "").strip():
            raise DomainError(_("Please give a reason for the patient."), code="reason_required")
        terms = cancellation_terms(appointment=appointment, now=now)
        late = role == "patient" and terms["late"] and appointment.status != S.PENDING_PAYMENT
        _transition(appointment, "cancel", actor=actor, description=reason)
        appointment.cancelled_at = now
        appointment.cancelled_by = CancelledBy(role)
        appointment.cancelled_by_user = actor
        appointment.cancellation_reason = reason.strip()
        appointment.cancelled_late = late
        _save(appointment, "cancelled_at", "cancelled_by", "cancelled_by_user", "cancellation_reason", "cancelled_late")
        _release_slot(appointment, now=now)
        _give_back_voucher(appointment)
        _refund_all(appointment, percent=terms["refund_percent"] if late else 100, reason=f"cancelled by {role}")
        audit_log(
            actor=actor,
            action="booking.appointment.cancelled",
            obj=appointment,
            data={"by": role, "late": late, "forced": role == "admin"},
        )
        others = {"patient": [appointment.doctor.user], "doctor": [appointment.patient]}.get(
            role, [appointment.patient, appointment.doctor.user]
        )
        _notify("appointment.cancelled", appointment, *others)
    return appointment


@retry_transaction
def appointment_reschedule(
    *, appointment: Appointment, new_slot: Slot, actor, now: datetime | None = None
) -> Appointment:
    """Move the appointment to ``new_slot`` of the same doctor in one transaction: both slots are
    locked (ascending id) before the appointment, the new slot claimed, then the old one freed;
    reminders follow the new time (their keys carry it)."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment, also_slots=(new_slot.pk,))
        role = rules.require(Action.RESCHEDULE, appointment=appointment, user=actor, now=now)
        if new_slot.pk == appointment.slot_id:
            return appointment
        held = appointment.status == S.PENDING_PAYMENT
        if not _claim(
            new_slot.pk,
            now=now,
            status=SlotStatus.HELD if held else SlotStatus.BOOKED,
            hold_until=appointment.hold_expires_at if held else None,
        ):
            raise _slot_taken(Slot.objects.select_related("doctor").get(pk=new_slot.pk), now=now)
        new_slot = _check_claimed_slot(new_slot.pk, now=now, check_policy=role == "patient")
        if new_slot.doctor_id != appointment.doctor_id:
            raise rules.PolicyViolation(_("Pick a time with the same doctor."), code="other_doctor")
        if new_slot.has_lapsed_holder:
            _retire_lapsed_holder(new_slot.pk, now=now)
        old_slot_id, old_start = appointment.slot_id, appointment.starts_at
        _release_slot(appointment, now=now)
        appointment.slot = new_slot
        appointment.starts_at = new_slot.start
        appointment.ends_at = new_slot.end
        appointment.mode = new_slot.mode
        try:
            with transaction.atomic():
                appointment.save(update_fields=["slot", "starts_at", "ends_at", "mode", "updated_at"])
        except IntegrityError:
            raise _slot_taken(new_slot, now=now) from None
        entry = audit_log(
            actor=actor,
            action="booking.appointment.rescheduled",
            obj=appointment,
            data={
                "from_slot": old_slot_id,
                "to_slot": new_slot.pk,
                "from": old_start.isoformat() if old_start else None,
            },
        )
        recipients = [appointment.patient, appointment.doctor.user]
        # one message per move (A→B→A→B announces every move)
        _notify("appointment.rescheduled", appointment, *recipients, key_suffix=f"move{entry.pk}")
    return appointment


# --- visit outcome --------------------------------------------------------------------------------


@retry_transaction
def appointment_complete(*, appointment: Appointment, actor, now: datetime | None = None) -> Appointment:
    """The visit happened (the doctor marks it, or ends the video call). Not before it starts."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        if appointment.status == S.COMPLETED and rules.role_in(appointment=appointment, user=actor) not in (
            None,
            "patient",
        ):
            return appointment  # the doctor's "end call" after completing by hand
        rules.require(Action.COMPLETE, appointment=appointment, user=actor, now=now)
        _transition(appointment, "complete", actor=actor)
        appointment.completed_at = now
        _save(appointment, "completed_at")
        audit_log(actor=actor, action="booking.appointment.completed", obj=appointment)
    return appointment


@retry_transaction
def appointment_mark_no_show(*, appointment: Appointment, actor, now: datetime | None = None) -> Appointment:
    """The patient did not come: only the doctor or staff, only after the start time."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment)
        rules.require(Action.NO_SHOW, appointment=appointment, user=actor, now=now)
        _transition(appointment, "mark_no_show", actor=actor)
        _save(appointment)
        audit_log(actor=actor, action="booking.appointment.no_show", obj=appointment)
        _notify("appointment.no_show", appointment, appointment.patient)
    return appointment
