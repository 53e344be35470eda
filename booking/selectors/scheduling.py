"""Reads about doctors' time: free slots, bookable dates, doctor search and the admin week view.

Each selector runs a fixed number of queries, however many doctors or slots it returns. "Free" means
status free, or held with a hold that has lapsed (an expired hold counts as free everywhere), not
covered by blocked time, after the doctor's minimum notice and inside their maximum advance window.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Col, RawSQL
from django.db.models.functions import RowNumber, TruncDate
from django.db.models.lookups import IsNull
from django.utils import timezone

from booking.models import (
    AppointmentMode,
    Availability,
    BlockedTime,
    BookingDefaults,
    Doctor,
    Facility,
    Slot,
    SlotStatus,
    Specialty,
)
from booking.rules import bookable_doctors_q, overdue_blocks_booking
from booking.slotting import local_day_bounds, resolve_local
from core.apitypes import MAX_ID
from core.prepared import PreparedInstance, PreparedJoin, PreparedQuery

MAX_PER_PAGE = 100
#: a name search matching up to this many doctors runs compiled SQL (``_search_compiled``); more, the ORM's
SEARCH_COMPILED_NAMES = 500
#: ``first_free_slots`` reads each doctor's first slots separately up to this many doctors (one query)
FIRST_SLOTS_BRANCHES = 50


def doctor_for_user(user) -> Doctor | None:
    """The doctor record of a signed-in doctor (with their user), or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Doctor.objects.select_related("user").filter(user=user).first()


def slot_free_q(*, now: dt.datetime) -> Q:
    """Slots nobody holds: free, or held with a lapsed hold."""
    return Q(status=SlotStatus.FREE) | Q(status=SlotStatus.HELD, hold_expires_at__lte=now)


def _not_blocked() -> Exists:
    """Negated below: blocked time of the slot's doctor overlapping the slot (for a ``Slot`` queryset)."""
    return Exists(
        BlockedTime.objects.filter(
            doctor_id=OuterRef("doctor_id"), starts_at__lt=OuterRef("end"), ends_at__gt=OuterRef("start")
        )
    )


def _free_slot_queryset(
    *,
    doctor_id: int,
    earliest: dt.datetime,
    end: dt.datetime,
    latest: dt.datetime,
    now: dt.datetime,
    doctor_checked: bool = False,
) -> QuerySet[Slot]:
    """The rule of ``free_slots`` once the doctor's policy has turned into instants (``free_slot_rows``
    compiles it once with placeholders). ``doctor_checked``: without the condition that the doctor is
    bookable, for a statement that checks it itself (``free_slot_listing``)."""
    slots = (
        Slot.objects.filter(doctor_id=doctor_id, start__gte=earliest, start__lt=end, start__lte=latest)
        .filter(slot_free_q(now=now))
        .exclude(_not_blocked())
        .order_by("start")
    )
    return slots if doctor_checked else slots.filter(bookable_doctors_q(prefix="doctor__"))


def _free_slot_window(
    doctor: Doctor, start: dt.datetime, now: dt.datetime, defaults: BookingDefaults | None
) -> tuple[dt.datetime, dt.datetime]:
    """``(earliest, latest)`` start of a bookable slot: after the minimum notice, inside the advance window."""
    policy = doctor.policy(defaults)
    return max(start, now + policy.min_notice), now + policy.max_advance


def free_slots(
    *,
    doctor: Doctor,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
    defaults: BookingDefaults | None = None,
) -> QuerySet[Slot]:
    """``doctor``'s bookable slots starting in ``[start, end)``, earliest first (one query when evaluated,
    plus one for the clinic defaults unless ``defaults`` is given)."""
    now = now or timezone.now()
    earliest, latest = _free_slot_window(doctor, start, now, defaults)
    return _free_slot_queryset(doctor_id=doctor.pk, earliest=earliest, end=end, latest=latest, now=now).select_related(
        "availability__facility", "availability__room"
    )  # each slot's mode and place


def clinic_free_slots(*, doctor: Doctor, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> QuerySet[Slot]:
    """``doctor``'s slots starting in ``[start, end)`` that the clinic itself may still book: nobody
    holds them, no blocked time covers them, they start after ``now``. Unlike ``free_slots`` the
    patient-facing notice and advance window do not apply (``rules.series_booking_refusal``)."""
    return (
        Slot.objects.filter(doctor=doctor, start__gte=max(start, now), start__lt=end)
        .exclude(start=now)
        .filter(slot_free_q(now=now))
        .exclude(_not_blocked())
        .select_related("availability__facility", "availability__room")
        .order_by("start")
    )


#: the columns a free-slot listing needs (``free_slot_rows``): the slot, its availability's mode and place
FREE_SLOT_COLUMNS = (
    "pk",
    "doctor_id",
    "start",
    "end",
    "status",
    "hold_expires_at",
    "availability__mode",
    "availability__room__name",
    "availability__facility_id",
    "availability__facility__name",
    "availability__facility__slug",
    "availability__facility__address",
    "availability__facility__district",
    "availability__facility__city",
    "availability__facility__phone",
    "availability__facility__latitude",
    "availability__facility__longitude",
)


#: ``_free_slot_queryset`` as ``FREE_SLOT_COLUMNS`` rows, compiled once per process (and per the
#: subscription setting, which changes the doctor condition)
_FREE_SLOT_ROWS = PreparedQuery(
    lambda **bounds: _free_slot_queryset(**bounds).values_list(*FREE_SLOT_COLUMNS),
    ints=("doctor_id",),
    datetimes=("earliest", "end", "latest", "now"),
    key=overdue_blocks_booking,
)


def free_slot_rows(
    *,
    doctor: Doctor,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
    defaults: BookingDefaults | None = None,
) -> list[tuple]:
    """``free_slots`` as plain tuples of ``FREE_SLOT_COLUMNS`` (one query, no model instances, no
    queryset built per call): for listings that only present them."""
    now = now or timezone.now()
    earliest, latest = _free_slot_window(doctor, start, now, defaults)
    return _FREE_SLOT_ROWS.rows(doctor_id=doctor.pk, earliest=earliest, end=end, latest=latest, now=now)


#: the earliest of ``_FREE_SLOT_ROWS`` (``next_free_slot_row``), compiled once per process
_NEXT_FREE_SLOT_ROW = PreparedQuery(
    lambda **bounds: _free_slot_queryset(**bounds).values_list(*FREE_SLOT_COLUMNS)[:1],
    ints=("doctor_id",),
    datetimes=("earliest", "end", "latest", "now"),
    key=overdue_blocks_booking,
)


def next_free_slot_row(
    *,
    doctor: Doctor,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
    defaults: BookingDefaults | None = None,
) -> tuple | None:
    """``free_slots(...).first()`` as a ``FREE_SLOT_COLUMNS`` tuple, or None (one query, compiled once)."""
    now = now or timezone.now()
    earliest, latest = _free_slot_window(doctor, start, now, defaults)
    rows = _NEXT_FREE_SLOT_ROW.rows(doctor_id=doctor.pk, earliest=earliest, end=end, latest=latest, now=now)
    return rows[0] if rows else None


#: the doctor fields a free-slot listing needs (their zone and booking policy), in model order
_SLOT_DOCTOR_FIELDS = tuple(
    field.attname
    for field in Doctor._meta.concrete_fields
    if field.attname in {"id", "time_zone", "min_notice_hours", "max_advance_days", "buffer_minutes",
                         "cancellation_notice_hours"}
)  # fmt: skip
_BOOKABLE_DOCTOR = PreparedQuery(
    lambda doctor_id: Doctor.objects.filter(bookable_doctors_q(), pk=doctor_id).values_list(*_SLOT_DOCTOR_FIELDS),
    ints=("doctor_id",),
    key=overdue_blocks_booking,
)


def bookable_doctor_for_slots(doctor_id: int) -> Doctor | None:
    """The doctor patients can book with this id, or None: one query, compiled once per process, of
    the fields the free-slot reads use (zone and booking policy; any other field loads on access)."""
    if not 0 < doctor_id <= MAX_ID:
        return None  # beyond the column: no such row (as the ORM answers)
    rows = _BOOKABLE_DOCTOR.rows(doctor_id=doctor_id)
    return Doctor.from_db(_BOOKABLE_DOCTOR.using, _SLOT_DOCTOR_FIELDS, rows[0]) if rows else None


#: a free-slot listing's view of the doctor: their zone and own booking window (None: the clinic's)
_LISTING_DOCTOR_COLUMNS = ("time_zone", "min_notice_hours", "max_advance_days")
#: and of the clinic defaults (no row until an admin saves them: then the fields' defaults)
_LISTING_DEFAULT_COLUMNS = ("min_notice_hours", "max_advance_days")
_FIELD_DEFAULTS = tuple(BookingDefaults._meta.get_field(name).get_default() for name in _LISTING_DEFAULT_COLUMNS)
_LISTING_WIDTH = len(_LISTING_DOCTOR_COLUMNS) + len(_LISTING_DEFAULT_COLUMNS)
#: the bookable doctor, the defaults row and the doctor's free slots in one statement, ordered by start
_LISTING = PreparedJoin(
    PreparedQuery(
        lambda doctor_id: (
            Doctor.objects.filter(bookable_doctors_q(), pk=doctor_id).order_by().values_list(*_LISTING_DOCTOR_COLUMNS)
        ),
        ints=("doctor_id",),
        key=overdue_blocks_booking,
    ),
    PreparedQuery(lambda: BookingDefaults.objects.filter(pk=1).values_list(*_LISTING_DEFAULT_COLUMNS)),
    # the doctor's slots: no rows at all when the doctor part finds the doctor not bookable
    PreparedQuery(
        lambda **bounds: _free_slot_queryset(**bounds, doctor_checked=True).order_by().values_list(*FREE_SLOT_COLUMNS),
        ints=("doctor_id",),
        datetimes=("earliest", "end", "latest", "now"),
    ),
    order_by=(_LISTING_WIDTH + FREE_SLOT_COLUMNS.index("start"),),
)
#: per process: the (zone, notice hours, advance days) each doctor's last listing confirmed, and the
#: clinic defaults' (notice hours, advance days) last seen; a listing reads with these and its own
#: statement confirms them (``free_slot_listing``)
_listing_policies: dict[int, tuple[str, int, int]] = {}
_listing_defaults: list[int] = list(_FIELD_DEFAULTS)
#: beyond this many doctors the remembered policies start over (a bound on memory, not a cache size)
_LISTING_POLICIES_MAX = 10_000


@dataclass(frozen=True, slots=True)
class FreeSlotListing:
    doctor_id: int
    time_zone: str
    zone: ZoneInfo
    date_from: dt.date
    date_to: dt.date
    rows: list[tuple]  # FREE_SLOT_COLUMNS, earliest first


def free_slot_listing(
    doctor_id: int,
    *,
    period: Callable[[ZoneInfo], tuple[dt.date, dt.date] | None],
    now: dt.datetime,
) -> FreeSlotListing | None:
    """``free_slot_rows`` of a bookable doctor by id, in one statement: the doctor, the clinic defaults
    and the slots (``free_slot_rows`` needs the doctor first, and the defaults, unless cached).

    ``period(zone)`` gives the local dates ``(first, last)`` to list (in the doctor's zone), or None to
    refuse them. The slots' instants depend on the doctor's zone and booking window, which the statement
    itself returns: it is run with the ones this process last saw for the doctor (the clinic's zone and
    defaults for a doctor not seen yet), and run once more with the right ones when its answer shows they
    were not (the doctor or the clinic changed them). So the answer is exact on every call, in one
    statement almost always.

    None: no bookable doctor has this id, or ``period`` refused the dates.
    """
    if not 0 < doctor_id <= MAX_ID:
        return None  # beyond the column: no such row (as the ORM answers)
    expected = _listing_policies.get(doctor_id) or (settings.CLINIC_TIME_ZONE, *_listing_defaults)
    for _attempt in range(2):
        time_zone, notice_hours, advance_days = expected
        zone = ZoneInfo(time_zone)
        dates = period(zone)
        if dates is None:
            return None
        start = resolve_local(dates[0], dt.time(0), zone)
        rows = _LISTING.rows(
            doctor_id=doctor_id,
            earliest=max(start, now + dt.timedelta(hours=notice_hours)),
            end=resolve_local(dates[1] + dt.timedelta(days=1), dt.time(0), zone),
            latest=now + dt.timedelta(days=advance_days),
            now=now,
        )
        if not rows:
            return None
        zone_name, own_notice, own_advance, *defaults = rows[0][:_LISTING_WIDTH]
        if defaults[0] is None:  # no defaults row
            defaults = _FIELD_DEFAULTS
        _listing_defaults[:] = defaults
        actual = (
            zone_name,
            defaults[0] if own_notice is None else own_notice,
            defaults[1] if own_advance is None else own_advance,
        )
        if actual != expected:
            if len(_listing_policies) >= _LISTING_POLICIES_MAX:
                _listing_policies.clear()
            _listing_policies[doctor_id] = expected = actual
            continue
        if doctor_id not in _listing_policies:
            _listing_policies[doctor_id] = actual
        slots = [row[_LISTING_WIDTH:] for row in rows] if rows[0][_LISTING_WIDTH] is not None else []
        return FreeSlotListing(doctor_id, zone_name, zone, dates[0], dates[1], slots)
    return None  # changed between two reads: the caller's slower way reads it afresh


def _month_bounds(year: int, month: int, zone) -> tuple[dt.datetime, dt.datetime]:
    first = dt.date(year, month, 1)
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return resolve_local(first, dt.time(0), zone), resolve_local(following, dt.time(0), zone)


def available_dates(
    *,
    doctor: Doctor,
    year: int,
    month: int,
    now: dt.datetime | None = None,
    defaults: BookingDefaults | None = None,
) -> list[dt.date]:
    """The local dates (doctor's zone) of ``year``-``month`` with at least one free slot, sorted.

    One query (plus one for the clinic defaults unless ``defaults`` is given): the database turns each
    slot's start into its local date and returns the distinct dates.
    """
    zone = doctor.zone
    start, end = _month_bounds(year, month, zone)
    days = (
        free_slots(doctor=doctor, start=start, end=end, now=now, defaults=defaults)
        .annotate(local_day=TruncDate("start", tzinfo=zone))
        .order_by("local_day")
        .values_list("local_day", flat=True)
        .distinct()
    )
    return list(days)


# --- doctor search -----------------------------------------------------------------------------


def fold_text(text: str) -> str:
    """Lower-case ``text`` and strip its accents, so "dung" finds "Dũng" and "dang" finds "Đặng"."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@dataclass
class DoctorPage:
    """One page of doctor search results. Each doctor carries ``next_free_start`` (a UTC datetime),
    its ``user`` and its active ``specialties`` (prefetched)."""

    doctors: list[Doctor]
    page: int
    per_page: int
    total: int

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _matching_doctor_ids(q: str) -> list[int]:
    """Active doctors whose name, title or specialty contains every word of ``q``, ignoring case and
    accents (one query over the names; the comparison runs in Python because neither database folds
    Vietnamese accents on its own)."""
    words = fold_text(q).split()
    texts: dict[int, list[str]] = defaultdict(list)
    rows = Doctor.objects.filter(bookable_doctors_q()).values_list(
        "pk", "title", "user__first_name", "user__last_name", "specialties__name"
    )
    for pk, title, first_name, last_name, specialty in rows:
        if not texts[pk]:
            texts[pk].extend([title, first_name, last_name, f"{first_name} {last_name}", f"{last_name} {first_name}"])
        if specialty:
            texts[pk].append(specialty)
    matches = []
    for pk, parts in texts.items():
        haystack = fold_text(" | ".join(parts))
        if all(word in haystack for word in words):
            matches.append(pk)
    return matches


def _policy_bound(field: str, default_at: dt.datetime, unit: dt.timedelta, *, now: dt.datetime, ref=OuterRef):
    """``now`` plus the doctor's ``field`` (``ref``: the outer row's, or ``F`` for a path from this row)
    times ``unit``; ``default_at`` (``now`` plus the clinic default) when the doctor has none.

    A CASE, so that a doctor without their own value (most of them) is compared with a constant worked
    out here: date arithmetic on a column costs a Python call per row on SQLite (Django's
    ``django_format_dtdelta``), which was most of the directory's and the doctor search's time."""
    own = ExpressionWrapper(
        Value(now)
        + ExpressionWrapper(
            ExpressionWrapper(ref(field), output_field=IntegerField()) * Value(unit), output_field=DurationField()
        ),
        output_field=DateTimeField(),
    )
    return Case(
        When(IsNull(ref(field), True), then=Value(default_at)),
        default=own,
        output_field=DateTimeField(),
    )


def _default_window(*, now: dt.datetime, defaults: BookingDefaults) -> tuple[dt.datetime, dt.datetime]:
    """The clinic's booking window from ``now``: ``(earliest, latest)`` start of a bookable slot."""
    return now + defaults.min_notice_hours * dt.timedelta(hours=1), now + defaults.max_advance_days * dt.timedelta(
        days=1
    )


def _policy_window(
    *,
    now: dt.datetime,
    defaults: BookingDefaults | None = None,
    ref=OuterRef,
    prefix: str = "",
    default_window: tuple[dt.datetime, dt.datetime] | None = None,
) -> Q:
    """Slots inside their doctor's booking window: after the minimum notice, before the advance limit
    (``default_window``: the clinic's, as ``_default_window`` gives it, when not from ``defaults``)."""
    earliest_default, latest_default = default_window or _default_window(now=now, defaults=defaults)
    earliest = _policy_bound(f"{prefix}min_notice_hours", earliest_default, dt.timedelta(hours=1), now=now, ref=ref)
    latest = _policy_bound(f"{prefix}max_advance_days", latest_default, dt.timedelta(days=1), now=now, ref=ref)
    return Q(start__gte=earliest, start__lte=latest)


def _place_q(*, facility: str | int | None, city: str, district: str, mode: str) -> Q:
    """Slots whose availability is in this place (every filter given must hold)."""
    place = Q()
    if mode:
        place &= Q(availability__mode=mode)
    if facility not in (None, ""):
        # an id, or a slug; a number past the database's integers is no id (and must not overflow)
        by_id = str(facility).isdigit() and int(facility) < 2**63
        place &= Q(availability__facility_id=int(facility)) if by_id else Q(availability__facility__slug=str(facility))
    if city and city.strip():
        place &= Q(availability__facility__city__iexact=city.strip())
    if district and district.strip():
        place &= Q(availability__facility__district__iexact=district.strip())
    return place


def doctor_search(
    *,
    q: str = "",
    specialty: str | int | None = None,
    facility: str | int | None = None,
    city: str = "",
    district: str = "",
    mode: str = "",
    now: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 20,
    offset: int | None = None,
    defaults: BookingDefaults | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> DoctorPage:
    """Active doctors with at least one upcoming free slot, matching ``q`` (name, title or specialty) and
    ``specialty`` (slug or id), soonest available first, one page at a time (or ``per_page`` rows
    after ``offset`` rows, for the API's limit/offset lists). (Not by name: the two
    databases sort Vietnamese letters such as "Đ" differently, and pages must be stable.)

    The place filters narrow the free slot that counts: ``mode`` (in_person or video), ``facility``
    (slug or id), ``city`` and ``district`` (of the slot's facility, case-insensitive); a doctor
    matches when one upcoming free slot matches them all, and ``next_free_start`` is that slot's.
    ``start``/``end`` narrow it to slots starting in ``[start, end)`` (a day, for "free on this date").

    The next free slot is a subquery that applies each doctor's own notice and advance window, so the
    number of queries stays the same however many doctors or slots there are.
    """
    if mode and mode not in AppointmentMode.values:
        raise ValueError(f"mode must be one of {AppointmentMode.values}")
    now = now or timezone.now()
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")
    defaults = defaults or BookingDefaults.load()
    if offset is None:
        offset = (page - 1) * per_page
    place = {"facility": facility, "city": city, "district": district, "mode": mode}
    window = _default_window(now=now, defaults=defaults)
    by_id = str(specialty).isdigit() and int(specialty) < 2**63
    named = _matching_doctor_ids(q) if q and q.strip() else None
    if named is not None and not named:
        found = None  # nobody has that name
    elif (
        (named is None or len(named) <= SEARCH_COMPILED_NAMES)
        and not (city and city.strip())
        and not (district and district.strip())
    ):
        found = _search_compiled(
            now=now, start=start, end=end, window=window, specialty=specialty, named=named, **place
        )
    else:
        doctors = _search_queryset(
            now=now, start=max(now, start or now), end=end, window=window, specialty=specialty, by_id=by_id, **place
        )
        if named is not None:
            doctors = doctors.filter(pk__in=named)
        found = _compiled_sql(doctors)
    first, total = _next_free_page(found, offset=offset, limit=per_page) if found else ([], 0)
    by_pk = doctors_with_specialties([pk for pk, _ in first])
    rows = []
    for pk, next_free_start in first:
        doctor = by_pk.get(pk)
        if doctor is not None:  # gone since the first query
            doctor.next_free_start = next_free_start
            rows.append(doctor)
    return DoctorPage(doctors=rows, page=page, per_page=per_page, total=total)


#: number of doctors → the doctors with their users / their active specialties, compiled once per process
_listed_doctors: dict[int, PreparedInstance] = {}
_listed_specialties: dict[int, PreparedQuery] = {}
_SPECIALTY_FIELDS = tuple(field.attname for field in Specialty._meta.concrete_fields)


def doctors_with_specialties(ids: list[int]) -> dict[int, Doctor]:
    """The doctors of ``ids`` by id, with their user and their active specialties by name (as
    ``prefetch_related`` leaves them: ``doctor.specialties.all()`` reads no more); two queries,
    compiled once per process and number of doctors (a page of results has a handful)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    names = tuple(f"doctor{number}" for number in range(len(ids)))
    doctors = _listed_doctors.get(len(ids))
    if doctors is None:
        doctors = _listed_doctors[len(ids)] = PreparedInstance(
            lambda **each: Doctor.objects.filter(pk__in=[each[name] for name in names]).order_by(),
            model=Doctor,
            related=("user",),
            ints=names,
        )
        _listed_specialties[len(ids)] = PreparedQuery(
            lambda **each: (
                Doctor.specialties.through.objects.filter(
                    doctor_id__in=[each[name] for name in names], specialty__is_active=True
                )
                .order_by("specialty__name")
                .values_list("doctor_id", *(f"specialty__{name}" for name in _SPECIALTY_FIELDS))
            ),
            ints=names,
        )
    values = dict(zip(names, ids, strict=True))
    found = {doctor.pk: doctor for doctor in map(doctors.instance, doctors.rows(**values))}
    specialties: dict[int, list[Specialty]] = {pk: [] for pk in found}
    for doctor_id, *row in _listed_specialties[len(ids)].rows(**values):
        if doctor_id in specialties:
            specialties[doctor_id].append(Specialty.from_db(doctors.using, _SPECIALTY_FIELDS, row))
    for pk, doctor in found.items():
        cached = Specialty.objects.all()
        cached._result_cache, cached._prefetch_done = specialties[pk], True
        doctor._prefetched_objects_cache = {"specialties": cached}
    return found


def _search_queryset(
    *,
    now: dt.datetime,
    start: dt.datetime,
    end: dt.datetime | None,
    window: tuple[dt.datetime, dt.datetime],
    specialty: str | int | None,
    by_id: bool,
    facility: str | int | None = None,
    city: str = "",
    district: str = "",
    mode: str = "",
) -> QuerySet:
    """``doctor_search``'s doctors as ``(pk, next free start)`` rows, unordered: bookable doctors (of
    ``specialty``: an id when ``by_id``, else a slug), each with their first bookable slot from
    ``start`` (and before ``end``) in the place the filters name, inside their own booking window."""
    next_free = (
        Slot.objects.filter(doctor_id=OuterRef("pk"), start__gte=start)
        .filter(Q(start__lt=end) if end is not None else Q())
        .filter(slot_free_q(now=now))
        .filter(_policy_window(now=now, default_window=window))
        .exclude(_not_blocked())
        .filter(_place_q(facility=facility, city=city, district=district, mode=mode))
        .order_by("start")
        .values("start")[:1]
    )
    doctors = Doctor.objects.filter(bookable_doctors_q())
    if specialty not in (None, ""):
        by = {"specialty_id": int(specialty)} if by_id else {"specialty__slug": str(specialty)}
        doctors = doctors.filter(Exists(Doctor.specialties.through.objects.filter(doctor_id=OuterRef("pk"), **by)))
    return (
        doctors.annotate(next_free_start=Subquery(next_free, output_field=DateTimeField()))
        .order_by()
        .values_list("pk", "next_free_start")
    )


def _compiled_sql(found: QuerySet) -> tuple[str, list, str] | None:
    """The SQL of ``found`` (None: a filter nothing can match, e.g. a name search that found nobody)."""
    try:
        sql, params = found.query.get_compiler(using=found.db).as_sql()
    except EmptyResultSet:
        return None
    return sql, list(params), found.db


#: the shape of the search's filters → ``_search_queryset`` compiled once per process
_search_statements: dict[tuple, PreparedQuery] = {}


def _search_compiled(
    *,
    now: dt.datetime,
    start: dt.datetime | None,
    end: dt.datetime | None,
    window: tuple[dt.datetime, dt.datetime],
    specialty: str | int | None,
    facility: str | int | None,
    mode: str,
    named: list[int] | None = None,
    city: str = "",
    district: str = "",
) -> tuple[str, list, str]:
    """``_search_queryset``'s SQL and parameters for a search without a city or district (compared
    with LIKE), of the doctors ``named`` (a name search's matches) if given, compiled once per process
    and shape (the number of names is part of the shape)."""
    values: dict = {"now": now, "start": max(now, start or now), "earliest_default": window[0]}
    values["latest_default"] = window[1]
    ints, strs = [], []
    specialty_by = facility_by = ""
    if specialty not in (None, ""):
        specialty_by = "id" if str(specialty).isdigit() and int(specialty) < 2**63 else "slug"
        values["specialty"] = int(specialty) if specialty_by == "id" else str(specialty)
        (ints if specialty_by == "id" else strs).append("specialty")
    if facility not in (None, ""):
        facility_by = "id" if str(facility).isdigit() and int(facility) < 2**63 else "slug"
        values["facility"] = int(facility) if facility_by == "id" else str(facility)
        (ints if facility_by == "id" else strs).append("facility")
    if mode:
        values["mode"] = mode
        strs.append("mode")
    if end is not None:
        values["end"] = end
    names = tuple(f"doctor{number}" for number in range(len(named))) if named is not None else None
    if names is not None:
        values.update(zip(names, named, strict=True))
        ints += names
    shape = (specialty_by, facility_by, bool(mode), end is not None, len(names) if names is not None else None)
    prepared = _search_statements.get(shape)
    if prepared is None:

        def build(
            now, start, earliest_default, latest_default, end=None, specialty=None, facility=None, mode="", **doctors
        ):
            found = _search_queryset(
                now=now,
                start=start,
                end=end,
                window=(earliest_default, latest_default),
                specialty=specialty,
                by_id=specialty_by == "id",
                facility=facility,
                mode=mode,
            )
            return found.filter(pk__in=[doctors[name] for name in names]) if names is not None else found

        prepared = _search_statements[shape] = PreparedQuery(
            build,
            ints=tuple(ints),
            datetimes=("now", "start", "earliest_default", "latest_default") + (("end",) if end is not None else ()),
            strs=tuple(strs),
            key=overdue_blocks_booking,
        )
    connection = connections[prepared.using]
    sql, params = prepared.statement(connection, values)
    return sql, params, prepared.using


def _next_free_page(
    found: tuple[str, list, str], *, offset: int, limit: int
) -> tuple[list[tuple[int, dt.datetime]], int]:
    """``(pk, next free start)`` of the doctors of ``found`` (the SQL, parameters and database of rows
    of both, ``_search_queryset``) that have a next free slot, soonest first, ``limit`` rows after
    ``offset``, and how many there are in all.

    One query (two for a page past the end): the doctors' next free slot is worked out once per doctor
    in a materialized CTE. Filtering and ordering the annotated queryset instead made the database
    run that subquery for the filter and again for the result, and once more for the page's count:
    most of the database's time for a directory page or a search (issue 19)."""
    sql, params, using = found
    connection = connections[using]
    cte = f"WITH found (id, next_free) AS MATERIALIZED ({sql}) "  # noqa: S608 - the ORM's own SQL
    with connection.cursor() as cursor:
        cursor.execute(
            f"{cte}SELECT id, next_free, COUNT(*) OVER () FROM found WHERE next_free IS NOT NULL "  # noqa: S608
            "ORDER BY next_free, id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = cursor.fetchall()
        if rows:
            total = rows[0][2]
        elif offset:
            cursor.execute(f"{cte}SELECT COUNT(*) FROM found WHERE next_free IS NOT NULL", params)  # noqa: S608
            total = cursor.fetchone()[0]
        else:
            total = 0
    field = DateTimeField()
    converters = connection.ops.get_db_converters(Col(None, field)) + field.get_db_converters(connection)
    page = []
    for pk, value, _total in rows:
        for converter in converters:
            value = converter(value, None, connection)
        page.append((pk, value))
    return page, total


#: stands for "this doctor" in the one compiled branch of ``_first_slot_ids_sql`` (no real id is negative)
_THIS_DOCTOR = -7_340_021_913


def _first_slot_ids_sql(bookable: QuerySet[Slot], *, ids: list[int], per_doctor: int) -> tuple[str, list]:
    """SQL for the ids of the first ``per_doctor`` slots of ``bookable`` of each doctor in ``ids``: one
    ``ORDER BY start LIMIT n`` branch per doctor, joined by UNION ALL, so each reads the (doctor, start)
    index and stops after ``per_doctor`` matches, rather than numbering every upcoming free slot of
    every doctor. The branch is compiled once by the ORM and repeated with each doctor's id (compiling
    one queryset per doctor cost more Python time than the database saved)."""
    branch = bookable.filter(doctor_id=_THIS_DOCTOR).order_by("start").values("pk")[:per_doctor]
    sql, params = branch.query.get_compiler(using=bookable.db).as_sql()
    where = [index for index, value in enumerate(params) if value == _THIS_DOCTOR]
    if len(where) != 1:
        raise RuntimeError("the first-slots branch must name its doctor exactly once")
    parts, all_params = [], []
    for number, pk in enumerate(ids):
        # the ORM's own SQL and a number; the values go as parameters. SQLite takes LIMIT only in a subquery
        parts.append(f"SELECT * FROM ({sql}) first_{number}")  # noqa: S608
        branch_params = list(params)
        branch_params[where[0]] = pk
        all_params.extend(branch_params)
    return " UNION ALL ".join(parts), all_params


def _bookable_slots(
    *,
    now: dt.datetime,
    start: dt.datetime | None,
    end: dt.datetime | None,
    default_window: tuple[dt.datetime, dt.datetime],
    facility: str | int | None = None,
    city: str = "",
    district: str = "",
    mode: str = "",
) -> QuerySet[Slot]:
    """Slots patients can book now (each doctor's own notice and advance window), starting at or after
    ``start`` and before ``end``, in the place the filters name: what ``first_free_slots`` reads."""
    return (
        Slot.objects.filter(start__gte=max(now, start or now))
        .filter(Q(start__lt=end) if end is not None else Q())
        .filter(slot_free_q(now=now))
        .filter(_policy_window(now=now, ref=F, prefix="doctor__", default_window=default_window))
        .exclude(_not_blocked())
        .filter(_place_q(facility=facility, city=city, district=district, mode=mode))
    )


def first_free_slots(
    *,
    doctor_ids: list[int],
    per_doctor: int = 4,
    now: dt.datetime | None = None,
    defaults: BookingDefaults | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    facility: str | int | None = None,
    city: str = "",
    district: str = "",
    mode: str = "",
) -> dict[int, list[Slot]]:
    """The first ``per_doctor`` bookable slots of each doctor in ``doctor_ids`` (each doctor's own notice
    and advance window, the same place and ``start``/``end`` filters as ``doctor_search``), earliest
    first, with their availability's facility (and room, except on the compiled path: see below).

    One query for all the doctors, however many doctors or slots there are (plus one for the clinic
    defaults unless ``defaults`` is given): for up to ``FIRST_SLOTS_BRANCHES`` doctors (a page of
    cards) a bounded index read per doctor (``_first_slot_ids_sql``); for more, a row number per
    doctor counted in the database. A page of cards without a city or district filter (the directory's
    usual read) runs SQL compiled once per process (``_first_slots_compiled``).
    """
    ids = list(doctor_ids)
    if not ids:
        return {}
    if mode and mode not in AppointmentMode.values:
        raise ValueError(f"mode must be one of {AppointmentMode.values}")
    now = now or timezone.now()
    defaults = defaults or BookingDefaults.load()
    window = _default_window(now=now, defaults=defaults)
    if len(ids) <= FIRST_SLOTS_BRANCHES and not (city and city.strip()) and not (district and district.strip()):
        return _first_slots_compiled(
            ids, per_doctor=per_doctor, now=now, start=start, end=end, window=window, facility=facility, mode=mode
        )
    bookable = _bookable_slots(
        now=now, start=start, end=end, default_window=window, facility=facility, city=city, district=district, mode=mode
    )
    if len(ids) <= FIRST_SLOTS_BRANCHES:
        slots = Slot.objects.filter(pk__in=RawSQL(*_first_slot_ids_sql(bookable, ids=ids, per_doctor=per_doctor)))  # noqa: S611
    else:
        slots = (
            bookable.filter(doctor_id__in=ids)
            .annotate(rank=Window(RowNumber(), partition_by=F("doctor_id"), order_by=(F("start").asc(), F("pk").asc())))
            .filter(rank__lte=per_doctor)
        )
    slots = slots.select_related("availability__facility", "availability__room").order_by("doctor_id", "start", "pk")
    found: dict[int, list[Slot]] = {pk: [] for pk in ids}
    for slot in slots:
        found[slot.doctor_id].append(slot)
    return found


#: what a quick slot on a card needs: the slot, its availability's mode and place, the facility's row
_CARD_SLOT_FIELDS = tuple(field.attname for field in Slot._meta.concrete_fields)
_CARD_AVAILABILITY_FIELDS = ("id", "mode", "facility_id", "room_id")
_CARD_FACILITY_FIELDS = tuple(field.attname for field in Facility._meta.concrete_fields)
_CARD_SLOT_COLUMNS = (
    *_CARD_SLOT_FIELDS,
    *(f"availability__{name}" for name in _CARD_AVAILABILITY_FIELDS),
    *(f"availability__facility__{name}" for name in _CARD_FACILITY_FIELDS),
)
#: (shape of the filters, per_doctor) → the branch of one doctor, compiled once per process
_first_slot_branches: dict[tuple, PreparedQuery] = {}
#: (branch, number of doctors) → the branches joined by UNION ALL (SQLite); branch → its LATERAL form
_first_slot_unions: dict = {}


def _first_slots_branch(*, has_end: bool, facility_by: str, mode: bool, per_doctor: int) -> PreparedQuery:
    shape = (has_end, facility_by, mode, per_doctor)
    prepared = _first_slot_branches.get(shape)
    if prepared is None:

        def build(doctor_id, now, start, earliest_default, latest_default, end=None, mode="", facility=None):
            return (
                _bookable_slots(
                    now=now,
                    start=start,
                    end=end,
                    default_window=(earliest_default, latest_default),
                    facility=facility,
                    mode=mode,
                )
                .filter(doctor_id=doctor_id)
                .order_by("start")
                .values_list(*_CARD_SLOT_COLUMNS)[:per_doctor]
            )

        strs = (("mode",) if mode else ()) + (("facility",) if facility_by == "slug" else ())
        prepared = _first_slot_branches[shape] = PreparedQuery(
            build,
            ints=("doctor_id",) + (("facility",) if facility_by == "id" else ()),
            datetimes=("now", "start", "earliest_default", "latest_default") + (("end",) if has_end else ()),
            strs=strs,
            key=overdue_blocks_booking,
        )
    return prepared


def _first_slots_compiled(
    ids: list[int],
    *,
    per_doctor: int,
    now: dt.datetime,
    start: dt.datetime | None,
    end: dt.datetime | None,
    window: tuple[dt.datetime, dt.datetime],
    facility: str | int | None,
    mode: str,
) -> dict[int, list[Slot]]:
    """``first_free_slots`` for a page of cards as one statement compiled once per process: one
    ``ORDER BY start LIMIT n`` branch per doctor (as ``_first_slot_ids_sql``) selecting the columns a
    card needs, the instances made from the rows (availability with its mode and place; the room is
    not read: it loads on access)."""
    values: dict = {"now": now, "start": max(now, start or now), "earliest_default": window[0]}
    values["latest_default"] = window[1]
    facility_by = ""
    if facility not in (None, ""):
        facility_by = "id" if str(facility).isdigit() and int(facility) < 2**63 else "slug"
        values["facility"] = int(facility) if facility_by == "id" else str(facility)
    if end is not None:
        values["end"] = end
    if mode:
        values["mode"] = mode
    branch = _first_slots_branch(
        has_end=end is not None, facility_by=facility_by, mode=bool(mode), per_doctor=per_doctor
    )
    connection = connections[branch.using]
    compiled = branch.compiled(connection)
    if connection.vendor == "postgresql":
        # one branch, run for each id of an array (LATERAL): PostgreSQL plans it once, where planning one
        # branch per doctor cost ~15 ms of the database's time per page of cards, more than running them
        sql = _first_slot_unions.get(id(compiled))
        if sql is None:
            pieces = compiled.sql.split("%s")
            doctor = compiled.binding.index("doctor_id")
            if len(pieces) != len(compiled.binding) + 1 or compiled.binding.count("doctor_id") != 1:
                raise RuntimeError("the first-slots branch must name its doctor exactly once")
            branch_sql = "".join(
                piece + ("" if number == len(compiled.binding) else "first_doctor.id" if number == doctor else "%s")
                for number, piece in enumerate(pieces)
            )
            sql = _first_slot_unions[id(compiled)] = (
                f"SELECT first.* FROM unnest(%s::bigint[]) AS first_doctor (id) CROSS JOIN LATERAL ({branch_sql}) first"  # noqa: S608
            )
        params = [ids] + [
            value
            for number, value in enumerate(branch.params(connection, compiled, {**values, "doctor_id": 0}))
            if compiled.binding[number] != "doctor_id"
        ]
    else:
        union_key = (id(compiled), len(ids))
        sql = _first_slot_unions.get(union_key)
        if sql is None:
            # SQLite takes LIMIT only in a subquery; the compiled SQL holds no values
            sql = _first_slot_unions[union_key] = " UNION ALL ".join(
                f"SELECT * FROM ({compiled.sql}) first_{number}"  # noqa: S608
                for number in range(len(ids))
            )
        params = []
        for pk in ids:
            params += branch.params(connection, compiled, {**values, "doctor_id": pk})
    # Django's own cursor, not a prepared statement: PostgreSQL's generic plan for it (which it comes
    # to prefer after five runs) reads far more than the plan made for the real instants (6 ms against 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = branch.converted(connection, cursor.fetchall())
    found: dict[int, list[Slot]] = {pk: [] for pk in ids}
    slot_width, availability_width = len(_CARD_SLOT_FIELDS), len(_CARD_AVAILABILITY_FIELDS)
    availabilities: dict[int, Availability] = {}
    facilities: dict[int, Facility] = {}
    at = _CARD_SLOT_FIELDS.index("start")
    for row in sorted(rows, key=lambda row: row[at]):  # each doctor's (doctor, start) is unique
        slot = Slot.from_db(branch.using, _CARD_SLOT_FIELDS, row[:slot_width])
        availability_row = row[slot_width : slot_width + availability_width]
        if availability_row[0] is not None:
            availability = availabilities.get(availability_row[0])
            if availability is None:
                availability = Availability.from_db(branch.using, _CARD_AVAILABILITY_FIELDS, availability_row)
                facility_row = row[slot_width + availability_width :]
                place = None
                if availability.facility_id is not None:
                    place = facilities.get(availability.facility_id)
                    if place is None:
                        place = facilities[availability.facility_id] = Facility.from_db(
                            branch.using, _CARD_FACILITY_FIELDS, facility_row
                        )
                availability._state.fields_cache["facility"] = place
                availabilities[availability.pk] = availability
            slot._state.fields_cache["availability"] = availability
        else:
            slot._state.fields_cache["availability"] = None
        found[slot.doctor_id].append(slot)
    return found


# --- admin week view ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekSlot:
    slot: Slot
    #: what the week view shows: free, held, booked or blocked (a lapsed hold shows as free)
    display_status: str
    local_start: dt.datetime
    local_end: dt.datetime
    is_past: bool

    @property
    def display_label(self) -> str:
        return str(SlotStatus(self.display_status).label)


@dataclass(frozen=True)
class WeekDay:
    date: dt.date
    slots: list[WeekSlot]
    blocked: list[BlockedTime]


@dataclass(frozen=True)
class WeekView:
    doctor: Doctor
    week_start: dt.date
    days: list[WeekDay]

    @property
    def previous_week(self) -> dt.date:
        return self.week_start - dt.timedelta(days=7)

    @property
    def next_week(self) -> dt.date:
        return self.week_start + dt.timedelta(days=7)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SlotStatus.values, 0)
        for day in self.days:
            for item in day.slots:
                counts[item.display_status] += 1
        return counts


def week_view(*, doctor: Doctor, week_start: dt.date, now: dt.datetime | None = None) -> WeekView:
    """``doctor``'s slots and blocked time for the 7 local days from ``week_start`` (two queries)."""
    now = now or timezone.now()
    zone = doctor.zone
    start, _ = local_day_bounds(week_start, zone)
    end, _ = local_day_bounds(week_start + dt.timedelta(days=7), zone)
    slots = list(Slot.objects.filter(doctor=doctor, start__gte=start, start__lt=end).order_by("start"))
    blocks = list(BlockedTime.objects.filter(doctor=doctor, starts_at__lt=end, ends_at__gt=start).order_by("starts_at"))

    def display(slot: Slot) -> str:
        if slot.status == SlotStatus.BOOKED:
            return SlotStatus.BOOKED
        if slot.status == SlotStatus.HELD and not slot.is_free_at(now):
            return SlotStatus.HELD
        if slot.status == SlotStatus.BLOCKED or any(b.starts_at < slot.end and b.ends_at > slot.start for b in blocks):
            return SlotStatus.BLOCKED
        return SlotStatus.FREE

    by_day: dict[dt.date, list[WeekSlot]] = defaultdict(list)
    for slot in slots:
        local_start = slot.start.astimezone(zone)
        by_day[local_start.date()].append(
            WeekSlot(
                slot=slot,
                display_status=display(slot),
                local_start=local_start,
                local_end=slot.end.astimezone(zone),
                is_past=slot.start < now,
            )
        )
    days = []
    for offset in range(7):
        day = week_start + dt.timedelta(days=offset)
        day_start, day_end = local_day_bounds(day, zone)
        days.append(
            WeekDay(
                date=day,
                slots=by_day.get(day, []),
                blocked=[b for b in blocks if b.starts_at < day_end and b.ends_at > day_start],
            )
        )
    return WeekView(doctor=doctor, week_start=week_start, days=days)
