"""Writes for scheduling: availability and the slots cut from it, weekly patterns and blocked time.

Every function here runs in one transaction, checks its rules there and writes an audit entry there.
A rule that says "no" raises a ``DomainError`` with a translated message; callers (admin, API) show it.

Concurrency: each write first locks the doctor's row (``SELECT … FOR NO KEY UPDATE`` on PostgreSQL; on
SQLite the IMMEDIATE transaction already holds the database's write lock), so two writers for one doctor
queue up and the overlap check cannot race. A weekly batch locks all its doctors at once, in ascending id,
so batches sharing doctors queue up rather than deadlock. An in-person block in a room then locks the
room's row (doctor(s) → room), so two doctors asking for one room queue up too. PostgreSQL's exclusion constraints stay as the last line
of defence: an overlap they reject becomes the same ``ScheduleConflict`` as one the check finds.

Booked slots, and slots held by a live payment hold, are never changed or deleted here.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Exists, F, OuterRef, Q
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
from core.audit import audit_log, audit_log_many
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
    """Serialise scheduling writes for one doctor (a no-op on SQLite, whose transaction holds the lock).

    ``FOR NO KEY UPDATE``: scheduling writers queue up behind each other as with ``FOR UPDATE``, but a
    booking's foreign-key check on the doctor (``FOR KEY SHARE``, at its commit) does not wait for a
    long scheduling write such as a weekly batch."""
    list(Doctor.objects.select_for_update(no_key=True).filter(pk=doctor.pk).values_list("pk", flat=True))


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


#: doctors per round of reads in one batch: each doctor's id is one parameter of those queries
WEEKLY_BATCH_CHUNK = 500
#: every field of an availability the weekly pattern writes, in the model's order (``from_db`` needs it)
_AVAILABILITY_FIELDS = [
    "doctor", "date", "start_time", "end_time", "slot_minutes", "mode", "facility", "room", "starts_at", "ends_at",
    "created_by", "created_at", "updated_at",
]  # fmt: skip


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
    plans.sort(key=lambda item: item[1].starts_at)
    return plans, skipped


class _Timeline:
    """Intervals ``(start, end, item)`` (they may overlap each other): the earliest-starting one that
    overlaps ``[start, end)``, found by bisection, so checking every date of many doctors stays
    O(dates × log n) however much time is already there."""

    def __init__(self, intervals) -> None:
        self._intervals = sorted(intervals, key=lambda interval: interval[0])
        self._starts = [start for start, _end, _item in self._intervals]
        self._reach = []  # the latest end among the intervals up to each one (never decreases)
        latest = None
        for _start, end, _item in self._intervals:
            latest = end if latest is None or end > latest else latest
            self._reach.append(latest)

    def first_overlap(self, starts_at: dt.datetime, ends_at: dt.datetime):
        """The earliest-starting ``(start, end, item)`` overlapping ``[starts_at, ends_at)``, or None."""
        starting_before_end = bisect_left(self._starts, ends_at)
        # the first interval reaching past starts_at is the first that ends after it
        index = bisect_right(self._reach, starts_at, 0, starting_before_end)
        return self._intervals[index] if index < starting_before_end else None


@dataclass(frozen=True)
class _OtherAvailability:
    """What an overlap message names of existing availability (read as plain rows, not models)."""

    pk: int
    date: dt.date
    start_time: dt.time
    end_time: dt.time


def _copy_types(fields, connection, registry) -> list[int] | None:
    """The PostgreSQL type oids of ``fields``' columns for a binary ``COPY`` (a binary COPY applies no
    casts: each value is sent as its column's own type), or None when psycopg does not know one of them."""
    oids = []
    for model_field in fields:
        info = registry.get(model_field.db_type(connection).split("(", 1)[0].strip())
        if info is None:
            return None
        oids.append(info.oid)
    return oids


def _insert_rows(model, names: list[str], rows, *, prepared: bool = False) -> None:
    """Insert ``rows`` (tuples in the order of the fields ``names``) into ``model``'s table without
    building a model instance for each: tens of thousands of slots. PostgreSQL takes them in one
    ``COPY`` (one round trip and no SQL to parse per row; every constraint and trigger applies as to an
    INSERT — the exclusion constraints too, row by row, and the foreign keys, deferred to the commit as
    for an INSERT), SQLite in one prepared ``executemany`` (in process, no round trips). Values are
    prepared for the database as the ORM would (``get_db_prep_save``, once per distinct value of a
    column); ``prepared`` says the caller did it already. Unlike ``bulk_create`` this returns nothing
    and skips ``auto_now`` and defaults: give every field. The COPY does not pass through Django's query
    log (``connection.queries``)."""
    fields = [model._meta.get_field(name) for name in names]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)  # names from the model, never input
    if connection.vendor == "postgresql":
        # psycopg adapts the Python values itself: in binary when every column's type is one it knows by
        # name (no text to format here, none to parse in the server: a third less CPU on both sides for
        # slots), else as text. wrap_database_errors: a refused row raises Django's IntegrityError, as
        # an INSERT would.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            types = _copy_types(fields, connection, cursor.cursor.adapters.types)
            binary = " (FORMAT BINARY)" if types is not None else ""
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN{binary}") as copy:
                if types is not None:
                    copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        return
    if not prepared:
        caches: list[dict] = [{} for _field in fields]

        def prepare(value, field, cache):
            try:
                return cache[value]
            except KeyError:
                cache[value] = ready = field.get_db_prep_save(value, connection)
                return ready
            except TypeError:  # not hashable
                return field.get_db_prep_save(value, connection)

        columns_of = list(zip(fields, caches, strict=True))
        rows = (
            tuple(prepare(value, field, cache) for value, (field, cache) in zip(row, columns_of, strict=True))
            for row in rows
        )
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        # a list: Django's debug cursor counts the rows
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", list(rows))  # noqa: S608


def _insert_slots(rows) -> None:
    """Insert new slots ``(doctor_id, availability_id, start, end, status)`` (see ``_insert_rows``)."""
    connection = connections[router.db_for_write(Slot)]
    updated_at = timezone.now()
    names = ["doctor", "availability", "start", "end", "status", "updated_at"]
    if connection.vendor == "postgresql":
        _insert_rows(Slot, names, (row + (updated_at,) for row in rows))
        return
    # SQLite stores instants as text: each distinct instant is formatted once (the doctors of a batch
    # share their dates' times), the rest of a row needs nothing
    adapt = connection.ops.adapt_datetimefield_value
    instants: dict[dt.datetime, object] = {}

    def instant(value: dt.datetime):
        try:
            return instants[value]
        except KeyError:
            instants[value] = adapted = adapt(value)
            return adapted

    stamp = adapt(updated_at)
    _insert_rows(
        Slot,
        names,
        (
            (doctor_id, availability_id, instant(start), instant(end), status, stamp)
            for doctor_id, availability_id, start, end, status in rows
        ),
        prepared=True,
    )


def _lock_doctors(doctor_ids: list[int]) -> None:
    """Serialise scheduling writes for many doctors at once: their rows in ascending id (as two batches
    sharing doctors take them, so they queue up instead of deadlocking); a no-op on SQLite."""
    ordered = sorted(set(doctor_ids))
    for first in range(0, len(ordered), WEEKLY_BATCH_CHUNK):
        chunk = ordered[first : first + WEEKLY_BATCH_CHUNK]
        list(
            Doctor.objects.select_for_update(no_key=True)
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


@dataclass
class _DoctorRun:
    """One doctor's part of a weekly batch: the dates to try, and what became of them."""

    doctor: Doctor
    plans: list[tuple[dt.date, SlotPlan]]
    skipped: list[SkippedDate]
    accepted: list[tuple[dt.date, SlotPlan]] = field(default_factory=list)
    created: list[Availability] = field(default_factory=list)


def _weekly_bulk_create(
    *,
    runs: list[_DoctorRun],
    place: Place,
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    actor,
    room_in_batch: list[tuple[dt.datetime, dt.datetime]],
) -> None:
    """Check the dates of every doctor of ``runs`` against their time (and the room's) with one query
    each for all of them, then insert the dates that are clear: one insert of availability, one read of
    their ids, one insert of slots. The same rules, in the same order, as ``_evaluate`` applies to one
    date. Run under the doctors' locks (and the room's); the database's constraints stay the last line
    of defence. ``room_in_batch`` collects the room's time taken by this batch so far."""
    runs = [run for run in runs if run.plans]
    if not runs:
        return
    ids = [run.doctor.pk for run in runs]
    low = min(run.plans[0][1].starts_at for run in runs)
    high = max(plan.ends_at for run in runs for _day, plan in run.plans)
    others: dict[int, list] = {}
    for pk, doctor_id, date, other_start, other_end, starts_at, ends_at in (
        Availability.objects.filter(doctor_id__in=ids, starts_at__lt=high, ends_at__gt=low)
        .order_by()
        .values_list("pk", "doctor_id", "date", "start_time", "end_time", "starts_at", "ends_at")
    ):
        others.setdefault(doctor_id, []).append(
            (starts_at, ends_at, _OtherAvailability(pk=pk, date=date, start_time=other_start, end_time=other_end))
        )
    # Slots not lying inside an availability of their doctor (there should be none: a slot is cut from
    # its availability); their time is taken all the same
    strays: dict[int, list] = {}
    for doctor_id, start, end in (
        Slot.objects.filter(doctor_id__in=ids, start__lt=high, end__gt=low)
        .exclude(
            availability__doctor_id=F("doctor_id"),
            availability__starts_at__lte=F("start"),
            availability__ends_at__gte=F("end"),
        )
        .order_by()
        .values_list("doctor_id", "start", "end")
    ):
        strays.setdefault(doctor_id, []).append((start, end, None))
    blocks: dict[int, list] = {}
    for doctor_id, starts_at, ends_at in (
        BlockedTime.objects.filter(doctor_id__in=ids, starts_at__lt=high, ends_at__gt=low)
        .order_by()
        .values_list("doctor_id", "starts_at", "ends_at")
    ):
        blocks.setdefault(doctor_id, []).append((starts_at, ends_at))
    room_taken = _Timeline([])
    if place.room is not None:
        room_taken = _Timeline(
            (a.starts_at, a.ends_at, a)
            for a in Availability.objects.filter(room=place.room, starts_at__lt=high, ends_at__gt=low).select_related(
                "doctor__user"
            )
        )

    # the doctors of a batch mostly clash with the same dates: each message is written once
    messages: dict[tuple, str] = {}

    def overlap_reason(other: _OtherAvailability) -> str:
        key = (other.date, other.start_time, other.end_time)
        if key not in messages:
            messages[key] = str(_overlap_conflict(other))
        return messages[key]

    for run in runs:
        mine = _Timeline(others.get(run.doctor.pk, ()))
        loose = _Timeline(strays.get(run.doctor.pk, ()))
        reach = None  # the latest end among this doctor's accepted dates (the plans go by start)
        for day, plan in run.plans:
            reason = code = None
            other = mine.first_overlap(plan.starts_at, plan.ends_at)
            if other is not None:
                reason, code = overlap_reason(other[2]), ScheduleConflict.code
            elif loose.first_overlap(plan.starts_at, plan.ends_at) is not None or (
                reach is not None and reach > plan.starts_at
            ):
                error = _overlap_conflict()
                reason, code = str(error), error.code
            elif place.room is not None:
                taken = room_taken.first_overlap(plan.starts_at, plan.ends_at)
                if taken is not None:
                    error = _room_conflict(taken[2])
                elif any(start < plan.ends_at and end > plan.starts_at for start, end in room_in_batch):
                    error = _room_conflict()
                else:
                    error = None
                if error is not None:
                    reason, code = str(error), error.code
            if reason is not None:
                run.skipped.append(SkippedDate(date=day, reason=reason, code=code))
                continue
            run.accepted.append((day, plan))
            reach = plan.ends_at if reach is None or plan.ends_at > reach else reach
            if place.room is not None:
                room_in_batch.append((plan.starts_at, plan.ends_at))
    runs = [run for run in runs if run.accepted]
    if not runs:
        return

    created_by = _actor_or_none(actor)
    stamp = timezone.now()
    facility_id = place.facility.pk if place.facility is not None else None
    room_id = place.room.pk if place.room is not None else None
    created_by_id = created_by.pk if created_by is not None else None

    where, by = (place.mode, facility_id, room_id), (created_by_id, stamp, stamp)

    def values(run: _DoctorRun, day: dt.date, plan: SlotPlan) -> tuple:  # in the order of _AVAILABILITY_FIELDS
        return (run.doctor.pk, day, start_time, end_time, slot_minutes, *where, plan.starts_at, plan.ends_at, *by)

    _insert_rows(
        Availability, _AVAILABILITY_FIELDS, (values(run, day, plan) for run in runs for day, plan in run.accepted)
    )
    # Their ids: the doctors are locked, and one doctor's availability never overlaps (checked above;
    # on PostgreSQL also a constraint), so (doctor, start) names each row made here
    made_low = min(run.accepted[0][1].starts_at for run in runs)
    made_high = max(run.accepted[-1][1].starts_at for run in runs)
    pks = {
        (doctor_id, starts_at): pk
        for pk, doctor_id, starts_at in Availability.objects.filter(
            doctor_id__in=[run.doctor.pk for run in runs], starts_at__gte=made_low, starts_at__lte=made_high
        )
        .order_by()
        .values_list("pk", "doctor_id", "starts_at")
    }
    # the models handed back, as a query would load them (no query: every value is known)
    db = router.db_for_write(Availability)
    attnames = ["id"] + [Availability._meta.get_field(name).attname for name in _AVAILABILITY_FIELDS]
    related = [
        (Availability._meta.get_field(name), value)
        for name, value in (("facility", place.facility), ("room", place.room), ("created_by", created_by))
    ]
    doctor_field = Availability._meta.get_field("doctor")
    for run in runs:
        for day, plan in run.accepted:
            row = values(run, day, plan)
            availability = Availability.from_db(db, attnames, (pks[(run.doctor.pk, plan.starts_at)], *row))
            doctor_field.set_cached_value(availability, run.doctor)
            for relation, value in related:
                relation.set_cached_value(availability, value)
            run.created.append(availability)

    def slot_rows():
        free, blocked = SlotStatus.FREE.value, SlotStatus.BLOCKED.value
        for run in runs:
            doctor_id = run.doctor.pk
            doctor_blocks = blocks.get(doctor_id)
            for availability, (_day, plan) in zip(run.created, run.accepted, strict=True):
                availability_id = availability.pk
                if doctor_blocks is None:
                    for start, end in plan.slots:
                        yield (doctor_id, availability_id, start, end, free)
                    continue
                for start, end in plan.slots:
                    inside = any(b_start < end and b_end > start for b_start, b_end in doctor_blocks)
                    yield (doctor_id, availability_id, start, end, blocked if inside else free)

    _insert_slots(slot_rows())


def _weekly_checked_arguments(
    *,
    weekdays: set[int],
    start_time: dt.time,
    end_time: dt.time,
    slot_minutes: int,
    date_from: dt.date,
    date_to: dt.date,
) -> list[dt.date]:
    """The dates a weekly pattern covers, after refusing what no date could take."""
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
    return [day for day in dates if day.weekday() in weekdays]


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
    queries however many dates. Running it again skips every date it made (idempotent). For many
    doctors at once use ``availability_generate_weekly_batch`` (the same, in one transaction).
    """
    return availability_generate_weekly_batch(
        doctors=[doctor],
        weekdays=weekdays,
        start_time=start_time,
        end_time=end_time,
        slot_minutes=slot_minutes,
        date_from=date_from,
        date_to=date_to,
        actor=actor,
        now=now,
        mode=mode,
        facility=facility,
        room=room,
    )[doctor.pk]


def availability_generate_weekly_batch(
    *,
    doctors: Iterable[Doctor],
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
) -> dict[int, WeeklyResult]:
    """``availability_generate_weekly`` for many doctors in one transaction: each doctor's result by
    their id, each doctor's dates made or skipped exactly as a run of their own would (a date that
    clashes with the doctor's own time, or with the room's — including another doctor of this batch —
    is skipped with the reason), one audit entry per doctor.

    Set-based over the whole batch: the doctors are locked together (ascending id), then one query
    each for their availability, stray slots and blocked time (and the room's time), one insert of
    availability, one read of its ids, one insert of slots (PostgreSQL: ``COPY``; every constraint still
    checks every row) and one of audit entries: a fixed number of queries for up to 500 doctors,
    whatever the number of dates or the data already there (on SQLite the audit insert is split into
    Django's 999-parameter batches: one more query per 166 doctors). A row the database refuses (only a writer
    that bypasses the services can cause one) rolls the whole batch back as a ``ScheduleConflict``.
    """
    _require_wall_clock(start_time=start_time, end_time=end_time)
    place = _place(mode=mode, facility=facility, room=room)  # a bad place is refused once, not per date
    weekdays = set(weekdays)
    dates = _weekly_checked_arguments(
        weekdays=weekdays,
        start_time=start_time,
        end_time=end_time,
        slot_minutes=slot_minutes,
        date_from=date_from,
        date_to=date_to,
    )
    now = now or timezone.now()
    unique = list({doctor.pk: doctor for doctor in doctors}.values())
    if not unique:
        return {}
    runs = []
    with transaction.atomic():
        _lock_doctors([doctor.pk for doctor in unique])
        _lock_room(place.room)
        defaults = BookingDefaults.load()
        plans_by_kind: dict[tuple[str, int], tuple] = {}  # the doctors of one zone and buffer share their plans
        for doctor in sorted(unique, key=lambda doctor: doctor.pk):
            buffer_minutes = int(doctor.policy(defaults).buffer.total_seconds() // 60)
            kind = (doctor.time_zone, buffer_minutes)
            if kind not in plans_by_kind:
                plans_by_kind[kind] = _weekly_plans(
                    doctor=doctor,
                    days=dates,
                    start_time=start_time,
                    end_time=end_time,
                    slot_minutes=slot_minutes,
                    buffer_minutes=buffer_minutes,
                    now=now,
                )
            plans, skipped = plans_by_kind[kind]
            runs.append(_DoctorRun(doctor=doctor, plans=plans, skipped=list(skipped)))
        room_in_batch: list[tuple[dt.datetime, dt.datetime]] = []
        try:
            for first in range(0, len(runs), WEEKLY_BATCH_CHUNK):
                _weekly_bulk_create(
                    runs=runs[first : first + WEEKLY_BATCH_CHUNK],
                    place=place,
                    start_time=start_time,
                    end_time=end_time,
                    slot_minutes=slot_minutes,
                    actor=actor,
                    room_in_batch=room_in_batch,
                )
        except IntegrityError as exc:
            # Every scheduling write takes the doctor's lock first, so only a writer that bypasses the
            # services gets here: the database's constraints refuse the run as a whole, nothing is made
            # (the error leaves this transaction, which rolls back; no savepoint needed to go on).
            if "room_no_overlap" in str(exc):
                raise _room_conflict() from exc
            if _is_overlap_error(exc):
                raise _overlap_conflict() from exc
            raise
        common = {
            "weekdays": sorted(weekdays),
            "start_time": _hhmm(start_time),
            "end_time": _hhmm(end_time),
            "slot_minutes": slot_minutes,
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
        }
        results: dict[int, WeeklyResult] = {}
        entries = []
        for run in runs:
            skipped = sorted(run.skipped, key=lambda item: item.date)
            results[run.doctor.pk] = WeeklyResult(created=run.created, skipped=skipped)
            entries.append(
                (
                    run.doctor,
                    {
                        **common,
                        "created": [a.pk for a in run.created],
                        "skipped": [{"date": s.date.isoformat(), "code": s.code} for s in skipped],
                    },
                )
            )
        audit_log_many(actor=actor, action="booking.availability.weekly_generated", entries=entries)
    return {doctor.pk: results[doctor.pk] for doctor in unique}


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
