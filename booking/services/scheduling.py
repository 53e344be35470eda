"""Writes for scheduling: availability and the slots cut from it, weekly patterns and blocked time.

Every function here runs in one transaction, checks its rules there and writes an audit entry there.
A rule that says "no" raises a ``DomainError`` with a translated message; callers (admin, API) show it.

Concurrency: each write first locks the doctor's row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the
IMMEDIATE transaction already holds the database's write lock), so two writers for one doctor queue up and
the overlap check cannot race. An in-person block in a room then locks the room's row (doctor → room), so
two doctors asking for one room queue up too. PostgreSQL's exclusion constraints stay as the last line
of defence: an overlap they reject becomes the same ``ScheduleConflict`` as one the check finds.

Booked slots, and slots held by a live payment hold, are never changed or deleted here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from booking.models import (
    AppointmentMode,
    Availability,
    BlockedTime,
    BookingDefaults,
    Doctor,
    Facility,
    Room,
    Slot,
    SlotStatus,
)
from booking.selectors.scheduling import slot_free_q
from booking.slotting import SlotPlan, ends_next_day, plan_day, resolve_local, wall_duration
from core.audit import audit_log
from core.errors import Conflict, DomainError, InvalidInput, NotFound

MIN_SLOT_MINUTES = 5
MAX_SLOT_MINUTES = 480
#: the longest date range one weekly-pattern run may cover (about three months)
MAX_WEEKLY_DAYS = 92


class SchedulingError(DomainError):
    """This schedule cannot be saved."""

    code = "scheduling_invalid"
    status = 400


def _require_wall_clock(**times: dt.time) -> None:
    """Times a doctor types are wall-clock times in their own zone: an offset or zone would be ignored
    (or compared with naive times and fail), so it is refused with the field named."""
    with_offset = [name for name, value in times.items() if isinstance(value, dt.time) and value.tzinfo is not None]
    if with_offset:
        raise InvalidInput(
            _("Give times as the doctor's local wall-clock time, without a UTC offset."),
            code="time_has_offset",
            fields={name: _("Remove the UTC offset.") for name in with_offset},
        )


class ScheduleConflict(Conflict):
    """This time overlaps other availability of the doctor."""

    code = "schedule_overlap"


class AvailabilityLocked(Conflict):
    """Some slots of this availability are already booked."""

    code = "availability_booked"


# --- helpers -----------------------------------------------------------------------------------


def _hhmm(value: dt.time) -> str:
    return value.strftime("%H:%M")


def _actor_or_none(actor):
    return actor if actor is not None and getattr(actor, "pk", None) and actor.is_authenticated else None


def _lock_doctor(doctor: Doctor) -> None:
    """Serialise scheduling writes for one doctor (a no-op on SQLite, whose transaction holds the lock)."""
    list(Doctor.objects.select_for_update().filter(pk=doctor.pk).values_list("pk", flat=True))


def _lock_room(room: Room | None) -> None:
    """Serialise bookings of one room's time across doctors (after the doctor's lock; a no-op on SQLite)."""
    if room is not None:
        list(Room.objects.select_for_update().filter(pk=room.pk).values_list("pk", flat=True))


@dataclass(frozen=True)
class Place:
    """Where an availability's visits happen: by video, or at a facility (optionally in one room)."""

    mode: str = AppointmentMode.VIDEO
    facility: Facility | None = None
    room: Room | None = None


def _place(*, mode: str | None, facility: Facility | None, room: Room | None) -> Place:
    """Validate a mode and place; InvalidInput names the field at fault. A room alone implies its facility."""
    mode = mode or (AppointmentMode.IN_PERSON if facility is not None or room is not None else AppointmentMode.VIDEO)
    if mode not in AppointmentMode.values:
        raise InvalidInput(
            _("Choose in person or video."), code="invalid_mode", fields={"mode": _("Choose in person or video.")}
        )
    if mode == AppointmentMode.VIDEO:
        if facility is not None or room is not None:
            message = _("A video visit has no facility or room.")
            fields = {name: message for name, value in (("facility", facility), ("room", room)) if value is not None}
            raise InvalidInput(message, code="video_has_place", fields=fields)
        return Place()
    if facility is None and room is not None:
        facility = room.facility
    if facility is None:
        message = _("Choose the facility where the visits happen.")
        raise InvalidInput(message, code="facility_required", fields={"facility": message})
    if not facility.is_active:
        message = _("This facility is closed.")
        raise InvalidInput(message, code="facility_inactive", fields={"facility": message})
    if room is not None:
        if room.facility_id != facility.pk:
            message = _("This room is not in the chosen facility.")
            raise InvalidInput(message, code="room_not_in_facility", fields={"room": message})
        if not room.is_active:
            message = _("This room is out of use.")
            raise InvalidInput(message, code="room_inactive", fields={"room": message})
    return Place(mode=AppointmentMode.IN_PERSON, facility=facility, room=room)


def _room_conflict(other: Availability | None = None) -> ScheduleConflict:
    if other is None:
        return ScheduleConflict(_("This room is already in use at this time."), code="room_in_use")
    return ScheduleConflict(
        _("This room is already in use on %(date)s, %(start)s–%(end)s (%(doctor)s).")
        % {
            "date": date_format(other.date, "SHORT_DATE_FORMAT"),
            "start": _hhmm(other.start_time),
            "end": _hhmm(other.end_time),
            "doctor": other.doctor,
        },
        code="room_in_use",
        details={"availability_id": other.pk},
    )


def _is_overlap_error(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    if sqlstate in {"23P01", "23505"}:  # exclusion_violation, unique_violation
        return True
    text = str(exc)
    return "no_overlap" in text or "slot_unique_doctor_start" in text or "booking_slot.doctor_id" in text


def _overlap_conflict(other: Availability | None = None) -> ScheduleConflict:
    if other is None:
        return ScheduleConflict(_("This time overlaps other availability of the doctor."))
    return ScheduleConflict(
        _("This time overlaps the doctor's availability on %(date)s, %(start)s–%(end)s.")
        % {
            "date": date_format(other.date, "SHORT_DATE_FORMAT"),
            "start": _hhmm(other.start_time),
            "end": _hhmm(other.end_time),
        },
        details={"availability_id": other.pk},
    )


def _busy_slots_q(now: dt.datetime) -> Q:
    """Slots nobody may touch: booked, or held by a payment hold that has not lapsed."""
    return Q(status=SlotStatus.BOOKED) | Q(status=SlotStatus.HELD, hold_expires_at__gt=now)


def _slot_rows(*, availability: Availability, pairs) -> list[Slot]:
    """Unsaved slots for ``pairs`` of (start, end); those inside blocked time start out blocked."""
    if not pairs:
        return []
    blocks = list(
        BlockedTime.objects.filter(
            doctor_id=availability.doctor_id, starts_at__lt=availability.ends_at, ends_at__gt=availability.starts_at
        ).values_list("starts_at", "ends_at")
    )

    def blocked(start, end) -> bool:
        return any(b_start < end and b_end > start for b_start, b_end in blocks)

    return [
        Slot(
            doctor_id=availability.doctor_id,
            availability=availability,
            start=start,
            end=end,
            status=SlotStatus.BLOCKED if blocked(start, end) else SlotStatus.FREE,
        )
        for start, end in pairs
    ]


# --- preview and rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewSlot:
    start: dt.datetime
    end: dt.datetime
    local_start: dt.datetime
    local_end: dt.datetime


@dataclass
class AvailabilityPreview:
    """What saving this availability would do: its slots, what is left over, and why it cannot be saved."""

    doctor: Doctor
    date: dt.date
    start_time: dt.time
    end_time: dt.time
    slot_minutes: int
    buffer_minutes: int
    plan: SlotPlan | None
    errors: list[DomainError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Human-readable reasons the availability cannot be saved (empty when it can)."""
        return [str(error) for error in self.errors]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def slots(self) -> list[tuple[dt.datetime, dt.datetime]]:
        return list(self.plan.slots) if self.plan else []

    @property
    def leftover_minutes(self) -> int:
        return self.plan.leftover_minutes if self.plan else 0

    @property
    def time_zone(self) -> str:
        return self.doctor.time_zone

    @property
    def local_slots(self) -> list[PreviewSlot]:
        zone = self.doctor.zone
        return [PreviewSlot(start, end, start.astimezone(zone), end.astimezone(zone)) for start, end in self.slots]


def _evaluate(
    *,
    doctor: Doctor,
    date: dt.date,
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    now: dt.datetime,
    availability: Availability | None = None,
    defaults: BookingDefaults | None = None,
    room: Room | None = None,
) -> AvailabilityPreview:
    zone = doctor.zone
    buffer_minutes = int(doctor.policy(defaults).buffer.total_seconds() // 60)
    preview = AvailabilityPreview(
        doctor=doctor,
        date=date,
        start_time=start_time,
        end_time=end_time,
        slot_minutes=slot_minutes,
        buffer_minutes=buffer_minutes,
        plan=None,
    )
    errors = preview.errors

    if availability is not None and availability.pk and availability.slots.filter(_busy_slots_q(now)).exists():
        errors.append(
            AvailabilityLocked(
                _("This availability cannot be changed: some of its slots are already booked or being booked.")
            )
        )

    today = now.astimezone(zone).date()
    if date <= today:
        errors.append(
            SchedulingError(
                _("Only future dates can be scheduled.")
                if availability is None
                else _("Only availability on future dates can be changed."),
                code="date_not_in_future",
            )
        )
    if not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        errors.append(
            SchedulingError(
                _("The visit length must be between %(min)d and %(max)d minutes.")
                % {"min": MIN_SLOT_MINUTES, "max": MAX_SLOT_MINUTES},
                code="invalid_visit_length",
            )
        )
        return preview
    if wall_duration(start_time, end_time) <= dt.timedelta(0):
        errors.append(SchedulingError(_("The start time must be before the end time."), code="start_not_before_end"))
        return preview

    plan = plan_day(
        day=date, start=start_time, end=end_time, minutes=slot_minutes, zone=zone, buffer_minutes=buffer_minutes
    )
    preview.plan = plan
    if not plan.slots:
        errors.append(
            SchedulingError(
                _("A %(minutes)d-minute visit does not fit between %(start)s and %(end)s.")
                % {"minutes": slot_minutes, "start": _hhmm(start_time), "end": _hhmm(end_time)},
                code="visit_does_not_fit",
            )
        )
        return preview

    wall_minutes = wall_duration(start_time, end_time).total_seconds() // 60
    real_minutes = (plan.ends_at - plan.starts_at).total_seconds() // 60
    if wall_minutes != real_minutes:
        preview.notes.append(
            _(
                "The clocks change on this day in %(zone)s: %(start)s to %(end)s lasts %(minutes)d minutes, "
                "and the slots follow real time."
            )
            % {"zone": doctor.time_zone, "start": _hhmm(start_time), "end": _hhmm(end_time), "minutes": real_minutes}
        )
    if plan.leftover_minutes:
        last_end = plan.slots[-1][1].astimezone(zone)
        preview.notes.append(
            ngettext(
                "The last %(minutes)d minute (from %(time)s) is too short for a %(length)d-minute visit and "
                "will not be bookable.",
                "The last %(minutes)d minutes (from %(time)s) are too short for a %(length)d-minute visit and "
                "will not be bookable.",
                plan.leftover_minutes,
            )
            % {"minutes": plan.leftover_minutes, "time": last_end.strftime("%H:%M"), "length": slot_minutes}
        )

    other = (
        Availability.objects.filter(doctor=doctor, starts_at__lt=plan.ends_at, ends_at__gt=plan.starts_at)
        .exclude(pk=getattr(availability, "pk", None))
        .order_by("starts_at")
        .first()
    )
    if other is not None:
        errors.append(_overlap_conflict(other))
    else:
        stray = Slot.objects.filter(doctor=doctor, start__lt=plan.ends_at, end__gt=plan.starts_at)
        if availability is not None and availability.pk:
            stray = stray.exclude(availability=availability)
        if stray.exists():
            errors.append(_overlap_conflict())
    if room is not None:
        taken = (
            Availability.objects.filter(room=room, starts_at__lt=plan.ends_at, ends_at__gt=plan.starts_at)
            .exclude(pk=getattr(availability, "pk", None))
            .select_related("doctor__user")
            .order_by("starts_at")
            .first()
        )
        if taken is not None:
            errors.append(_room_conflict(taken))
    return preview


def availability_preview(
    *,
    doctor: Doctor,
    date: dt.date,
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    availability: Availability | None = None,
    now: dt.datetime | None = None,
    mode: str | None = None,
    facility: Facility | None = None,
    room: Room | None = None,
) -> AvailabilityPreview:
    """The slots this availability would make and every reason it cannot be saved; writes nothing.

    Pass ``availability`` to preview a change of an existing one (it is left out of the overlap check;
    its own room is checked). A bad mode or place raises ``InvalidInput`` naming the field.
    """
    _require_wall_clock(start_time=start_time, end_time=end_time)
    if availability is not None and availability.pk:
        room = availability.room
    else:
        room = _place(mode=mode, facility=facility, room=room).room
    return _evaluate(
        room=room,
        doctor=doctor,
        date=date,
        start_time=start_time,
        end_time=end_time,
        slot_minutes=slot_minutes,
        now=now or timezone.now(),
        availability=availability,
    )


# --- availability ------------------------------------------------------------------------------


def whole_block_minutes(*, doctor: Doctor, date: dt.date, start_time: dt.time, end_time: dt.time) -> int:
    """How many real minutes the block lasts in the doctor's zone: its length as one slot (seed 000's
    schedule is one bookable period). A block that does not last at all gives the shortest visit, so that
    the answer names the real problem (the start is not before the end)."""
    if wall_duration(start_time, end_time) <= dt.timedelta(0):
        return MIN_SLOT_MINUTES
    end_day = date + dt.timedelta(days=1) if ends_next_day(start_time, end_time) else date
    length = resolve_local(end_day, end_time, doctor.zone) - resolve_local(date, start_time, doctor.zone)
    return max(int(length.total_seconds() // 60), MIN_SLOT_MINUTES)


def availability_create(
    *,
    doctor: Doctor,
    date: dt.date,
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int | None,
    actor,
    now: dt.datetime | None = None,
    defaults: BookingDefaults | None = None,
    mode: str | None = None,
    facility: Facility | None = None,
    room: Room | None = None,
) -> Availability:
    """Create ``doctor``'s availability on local ``date`` from ``start_time`` to ``end_time`` and cut it into
    slots of ``slot_minutes`` (plus the doctor's buffer); without ``slot_minutes`` the whole block is one
    slot (seed 000's schedule). Slots inside blocked time start out blocked.

    ``mode`` is ``video`` (no place) or ``in_person`` at ``facility``, optionally in one of its rooms;
    without a mode, a facility or room means in person and nothing means video. A room holds one block
    at a time, whoever the doctor.

    Raises ``InvalidInput`` (mode, facility or room, naming the field), ``SchedulingError`` (past date,
    bad times, visit does not fit) or ``ScheduleConflict`` (overlap, or the room is in use).
    """
    _require_wall_clock(start_time=start_time, end_time=end_time)
    place = _place(mode=mode, facility=facility, room=room)
    now = now or timezone.now()
    if slot_minutes is None:
        slot_minutes = whole_block_minutes(doctor=doctor, date=date, start_time=start_time, end_time=end_time)
    with transaction.atomic():
        _lock_doctor(doctor)
        _lock_room(place.room)
        preview = _evaluate(
            doctor=doctor,
            date=date,
            start_time=start_time,
            end_time=end_time,
            slot_minutes=slot_minutes,
            now=now,
            defaults=defaults,
            room=place.room,
        )
        if preview.errors:
            raise preview.errors[0]
        plan = preview.plan
        try:
            with transaction.atomic():
                availability = Availability.objects.create(
                    doctor=doctor,
                    date=date,
                    start_time=start_time,
                    end_time=end_time,
                    slot_minutes=slot_minutes,
                    mode=place.mode,
                    facility=place.facility,
                    room=place.room,
                    starts_at=plan.starts_at,
                    ends_at=plan.ends_at,
                    created_by=_actor_or_none(actor),
                )
                slots = Slot.objects.bulk_create(_slot_rows(availability=availability, pairs=plan.slots))
        except IntegrityError as exc:
            if "room_no_overlap" in str(exc):
                raise _room_conflict() from exc
            if _is_overlap_error(exc):
                raise _overlap_conflict() from exc
            raise
        audit_log(
            actor=actor,
            action="booking.availability.created",
            obj=availability,
            data={
                "doctor_id": doctor.pk,
                "date": date.isoformat(),
                "start_time": _hhmm(start_time),
                "end_time": _hhmm(end_time),
                "slot_minutes": slot_minutes,
                "slots": len(slots),
                "mode": place.mode,
                "facility_id": getattr(place.facility, "pk", None),
                "room_id": getattr(place.room, "pk", None),
            },
        )
    return availability


def _locked_availability(availability: Availability) -> tuple[Availability, list[Slot]]:
    try:
        locked = Availability.objects.select_for_update().select_related("doctor").get(pk=availability.pk)
    except Availability.DoesNotExist:
        raise NotFound(_("This availability no longer exists."))
    slots = list(Slot.objects.select_for_update().filter(availability=locked).order_by("start"))
    return locked, slots


def _ensure_nothing_booked(slots: list[Slot], now: dt.datetime, *, deleting: bool) -> None:
    if any(
        slot.status == SlotStatus.BOOKED or (slot.status == SlotStatus.HELD and not slot.is_free_at(now))
        for slot in slots
    ):
        raise AvailabilityLocked(
            _("This availability cannot be deleted: some of its slots are already booked or being booked.")
            if deleting
            else _("This availability cannot be changed: some of its slots are already booked or being booked.")
        )


def availability_update(
    *,
    availability: Availability,
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    actor,
    now: dt.datetime | None = None,
) -> Availability:
    """Change the times or visit length of a future availability and regenerate its slots.

    Allowed only while none of its slots is booked or held by a live hold (``AvailabilityLocked``, 409).
    Slots whose times stay the same are kept; the others are deleted and the new ones created.
    Returns the updated availability (a fresh instance).
    """
    _require_wall_clock(start_time=start_time, end_time=end_time)
    now = now or timezone.now()
    with transaction.atomic():
        _lock_doctor(availability.doctor)
        _lock_room(availability.room)
        locked, slots = _locked_availability(availability)
        _ensure_nothing_booked(slots, now, deleting=False)
        preview = _evaluate(
            doctor=locked.doctor,
            date=locked.date,
            start_time=start_time,
            end_time=end_time,
            slot_minutes=slot_minutes,
            now=now,
            availability=locked,
            room=locked.room,
        )
        if preview.errors:
            raise preview.errors[0]
        plan = preview.plan
        before = {
            "start_time": _hhmm(locked.start_time),
            "end_time": _hhmm(locked.end_time),
            "slot_minutes": locked.slot_minutes,
        }
        wanted = set(plan.slots)
        kept = {(slot.start, slot.end) for slot in slots if (slot.start, slot.end) in wanted}
        stale = [slot.pk for slot in slots if (slot.start, slot.end) not in wanted]
        try:
            with transaction.atomic():
                # Only unbooked rows go, even though the check above already holds their locks.
                Slot.objects.filter(pk__in=stale).exclude(_busy_slots_q(now)).delete()
                locked.start_time = start_time
                locked.end_time = end_time
                locked.slot_minutes = slot_minutes
                locked.starts_at = plan.starts_at
                locked.ends_at = plan.ends_at
                locked.save(
                    update_fields=["start_time", "end_time", "slot_minutes", "starts_at", "ends_at", "updated_at"]
                )
                new_pairs = [pair for pair in plan.slots if pair not in kept]
                created = Slot.objects.bulk_create(_slot_rows(availability=locked, pairs=new_pairs))
        except IntegrityError as exc:
            if "room_no_overlap" in str(exc):
                raise _room_conflict() from exc
            if _is_overlap_error(exc):
                raise _overlap_conflict() from exc
            raise
        audit_log(
            actor=actor,
            action="booking.availability.changed",
            obj=locked,
            data={
                "doctor_id": locked.doctor_id,
                "date": locked.date.isoformat(),
                "before": before,
                "after": {"start_time": _hhmm(start_time), "end_time": _hhmm(end_time), "slot_minutes": slot_minutes},
                "slots_kept": len(kept),
                "slots_deleted": len(stale),
                "slots_created": len(created),
            },
        )
    return locked


def availability_delete(*, availability: Availability, actor, now: dt.datetime | None = None) -> int:
    """Delete a future availability and its slots; returns how many slots went.

    Refused (``AvailabilityLocked``, 409) while any of its slots is booked or held by a live hold.
    """
    now = now or timezone.now()
    with transaction.atomic():
        _lock_doctor(availability.doctor)
        locked, slots = _locked_availability(availability)
        _ensure_nothing_booked(slots, now, deleting=True)
        if locked.date <= now.astimezone(locked.doctor.zone).date():
            raise SchedulingError(_("Only availability on future dates can be changed."), code="date_not_in_future")
        audit_log(
            actor=actor,
            action="booking.availability.deleted",
            obj=locked,
            data={
                "doctor_id": locked.doctor_id,
                "date": locked.date.isoformat(),
                "start_time": _hhmm(locked.start_time),
                "end_time": _hhmm(locked.end_time),
                "slot_minutes": locked.slot_minutes,
                "slots": len(slots),
            },
        )
        _total, counts = Slot.objects.filter(availability=locked).exclude(_busy_slots_q(now)).delete()
        locked.delete()
    return counts.get(Slot._meta.label, 0)


# --- weekly pattern ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedDate:
    date: dt.date
    reason: str
    code: str


@dataclass
class WeeklyResult:
    created: list[Availability]
    skipped: list[SkippedDate]


def _weekly_plans(
    *,
    doctor: Doctor,
    days: list[dt.date],
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    buffer_minutes: int,
    now: dt.datetime,
) -> tuple[list[tuple[dt.date, SlotPlan]], list[SkippedDate]]:
    """The plan of each date that can take the pattern on its own (future, and the visit fits on the
    day, which a DST gap may prevent), and the dates that cannot, with the reason ``_evaluate`` gives."""
    zone = doctor.zone
    today = now.astimezone(zone).date()
    plans: list[tuple[dt.date, SlotPlan]] = []
    skipped: list[SkippedDate] = []
    for day in days:
        if day <= today:
            error = SchedulingError(_("Only future dates can be scheduled."), code="date_not_in_future")
            skipped.append(SkippedDate(date=day, reason=str(error), code=error.code))
            continue
        plan = plan_day(
            day=day, start=start_time, end=end_time, minutes=slot_minutes, zone=zone, buffer_minutes=buffer_minutes
        )
        if not plan.slots:
            error = SchedulingError(
                _("A %(minutes)d-minute visit does not fit between %(start)s and %(end)s.")
                % {"minutes": slot_minutes, "start": _hhmm(start_time), "end": _hhmm(end_time)},
                code="visit_does_not_fit",
            )
            skipped.append(SkippedDate(date=day, reason=str(error), code=error.code))
            continue
        plans.append((day, plan))
    return plans, skipped


def _first_overlap(items, starts_at: dt.datetime, ends_at: dt.datetime):
    """The earliest-starting item of ``items`` (sorted by start, ``(start, end, item)``) overlapping the interval."""
    for item_start, item_end, item in items:
        if item_start >= ends_at:
            return None
        if item_end > starts_at:
            return item
    return None


def _insert_slots(rows) -> None:
    """Insert new slots ``(doctor_id, availability_id, start, end, status)`` without building a model
    instance for each: tens of thousands of rows. PostgreSQL takes them in one ``COPY`` (one round trip
    and no SQL to parse per row; every constraint and trigger applies as to an INSERT, the exclusion
    constraint ``slot_no_overlap`` too), SQLite in one prepared ``executemany`` (in process, no round
    trips). Unlike ``bulk_create`` this returns nothing, so only for callers that need no slot objects
    back. The COPY does not pass through Django's query log (``connection.queries``)."""
    table = Slot._meta.db_table
    fields = [Slot._meta.get_field(name) for name in ("doctor", "availability", "start", "end", "status", "updated_at")]
    connection = connections[router.db_for_write(Slot)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)  # names from the model, never input
    updated_at = timezone.now()
    if connection.vendor == "postgresql":
        # wrap_database_errors: a refused row raises Django's IntegrityError, as an INSERT would
        copy_sql = f"COPY {quote(table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for doctor_id, availability_id, start, end, status in rows:
                copy.write_row((doctor_id, availability_id, start, end, status, updated_at))
        return
    sql = f"INSERT INTO {quote(table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    instants: dict[dt.datetime, object] = {}

    def instant(value: dt.datetime):
        try:
            return instants[value]
        except KeyError:
            instants[value] = adapted = adapt(value)
            return adapted

    stamp = adapt(updated_at)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (doctor_id, availability_id, instant(start), instant(end), status, stamp)
                for doctor_id, availability_id, start, end, status in rows
            ],
        )


def _weekly_bulk_create(
    *,
    doctor: Doctor,
    place: Place,
    plans: list[tuple[dt.date, SlotPlan]],
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    actor,
) -> tuple[list[Availability], list[SkippedDate]]:
    """Check every date against the doctor's time (and the room's) with one query each for the whole
    range, then insert the dates that are clear with one bulk insert of availability and one of slots.
    The same rules, in the same order, as ``_evaluate`` applies to one date. Run under the doctor's lock
    (and the room's); the database's constraints stay the last line of defence."""
    if not plans:
        return [], []
    low = min(plan.starts_at for _day, plan in plans)
    high = max(plan.ends_at for _day, plan in plans)
    others = list(
        Availability.objects.filter(doctor=doctor, starts_at__lt=high, ends_at__gt=low)
        .only("pk", "date", "start_time", "end_time", "starts_at", "ends_at")
        .order_by("starts_at")
    )
    # Slots outside any of these availabilities (a slot lies inside its own availability's time)
    strays = sorted(
        Slot.objects.filter(doctor=doctor, start__lt=high, end__gt=low)
        .exclude(availability_id__in=[other.pk for other in others])
        .values_list("start", "end")
    )
    taken_room = []
    if place.room is not None:
        taken_room = list(
            Availability.objects.filter(room=place.room, starts_at__lt=high, ends_at__gt=low)
            .select_related("doctor__user")
            .order_by("starts_at")
        )
    blocks = list(
        BlockedTime.objects.filter(doctor=doctor, starts_at__lt=high, ends_at__gt=low).values_list(
            "starts_at", "ends_at"
        )
    )
    others_by_start = [(o.starts_at, o.ends_at, o) for o in others]
    strays_by_start = [(start, end, None) for start, end in strays]
    room_by_start = [(a.starts_at, a.ends_at, a) for a in taken_room]
    accepted: list[tuple[dt.date, SlotPlan]] = []
    skipped: list[SkippedDate] = []
    for day, plan in plans:
        error: DomainError | None = None
        other = _first_overlap(others_by_start, plan.starts_at, plan.ends_at)
        if other is not None:
            error = _overlap_conflict(other)
        elif _first_overlap(strays_by_start, plan.starts_at, plan.ends_at) is not None or any(
            earlier.starts_at < plan.ends_at and earlier.ends_at > plan.starts_at for _d, earlier in accepted
        ):
            error = _overlap_conflict()
        else:
            taken = _first_overlap(room_by_start, plan.starts_at, plan.ends_at)
            if taken is not None:
                error = _room_conflict(taken)
        if error is not None:
            skipped.append(SkippedDate(date=day, reason=str(error), code=error.code))
        else:
            accepted.append((day, plan))
    if not accepted:
        return [], skipped

    created_by = _actor_or_none(actor)
    availabilities = Availability.objects.bulk_create(
        [
            Availability(
                doctor=doctor,
                date=day,
                start_time=start_time,
                end_time=end_time,
                slot_minutes=slot_minutes,
                mode=place.mode,
                facility=place.facility,
                room=place.room,
                starts_at=plan.starts_at,
                ends_at=plan.ends_at,
                created_by=created_by,
            )
            for day, plan in accepted
        ]
    )

    def status(start: dt.datetime, end: dt.datetime) -> str:
        if any(b_start < end and b_end > start for b_start, b_end in blocks):
            return SlotStatus.BLOCKED
        return SlotStatus.FREE

    _insert_slots(
        (doctor.pk, availability.pk, start, end, status(start, end))
        for availability, (_day, plan) in zip(availabilities, accepted, strict=True)
        for start, end in plan.slots
    )
    return availabilities, skipped


def availability_generate_weekly(
    *,
    doctor: Doctor,
    weekdays: set[int],
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    date_from: dt.date,
    date_to: dt.date,
    actor,
    now: dt.datetime | None = None,
    mode: str | None = None,
    facility: Facility | None = None,
    room: Room | None = None,
) -> WeeklyResult:
    """Create availability on every date from ``date_from`` to ``date_to`` (inclusive) whose weekday
    (Monday = 0 … Sunday = 6) is in ``weekdays``. Dates that cannot take it (past, overlap, a DST gap
    swallowing the hours) are skipped with their reason; the rest are created. At most 92 days per run.

    Set-based: one lock of the doctor (and of the room), one overlap check for the whole range, one
    bulk insert of availability and one of slots, one audit entry for the run; a fixed number of
    queries however many dates. Running it again skips every date it made (idempotent).
    """
    _require_wall_clock(start_time=start_time, end_time=end_time)
    place = _place(mode=mode, facility=facility, room=room)  # a bad place is refused once, not per date
    now = now or timezone.now()
    weekdays = set(weekdays)
    if not weekdays:
        raise SchedulingError(_("Pick at least one weekday."), code="no_weekdays")
    if not weekdays <= set(range(7)):
        raise SchedulingError(_("Weekdays are numbered 0 (Monday) to 6 (Sunday)."), code="invalid_weekday")
    if date_from > date_to:
        raise SchedulingError(_("The first date must not be after the last date."), code="invalid_date_range")
    days = (date_to - date_from).days + 1
    if days > MAX_WEEKLY_DAYS:
        raise SchedulingError(
            _("A weekly pattern can cover at most %(max)d days per run; this range has %(days)d.")
            % {"max": MAX_WEEKLY_DAYS, "days": days},
            code="date_range_too_long",
        )
    if not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        raise SchedulingError(
            _("The visit length must be between %(min)d and %(max)d minutes.")
            % {"min": MIN_SLOT_MINUTES, "max": MAX_SLOT_MINUTES},
            code="invalid_visit_length",
        )
    wall = wall_duration(start_time, end_time)
    if wall <= dt.timedelta(0):
        raise SchedulingError(_("The start time must be before the end time."), code="start_not_before_end")
    if wall < dt.timedelta(minutes=slot_minutes):
        raise SchedulingError(
            _("A %(minutes)d-minute visit does not fit between %(start)s and %(end)s.")
            % {"minutes": slot_minutes, "start": _hhmm(start_time), "end": _hhmm(end_time)},
            code="visit_does_not_fit",
        )

    dates = [date_from + dt.timedelta(days=offset) for offset in range(days)]
    dates = [day for day in dates if day.weekday() in weekdays]
    with transaction.atomic():
        _lock_doctor(doctor)
        _lock_room(place.room)
        buffer_minutes = int(doctor.policy(BookingDefaults.load()).buffer.total_seconds() // 60)
        plans, skipped = _weekly_plans(
            doctor=doctor,
            days=dates,
            start_time=start_time,
            end_time=end_time,
            slot_minutes=slot_minutes,
            buffer_minutes=buffer_minutes,
            now=now,
        )
        try:
            with transaction.atomic():
                created, clashes = _weekly_bulk_create(
                    doctor=doctor,
                    place=place,
                    plans=plans,
                    start_time=start_time,
                    end_time=end_time,
                    slot_minutes=slot_minutes,
                    actor=actor,
                )
        except IntegrityError as exc:
            # Every scheduling write takes the doctor's lock first, so only a writer that bypasses the
            # services gets here: the database's constraints refuse the run as a whole, nothing is made.
            if "room_no_overlap" in str(exc):
                raise _room_conflict() from exc
            if _is_overlap_error(exc):
                raise _overlap_conflict() from exc
            raise
        skipped = sorted(skipped + clashes, key=lambda item: item.date)
        audit_log(
            actor=actor,
            action="booking.availability.weekly_generated",
            obj=doctor,
            data={
                "weekdays": sorted(weekdays),
                "start_time": _hhmm(start_time),
                "end_time": _hhmm(end_time),
                "slot_minutes": slot_minutes,
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
                "created": [a.pk for a in created],
                "skipped": [{"date": s.date.isoformat(), "code": s.code} for s in skipped],
            },
        )
    return WeeklyResult(created=created, skipped=skipped)


# --- blocked time ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockedTimeResult:
    blocked_time: BlockedTime
    #: free slots (or slots with a lapsed hold) that are now blocked
    blocked_slots: int
    #: overlapping slots left alone because they are booked or held: the clinic must sort these out
    booked_slots: int


def blocked_time_create(
    *,
    doctor: Doctor,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
    actor,
    now: dt.datetime | None = None,
) -> BlockedTimeResult:
    """Block ``doctor``'s time from ``starts_at`` to ``ends_at`` (aware datetimes): free slots inside it
    become blocked; booked and held slots are left alone and counted in ``booked_slots``."""
    now = now or timezone.now()
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValueError("blocked_time_create needs aware datetimes")  # a programming error, not input
    reason = (reason or "").strip()
    if "\x00" in reason:
        raise InvalidInput(_("This text contains a character that cannot be stored."), fields=["reason"])
    if starts_at >= ends_at:
        raise SchedulingError(_("The blocked time must end after it starts."), code="start_not_before_end")
    if ends_at <= now:
        raise SchedulingError(_("Blocked time must end in the future."), code="date_not_in_future")
    max_reason = BlockedTime._meta.get_field("reason").max_length
    if len(reason) > max_reason:
        raise SchedulingError(
            _("The reason can be at most %(max)d characters long.") % {"max": max_reason}, code="reason_too_long"
        )
    with transaction.atomic():
        _lock_doctor(doctor)
        blocked_time = BlockedTime.objects.create(
            doctor=doctor, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=_actor_or_none(actor)
        )
        overlapping = Slot.objects.filter(doctor=doctor, start__lt=ends_at, end__gt=starts_at)
        blocked = overlapping.filter(slot_free_q(now=now)).update(
            status=SlotStatus.BLOCKED, hold_expires_at=None, updated_at=now
        )
        booked = overlapping.filter(_busy_slots_q(now)).count()
        audit_log(
            actor=actor,
            action="booking.blocked_time.created",
            obj=blocked_time,
            data={
                "doctor_id": doctor.pk,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "slots_blocked": blocked,
                "slots_booked": booked,
            },
        )
    return BlockedTimeResult(blocked_time=blocked_time, blocked_slots=blocked, booked_slots=booked)


def blocked_time_delete(*, blocked_time: BlockedTime, actor, now: dt.datetime | None = None) -> int:
    """Remove blocked time and free the slots it blocked, unless other blocked time still covers them.
    Returns how many slots were freed."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_doctor(blocked_time.doctor)
        try:
            locked = BlockedTime.objects.select_for_update().get(pk=blocked_time.pk)
        except BlockedTime.DoesNotExist:
            raise NotFound(_("This blocked time no longer exists."))
        still_covered = BlockedTime.objects.filter(
            doctor_id=locked.doctor_id, starts_at__lt=OuterRef("end"), ends_at__gt=OuterRef("start")
        ).exclude(pk=locked.pk)
        freed = (
            Slot.objects.filter(
                doctor_id=locked.doctor_id,
                status=SlotStatus.BLOCKED,
                start__lt=locked.ends_at,
                end__gt=locked.starts_at,
            )
            .exclude(Exists(still_covered))
            .update(status=SlotStatus.FREE, updated_at=now)
        )
        audit_log(
            actor=actor,
            action="booking.blocked_time.deleted",
            obj=locked,
            data={
                "doctor_id": locked.doctor_id,
                "starts_at": locked.starts_at.isoformat(),
                "ends_at": locked.ends_at.isoformat(),
                "slots_freed": freed,
            },
        )
        locked.delete()
    return freed


# --- holding a slot for someone who has not booked yet (a waitlist offer) ------------------------


def slot_hold(*, slot_id: int, until: dt.datetime, now: dt.datetime) -> bool:
    """Hold a slot nobody holds until ``until``, for a patient who is offered it but has not booked yet
    (the clinic-operations waitlist). The same conditional UPDATE as a booking's claim, so exactly one of
    an offer and a booking gets the slot; False means someone has it. The slot must start after the
    hold ends. Call inside the caller's transaction (``appointment_book`` claims it back on accept)."""
    return (
        Slot.objects.filter(slot_free_q(now=now), pk=slot_id, start__gt=until).update(
            status=SlotStatus.HELD, hold_expires_at=until, updated_at=now
        )
        == 1
    )


def slot_release_hold(*, slot_id: int, until: dt.datetime, now: dt.datetime) -> bool:
    """Free the slot held by ``slot_hold(until=until)``, and only that hold (never someone else's claim:
    a booking's hold has its own expiry). Call inside the caller's transaction."""
    return (
        Slot.objects.filter(pk=slot_id, status=SlotStatus.HELD, hold_expires_at=until).update(
            status=SlotStatus.FREE, hold_expires_at=None, updated_at=now
        )
        == 1
    )
