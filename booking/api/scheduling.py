"""Scheduling endpoints under /api/v1 (paths from seed 000): a doctor's own schedules, and the public
doctor search, free slots and bookable dates.

Field names are camelCase. Times are ISO 8601 in UTC (``start``, ``end``) plus the same instant in the
doctor's zone (``localStart``, ``localEnd``) and the zone's name (``timeZone``). Rule violations come
from the services as ``DomainError``s and leave through the API's one error format.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from accounts.models import Role
from booking.models import Availability, Doctor, Slot, SlotStatus
from booking.rules import bookable_doctors_q
from booking.selectors import available_dates, doctor_search, free_slots
from booking.services import availability_create, availability_delete, availability_update
from booking.slotting import resolve_local
from core.errors import DomainError, NotFound, PermissionDenied

router = Router(tags=["scheduling"])

#: the longest range of free slots one request may ask for
MAX_FREE_SLOT_DAYS = 62


class InvalidQuery(DomainError):
    code = "validation_error"
    status = 422


# --- schemas -----------------------------------------------------------------------------------


class CamelSchema(Schema):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ErrorOut(Schema):
    error: dict


class ScheduleIn(CamelSchema):
    date: dt.date
    start_time: dt.time = Field(..., examples=["09:00"])
    end_time: dt.time = Field(..., examples=["11:30"])
    slot_minutes: int = Field(..., examples=[30])


class ScheduleChangeIn(CamelSchema):
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    slot_minutes: int | None = None
    delete: bool = False


class SlotOut(CamelSchema):
    id: int
    start: str
    end: str
    local_start: str
    local_end: str
    date: dt.date
    start_time: str
    end_time: str
    time_zone: str
    status: str
    is_booked: bool


class ScheduleOut(CamelSchema):
    id: int
    doctor_id: int
    date: dt.date
    start_time: str
    end_time: str
    slot_minutes: int
    time_zone: str
    starts_at: str
    ends_at: str
    slots: list[SlotOut]


class SpecialtyOut(CamelSchema):
    id: int
    name: str
    slug: str


class NextSlotOut(CamelSchema):
    start: str
    local_start: str
    time_zone: str


class DoctorOut(CamelSchema):
    id: int
    name: str
    title: str
    bio: str
    photo_url: str | None
    languages: list[str]
    years_of_experience: int
    consultation_fee: str
    currency: str
    time_zone: str
    specialties: list[SpecialtyOut]
    next_free_slot: NextSlotOut


class DoctorPageOut(CamelSchema):
    items: list[DoctorOut]
    page: int
    per_page: int
    total: int
    pages: int


class FreeSlotsOut(CamelSchema):
    doctor_id: int
    time_zone: str
    from_date: dt.date
    to_date: dt.date
    slots: list[SlotOut]


class AvailableDatesOut(CamelSchema):
    doctor_id: int
    month: str
    time_zone: str
    dates: list[dt.date]


class DateRangeQuery(Schema):
    date_from: dt.date | None = Field(None, alias="from", description="first local date (inclusive)")
    date_to: dt.date | None = Field(None, alias="to", description="last local date (inclusive)")


class DoctorSearchQuery(Schema):
    q: str = Field("", max_length=100, description="words from the doctor's name or specialty")
    specialty: str = Field("", max_length=120, description="specialty slug or id")
    page: int = Field(1, ge=1)
    per_page: int = Field(20, ge=1, le=100, alias="perPage")


class MonthQuery(Schema):
    month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2027-03"])


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- presenting --------------------------------------------------------------------------------


def iso_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _slot_out(slot: Slot, zone, zone_name: str, now: dt.datetime) -> dict:
    local_start = slot.start.astimezone(zone)
    local_end = slot.end.astimezone(zone)
    status = SlotStatus.FREE if slot.is_free_at(now) and slot.status == SlotStatus.HELD else slot.status
    return {
        "id": slot.pk,
        "start": iso_utc(slot.start),
        "end": iso_utc(slot.end),
        "local_start": local_start.isoformat(),
        "local_end": local_end.isoformat(),
        "date": local_start.date(),
        "start_time": local_start.strftime("%H:%M"),
        "end_time": local_end.strftime("%H:%M"),
        "time_zone": zone_name,
        "status": str(status),
        "is_booked": slot.status == SlotStatus.BOOKED,
    }


def _schedule_out(availability: Availability, slots: list[Slot], now: dt.datetime) -> dict:
    doctor = availability.doctor
    zone = doctor.zone
    return {
        "id": availability.pk,
        "doctor_id": availability.doctor_id,
        "date": availability.date,
        "start_time": availability.start_time.strftime("%H:%M"),
        "end_time": availability.end_time.strftime("%H:%M"),
        "slot_minutes": availability.slot_minutes,
        "time_zone": doctor.time_zone,
        "starts_at": iso_utc(availability.starts_at),
        "ends_at": iso_utc(availability.ends_at),
        "slots": [_slot_out(slot, zone, doctor.time_zone, now) for slot in slots],
    }


def _doctor_out(doctor: Doctor) -> dict:
    zone = doctor.zone
    return {
        "id": doctor.pk,
        "name": doctor.user.get_full_name() or str(doctor),
        "title": doctor.title,
        "bio": doctor.bio,
        "photo_url": doctor.photo.url if doctor.photo else None,
        "languages": doctor.language_list,
        "years_of_experience": doctor.years_of_experience,
        "consultation_fee": str(doctor.consultation_fee),
        "currency": doctor.currency,
        "time_zone": doctor.time_zone,
        "specialties": [{"id": s.pk, "name": s.name, "slug": s.slug} for s in doctor.specialties.all()],
        "next_free_slot": {
            "start": iso_utc(doctor.next_free_start),
            "local_start": doctor.next_free_start.astimezone(zone).isoformat(),
            "time_zone": doctor.time_zone,
        },
    }


# --- the doctor's own schedules ----------------------------------------------------------------


def _own_doctor(request) -> Doctor:
    user = request.auth
    if user.role != Role.DOCTOR:
        raise PermissionDenied(_("Only doctors can manage schedules."))
    doctor = Doctor.objects.select_related("user").filter(user=user).first()
    if doctor is None:
        raise PermissionDenied(_("Your doctor profile has not been set up yet: ask the clinic admin."))
    return doctor


def _own_availability(doctor: Doctor, availability_id: int) -> Availability:
    availability = Availability.objects.select_related("doctor").filter(doctor=doctor, pk=availability_id).first()
    if availability is None:
        # another doctor's schedule is not found, never "forbidden"
        raise NotFound(_("No such schedule."))
    return availability


def _slots_of(availability: Availability) -> list[Slot]:
    return list(availability.slots.order_by("start"))


@router.post(
    "/doctor/schedules",
    response={201: ScheduleOut, **ERRORS},
    by_alias=True,
    summary="Create availability (the doctor's own); its slots are generated",
)
def schedule_create(request, payload: ScheduleIn):
    doctor = _own_doctor(request)
    availability = availability_create(
        doctor=doctor,
        date=payload.date,
        start_time=payload.start_time,
        end_time=payload.end_time,
        slot_minutes=payload.slot_minutes,
        actor=request.auth,
    )
    return Status(201, _schedule_out(availability, _slots_of(availability), timezone.now()))


@router.get(
    "/doctor/schedules",
    response={200: list[ScheduleOut], **ERRORS},
    by_alias=True,
    summary="The doctor's own availability with its slots (from today unless `from` is given)",
)
def schedule_list(request, period: Query[DateRangeQuery]):
    doctor = _own_doctor(request)
    now = timezone.now()
    date_from = period.date_from or now.astimezone(doctor.zone).date()
    date_to = period.date_to
    if date_to is not None and date_to < date_from:
        raise InvalidQuery(_("“to” must not be before “from”."))
    rows = (
        Availability.objects.filter(doctor=doctor, date__gte=date_from)
        .select_related("doctor")
        .prefetch_related(Prefetch("slots", queryset=Slot.objects.order_by("start")))
        .order_by("date", "start_time")
    )
    if date_to is not None:
        rows = rows.filter(date__lte=date_to)
    return [_schedule_out(a, list(a.slots.all()), now) for a in rows]


@router.patch(
    "/doctor/schedules/{int:availability_id}",
    response={200: ScheduleOut, 204: None, **ERRORS},
    by_alias=True,
    summary='Change the times or visit length of own availability, or delete it with {"delete": true}',
)
def schedule_change(request, availability_id: int, payload: ScheduleChangeIn):
    doctor = _own_doctor(request)
    availability = _own_availability(doctor, availability_id)
    if payload.delete:
        availability_delete(availability=availability, actor=request.auth)
        return Status(204, None)
    updated = availability_update(
        availability=availability,
        start_time=payload.start_time or availability.start_time,
        end_time=payload.end_time or availability.end_time,
        slot_minutes=payload.slot_minutes if payload.slot_minutes is not None else availability.slot_minutes,
        actor=request.auth,
    )
    return Status(200, _schedule_out(updated, _slots_of(updated), timezone.now()))


@router.delete(
    "/doctor/schedules/{int:availability_id}",
    response={204: None, **ERRORS},
    summary="Delete own availability and its slots (refused while any slot is booked)",
)
def schedule_delete(request, availability_id: int):
    doctor = _own_doctor(request)
    availability_delete(availability=_own_availability(doctor, availability_id), actor=request.auth)
    return Status(204, None)


# --- public ------------------------------------------------------------------------------------


def _public_doctor(doctor_id: int) -> Doctor:
    doctor = Doctor.objects.select_related("user").filter(bookable_doctors_q(), pk=doctor_id).first()
    if doctor is None:
        raise NotFound(_("No such doctor."))
    return doctor


@router.get(
    "/doctors",
    auth=None,
    response={200: DoctorPageOut, **ERRORS},
    by_alias=True,
    summary="Search doctors with upcoming free slots by name and specialty",
)
def doctors_search(request, search: Query[DoctorSearchQuery]):
    result = doctor_search(q=search.q, specialty=search.specialty or None, page=search.page, per_page=search.per_page)
    return {
        "items": [_doctor_out(doctor) for doctor in result.doctors],
        "page": result.page,
        "per_page": result.per_page,
        "total": result.total,
        "pages": result.num_pages,
    }


@router.get(
    "/doctor/{int:doctor_id}/schedules",
    auth=None,
    response={200: FreeSlotsOut, **ERRORS},
    by_alias=True,
    summary="A doctor's free slots between two local dates (inclusive; default: the next 14 days)",
)
def doctor_free_slots(request, doctor_id: int, period: Query[DateRangeQuery]):
    doctor = _public_doctor(doctor_id)
    now = timezone.now()
    zone = doctor.zone
    date_from = period.date_from or now.astimezone(zone).date()
    date_to = period.date_to or date_from + dt.timedelta(days=13)
    if date_to < date_from:
        raise InvalidQuery(_("“to” must not be before “from”."))
    if (date_to - date_from).days + 1 > MAX_FREE_SLOT_DAYS:
        raise InvalidQuery(_("Ask for at most %(days)d days of free slots at a time.") % {"days": MAX_FREE_SLOT_DAYS})
    start = resolve_local(date_from, dt.time(0), zone)
    end = resolve_local(date_to + dt.timedelta(days=1), dt.time(0), zone)
    slots = free_slots(doctor=doctor, start=start, end=end, now=now)
    return {
        "doctor_id": doctor.pk,
        "time_zone": doctor.time_zone,
        "from_date": date_from,
        "to_date": date_to,
        "slots": [_slot_out(slot, zone, doctor.time_zone, now) for slot in slots],
    }


@router.get(
    "/doctor/{int:doctor_id}/available-dates",
    auth=None,
    response={200: AvailableDatesOut, **ERRORS},
    by_alias=True,
    summary="The local dates of a month on which the doctor has free slots (default: this month)",
)
def doctor_available_dates(request, doctor_id: int, query: Query[MonthQuery]):
    doctor = _public_doctor(doctor_id)
    now = timezone.now()
    if query.month:
        year, month_number = (int(part) for part in query.month.split("-"))
    else:
        today = now.astimezone(doctor.zone).date()
        year, month_number = today.year, today.month
    if not 1 <= year <= 9998:
        raise InvalidQuery(_("That month is out of range."))
    dates = available_dates(doctor=doctor, year=year, month=month_number, now=now)
    return {
        "doctor_id": doctor.pk,
        "month": f"{year:04d}-{month_number:02d}",
        "time_zone": doctor.time_zone,
        "dates": dates,
    }
