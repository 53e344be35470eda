"""Dashboard numbers. Each function runs a fixed number of aggregate queries, however many rows there are.

Definitions (a range is ``[start, end)`` in UTC, usually whole local days in the clinic's zone):

- **no-show rate** = no-shows ÷ (completed + no-shows), over visits that *started* in the range;
- **cancellation rate** = cancelled ÷ appointments *created* in the range, leaving out expired holds
  (never became visits) and follow-up suggestions the patient never accepted (still open, or
  rejected: a rejection is not a cancelled visit);
- **late-cancellation rate** = cancelled late ÷ cancelled, over the same appointments;
- **utilisation** = booked slot minutes ÷ published slot minutes, over slots *starting* in the range.
  Published: not blocked (by status, or free inside the doctor's blocked time). Booked: the slot
  carries an appointment that is pending, confirmed, completed or a no-show;
- **revenue** = money of payments received in the range (succeeded, or succeeded then refunded) minus
  refunds made in the range (cash basis: a refund lowers the month it is paid back in);
- **follow-up acceptance** = suggestions that left "follow-up suggested" other than by rejection ÷
  suggestions decided, over suggestions *made* in the range;
- **video visits completed** = completed visits in video mode that started in the range.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Func,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from booking.models import (
    SLOT_OCCUPYING,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BlockedTime,
    Doctor,
    Payment,
    PaymentStatus,
    Refund,
    Slot,
    SlotStatus,
)
from booking.rules import live_hold_q
from booking.selectors.appointments import VISIT_STATUSES, day_schedule  # noqa: F401 (the dashboards read it here)

S = AppointmentStatus
#: an appointment in one of these makes its slot "booked" for utilisation
BOOKED_STATUSES = (S.PENDING, S.CONFIRMED, S.COMPLETED, S.NO_SHOW)
NOT_BOOKED_STATUSES = tuple(status for status in S if status not in BOOKED_STATUSES)
#: what counts as a visit on a day's schedule (holds are shown apart)
RECEIVED = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(settings.CLINIC_TIME_ZONE)


def rate(part: int, whole: int) -> float | None:
    """``part ÷ whole`` as a fraction, None when there is nothing to divide by."""
    return part / whole if whole else None


def local_day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class DateRange:
    """Whole local days ``first``..``last`` (inclusive) in ``zone``."""

    first: dt.date
    last: dt.date
    zone: ZoneInfo

    @property
    def start(self) -> dt.datetime:
        return local_day_start(self.first, self.zone)

    @property
    def end(self) -> dt.datetime:
        return local_day_start(self.last + dt.timedelta(days=1), self.zone)

    @classmethod
    def last_days(cls, days: int, *, now: dt.datetime | None = None, zone: ZoneInfo | None = None) -> DateRange:
        zone = zone or clinic_zone()
        today = timezone.localtime(now or timezone.now(), zone).date()
        return cls(first=today - dt.timedelta(days=days - 1), last=today, zone=zone)

    @classmethod
    def this_month(cls, *, now: dt.datetime | None = None, zone: ZoneInfo | None = None) -> DateRange:
        """The whole current month, its upcoming days included (visits already booked count)."""
        zone = zone or clinic_zone()
        today = timezone.localtime(now or timezone.now(), zone).date()
        first = today.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return cls(first=first, last=following - dt.timedelta(days=1), zone=zone)

    @classmethod
    def parse(
        cls, start: str | None, end: str | None, *, now: dt.datetime | None = None, default_days: int = 30
    ) -> DateRange:
        """From ``YYYY-MM-DD`` strings (a form's GET values); bad or missing values give the last
        ``default_days`` days; a range is at most two years and never reversed."""
        fallback = cls.last_days(default_days, now=now)
        try:
            first = dt.date.fromisoformat(start) if start else fallback.first
            last = dt.date.fromisoformat(end) if end else fallback.last
        except ValueError:
            return fallback
        if last < first:
            first, last = last, first
        if (last - first).days > 731:
            first = last - dt.timedelta(days=731)
        return cls(first=first, last=last, zone=fallback.zone)


def fixed_offset(zone: ZoneInfo, first: dt.date, last: dt.date) -> int | None:
    """``zone``'s UTC offset in minutes when it is the same at every local midnight from ``first`` to
    the day after ``last`` (no change of clock inside), else None."""
    offsets = {
        dt.datetime.combine(first + dt.timedelta(days=i), dt.time(0), tzinfo=zone).utcoffset()
        for i in range((last - first).days + 2)
    }
    if len(offsets) != 1:
        return None
    return int(offsets.pop().total_seconds() // 60)


class _ShiftedDate(Func):
    """SQLite only: the local date (``%Y-%m-%d``) or month (``%Y-%m-01``) of a UTC timestamp, shifted by
    a fixed offset in SQLite's own ``strftime`` (Django's zone-aware truncation there is a Python
    function called for every row)."""

    output_field = DateField()

    def __init__(self, expression, *, offset_minutes: int, month: bool):
        self.offset_minutes, self.month = offset_minutes, month
        super().__init__(expression)

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        pattern = "%%Y-%%m-01" if self.month else "%%Y-%%m-%%d"  # '%' doubled: the query is %-formatted
        return f"strftime('{pattern}', {sql}, '{self.offset_minutes:+d} minutes')", params


def local_date(field: str, *, zone: ZoneInfo, first: dt.date, last: dt.date, month: bool = False):
    """The local day (or first day of the month) of ``field`` in ``zone``, for grouping rows of the
    days ``first``..``last``: computed by the database, natively on SQLite too when the zone keeps one
    offset over those days."""
    offset = fixed_offset(zone, first, last) if connection.vendor == "sqlite" else None
    if offset is not None:
        return _ShiftedDate(F(field), offset_minutes=offset, month=month)
    return TruncMonth(field, tzinfo=zone) if month else TruncDate(field, tzinfo=zone)


def visits_by_day(*, period: DateRange) -> list[tuple[dt.date, int]]:
    """Each local day of ``period`` with the number of visits on it that are (or were) going ahead:
    waiting for payment or confirmation, confirmed, completed or missed; cancelled and lapsed ones do
    not count. One query."""
    counts = dict(
        Appointment.objects.filter(
            starts_at__gte=period.start, starts_at__lt=period.end, status__in=list(SLOT_OCCUPYING)
        )
        .annotate(day=local_date("starts_at", zone=period.zone, first=period.first, last=period.last))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    days = (period.last - period.first).days + 1
    return [
        (period.first + dt.timedelta(days=i), counts.get(period.first + dt.timedelta(days=i), 0)) for i in range(days)
    ]


# --- visit outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    completed: int
    no_show: int
    video_completed: int

    @property
    def no_show_rate(self) -> float | None:
        return rate(self.no_show, self.completed + self.no_show)


def visit_outcomes(*, start: dt.datetime, end: dt.datetime, doctor: Doctor | None = None) -> Outcomes:
    """Completed and no-show visits that started in ``[start, end)`` (one query)."""
    qs = Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end, status__in=[S.COMPLETED, S.NO_SHOW])
    if doctor is not None:
        qs = qs.filter(doctor=doctor)
    row = qs.aggregate(
        completed=Count("id", filter=Q(status=S.COMPLETED)),
        no_show=Count("id", filter=Q(status=S.NO_SHOW)),
        video_completed=Count("id", filter=Q(status=S.COMPLETED, mode="video")),
    )
    return Outcomes(**row)


@dataclass(frozen=True)
class Cancellations:
    appointments: int
    cancelled: int
    cancelled_late: int

    @property
    def cancellation_rate(self) -> float | None:
        return rate(self.cancelled, self.appointments)

    @property
    def late_cancellation_rate(self) -> float | None:
        return rate(self.cancelled_late, self.cancelled)


@dataclass(frozen=True)
class FollowUps:
    suggested: int
    decided: int
    rejected: int

    @property
    def accepted(self) -> int:
        return self.decided - self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return rate(self.accepted, self.decided)


def _cancellation_counts() -> dict:
    """Appointments made in the period and how many were cancelled, leaving out expired holds and
    follow-up suggestions the patient never accepted."""
    counted = ~Q(status=S.EXPIRED) & ~Q(is_follow_up_suggestion=True, starts_at__isnull=True)
    return {
        "appointments": Count("id", filter=counted),
        "cancelled": Count("id", filter=counted & Q(status=S.CANCELLED)),
        "cancelled_late": Count("id", filter=counted & Q(status=S.CANCELLED, cancelled_late=True)),
    }


def _follow_up_counts() -> dict:
    """Follow-up suggestions made in the period. A rejected suggestion is cancelled without ever getting
    a time; an accepted one got its slot's time when the patient picked it."""
    suggestion = Q(is_follow_up_suggestion=True)
    return {
        "suggested": Count("id", filter=suggestion),
        "decided": Count("id", filter=suggestion & ~Q(status=S.PENDING_PATIENT_CONFIRMATION)),
        "rejected": Count("id", filter=suggestion & Q(status=S.CANCELLED, starts_at__isnull=True)),
    }


def _made_in(start: dt.datetime, end: dt.datetime):
    return Appointment.objects.filter(created_at__gte=start, created_at__lt=end)


def cancellations(*, start: dt.datetime, end: dt.datetime) -> Cancellations:
    """Appointments created in ``[start, end)`` and how many were cancelled (one query)."""
    return Cancellations(**_made_in(start, end).aggregate(**_cancellation_counts()))


def follow_up_acceptance(*, start: dt.datetime, end: dt.datetime) -> FollowUps:
    """Follow-up suggestions made in ``[start, end)`` (one query)."""
    return FollowUps(**_made_in(start, end).aggregate(**_follow_up_counts()))


def made_in_period(*, start: dt.datetime, end: dt.datetime) -> tuple[Cancellations, FollowUps]:
    """``cancellations`` and ``follow_up_acceptance`` in one read of the appointments created in
    ``[start, end)`` (one query)."""
    row = _made_in(start, end).aggregate(**_cancellation_counts(), **_follow_up_counts())
    return (
        Cancellations(**{key: row[key] for key in _cancellation_counts()}),
        FollowUps(**{key: row[key] for key in _follow_up_counts()}),
    )


# --- utilisation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Utilisation:
    key: int | None
    label: str
    published_minutes: int
    booked_minutes: int

    @property
    def rate(self) -> float | None:
        return rate(self.booked_minutes, self.published_minutes)


def _minutes(value) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds() // 60)
    return int(value) // 60_000_000  # a database returning microseconds


class SlotSeconds(Func):
    """A slot's length in seconds, computed by the database itself: PostgreSQL subtracts the two
    timestamps; SQLite uses its native ``julianday``, exact to the millisecond (Django's generic timestamp difference there is a
    Python function called for every row, most of the dashboard's time on 100k rows)."""

    output_field = FloatField()

    def __init__(self, slot: str = ""):
        """``slot``: the path to the slot from the rows read (``"slot__"`` from an appointment)."""
        super().__init__(F(f"{slot}end"), F(f"{slot}start"))

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))", arg_joiner=" - ", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        end, start = (compiler.compile(expression) for expression in self.get_source_expressions())
        sql = f"ROUND((julianday({end[0]}) - julianday({start[0]})) * 86400, 3)"
        params = (*end[1], *start[1])
        if connection.Database.sqlite_version_info >= (3, 38):
            # whole seconds (stored as 19 characters, no fraction: every generated slot) by the cheaper
            # integer ``unixepoch``; a time with a fraction of a second keeps the julianday sum
            whole = f"length({end[0]}) = 19 AND length({start[0]}) = 19"
            sql = f"CASE WHEN {whole} THEN unixepoch({end[0]}) - unixepoch({start[0]}) ELSE {sql} END"
            params = (*end[1], *start[1], *end[1], *start[1], *params)
        return sql, params


def _decimal(value) -> Decimal:
    """A sum of seconds as the database gave it (a float on SQLite, a number on PostgreSQL), exact to
    the microsecond."""
    return Decimal(str(value or 0)).quantize(Decimal("0.000001"))


def _seconds_to_minutes(value: Decimal) -> int:
    return int(value // 60)


@dataclass(frozen=True)
class UtilisationReport:
    by_doctor: list[Utilisation]
    by_specialty: list[Utilisation]

    @property
    def total(self) -> Utilisation:
        return utilisation_total(self.by_doctor)


def doctor_labels(ids) -> dict[int, str]:
    """Each doctor's name as ``str(doctor)`` gives it, loading only the fields it reads (one query; a
    dashboard names a couple of hundred doctors)."""
    doctors = (
        Doctor.objects.filter(pk__in=list(ids))
        .select_related("user")
        .only("title", "user__first_name", "user__last_name", "user__email")
        .order_by()
    )
    return {d.pk: str(d) for d in doctors}


def _busiest_first(rows: list[Utilisation]) -> list[Utilisation]:
    return sorted(rows, key=lambda u: (-(u.rate or 0), u.label))


def _slot_sums(in_period, *, start: dt.datetime, end: dt.datetime) -> dict[int, tuple[int, object, object]]:
    """Per doctor: the number of ``in_period``'s slots, their seconds and the seconds of the booked ones
    (one query on SQLite, two on PostgreSQL). At most one appointment per slot is pending, confirmed,
    completed or a no-show (a unique constraint), so no slot counts twice as booked."""
    if connection.vendor == "sqlite":
        # one read of the slots with an outer join to the booking appointment: "in none of the other
        # statuses" is one look-up per slot in the (slot, status) index, not one per booked status
        booked = FilteredRelation("appointments", condition=~Q(appointments__status__in=NOT_BOOKED_STATUSES))
        rows = (
            in_period.annotate(booked_appointment=booked)
            .values("doctor_id")
            .annotate(
                slots=Count("id"),
                seconds=Sum(SlotSeconds()),
                booked=Sum(SlotSeconds(), filter=Q(booked_appointment__id__isnull=False)),
            )
            .order_by()
        )
        return {row["doctor_id"]: (row["slots"], row["seconds"], row["booked"]) for row in rows}
    # PostgreSQL: the outer join costs more than the slots themselves; the booked ones are read from the
    # appointments that have a slot (the (slot, status) index; "in none of the other statuses" keeps
    # the planner off the status index, which holds every booked visit ever made)
    booked_rows = (
        Appointment.objects.filter(slot__isnull=False, slot__start__gte=start, slot__start__lt=end)
        .exclude(slot__status=SlotStatus.BLOCKED)
        .exclude(status__in=NOT_BOOKED_STATUSES)
        .values("slot__doctor_id")
        .annotate(seconds=Sum(SlotSeconds("slot__")))
        .order_by()
    )
    booked_seconds = {row["slot__doctor_id"]: row["seconds"] for row in booked_rows}
    rows = in_period.values("doctor_id").annotate(slots=Count("id"), seconds=Sum(SlotSeconds())).order_by()
    return {row["doctor_id"]: (row["slots"], row["seconds"], booked_seconds.get(row["doctor_id"])) for row in rows}


def utilisation(*, start: dt.datetime, end: dt.datetime, with_specialties: bool = True) -> UtilisationReport:
    """Utilisation per doctor and per specialty (a doctor with two specialties counts in both) over
    slots starting in ``[start, end)``, busiest first (four queries on SQLite, five on PostgreSQL, each
    reading only the period's slots by their start index).

    Published minutes = the minutes of every slot not blocked by its status, minus those of the free
    (not booked) ones lying inside the doctor's blocked time; that sum reads only the slots that
    touch a blocked time, found from the blocked times, so no query runs a sub-query per slot."""
    in_period = Slot.objects.filter(start__gte=start, start__lt=end).exclude(status=SlotStatus.BLOCKED)
    sums = _slot_sums(in_period, start=start, end=end)
    # the period's slots that touch a blocked time, found from the blocked times (a handful) rather
    # than by asking of every slot whether one covers it
    touching_blocked_time = BlockedTime.objects.filter(  # one filter call: one join to the slots
        Q(doctor__slots__start__lt=end) & Q(doctor__slots__start__lt=F("ends_at")),
        ends_at__gt=start,
        doctor__slots__start__gte=start,
        doctor__slots__end__gt=F("starts_at"),
    ).values("doctor__slots__id")
    booked = Exists(Appointment.objects.filter(slot_id=OuterRef("pk"), status__in=BOOKED_STATUSES))
    hidden_rows = (
        in_period.filter(pk__in=touching_blocked_time)
        .exclude(booked)
        .values("doctor_id")
        .annotate(slots=Count("id"), seconds=Sum(SlotSeconds()))
        .order_by()
    )
    hidden = {row["doctor_id"]: row for row in hidden_rows}
    seconds: dict[int, tuple[Decimal, Decimal]] = {}
    for doctor_id, (slots, total, booked_total) in sums.items():
        gone = hidden.get(doctor_id, {"slots": 0, "seconds": 0})
        if slots - gone["slots"] <= 0:
            continue  # every slot of the doctor's lies free inside blocked time: nothing published
        seconds[doctor_id] = (_decimal(total) - _decimal(gone["seconds"]), _decimal(booked_total))
    doctors = doctor_labels(seconds)
    by_doctor = [
        Utilisation(pk, doctors.get(pk, "?"), _seconds_to_minutes(pub), _seconds_to_minutes(bkd))
        for pk, (pub, bkd) in seconds.items()
    ]
    specialties: dict[int, list] = defaultdict(list)
    names: dict[int, str] = {}
    if with_specialties and seconds:
        through = Doctor.specialties.through.objects.filter(doctor_id__in=list(seconds))
        for row in through.select_related("specialty").only("doctor_id", "specialty__name", "specialty__name_vi"):
            specialties[row.specialty_id].append(row.doctor_id)
            names[row.specialty_id] = row.specialty.label  # in the reader's language
    by_specialty = []
    for specialty_id, doctor_ids in specialties.items():
        published = sum((seconds[pk][0] for pk in doctor_ids), Decimal(0))
        booked = sum((seconds[pk][1] for pk in doctor_ids), Decimal(0))
        by_specialty.append(
            Utilisation(specialty_id, names[specialty_id], _seconds_to_minutes(published), _seconds_to_minutes(booked))
        )
    return UtilisationReport(by_doctor=_busiest_first(by_doctor), by_specialty=_busiest_first(by_specialty))


def utilisation_by_doctor(*, start: dt.datetime, end: dt.datetime) -> list[Utilisation]:
    """Per doctor with published slots in the range, busiest first (three queries; four on PostgreSQL)."""
    return utilisation(start=start, end=end, with_specialties=False).by_doctor


def utilisation_by_specialty(*, start: dt.datetime, end: dt.datetime) -> list[Utilisation]:
    """Per specialty (a doctor with two specialties counts in both), busiest first (four queries; five on
    PostgreSQL)."""
    return utilisation(start=start, end=end).by_specialty


def utilisation_total(rows: list[Utilisation]) -> Utilisation:
    return Utilisation(None, "", sum(r.published_minutes for r in rows), sum(r.booked_minutes for r in rows))


# --- revenue --------------------------------------------------------------------------------------


@dataclass
class Revenue:
    """Net revenue (received − refunded) per currency, and broken down by month, service and doctor.
    Keys of the breakdowns are ``(key, currency)``; labels are in ``labels``."""

    total: dict[str, Decimal] = field(default_factory=dict)
    received: dict[str, Decimal] = field(default_factory=dict)
    refunded: dict[str, Decimal] = field(default_factory=dict)
    by_month: dict[tuple[dt.date, str], Decimal] = field(default_factory=dict)
    by_service: dict[tuple[int | None, str], Decimal] = field(default_factory=dict)
    by_doctor: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    service_labels: dict[int | None, str] = field(default_factory=dict)
    doctor_labels: dict[int, str] = field(default_factory=dict)


def revenue(*, start: dt.datetime, end: dt.datetime, zone: ZoneInfo | None = None) -> Revenue:
    """Cash-basis revenue in ``[start, end)`` (four queries: payments, refunds, and the names)."""
    zone = zone or clinic_zone()
    first = timezone.localtime(start, zone).date()
    last = timezone.localtime(end - dt.timedelta(microseconds=1), zone).date()
    received = Payment.objects.filter(status__in=RECEIVED, paid_at__gte=start, paid_at__lt=end)
    if connection.vendor == "postgresql":
        # the same rows, said twice: PostgreSQL then looks up the period's appointments by key
        # instead of hashing every appointment there is to join a month's payments (issue 19)
        received = received.filter(appointment_id__in=received.values("appointment_id"))
    paid = (
        received.values(
            "currency",
            month=local_date("paid_at", zone=zone, first=first, last=last, month=True),
            doctor_id=F("appointment__doctor_id"),
            type_id=F("appointment__appointment_type_id"),
        )
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    refunded = (
        Refund.objects.filter(created_at__gte=start, created_at__lt=end, payment__paid_at__isnull=False)
        .values(
            currency=F("payment__currency"),
            month=local_date("created_at", zone=zone, first=first, last=last, month=True),
            doctor_id=F("payment__appointment__doctor_id"),
            type_id=F("payment__appointment__appointment_type_id"),
        )
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    result = Revenue()
    sums: dict[str, defaultdict] = {
        "total": defaultdict(Decimal),
        "received": defaultdict(Decimal),
        "refunded": defaultdict(Decimal),
        "by_month": defaultdict(Decimal),
        "by_service": defaultdict(Decimal),
        "by_doctor": defaultdict(Decimal),
    }
    for rows, sign in ((paid, 1), (refunded, -1)):
        for row in rows:
            amount = Decimal(row["amount"] or 0) * sign
            currency = row["currency"]
            month = row["month"]
            month = month.date() if isinstance(month, dt.datetime) else month
            sums["total"][currency] += amount
            sums["received" if sign > 0 else "refunded"][currency] += abs(amount)
            sums["by_month"][(month, currency)] += amount
            sums["by_service"][(row["type_id"], currency)] += amount
            sums["by_doctor"][(row["doctor_id"], currency)] += amount
    for name, values in sums.items():
        setattr(result, name, dict(values))
    type_ids = {key for key, _ in result.by_service if key is not None}
    result.service_labels = dict(AppointmentType.objects.filter(pk__in=type_ids).values_list("pk", "name"))
    result.doctor_labels = doctor_labels({k for k, _ in result.by_doctor})
    return result


# --- the day and the week -------------------------------------------------------------------------


@dataclass(frozen=True)
class Today:
    today: int
    week: int
    pending_confirmation: int
    live_holds: int
    open_follow_ups: int


def today_counts(
    *, now: dt.datetime | None = None, zone: ZoneInfo | None = None, doctor: Doctor | None = None
) -> Today:
    """Visits today and this week (Monday to Sunday, local), requests waiting for the doctor, live
    payment holds and open follow-up suggestions (two queries)."""
    now = now or timezone.now()
    zone = zone or clinic_zone()
    today = timezone.localtime(now, zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    day_start, day_end = local_day_start(today, zone), local_day_start(today + dt.timedelta(days=1), zone)
    week_start, week_end = local_day_start(monday, zone), local_day_start(monday + dt.timedelta(days=7), zone)
    base = Appointment.objects.all() if doctor is None else Appointment.objects.filter(doctor=doctor)
    visits = base.filter(
        starts_at__gte=min(day_start, week_start), starts_at__lt=max(day_end, week_end), status__in=VISIT_STATUSES
    ).aggregate(
        today=Count("id", filter=Q(starts_at__gte=day_start, starts_at__lt=day_end)),
        week=Count("id", filter=Q(starts_at__gte=week_start, starts_at__lt=week_end)),
    )
    waiting = base.filter(
        Q(status=S.PENDING) | live_hold_q(now=now) | Q(status=S.PENDING_PATIENT_CONFIRMATION)
    ).aggregate(
        pending=Count("id", filter=Q(status=S.PENDING)),
        holds=Count("id", filter=Q(status=S.PENDING_PAYMENT)),
        follow_ups=Count("id", filter=Q(status=S.PENDING_PATIENT_CONFIRMATION)),
    )
    return Today(
        today=visits["today"],
        week=visits["week"],
        pending_confirmation=waiting["pending"],
        live_holds=waiting["holds"],
        open_follow_ups=waiting["follow_ups"],
    )


def _listing(qs, limit: int) -> list[Appointment]:
    return list(qs.select_related("doctor__user", "appointment_type", "patient")[:limit])


def holds_expiring(*, now: dt.datetime | None = None, limit: int = 10) -> list[Appointment]:
    """Live payment holds, the soonest to lapse first (one query)."""
    now = now or timezone.now()
    return _listing(Appointment.objects.filter(live_hold_q(now=now)).order_by("hold_expires_at"), limit)


def pending_requests(*, doctor: Doctor | None = None, limit: int = 20) -> list[Appointment]:
    """Paid requests waiting for the doctor, earliest visit first (one query)."""
    qs = Appointment.objects.filter(status=S.PENDING).order_by("starts_at", "id")
    if doctor is not None:
        qs = qs.filter(doctor=doctor)
    return _listing(qs, limit)


def upcoming(*, doctor: Doctor, days: int = 7, now: dt.datetime | None = None, limit: int = 100) -> list[Appointment]:
    """``doctor``'s pending and confirmed visits from tomorrow for ``days`` days (one query)."""
    now = now or timezone.now()
    zone = doctor.zone
    tomorrow = timezone.localtime(now, zone).date() + dt.timedelta(days=1)
    start, end = local_day_start(tomorrow, zone), local_day_start(tomorrow + dt.timedelta(days=days), zone)
    return _listing(
        Appointment.objects.filter(
            doctor=doctor, starts_at__gte=start, starts_at__lt=end, status__in=[S.PENDING, S.CONFIRMED]
        ).order_by("starts_at"),
        limit,
    )


def unpaid_visits(*, now: dt.datetime | None = None, days: int = 7, limit: int = 20) -> list[Appointment]:
    """Visits in the coming ``days`` whose payment hold lapsed while their slot is still free: the
    patient can still pay at the desk ("Mark paid" books it again). One query."""
    now = now or timezone.now()
    slot_still_free = Q(slot__status=SlotStatus.FREE) | Q(slot__status=SlotStatus.HELD, slot__hold_expires_at__lte=now)
    return _listing(
        Appointment.objects.filter(status=S.EXPIRED, starts_at__gte=now, starts_at__lt=now + dt.timedelta(days=days))
        .filter(slot_still_free)
        .order_by("starts_at"),
        limit,
    )


# --- video visits and per-doctor activity (the API's statistics) ------------------------------------


@dataclass(frozen=True)
class VideoVisits:
    """Video visits that started in the range. ``minutes`` are the booked minutes of the completed ones
    (the call itself runs on Agora; its exact length is not recorded here)."""

    visits: int
    completed: int
    no_show: int
    cancelled: int
    minutes: int

    @property
    def completion_rate(self) -> float | None:
        """completed ÷ (completed + no-shows): of the visits that were due, how many took place."""
        return rate(self.completed, self.completed + self.no_show)

    @property
    def average_minutes(self) -> float | None:
        return self.minutes / self.completed if self.completed else None


def video_visits(*, start: dt.datetime, end: dt.datetime, doctor: Doctor | None = None) -> VideoVisits:
    """Video-mode appointments starting in ``[start, end)`` (one query). ``visits`` counts those that
    were confirmed (still confirmed, completed or a no-show); ``cancelled`` those cancelled."""
    qs = Appointment.objects.filter(mode="video", starts_at__gte=start, starts_at__lt=end)
    if doctor is not None:
        qs = qs.filter(doctor=doctor)
    row = qs.aggregate(
        visits=Count("id", filter=Q(status__in=[S.CONFIRMED, S.COMPLETED, S.NO_SHOW])),
        completed=Count("id", filter=Q(status=S.COMPLETED)),
        no_show=Count("id", filter=Q(status=S.NO_SHOW)),
        cancelled=Count("id", filter=Q(status=S.CANCELLED)),
        length=Sum(
            ExpressionWrapper(F("ends_at") - F("starts_at"), output_field=DurationField()),
            filter=Q(status=S.COMPLETED),
        ),
    )
    length = row.pop("length")
    return VideoVisits(**row, minutes=_minutes(length))


@dataclass(frozen=True)
class DoctorActivity:
    """One doctor's appointments that started in the range, by status."""

    doctor_id: int
    label: str
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def outcomes(self) -> Outcomes:
        return Outcomes(
            completed=self.by_status.get(S.COMPLETED, 0), no_show=self.by_status.get(S.NO_SHOW, 0), video_completed=0
        )


def doctor_activity(*, start: dt.datetime, end: dt.datetime, doctor: Doctor | None = None) -> list[DoctorActivity]:
    """Per doctor with appointments starting in ``[start, end)`` (or just ``doctor``, listed even with
    none), by name (two queries)."""
    qs = Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end)
    if doctor is not None:
        qs = qs.filter(doctor=doctor)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in qs.values("doctor_id", "status").annotate(n=Count("id")).order_by():
        counts[row["doctor_id"]][row["status"]] = row["n"]
    if doctor is not None:
        counts.setdefault(doctor.pk, {})
    doctors = Doctor.objects.filter(pk__in=list(counts)).select_related("user")
    rows = [
        DoctorActivity(d.pk, str(d), {status.value: counts[d.pk].get(status.value, 0) for status in S}) for d in doctors
    ]
    return sorted(rows, key=lambda row: (row.label, row.doctor_id))


def payment_counts(*, start: dt.datetime, end: dt.datetime) -> dict[tuple[str, str], int]:
    """Payments started in ``[start, end)`` by ``(gateway, status)`` (one query)."""
    rows = (
        Payment.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("gateway", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["gateway"], row["status"]): row["n"] for row in rows}
