"""Scheduling endpoints under /api/v1 (paths from seed 000): a doctor's own schedules, and the public
doctor search, free slots and bookable dates.

Field names are camelCase. Times are ISO 8601 in UTC (``start``, ``end``) plus the same instant in the
doctor's zone (``localStart``, ``localEnd``) and the zone's name (``timeZone``). Rule violations come
from the services as ``DomainError``s and leave through the API's one error format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Status
from pydantic.alias_generators import to_camel

from accounts.models import Role
from booking.models import AppointmentMode, Availability, Doctor, Facility, Room, Slot, SlotStatus
from booking.rules import bookable_doctors_q
from booking.selectors import (
    available_dates,
    bookable_doctor_for_slots,
    doctor_for_user,
    doctor_search,
    free_slot_listing,
    free_slot_rows,
)
from booking.services import availability_create, availability_delete, availability_update
from booking.slotting import resolve_local
from core.apitypes import (
    ERRORS,
    MAX_DATE,
    MIN_DATE,
    ApiDate,
    ApiQuery,
    ApiSchema,
    LocalTime,
    OutSchema,
    PageOut,
    Pagination,
    Text,
    paginate,
    parse_api_date,
)
from core.errors import InvalidInput, NotFound, PermissionDenied

router = Router(tags=["scheduling"], by_alias=True)

#: the longest range of free slots one request may ask for
MAX_FREE_SLOT_DAYS = 62


# --- schemas -----------------------------------------------------------------------------------


#: the visit lengths a schedule may be cut into
SlotMinutes = Annotated[int, Field(ge=5, le=480, examples=[30])]


class ScheduleIn(ApiSchema):
    """Seed 000 ``doctor_schedules``: a local date and wall-clock times in the doctor's zone."""

    date: ApiDate
    start_time: LocalTime
    end_time: LocalTime
    slot_minutes: SlotMinutes | None = Field(
        None, description="the visit length; omitted (seed 000's literal body): the whole block is one slot"
    )
    mode: AppointmentMode | None = Field(
        None, description="in_person or video; omitted: in person when a facility or room is given, else video"
    )
    facility_id: int | None = Field(None, ge=1, description="where in-person visits happen")
    room_id: int | None = Field(None, ge=1, description="a room of that facility (it holds one visit at a time)")


class ScheduleChangeIn(ApiSchema):
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    slot_minutes: SlotMinutes | None = None
    delete: bool = False


class FacilityRef(OutSchema):
    id: int
    name: str
    slug: str
    address: str
    district: str
    city: str
    phone: str
    latitude: str | None
    longitude: str | None
    map_url: str | None


#: the facility columns ``_facility_ref`` reads
FACILITY_REF_COLUMNS = ("name", "slug", "address", "district", "city", "phone", "latitude", "longitude")


def _facility_ref(facility) -> dict | None:
    if facility is None:
        return None
    return {
        "id": facility.pk,
        "name": facility.name,
        "slug": facility.slug,
        "address": facility.address,
        "district": facility.district,
        "city": facility.city,
        "phone": facility.phone,
        "latitude": None if facility.latitude is None else str(facility.latitude),
        "longitude": None if facility.longitude is None else str(facility.longitude),
        "map_url": facility.map_url or None,
    }


class SlotOut(OutSchema):
    """One bookable slot: the seed's ``schedule`` (``scheduleId`` when booking), with ``isBooked``."""

    id: int
    doctor_id: int
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
    mode: str = Field(description="in_person or video")
    facility: FacilityRef | None = Field(None, description="where an in-person visit happens")
    room: str | None = Field(None, description="the facility's room, when one is set")


class ScheduleOut(OutSchema):
    """A block of availability and its slots; ``isBooked`` while any of its slots is booked (it cannot
    be changed or deleted then)."""

    id: int
    doctor_id: int
    date: dt.date
    start_time: str
    end_time: str
    slot_minutes: int
    time_zone: str
    starts_at: str
    ends_at: str
    is_booked: bool
    slots: list[SlotOut]


class SchedulePage(PageOut):
    items: list[ScheduleOut]


class SpecialtyRef(OutSchema):
    id: int
    name: str = Field(..., description="in the request's language (Accept-Language: en or vi)")
    slug: str


class NextSlotOut(OutSchema):
    start: str
    local_start: str
    time_zone: str


class RatingOut(OutSchema):
    count: int = Field(0, description="ratings of completed visits")
    average: str | None = Field(
        None, description="mean score 1–5 with one decimal; null until the doctor has enough ratings", examples=["4.3"]
    )


#: Where the doctors' ratings come from: the clinic-operations app registers ``f(doctor_ids) ->
#: {doctor_id: {"count": int, "average": str | None}}`` at start-up (booking never imports workflows).
doctor_rating_sources: list = []


def doctor_ratings(doctor_ids: list[int]) -> dict[int, dict]:
    found: dict[int, dict] = {}
    for source in doctor_rating_sources:
        found.update(source(doctor_ids))
    return found


class DoctorOut(OutSchema):
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
    specialties: list[SpecialtyRef]
    next_free_slot: NextSlotOut
    rating: RatingOut


class DoctorPage(PageOut):
    items: list[DoctorOut]


class FreeSlotsOut(OutSchema):
    doctor_id: int
    time_zone: str
    from_date: dt.date
    to_date: dt.date
    slots: list[SlotOut]


class AvailableDatesOut(OutSchema):
    doctor_id: int
    month: str
    time_zone: str
    dates: list[dt.date]


class FromToQuery(ApiQuery):
    date_from: ApiDate | None = Field(None, alias="from", description="first local date (inclusive)")
    date_to: ApiDate | None = Field(None, alias="to", description="last local date (inclusive)")


class DoctorSearchQuery(ApiQuery):
    q: Text = Field("", max_length=100, description="words from the doctor's name or specialty")
    specialty: Text = Field("", max_length=120, description="specialty slug or id")
    facility: Text = Field("", max_length=160, description="facility slug or id: doctors with a free slot there")
    city: Text = Field("", max_length=120, description="city of the facility (exact, case-insensitive)")
    district: Text = Field("", max_length=120, description="district of the facility (exact, case-insensitive)")
    mode: AppointmentMode | None = Field(None, description="in_person or video: doctors with a free slot of this kind")


class MonthQuery(ApiQuery):
    month: str | None = Field(None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2027-03"])


# --- presenting --------------------------------------------------------------------------------


def iso_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _slot_out(slot: Slot, zone, zone_name: str, now: dt.datetime, availability: Availability | None = None) -> dict:
    """``availability``: the slot's, when the caller has it (else read through ``slot.availability``,
    select_related by the selectors)."""
    availability = availability or slot.availability
    local_start = slot.start.astimezone(zone)
    local_end = slot.end.astimezone(zone)
    status = SlotStatus.FREE if slot.is_free_at(now) and slot.status == SlotStatus.HELD else slot.status
    return {
        "id": slot.pk,
        "doctor_id": slot.doctor_id,
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
        "mode": availability.mode,
        "facility": _facility_ref(availability.facility),
        "room": availability.room.name if availability.room_id else None,
    }


def _facility_json(row: tuple) -> str:
    """The ``FacilityRef`` JSON of a ``free_slot_rows`` row's facility (``null`` without one)."""
    facility_id = row[8]
    if facility_id is None:
        return "null"
    ref = _facility_ref(Facility(pk=facility_id, **dict(zip(FACILITY_REF_COLUMNS, row[9:17], strict=True))))
    return json.dumps({to_camel(key): value for key, value in ref.items()})


def _instant_texts(value: dt.datetime, zone, texts: dict) -> tuple[str, str]:
    """``(UTC text, local text)`` of an instant; ``texts`` remembers them for the other rows (a slot's
    end is usually the next slot's start)."""
    found = texts.get(value)
    if found is None:
        utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
        found = texts[value] = (utc.isoformat().replace("+00:00", "Z"), value.astimezone(zone).isoformat())
    return found


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
        "is_booked": any(slot.status == SlotStatus.BOOKED for slot in slots),
        "slots": [_slot_out(slot, zone, doctor.time_zone, now, availability) for slot in slots],
    }


def _doctor_out(doctor: Doctor, rating: dict | None = None) -> dict:
    zone = doctor.zone
    return {
        "rating": rating or {"count": 0, "average": None},
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
        "specialties": [{"id": s.pk, "name": s.label, "slug": s.slug} for s in doctor.specialties.all()],
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
    doctor = doctor_for_user(user)
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
    facility = room = None
    if payload.facility_id is not None:
        facility = Facility.objects.filter(pk=payload.facility_id).first()
        if facility is None:
            raise InvalidInput(_("No such facility."), fields={"facilityId": _("No such facility.")})
    if payload.room_id is not None:
        room = Room.objects.select_related("facility").filter(pk=payload.room_id).first()
        if room is None:
            raise InvalidInput(_("No such room."), fields={"roomId": _("No such room.")})
    try:
        availability = availability_create(
            doctor=doctor,
            date=payload.date,
            start_time=payload.start_time,
            end_time=payload.end_time,
            slot_minutes=payload.slot_minutes,
            actor=request.auth,
            mode=payload.mode,
            facility=facility,
            room=room,
        )
    except InvalidInput as exc:
        # the body's names for the place fields
        names = {"facility": "facilityId", "room": "roomId"}
        if set(exc.field_errors) & set(names):
            raise InvalidInput(
                exc.message,
                code=exc.code,
                fields={names.get(name, name): problem for name, problem in exc.field_errors.items()},
            ) from exc
        raise
    return Status(201, _schedule_out(availability, _slots_of(availability), timezone.now()))


@router.get(
    "/doctor/schedules",
    response={200: SchedulePage, **ERRORS},
    by_alias=True,
    summary="The doctor's own availability with its slots (from today unless `from` is given)",
)
def schedule_list(request, period: Query[FromToQuery], page: Query[Pagination]):
    doctor = _own_doctor(request)
    now = timezone.now()
    date_from = period.date_from or now.astimezone(doctor.zone).date()
    date_to = period.date_to
    if date_to is not None and date_to < date_from:
        raise InvalidInput(_("“to” must not be before “from”."), fields=["to"], source="query")
    rows = (
        Availability.objects.filter(doctor=doctor, date__gte=date_from)
        .select_related("doctor", "facility", "room")
        .prefetch_related(Prefetch("slots", queryset=Slot.objects.order_by("start")))
        .order_by("date", "start_time")
    )
    if date_to is not None:
        rows = rows.filter(date__lte=date_to)
    return paginate(rows, page, lambda a: _schedule_out(a, list(a.slots.all()), now))


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
    response={200: DoctorPage, **ERRORS},
    by_alias=True,
    summary="Search doctors with upcoming free slots by name, specialty, facility, city, district and mode",
)
def doctors_search(request, search: Query[DoctorSearchQuery], page: Query[Pagination]):
    result = doctor_search(
        q=search.q,
        specialty=search.specialty or None,
        facility=search.facility or None,
        city=search.city,
        district=search.district,
        mode=search.mode or "",
        per_page=page.limit,
        offset=page.offset,
    )
    ratings = doctor_ratings([doctor.pk for doctor in result.doctors])
    return {
        "items": [_doctor_out(doctor, ratings.get(doctor.pk)) for doctor in result.doctors],
        "count": result.total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get(
    "/doctor/{int:doctor_id}/schedules",
    auth=None,
    response={200: FreeSlotsOut, **ERRORS},
    by_alias=True,
    summary="A doctor's free slots between two local dates (inclusive; default: the next 14 days)",
)
def doctor_free_slots(request, doctor_id: int, period: Query[FromToQuery]):
    doctor = bookable_doctor_for_slots(doctor_id)
    if doctor is None:
        raise NotFound(_("No such doctor."))
    date_from, date_to = _free_slot_period(doctor.zone, period.date_from, period.date_to, timezone.now())
    if date_to < date_from:
        raise InvalidInput(_("“to” must not be before “from”."), fields=["to"], source="query")
    if (date_to - date_from).days + 1 > MAX_FREE_SLOT_DAYS:
        raise InvalidInput(
            _("Ask for at most %(days)d days of free slots at a time.") % {"days": MAX_FREE_SLOT_DAYS},
            fields=["to"],
            source="query",
        )
    return _free_slots_response(request, doctor, date_from, date_to)


def _free_slot_period(
    zone, date_from: dt.date | None, date_to: dt.date | None, now: dt.datetime
) -> tuple[dt.date, dt.date]:
    date_from = date_from or now.astimezone(zone).date()
    return date_from, date_to or date_from + dt.timedelta(days=13)


def _free_slots_response(request, doctor: Doctor, date_from: dt.date, date_to: dt.date) -> HttpResponse:
    """The ``FreeSlotsOut`` answer of the regular route (the fast read: ``fast_free_slots``)."""
    now = timezone.now()
    zone = doctor.zone
    start = resolve_local(date_from, dt.time(0), zone)
    end = resolve_local(date_to + dt.timedelta(days=1), dt.time(0), zone)
    rows = free_slot_rows(doctor=doctor, start=start, end=end, now=now)
    return _etagged(request, free_slots_body(doctor.pk, doctor.time_zone, zone, date_from, date_to, rows, now))


#: the request headers ``get_conditional_response`` looks at (without them it has nothing to say)
_CONDITIONAL_HEADERS = frozenset(
    {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"}
)


def _etagged(request, body: bytes) -> HttpResponse:
    """A JSON answer with an ``ETag`` of its content, so a client that has it gets 304."""
    etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    if not _CONDITIONAL_HEADERS.isdisjoint(request.META):
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is not None:
            return not_modified
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = etag
    return response


#: one slot of ``FreeSlotsOut`` as ``json.dumps`` writes it; the unquoted %s values are JSON already,
#: the quoted ones ISO dates and times (nothing to escape)
_SLOT_JSON = (
    '{"id": %d, "doctorId": %d, "start": "%s", "end": "%s", "localStart": "%s", "localEnd": "%s", "date": "%s", '
    '"startTime": "%s", "endTime": "%s", "timeZone": %s, "status": %s, "isBooked": %s, "mode": %s, '
    '"facility": %s, "room": %s}'
)
_BODY_JSON = '{"doctorId": %d, "timeZone": %s, "fromDate": "%s", "toDate": "%s", "slots": [%s]}'


def free_slots_body(
    doctor_id: int, time_zone: str, zone, date_from: dt.date, date_to: dt.date, rows: list[tuple], now: dt.datetime
) -> bytes:
    """The ``FreeSlotsOut`` JSON of ``free_slot_rows`` rows (camelCase keys, dates as text), written
    straight from them: byte for byte what ``json.dumps`` makes of the same dict (a test holds the two
    equal), without building one per slot. Each instant, place and text is turned into JSON once per
    answer (a slot's end is usually the next one's start; a day's slots share their place)."""
    zone_json = json.dumps(time_zone)
    texts: dict = {}
    values: dict = {None: "null"}  # JSON of the text columns (mode, room, status)
    facilities: dict = {None: "null"}
    parts = []
    for row in rows:
        pk, doctor, start, end, status, hold_expires_at, mode, room, facility_id = row[:9]
        start_utc, local_start = _instant_texts(start, zone, texts)
        end_utc, local_end = _instant_texts(end, zone, texts)
        shown = status
        if status == SlotStatus.HELD and hold_expires_at is not None and hold_expires_at <= now:
            shown = SlotStatus.FREE.value
        facility = facilities.get(facility_id)
        if facility is None:
            facility = facilities[facility_id] = _facility_json(row)
        parts.append(
            _SLOT_JSON
            % (
                pk,
                doctor,
                start_utc,
                end_utc,
                local_start,
                local_end,
                local_start[:10],
                local_start[11:16],
                local_end[11:16],
                zone_json,
                values.get(shown) or values.setdefault(shown, json.dumps(str(shown))),
                "true" if status == SlotStatus.BOOKED else "false",
                values.get(mode) or values.setdefault(mode, json.dumps(mode)),
                facility,
                values.get(room) or values.setdefault(room, json.dumps(room)),
            )
        )
    body = _BODY_JSON % (doctor_id, zone_json, date_from.isoformat(), date_to.isoformat(), ", ".join(parts))
    return body.encode()


#: the query parameters the free slots take
_FREE_SLOT_PARAMS = frozenset({"from", "to"})


def fast_free_slots(request, doctor_id: str) -> HttpResponse | None:
    """``doctor_free_slots`` for an anonymous GET, answered at the API edge (``API_FAST_READS``) before
    sessions, authentication, locale, the router and parameter validation run, which cost several
    times the read itself, and in one statement (``free_slot_listing``). Only the plain case: anything
    to refuse or to explain (a bad or unknown parameter, an unknown doctor, a range too long) answers
    None and takes the regular route, which gives the API's error answer in the caller's language."""
    query = request.GET
    if not _FREE_SLOT_PARAMS.issuperset(query) or any(len(query.getlist(name)) != 1 for name in query):
        return None
    dates = {}
    for name in query:
        dates[name] = parse_api_date(query[name])
        if dates[name] is None:
            return None
    now = timezone.now()

    def period(zone) -> tuple[dt.date, dt.date] | None:
        date_from, date_to = _free_slot_period(zone, dates.get("from"), dates.get("to"), now)
        return (date_from, date_to) if 0 <= (date_to - date_from).days < MAX_FREE_SLOT_DAYS else None

    listing = free_slot_listing(int(doctor_id), period=period, now=now)
    if listing is None:
        return None
    return _etagged(
        request,
        free_slots_body(
            listing.doctor_id,
            listing.time_zone,
            listing.zone,
            listing.date_from,
            listing.date_to,
            listing.rows,
            now,
        ),
    )


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
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise InvalidInput(_("That month is out of range."), fields=["month"], source="query")
    dates = available_dates(doctor=doctor, year=year, month=month_number, now=now)
    return {
        "doctor_id": doctor.pk,
        "month": f"{year:04d}-{month_number:02d}",
        "time_zone": doctor.time_zone,
        "dates": dates,
    }
