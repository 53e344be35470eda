"""Shared pieces of the appointment, payment and follow-up services: domain errors, booking details,
the slot claim and release, row locks, transitions, notifications.

Lock order
----------
Rows that one unit of work locks together are always locked in this order, in every service
(booking, reschedule, follow-up accept, expiry, payment success and failure, cancel, decline):

    the patient's user row → slots (ascending id) → appointments (ascending id) → payments → voucher

``lock_appointment`` takes "slot(s), then the appointment" for any change to an existing appointment;
a booking locks the patient row (hold limit), then claims the slot (the conditional UPDATE takes its
lock), then expires a lapsed holder of that slot. Two transactions therefore never wait on each other
in a cycle; PostgreSQL deadlocks and serialisation failures that remain possible elsewhere are retried
by ``core.db.retry_transaction`` around each public service. On SQLite every write transaction is
IMMEDIATE and holds the single write lock, so the order is moot there.

No network call happens while these locks are held: gateway checkouts are opened after commit and
refunds are queued rows delivered by the worker (``booking.services.payments``).

Private helpers (leading underscore) are for the service modules of this package only.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections, models, router
from django.db.models import BooleanField, F, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from booking import rules
from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BlockedTime,
    BookingDefaults,
    PaymentStatus,
    Slot,
    SlotStatus,
    Voucher,
    money,
)
from booking.rules import NotAllowedNow, PolicyViolation
from booking.selectors.appointments import nearest_free_slots
from booking.selectors.scheduling import slot_free_q
from core.audit import audit_log
from core.errors import Conflict, DomainError, InvalidInput, NotFound
from core.outbox import outbox_add
from core.prepared import PreparedInstance, PreparedQuery, PreparedUpdate, hot_cursor

S = AppointmentStatus

__all__ = [
    "BookingDetails",
    "HoldLimitReached",
    "NotAllowedNow",
    "PolicyViolation",
    "SlotTaken",
    "VoucherInvalid",
    "actor_role",
    "lock_appointment",
]


class SlotTaken(Conflict):
    code = "slot_taken"


class HoldLimitReached(Conflict):
    code = "hold_limit_reached"


class VoucherInvalid(DomainError):
    code = "voucher_invalid"


# --- input ------------------------------------------------------------------------------------------

#: the region a phone number without a country code belongs to
DEFAULT_PHONE_REGION = "VN"


def clean_text(value, *, field: str, errors: dict, max_length: int | None = None) -> str:
    """``value`` stripped, or an entry in ``errors``: text a database can store (no NUL bytes)."""
    text = str(value or "").strip()
    if "\x00" in text:
        errors[field] = _("This text contains a character that cannot be stored.")
    elif max_length is not None and len(text) > max_length:
        errors[field] = _("Use at most %(count)s characters.") % {"count": max_length}
    return text


def normalize_phone(value: str) -> str:
    """A phone number in E.164 (``+84901234567``); numbers without a country code are Vietnamese.
    Raises ValueError with a message for people when it is not a possible number."""
    e164 = _e164(value)
    if e164 is _UNPARSEABLE:
        raise ValueError(_("Enter a phone number, e.g. 0901 234 567 or +84 901 234 567."))
    if e164 is _INVALID:
        raise ValueError(_("This phone number does not exist. Check the digits and the country code."))
    return e164


_UNPARSEABLE, _INVALID = object(), object()


@functools.lru_cache(maxsize=4096)
def _e164(value: str):
    """``value`` in E.164, or why not (``_UNPARSEABLE``, ``_INVALID``): a pure function of the text,
    remembered (a patient books with the same number again and again; parsing costs more than the
    rest of checking a booking's details). The messages are made by the caller, in its language."""
    try:
        number = phonenumbers.parse(value, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return _UNPARSEABLE
    if not phonenumbers.is_valid_number(number):
        return _INVALID
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class BookingDetails:
    first_name: str
    last_name: str
    phone: str
    email: str
    national_id: str = ""
    reason: str = ""
    #: set by ``cleaned``: these values are already as stored (cleaning them again changes nothing)
    is_clean: bool = field(default=False, compare=False, repr=False)

    @classmethod
    def from_patient(cls, patient, *, reason: str = "") -> BookingDetails:
        """The patient's name and identity; for a dependant (no address of their own), the account
        holder's email and, unless the dependant has one, phone: the clinic reaches the holder."""
        profile = getattr(patient, "patient_profile", None)
        contact = patient.guardian if patient.guardian_id else patient
        contact_profile = getattr(contact, "patient_profile", None)
        return cls(
            first_name=patient.first_name,
            last_name=patient.last_name,
            phone=getattr(profile, "phone", "") or getattr(contact_profile, "phone", "") or "",
            email=contact.email,
            national_id=getattr(profile, "national_id", "") or "",
            reason=reason,
        )

    def cleaned(self) -> BookingDetails:
        """The details as they are stored: stripped, the phone in E.164, the email checked.

        Raises InvalidInput (422) naming each missing or wrong field (``field_errors``), with the empty
        required ones also in ``details["missing"]``.
        """
        if self.is_clean:
            return self
        errors: dict[str, str] = {}
        limits = {"first_name": 150, "last_name": 150, "phone": 32, "email": 254, "national_id": 32, "reason": 2000}
        values = {
            name: clean_text(getattr(self, name), field=name, errors=errors, max_length=n) for name, n in limits.items()
        }
        missing = [
            name for name in ("first_name", "last_name", "phone", "email") if not values[name] and name not in errors
        ]
        for name in missing:
            errors[name] = _("This field is required.")
        if values["phone"] and "phone" not in errors:
            try:
                values["phone"] = normalize_phone(values["phone"])
            except ValueError as exc:
                errors["phone"] = str(exc)
        if values["email"] and "email" not in errors:
            try:
                validate_email(values["email"])
            except ValidationError:
                errors["email"] = _("Enter a valid email address.")
        if errors:
            labels = {
                "first_name": _("first name"),
                "last_name": _("last name"),
                "phone": _("phone"),
                "email": _("email"),
                "national_id": _("national ID"),
                "reason": _("reason"),
            }
            raise InvalidInput(
                _("Please check: %(fields)s.") % {"fields": ", ".join(str(labels[name]) for name in errors)},
                fields=errors,
                extra={"missing": missing},
            )
        return replace(self, **values, is_clean=True)


# --- who, and locks ---------------------------------------------------------------------------------


def actor_role(*, appointment: Appointment, actor) -> str:
    """How ``actor`` relates to ``appointment`` ("patient", "doctor", "staff" or "admin"); anyone else
    gets NotFound (404), never a hint that the appointment exists."""
    role = rules.role_in(appointment=appointment, user=actor)
    if role is None:
        raise NotFound(_("Appointment not found."))
    return role


def _raise_if(problem: DomainError | None) -> None:
    if problem is not None:
        raise problem


def _lock_slots(*slot_ids: int | None) -> None:
    ids = sorted({pk for pk in slot_ids if pk})
    if ids:
        list(Slot.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _lock_patient(patient) -> None:
    list(get_user_model().objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))


#: the clinic defaults' fields, as read with the patient's lock
_DEFAULTS_FIELDS = tuple(field.attname for field in BookingDefaults._meta.concrete_fields)


def _patient_lock_queryset(patient_id):
    """The patient's row locked, with the clinic's booking defaults (one row, or none yet) as columns:
    one statement where the booking took two."""
    defaults = BookingDefaults.objects.filter(pk=1)
    return (
        get_user_model()
        .objects.select_for_update()  # the FROM holds the user table only: its row is what is locked
        .filter(pk=patient_id)
        .order_by()
        .annotate(**{f"defaults_{name}": Subquery(defaults.values(name)[:1]) for name in _DEFAULTS_FIELDS})
        .values_list("pk", *(f"defaults_{name}" for name in _DEFAULTS_FIELDS))
    )


_PATIENT_LOCK = PreparedQuery(_patient_lock_queryset, ints=("patient_id",))


def _lock_patient_with_defaults(patient) -> BookingDefaults:
    """``_lock_patient``, and the clinic's booking defaults read from the database in the same
    statement (what ``BookingDefaults.load`` reads inside a transaction)."""
    rows = _PATIENT_LOCK.rows(patient_id=patient.pk)
    if not rows:  # no such patient row: as the plain lock, nothing is locked
        return BookingDefaults.load()
    values = rows[0][1:]
    if values[0] is None:  # not saved by an admin yet: the field defaults
        return BookingDefaults(pk=1)
    return BookingDefaults.from_db(_PATIENT_LOCK.using, _DEFAULTS_FIELDS, values)


def _live_holds_queryset(patient_id, now):
    return (
        Appointment.objects.filter(rules.live_hold_q(now=now), patient_id=patient_id)
        .order_by()
        .values_list("pk", "slot_id")
    )


#: the patient's live holds: ``(appointment id, slot id)`` rows
LIVE_HOLDS = PreparedQuery(_live_holds_queryset, ints=("patient_id",), datetimes=("now",))


def lock_appointment(appointment: Appointment | int, *, also_slots: tuple[int, ...] = ()) -> Appointment:
    """Re-read ``appointment`` locked, after locking its slot and ``also_slots`` (the lock order in the
    module docstring). Call inside a transaction."""
    pk = appointment if isinstance(appointment, int) else appointment.pk
    for _attempt in range(5):
        slot_id = Appointment.objects.filter(pk=pk).values_list("slot_id", flat=True).first()
        if slot_id is None and not Appointment.objects.filter(pk=pk).exists():
            raise NotFound(_("Appointment not found."))
        _lock_slots(slot_id, *also_slots)
        locked = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("doctor__user", "patient", "slot")
            .get(pk=pk)
        )
        if locked.slot_id == slot_id:
            return locked
        # a reschedule moved it between the read and the lock: lock its new slot first, then again
    raise Conflict(_("This appointment is being changed right now. Please try again."), code="busy")


# --- transitions and messages -------------------------------------------------------------------


def _transition(appointment: Appointment, name: str, *, actor, description: str = "") -> None:
    method = getattr(appointment, name)
    try:
        method(by=actor if actor is not None and actor.is_authenticated else None, description=description or None)
    except TransitionNotAllowed:
        raise NotAllowedNow(
            _("This is not possible while the appointment is “%(status)s”.")
            % {"status": appointment.get_status_display()},
            details={"status": appointment.status},
        ) from None


def _save(appointment: Appointment, *fields: str) -> None:
    appointment.save(update_fields=["status", "updated_at", *fields])


def _notify(kind: str, appointment: Appointment, *recipients, key_suffix: str = "", extra: dict | None = None) -> None:
    """One outbox row per recipient. A dependant patient (a child, an elderly parent) has no login or
    address of their own: their messages go to the account holder (``User.notification_recipient``)."""
    for person in recipients:
        if person is not None:
            outbox_add(**_notice(kind, appointment, person, key_suffix=key_suffix, extra=extra))


def _notice(kind: str, appointment: Appointment, person, *, key_suffix: str = "", extra: dict | None = None) -> dict:
    """The outbox arguments of ``_notify``'s message about ``appointment`` to ``person`` (to their
    notification recipient), for ``outbox_add`` or ``outbox_message``."""
    recipient = person.notification_recipient
    suffix = f":{key_suffix}" if key_suffix else ""
    return {
        "kind": kind,
        "recipient": recipient,
        "obj": appointment,
        "context": {"appointment": appointment.pk, **(extra or {})},
        "dedupe_key": f"{kind}:appointment:{appointment.pk}:{recipient.pk}{suffix}",
    }


def _clinic_staff():
    return list(get_user_model().objects.filter(role__in=["staff", "admin"], is_active=True))


def _base_price(doctor, appointment_type: AppointmentType | None) -> Decimal:
    if appointment_type is not None and appointment_type.price is not None:
        return money(appointment_type.price)
    return money(doctor.consultation_fee)


# --- the slot -----------------------------------------------------------------------------------


def _hold_claim_queryset(slot_id, doctor_id, now, hold_until):
    changes = {"status": SlotStatus.HELD, "hold_expires_at": hold_until, "updated_at": now}
    return Slot.objects.filter(slot_free_q(now=now), Q(pk=slot_id, doctor_id=doctor_id)), changes


_HOLD_CLAIM = PreparedUpdate(_hold_claim_queryset, ints=("slot_id", "doctor_id"), datetimes=("now", "hold_until"))


def _claim(
    slot_id: int, *, now: datetime, status: str, hold_until: datetime | None, doctor_id: int | None = None
) -> bool:
    """One conditional UPDATE: take the slot if nobody holds it (free, or held with a lapsed hold) —
    and, given ``doctor_id``, if it is that doctor's. False means someone else has it (or there is no
    such slot). This statement is the only arbiter of who gets a slot."""
    if status == SlotStatus.HELD and hold_until is not None and doctor_id is not None:
        # a booking's claim (the hottest write): the same statement, compiled once per process
        return _HOLD_CLAIM.run(slot_id=slot_id, doctor_id=doctor_id, now=now, hold_until=hold_until) == 1
    mine = Q(pk=slot_id) if doctor_id is None else Q(pk=slot_id, doctor_id=doctor_id)
    return (
        Slot.objects.filter(slot_free_q(now=now), mine).update(
            status=status, hold_expires_at=hold_until, updated_at=now
        )
        == 1
    )


def _q(name: str) -> str:
    """An identifier quoted for SQL (double quotes: SQLite and PostgreSQL alike)."""
    return f'"{name}"'


# The two checks of a claimed slot, as subqueries of the one query that re-reads it. Written out: Django's
# Exists(…OuterRef…) costs three times the CPU of this whole query to build, on every booking.
_SLOT = _q(Slot._meta.db_table)
#: blocked time of the slot's doctor overlapping the slot
_SLOT_BLOCKED_SQL = (
    f"EXISTS (SELECT 1 FROM {_q(BlockedTime._meta.db_table)} b WHERE b.{_q('doctor_id')} = {_SLOT}.{_q('doctor_id')}"  # noqa: S608
    f" AND b.{_q('starts_at')} < {_SLOT}.{_q('end')} AND b.{_q('ends_at')} > {_SLOT}.{_q('start')})"
)
#: an appointment on the slot whose payment hold lapsed (params: the pending-payment status, now)
_SLOT_LAPSED_HOLDER_SQL = (
    f"EXISTS (SELECT 1 FROM {_q(Appointment._meta.db_table)} a WHERE a.{_q('slot_id')} = {_SLOT}.{_q('id')}"  # noqa: S608
    f" AND a.{_q('status')} = %s AND a.{_q('hold_expires_at')} <= %s)"
)


def _claimed_slot_queryset(slot_id, now):
    connection = connections[router.db_for_write(Slot)]
    return (
        Slot.objects.filter(pk=slot_id)
        .order_by()
        .annotate(
            is_blocked=RawSQL(_SLOT_BLOCKED_SQL, (), output_field=BooleanField()),  # noqa: S611 (constant SQL)
            has_lapsed_holder=RawSQL(  # noqa: S611 (constant SQL, values as parameters)
                _SLOT_LAPSED_HOLDER_SQL,
                (S.PENDING_PAYMENT, connection.ops.adapt_datetimefield_value(now)),
                output_field=BooleanField(),
            ),
        )
    )


#: the claimed slot with its doctor (and the doctor's account) and availability (the slot's mode is its
#: availability's), ``is_blocked`` and ``has_lapsed_holder``: compiled once per process
_CLAIMED_SLOT = PreparedInstance(
    _claimed_slot_queryset,
    model=Slot,
    related=("doctor", "doctor__user", "availability"),
    extra=("is_blocked", "has_lapsed_holder"),
    ints=("slot_id",),
    datetimes=("now",),
)


def _check_claimed_slot(
    slot_id: int, *, now: datetime, check_policy: bool = True, defaults: BookingDefaults | None = None
) -> Slot:
    """After the claim, under the transaction: re-read the (now locked) slot and check that its time
    may be booked — the doctor is bookable, the booking policy allows the time, no blocked time covers
    it. Raising rolls the claim back. One query: the slot comes with ``is_blocked`` and
    ``has_lapsed_holder`` (an appointment whose hold lapsed still sits on it: ``_retire_lapsed_holder``).
    ``defaults``: the clinic's booking defaults when the caller has read them already."""
    slot = _CLAIMED_SLOT.get(slot_id=slot_id, now=now)
    if slot is None:
        raise Slot.DoesNotExist(f"slot {slot_id}")
    return _check_slot(slot, now=now, check_policy=check_policy, defaults=defaults)


def _check_slot(
    slot: Slot, *, now: datetime, check_policy: bool = True, defaults: BookingDefaults | None = None
) -> Slot:
    if check_policy:
        policy = slot.doctor.policy(defaults) if defaults is not None else None
        _raise_if(rules.slot_refusal(slot, now=now, policy=policy))
    elif slot.start <= now:
        raise PolicyViolation(_("This time has already passed."), code="slot_in_past")
    if slot.is_blocked:
        raise PolicyViolation(_("The doctor is not available at this time."), code="slot_blocked")
    return slot


def _claim_held_and_check(
    slot_id: int, *, doctor_id: int, now: datetime, hold_until: datetime, defaults: BookingDefaults
) -> Slot | None:
    """A booking's claim (``_claim``: held until ``hold_until``, only if it is ``doctor_id``'s) and,
    when it took the slot, the checks of ``_check_claimed_slot``; None when the claim took nothing.
    ``_claim_held_check_and_reserve`` without reserving ids."""
    return _claim_held_check_and_reserve(
        slot_id, doctor_id=doctor_id, now=now, hold_until=hold_until, defaults=defaults
    )[0]


def _claim_held_check_and_reserve(
    slot_id: int,
    *,
    doctor_id: int,
    now: datetime,
    hold_until: datetime,
    defaults: BookingDefaults,
    reserve: tuple[type[models.Model], ...] = (),
    holds_of: tuple[int, int] | None = None,
) -> tuple[Slot | None, tuple[int, ...] | None]:
    """``_claim_held_and_check``, and on PostgreSQL, when the claim took the slot, the next id of
    each model of ``reserve`` (from its table's sequence: the rows written next can be written
    together, knowing each other's ids; a rolled-back booking leaves a gap, as any rollback does).
    The reserved ids are None elsewhere, or when the claim took nothing.

    ``holds_of``: ``(patient id, the most live holds they may have)``, with the patient locked by the
    caller (``_lock_patient``). On PostgreSQL the claim then takes the slot only if that patient holds
    fewer live holds than that and none on this slot: the booking's hold-limit and double-submit checks
    in the claim's statement (one round trip less). The claim taking nothing then does not say why: the
    caller reads the holds (``LIVE_HOLDS``) and claims again. Elsewhere nothing is tried: (None, None).

    On PostgreSQL the claim and the checks are one statement: the claim's UPDATE in a ``WITH`` and the
    re-read as its query, which sees the slot as it was before the UPDATE (one snapshot: only the
    columns the claim sets differ, and are set on the instance here); its blocked time and
    lapsed-holder subqueries read tables the claim does not touch. Elsewhere (SQLite, in process: no
    round trip to save) two."""
    connection = connections[router.db_for_write(Slot)]
    if connection.vendor != "postgresql":
        if holds_of is not None:
            return None, None
        if not _claim(slot_id, now=now, status=SlotStatus.HELD, hold_until=hold_until, doctor_id=doctor_id):
            return None, None
        return _check_claimed_slot(slot_id, now=now, defaults=defaults), None
    claim_sql, claim_params = _HOLD_CLAIM.statement(
        connection, {"slot_id": slot_id, "doctor_id": doctor_id, "now": now, "hold_until": hold_until}
    )
    if holds_of is not None:
        # the claim's WHERE is one AND of its conditions (its compiled SQL ends with it): two more. Each
        # reads at most what it needs (a LIMIT, an EXISTS): PostgreSQL's generic plan of the statement
        # then costs what a plan for the given patient costs, and it is planned once, not on every run
        patient_id, most = holds_of
        holds_sql, holds_params = LIVE_HOLDS.statement(connection, {"patient_id": patient_id, "now": now})
        slot_column = connection.ops.quote_name("slot_id")
        claim_sql += (
            f" AND NOT EXISTS (SELECT 1 FROM ({holds_sql}) holds WHERE holds.{slot_column} = %s)"  # noqa: S608 (compiled SQL)
            f" AND (SELECT count(*) FROM ({holds_sql} LIMIT %s) holds) < %s"
        )
        claim_params = [*claim_params, *holds_params, slot_id, *holds_params, most, most]
    read_sql, read_params = _CLAIMED_SLOT.statement(connection, {"slot_id": slot_id, "now": now})
    pk = connection.ops.quote_name(Slot._meta.pk.column)
    # the sequences' names as PostgreSQL knows them (a table name given quoted keeps its case)
    ids = "".join(
        f", nextval(pg_get_serial_sequence('{connection.ops.quote_name(model._meta.db_table)}',"
        f" '{model._meta.pk.column}'))"
        for model in reserve
    )
    sql = (
        f"WITH claimed AS ({claim_sql} RETURNING {pk}) "  # noqa: S608 (compiled SQL, values as parameters)
        f"SELECT slot_read.*{ids} FROM ({read_sql}) AS slot_read WHERE EXISTS (SELECT 1 FROM claimed)"
    )
    with hot_cursor(connection) as cursor:
        cursor.execute(sql, [*claim_params, *read_params])
        rows = cursor.fetchall()
    if not rows:
        return None, None
    row = rows[0]
    reserved = tuple(row[len(row) - len(reserve) :]) if reserve else None
    slot = _CLAIMED_SLOT.instance(_CLAIMED_SLOT.converted(connection, [row[: len(row) - len(reserve)]])[0])
    slot.status, slot.hold_expires_at, slot.updated_at = SlotStatus.HELD, hold_until, now
    return _check_slot(slot, now=now, defaults=defaults), reserved


def _release_slot(appointment: Appointment, *, now: datetime) -> None:
    """Free the appointment's slot if it is still claimed for it (never touch someone else's claim)."""
    if appointment.slot_id is None:
        return
    slot_filter = Q(status=SlotStatus.BOOKED)
    if appointment.status in (S.PENDING_PAYMENT, S.EXPIRED, S.CANCELLED) and appointment.hold_expires_at:
        slot_filter |= Q(status=SlotStatus.HELD, hold_expires_at=appointment.hold_expires_at)
    Slot.objects.filter(slot_filter, pk=appointment.slot_id, start__gt=now).update(
        status=SlotStatus.FREE, hold_expires_at=None, updated_at=now
    )


def _slot_taken(slot: Slot, *, now: datetime) -> SlotTaken:
    alternatives = nearest_free_slots(doctor=slot.doctor, around=slot.start, now=now)
    return SlotTaken(
        _("This slot was just taken. Please choose another time."),
        details={
            "alternatives": [
                {"id": alt.pk, "start": alt.start.isoformat(), "end": alt.end.isoformat()} for alt in alternatives
            ]
        },
    )


def _check_hold_limit(patient, *, now: datetime, live: int | None = None) -> None:
    """Count the patient's live holds (or take ``live``, counted by the caller under the same lock);
    call after ``_lock_patient`` so two bookings cannot both pass."""
    if live is None:
        live = Appointment.objects.filter(rules.live_hold_q(now=now), patient=patient).count()
    if live >= settings.BOOKING_MAX_HOLDS_PER_PATIENT:
        raise HoldLimitReached(
            _("You already have %(count)s bookings waiting for payment. Pay or cancel one first.") % {"count": live}
        )


def _ensure_video_channel(appointment: Appointment) -> None:
    if not appointment.video_channel:
        appointment.video_channel = f"appt_{appointment.pk}_{secrets.token_hex(8)}"


def _give_back_voucher(appointment: Appointment) -> None:
    if appointment.voucher_id and not appointment.payments.filter(status=PaymentStatus.SUCCEEDED).exists():
        Voucher.objects.filter(pk=appointment.voucher_id, used_count__gt=0).update(used_count=F("used_count") - 1)


def _expire(
    appointment: Appointment,
    *,
    now: datetime,
    reason: str,
    release_slot: bool = True,
    notify: bool = True,
    kind: str = "appointment.hold_expired",
) -> None:
    _transition(appointment, "expire", actor=None, description=reason)
    _save(appointment)
    if release_slot:
        _release_slot(appointment, now=now)
    _give_back_voucher(appointment)
    audit_log(actor=None, action="booking.appointment.expired", obj=appointment, data={"reason": reason})
    if notify:
        _notify(kind, appointment, appointment.patient)


def _retire_lapsed_holder(slot_id: int, *, now: datetime, keep: int | None = None) -> None:
    """An appointment whose hold lapsed still occupies its slot until swept: expire it now. Call with
    the slot locked (after the claim), so this only ever locks appointments after their slot."""
    stale = Appointment.objects.select_for_update(of=("self",)).select_related("patient", "doctor__user")
    stale = stale.filter(slot_id=slot_id, status=S.PENDING_PAYMENT, hold_expires_at__lte=now).order_by("pk")
    if keep is not None:
        stale = stale.exclude(pk=keep)
    for appointment in stale:
        _expire(appointment, now=now, reason="hold lapsed", release_slot=False)
