"""Series of visits (issue 17 item 4): preview, book in one step, cancel or move "this and following".

A series is booked by the clinic (staff, or a doctor in their own diary: ``rules.series_booking_refusal``)
and is **all or nothing**: either every chosen visit is booked, or nothing is and the error names each
visit that could not be (``SeriesNotBooked.details["failed"]``). The visits are confirmed at once (the
clinic booked them; they are paid at the desk visit by visit), each an ordinary ``Appointment`` that can
be moved or cancelled on its own with the usual services.

"This and following" runs the ordinary ``appointment_cancel`` / ``appointment_reschedule`` for each open
visit from the chosen one on, inside one transaction, again all or nothing. Lock order as everywhere
(``booking.services.common``): the patient row, then every slot involved (ascending id), then the
appointments. Times repeat on the doctor's wall clock: a weekly 09:00 visit stays at 09:00 local across
a daylight-saving change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import rules
from booking.models import (
    MAX_SERIES_VISITS,
    OPEN_STATUSES,
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    AppointmentType,
    Doctor,
    Slot,
    SlotStatus,
)
from booking.selectors.scheduling import clinic_free_slots
from booking.services.appointments import appointment_cancel, appointment_reschedule
from booking.services.common import (
    BookingDetails,
    _base_price,
    _check_claimed_slot,
    _claim,
    _ensure_video_channel,
    _lock_patient,
    _lock_slots,
    _notify,
    _raise_if,
    _retire_lapsed_holder,
)
from booking.slotting import local_day_bounds, resolve_local
from core.audit import audit_log
from core.db import retry_transaction
from core.errors import Conflict, DomainError, InvalidInput

S = AppointmentStatus

__all__ = [
    "SeriesChangeFailed",
    "SeriesNotBooked",
    "SeriesOccurrence",
    "series_book",
    "series_cancel",
    "series_preview",
    "series_reschedule",
    "series_times",
]


class SeriesNotBooked(Conflict):
    """Nothing was booked; ``details["failed"]`` lists each visit that could not be."""

    code = "series_not_booked"


class SeriesChangeFailed(Conflict):
    """Nothing was changed; ``details["failed"]`` lists each visit that could not be."""

    code = "series_change_failed"


@dataclass(frozen=True)
class SeriesOccurrence:
    """One visit of a previewed series: the time wanted, the free slot starting exactly then (None when
    taken or not published) and, when taken, the free slots the same local day, nearest first."""

    number: int
    wanted: datetime
    slot: Slot | None
    alternatives: list[Slot] = field(default_factory=list)
    #: a slot is published at the wanted time (taken, held or blocked when ``slot`` is None); False:
    #: the doctor has no hours then (not published yet, or outside their hours)
    published: bool = True

    @property
    def free(self) -> bool:
        return self.slot is not None

    @property
    def alternative(self) -> Slot | None:
        return self.alternatives[0] if self.alternatives else None


def _check_shape(*, count: int, interval_weeks: int) -> None:
    errors = {}
    if not 2 <= count <= MAX_SERIES_VISITS:
        errors["count"] = _("A series has from 2 to %(max)s visits.") % {"max": MAX_SERIES_VISITS}
    if not 1 <= interval_weeks <= 4:
        errors["interval_weeks"] = _("Visits repeat every 1 to 4 weeks.")
    if errors:
        raise InvalidInput(" ".join(str(e) for e in errors.values()), fields=errors)


def series_times(*, first_start: datetime, count: int, interval_weeks: int, zone) -> list[datetime]:
    """The wanted starts (UTC) of ``count`` visits every ``interval_weeks`` weeks from ``first_start``,
    at the same wall-clock time in ``zone`` (correct across daylight-saving changes)."""
    local = first_start.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    return [resolve_local(local.date() + timedelta(weeks=interval_weeks * k), wall, zone) for k in range(count)]


def series_preview(
    *,
    doctor: Doctor,
    first_start: datetime,
    count: int,
    interval_weeks: int = 1,
    now: datetime | None = None,
    alternatives: int = 3,
) -> list[SeriesOccurrence]:
    """What booking the series would give, before anything is booked: for each visit the free slot at
    the wanted time, or (taken, blocked or not published: ``published`` tells) up to ``alternatives`` free slots the same
    day, nearest first. One query for the whole series. Reads only: the answer may be stale by the
    time the clinic confirms, and ``series_book`` checks again under its locks. Two queries."""
    now = now or timezone.now()
    _check_shape(count=count, interval_weeks=interval_weeks)
    zone = doctor.zone
    wanted = series_times(first_start=first_start, count=count, interval_weeks=interval_weeks, zone=zone)
    low = local_day_bounds(wanted[0].astimezone(zone).date(), zone)[0]
    high = local_day_bounds(wanted[-1].astimezone(zone).date(), zone)[1]
    by_day: dict = defaultdict(list)
    for slot in clinic_free_slots(doctor=doctor, start=low, end=high, now=now):
        by_day[slot.start.astimezone(zone).date()].append(slot)
    published = set(Slot.objects.filter(doctor=doctor, start__in=wanted).values_list("start", flat=True))
    occurrences = []
    for number, start in enumerate(wanted, start=1):
        same_day = by_day.get(start.astimezone(zone).date(), [])
        exact = next((slot for slot in same_day if slot.start == start), None)
        nearest = []
        if exact is None:
            nearest = sorted(same_day, key=lambda slot: (abs((slot.start - start).total_seconds()), slot.start))
            nearest = nearest[:alternatives]
        occurrences.append(
            SeriesOccurrence(
                number=number, wanted=start, slot=exact, alternatives=nearest, published=start in published
            )
        )
    return occurrences


def _failure(slot_id: int, start: datetime | None, reason) -> dict:
    return {"slot": slot_id, "start": start.isoformat() if start else None, "reason": str(reason)}


def _failed_message(failed: list[dict], zone, *, booked: bool) -> str:
    when = ", ".join(
        timezone.localtime(datetime.fromisoformat(item["start"]), zone).strftime("%d/%m/%Y %H:%M")
        for item in failed
        if item["start"]
    )
    if booked:
        text = _("Nothing was booked: %(count)s of the visits could not be booked (%(when)s). Pick other times.")
    else:
        text = _("Nothing was changed: %(count)s of the visits could not be changed (%(when)s).")
    return text % {"count": len(failed), "when": when or "—"}


@retry_transaction
def series_book(
    *,
    doctor: Doctor,
    patient,
    actor,
    slots: list[Slot],
    details: BookingDetails,
    appointment_type: AppointmentType | None = None,
    interval_weeks: int = 1,
    now: datetime | None = None,
) -> AppointmentSeries:
    """Book every slot of ``slots`` (each a visit of ``doctor``) for ``patient`` as one series, all or
    nothing. The visits are confirmed at once; the patient is told of each (with its calendar entry).

    Raises PermissionDenied / PolicyViolation (``rules.series_booking_refusal``), InvalidInput (count,
    details), SeriesNotBooked naming every visit that could not be booked (taken meanwhile, blocked,
    past, another doctor's); nothing is booked then.
    """
    now = now or timezone.now()
    details = details.cleaned()
    _raise_if(rules.series_booking_refusal(actor=actor, patient=patient, doctor=doctor))
    _raise_if(rules.appointment_type_refusal(appointment_type))
    slot_ids = sorted({slot.pk for slot in slots})
    _check_shape(count=len(slot_ids), interval_weeks=interval_weeks)
    with transaction.atomic():
        _lock_patient(patient)
        failed: list[dict] = []
        claimed: list[Slot] = []
        for slot_id in slot_ids:  # ascending id: the lock order
            if not _claim(slot_id, now=now, status=SlotStatus.BOOKED, hold_until=None):
                start = Slot.objects.filter(pk=slot_id).values_list("start", flat=True).first()
                failed.append(_failure(slot_id, start, _("This slot was just taken.")))
                continue
            try:
                slot = _check_claimed_slot(slot_id, now=now, check_policy=False)
                if slot.doctor_id != doctor.pk:
                    raise rules.PolicyViolation(_("Pick times of the same doctor."), code="other_doctor")
            except DomainError as exc:
                start = Slot.objects.filter(pk=slot_id).values_list("start", flat=True).first()
                failed.append(_failure(slot_id, start, exc))
                continue
            _retire_lapsed_holder(slot_id, now=now)
            claimed.append(slot)
        if failed:
            # raising rolls every claim above back: the series is all or nothing
            raise SeriesNotBooked(
                _failed_message(failed, doctor.zone, booked=True), details={"failed": sorted(failed, key=str)}
            )
        claimed.sort(key=lambda slot: slot.start)
        series = AppointmentSeries.objects.create(
            doctor=doctor,
            patient=patient,
            interval_weeks=interval_weeks,
            planned_count=len(claimed),
            created_by=actor,
        )
        visits = []
        for slot in claimed:
            visit = Appointment(
                doctor=doctor,
                patient=patient,
                slot=slot,
                series=series,
                appointment_type=appointment_type,
                starts_at=slot.start,
                ends_at=slot.end,
                mode=slot.mode,
                first_name=details.first_name,
                last_name=details.last_name,
                phone=details.phone,
                email=details.email,
                national_id=details.national_id,
                reason=details.reason,
                status=S.CONFIRMED,  # booked by the clinic: no payment hold, paid at the desk
                confirmed_at=now,
                price=_base_price(doctor, appointment_type),
                currency=doctor.currency,
            )
            try:
                with transaction.atomic():
                    visit.save()
            except IntegrityError:
                raise SeriesNotBooked(
                    _failed_message([_failure(slot.pk, slot.start, "")], doctor.zone, booked=True),
                    details={"failed": [_failure(slot.pk, slot.start, _("This slot was just taken."))]},
                ) from None
            _ensure_video_channel(visit)
            visit.save(update_fields=["video_channel"])
            audit_log(
                actor=actor,
                action="booking.appointment.booked",
                obj=visit,
                data={"slot": slot.pk, "doctor": doctor.pk, "on_behalf": True, "series": series.pk},
            )
            _notify("appointment.confirmed", visit, patient)
            visits.append(visit)
        audit_log(
            actor=actor,
            action="booking.series.booked",
            obj=series,
            data={"appointments": [v.pk for v in visits], "doctor": doctor.pk, "patient": patient.pk},
        )
    return series


def _require_on_asked(appointment: Appointment, *, actor, now: datetime, cancel: bool) -> Appointment:
    """The visit "this and following" starts from, re-read: the actor must be allowed to change it now
    (a stranger gets NotFound, a closed visit NotAllowedNow) before anything about its series is read
    or said."""
    fresh = Appointment.objects.select_related("doctor__user", "patient").get(pk=appointment.pk)
    role = rules.role_in(appointment=fresh, user=actor)
    if cancel:
        action = rules.Action.FORCE_CANCEL if role == "admin" else rules.Action.CANCEL
    else:
        action = rules.Action.RESCHEDULE
    rules.require(action, appointment=fresh, user=actor, now=now)
    return fresh


def _this_and_following(appointment: Appointment) -> list[Appointment]:
    if appointment.series_id is None:
        return [appointment]
    return list(
        Appointment.objects.filter(
            series_id=appointment.series_id, status__in=OPEN_STATUSES, starts_at__gte=appointment.starts_at
        ).order_by("starts_at", "pk")
    )


@retry_transaction
def series_cancel(
    *, appointment: Appointment, actor, reason: str = "", following: bool = False, now: datetime | None = None
) -> list[Appointment]:
    """Cancel one visit (``following=False``: exactly ``appointment_cancel``) or this visit and every
    open later visit of its series, all or nothing. Returns the cancelled visits."""
    now = now or timezone.now()
    if not following:
        return [appointment_cancel(appointment=appointment, actor=actor, reason=reason, now=now)]
    appointment = _require_on_asked(appointment, actor=actor, now=now, cancel=True)
    with transaction.atomic():
        visits = _this_and_following(appointment)
        _lock_slots(*(visit.slot_id for visit in visits))
        failed, done = [], []
        for visit in visits:
            try:
                done.append(appointment_cancel(appointment=visit, actor=actor, reason=reason, now=now))
            except DomainError as exc:
                if visit.pk == appointment.pk:
                    raise  # the visit asked for gives its own answer (not found, reason required…)
                failed.append(_failure(visit.slot_id or 0, visit.starts_at, exc))
        if failed:
            raise SeriesChangeFailed(
                _failed_message(failed, appointment.doctor.zone, booked=False), details={"failed": failed}
            )
    return done


@retry_transaction
def series_reschedule(
    *, appointment: Appointment, new_slot: Slot, actor, following: bool = False, now: datetime | None = None
) -> list[Appointment]:
    """Move one visit (``following=False``: exactly ``appointment_reschedule``), or this visit to
    ``new_slot`` and every open later visit of its series by the same shift on the doctor's wall clock
    (Tuesday 09:00 → Thursday 10:00 moves each later Tuesday 09:00 to that week's Thursday 10:00), when
    each of those slots is free. All or nothing; SeriesChangeFailed names the visits that cannot move."""
    now = now or timezone.now()
    if not following:
        return [appointment_reschedule(appointment=appointment, new_slot=new_slot, actor=actor, now=now)]
    appointment = _require_on_asked(appointment, actor=actor, now=now, cancel=False)
    zone = appointment.doctor.zone
    old_wall = appointment.starts_at.astimezone(zone).replace(tzinfo=None)
    new_wall = new_slot.start.astimezone(zone).replace(tzinfo=None)
    shift = new_wall - old_wall
    with transaction.atomic():
        visits = _this_and_following(appointment)
        failed: list[dict] = []
        moves: list[tuple[Appointment, Slot]] = []
        for visit in visits:
            if visit.pk == appointment.pk:
                moves.append((visit, new_slot))
                continue
            wall = visit.starts_at.astimezone(zone).replace(tzinfo=None) + shift
            start = resolve_local(wall.date(), wall.time(), zone)
            target = Slot.objects.filter(doctor_id=visit.doctor_id, start=start).first()
            if target is None:
                failed.append(_failure(0, start, _("No time is published then.")))
            else:
                moves.append((visit, target))
        if failed:
            raise SeriesChangeFailed(_failed_message(failed, zone, booked=False), details={"failed": failed})
        _lock_slots(*(visit.slot_id for visit, _target in moves), *(target.pk for _visit, target in moves))
        # moving later first when the shift is forward (earlier first when backward) lets a visit take
        # the slot its neighbour in the series has just left
        moves.sort(key=lambda move: move[0].starts_at, reverse=shift > timedelta(0))
        done = []
        for visit, target in moves:
            try:
                done.append(appointment_reschedule(appointment=visit, new_slot=target, actor=actor, now=now))
            except DomainError as exc:
                if visit.pk == appointment.pk and not isinstance(exc, Conflict):
                    raise  # the visit asked for gives its own answer (another doctor's time…)
                failed.append(_failure(target.pk, target.start, exc))
        if failed:
            raise SeriesChangeFailed(_failed_message(failed, zone, booked=False), details={"failed": failed})
    done.sort(key=lambda visit: visit.starts_at)
    return done
