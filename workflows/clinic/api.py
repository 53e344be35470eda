"""The clinic back office under /api/v1 (seed 002): statistics, exports and patient registration.

It lives in ``workflows.clinic`` because it reads ``workflows.clinic.reports`` and the export
resources (``booking`` never imports ``workflows``); ``config.api_v1`` mounts it.

Scoping is the admin's: exports and the patient list ask the admin's own ModelAdmin for its rows and
permissions (a doctor gets their own appointments and patients; staff get appointments without the
reason for the visit), so the API can never show more than the admin does. Statistics follow the
admin dashboard: money for clinic admins, a doctor's own numbers for that doctor.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
from typing import Literal

from django.contrib import admin
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Status
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import field_validator

from accounts.models import PatientProfile, Role
from accounts.resources import PatientResource
from booking.models import Appointment, Doctor, money
from booking.selectors import doctor_for_user
from core.apitypes import (
    ERRORS,
    ApiDate,
    ApiSchema,
    DateRangeQuery,
    Id,
    OutSchema,
    PageOut,
    Pagination,
    Text,
    paginate,
)
from core.errors import InvalidInput, NotFound, PermissionDenied
from workflows.clinic import reports
from workflows.clinic.services import patient_register

router = Router(tags=["clinic"], by_alias=True)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: statistics without dates cover this many days up to today
DEFAULT_PERIOD_DAYS = 30


# --- periods --------------------------------------------------------------------------------------


class PeriodQuery(DateRangeQuery):
    """``start_date``/``end_date``: local days in the clinic's zone, both inclusive (default: the last
    30 days)."""


def _period(query: DateRangeQuery) -> reports.DateRange:
    zone = reports.clinic_zone()
    default = reports.DateRange.last_days(DEFAULT_PERIOD_DAYS, zone=zone)
    first, last = query.start_date, query.end_date
    if first is None and last is None:
        return default
    if first is None:
        first = max(last - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), dt.date(1900, 1, 1))
    if last is None:
        last = max(first, default.last)
    if last < first:
        raise InvalidInput(_("end_date must not be before start_date."), fields=["end_date"], source="query")
    return reports.DateRange(first=first, last=last, zone=zone)


class PeriodOut(OutSchema):
    start_date: dt.date
    end_date: dt.date
    time_zone: str


def _period_out(period: reports.DateRange) -> dict:
    return {"start_date": period.first, "end_date": period.last, "time_zone": str(period.zone)}


# --- statistics -----------------------------------------------------------------------------------


class MoneyOut(OutSchema):
    currency: str
    amount: str


class MonthAmountOut(MoneyOut):
    month: str = Field(..., examples=["2026-03"])


class ServiceAmountOut(MoneyOut):
    service_id: int | None = Field(..., description="null: visits without a visit type")
    name: str


class DoctorAmountOut(MoneyOut):
    doctor_id: int
    name: str


class PaymentCountOut(OutSchema):
    gateway: str
    status: str
    count: int


class PaymentStatsOut(PeriodOut):
    """Cash basis: money received in the period minus refunds paid back in it."""

    total: list[MoneyOut]
    received: list[MoneyOut]
    refunded: list[MoneyOut]
    by_month: list[MonthAmountOut]
    by_service: list[ServiceAmountOut]
    by_doctor: list[DoctorAmountOut]
    payments: list[PaymentCountOut] = Field(..., description="payments started in the period")


class DoctorStatsOut(OutSchema):
    doctor_id: int
    name: str
    appointments: int = Field(..., description="appointments starting in the period")
    by_status: dict[str, int]
    completed: int
    no_show: int
    no_show_rate: float | None
    published_minutes: int
    booked_minutes: int
    utilisation: float | None
    revenue: list[MoneyOut] | None = Field(..., description="clinic admins only")


class DoctorStatsReport(PeriodOut):
    doctors: list[DoctorStatsOut]


class DoctorStatsOne(PeriodOut, DoctorStatsOut):
    pass


class VideoStatsOut(PeriodOut):
    doctor_id: int | None
    visits: int = Field(..., description="video visits that were confirmed (confirmed, completed, no-show)")
    completed: int
    no_show: int
    cancelled: int
    completion_rate: float | None = Field(..., description="completed ÷ (completed + no-shows)")
    total_minutes: int = Field(..., description="booked minutes of the completed video visits")
    average_minutes: float | None


class VideoQuery(PeriodQuery):
    doctor_id: Id | None = Field(None, description="clinic admins: one doctor's visits")


def _amount(value) -> str:
    return str(money(value))  # two decimals whatever the database's sum returned


def _money(amounts: dict) -> list[dict]:
    return [{"currency": currency, "amount": _amount(amount)} for currency, amount in sorted(amounts.items())]


def _own_doctor(user) -> Doctor:
    doctor = doctor_for_user(user)
    if doctor is None:
        raise PermissionDenied(_("Your doctor profile has not been set up yet: ask the clinic admin."))
    return doctor


def _stats_scope(request) -> Doctor | None:
    """None: the whole clinic (admins); a doctor: only their own numbers; anyone else is refused."""
    user = request.auth
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.DOCTOR:
        return _own_doctor(user)
    raise PermissionDenied(_("Statistics are for clinic admins and doctors."))


@router.get(
    "/stats/payments",
    summary="Revenue and payments (clinic admins)",
    description="By month, service and doctor, in each currency; the period's payments by gateway and status.",
    response={200: PaymentStatsOut, **ERRORS},
)
def payment_stats(request, query: Query[PeriodQuery]):
    if request.auth.role != Role.ADMIN:
        raise PermissionDenied(_("Revenue is for clinic admins."))
    period = _period(query)
    revenue = reports.revenue(start=period.start, end=period.end, zone=period.zone)
    counts = reports.payment_counts(start=period.start, end=period.end)
    return {
        **_period_out(period),
        "total": _money(revenue.total),
        "received": _money(revenue.received),
        "refunded": _money(revenue.refunded),
        "by_month": [
            {"month": month.strftime("%Y-%m"), "currency": currency, "amount": _amount(amount)}
            for (month, currency), amount in sorted(revenue.by_month.items())
        ],
        "by_service": [
            {
                "service_id": key,
                "name": revenue.service_labels.get(key, "") if key is not None else "",
                "currency": currency,
                "amount": _amount(amount),
            }
            for (key, currency), amount in sorted(revenue.by_service.items(), key=lambda item: -item[1])
        ],
        "by_doctor": [
            {
                "doctor_id": key,
                "name": revenue.doctor_labels.get(key, ""),
                "currency": currency,
                "amount": _amount(amount),
            }
            for (key, currency), amount in sorted(revenue.by_doctor.items(), key=lambda item: -item[1])
        ],
        "payments": [
            {"gateway": gateway, "status": status, "count": count}
            for (gateway, status), count in sorted(counts.items())
        ],
    }


def _doctor_rows(period: reports.DateRange, *, doctor: Doctor | None, with_money: bool) -> list[dict]:
    activity = reports.doctor_activity(start=period.start, end=period.end, doctor=doctor)
    usage = {u.key: u for u in reports.utilisation_by_doctor(start=period.start, end=period.end)}
    revenue = reports.revenue(start=period.start, end=period.end, zone=period.zone) if with_money else None
    rows = []
    for row in activity:
        outcomes = row.outcomes
        use = usage.get(row.doctor_id)
        money = None
        if revenue is not None:
            money = _money({c: a for (key, c), a in revenue.by_doctor.items() if key == row.doctor_id})
        rows.append(
            {
                "doctor_id": row.doctor_id,
                "name": row.label,
                "appointments": row.total,
                "by_status": row.by_status,
                "completed": outcomes.completed,
                "no_show": outcomes.no_show,
                "no_show_rate": outcomes.no_show_rate,
                "published_minutes": use.published_minutes if use else 0,
                "booked_minutes": use.booked_minutes if use else 0,
                "utilisation": use.rate if use else None,
                "revenue": money,
            }
        )
    return rows


@router.get(
    "/stats/doctors",
    summary="Per-doctor statistics (admins: every doctor; a doctor: their own)",
    response={200: DoctorStatsReport, **ERRORS},
)
def doctor_stats(request, query: Query[PeriodQuery]):
    doctor = _stats_scope(request)
    period = _period(query)
    rows = _doctor_rows(period, doctor=doctor, with_money=doctor is None)
    return {**_period_out(period), "doctors": rows}


@router.get(
    "/doctors/{int:doctor_id}/statistics",
    summary="One doctor's statistics (admins: any doctor; a doctor: their own)",
    response={200: DoctorStatsOne, **ERRORS},
)
def one_doctor_stats(request, doctor_id: Id, query: Query[PeriodQuery]):
    own = _stats_scope(request)
    doctor = Doctor.objects.select_related("user").filter(pk=doctor_id).first()
    if doctor is None or (own is not None and own.pk != doctor.pk):
        raise NotFound(_("No such doctor."))
    period = _period(query)
    (row,) = _doctor_rows(period, doctor=doctor, with_money=own is None)
    return {**_period_out(period), **row}


@router.get(
    "/stats/video",
    summary="Video visits: count, booked minutes, completion (admins: all; a doctor: their own)",
    response={200: VideoStatsOut, **ERRORS},
)
def video_stats(request, query: Query[VideoQuery]):
    doctor = _stats_scope(request)
    if doctor is None and query.doctor_id:
        doctor = Doctor.objects.filter(pk=query.doctor_id).first()
        if doctor is None:
            raise NotFound(_("No such doctor."))
    period = _period(query)
    video = reports.video_visits(start=period.start, end=period.end, doctor=doctor)
    return {
        **_period_out(period),
        "doctor_id": doctor.pk if doctor else None,
        "visits": video.visits,
        "completed": video.completed,
        "no_show": video.no_show,
        "cancelled": video.cancelled,
        "completion_rate": video.completion_rate,
        "total_minutes": video.minutes,
        "average_minutes": video.average_minutes,
    }


# --- exports --------------------------------------------------------------------------------------


class ExportQuery(DateRangeQuery):
    format: Literal["xlsx", "csv", "excel"] = Field("xlsx", description="excel is xlsx (seed 002)")


def _admin_scope(request, model):
    """The admin's own rows of ``model`` for this user (and its ModelAdmin), or 403 when the admin
    would not show them."""
    model_admin = admin.site.get_model_admin(model)
    if not model_admin.has_view_permission(request):
        raise PermissionDenied(_("Your account cannot export this."))
    return model_admin, model_admin.get_queryset(request)


#: a spreadsheet would run these as formulas; digits after + or - are a phone number or an amount
_FORMULA = re.compile(r"^([=@\t\r]|[+-](?![0-9 .()-]*$))")


def _cell(value):
    if isinstance(value, str):
        # control characters cannot be stored in a workbook (openpyxl refuses the whole file)
        value = ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value)
        if _FORMULA.match(value):
            return "'" + value
    return value


def _stream(resource, queryset, *, name: str, fmt: str):
    headers = [str(header) for header in resource.get_export_headers()]
    # a workbook keeps numbers, booleans and dates as such (as the admin's XLSX export does); CSV is text
    native = fmt != "csv"
    rows = (
        [_cell(value) for value in resource.export_resource(obj, force_native_type=native)]
        for obj in queryset.iterator(chunk_size=500)
    )
    filename = f"{name}-{timezone.localdate().isoformat()}"
    if fmt == "csv":

        def lines():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            buffer.write("\ufeff")  # spreadsheets then read the UTF-8 (Vietnamese names) right
            writer.writerow(headers)
            yield buffer.getvalue()
            for row in rows:
                buffer.seek(0)
                buffer.truncate()
                writer.writerow(row)
                yield buffer.getvalue()

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    # openpyxl's write-only mode keeps one row in memory; the file spills to disk past a few MB
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name)
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (FileResponse closes it)
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_TYPE)


EXPORT_DOC = {
    "responses": {
        200: {
            "description": "the file (CSV is UTF-8 with a byte-order mark)",
            "content": {
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }
}


@router.get(
    "/exports/patients",
    summary="Export patients (contact data, no medical record) as XLSX or CSV",
    description="Staff and admins: every patient; a doctor: their own patients. `start_date`/`end_date` "
    "select by the day the account was created (clinic zone).",
    response=ERRORS,
    openapi_extra=EXPORT_DOC,
)
def export_patients(request, query: Query[ExportQuery]):
    _admin, queryset = _admin_scope(request, PatientProfile)
    start, end = query.bounds(reports.clinic_zone())
    if start is not None:
        queryset = queryset.filter(user__date_joined__gte=start)
    if end is not None:
        queryset = queryset.filter(user__date_joined__lt=end)
    queryset = queryset.select_related("user").order_by("pk")
    fmt = "csv" if query.format == "csv" else "xlsx"
    return _stream(PatientResource(), queryset, name="patients", fmt=fmt)


@router.get(
    "/exports/appointments",
    summary="Export appointments as XLSX or CSV",
    description="Staff and admins: every appointment (staff without the reason for the visit); a doctor: their "
    "own. `start_date`/`end_date` select by the local day of the visit (clinic zone).",
    response=ERRORS,
    openapi_extra=EXPORT_DOC,
)
def export_appointments(request, query: Query[ExportQuery]):
    model_admin, queryset = _admin_scope(request, Appointment)
    start, end = query.bounds(reports.clinic_zone())
    if start is not None:
        queryset = queryset.filter(starts_at__gte=start)
    if end is not None:
        queryset = queryset.filter(starts_at__lt=end)
    queryset = queryset.select_related("doctor__user", "appointment_type").order_by("starts_at", "pk")
    resource_class = model_admin.get_export_resource_classes(request)[0]
    fmt = "csv" if query.format == "csv" else "xlsx"
    return _stream(resource_class(), queryset, name="appointments", fmt=fmt)


# --- patients -------------------------------------------------------------------------------------


class PatientOut(OutSchema):
    id: int = Field(..., description="the patient's user id (patientId elsewhere)")
    email: str
    first_name: str
    last_name: str
    phone: str
    national_id: str
    date_of_birth: dt.date | None
    is_active: bool
    joined_at: str


class PatientPage(PageOut):
    items: list[PatientOut]


class PatientQuery(DateRangeQuery):
    """``q``: words of the name, email, phone or national id; dates: when the account was created."""

    q: Text = Field("", max_length=100)
    is_active: bool | None = None


class PatientIn(ApiSchema):
    email: str = Field(..., max_length=254)
    first_name: str = Field(..., min_length=1, max_length=150)
    last_name: str = Field("", max_length=150)
    phone: str = Field("", max_length=32)
    national_id: str = Field("", max_length=32)
    date_of_birth: ApiDate | None = None

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        try:
            validate_email(value.strip())
        except DjangoValidationError:
            raise ValueError("Enter a valid email address.") from None
        return value.strip()


def patient_out(profile: PatientProfile) -> dict:
    user = profile.user
    return {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": profile.phone,
        "national_id": profile.national_id,
        "date_of_birth": profile.date_of_birth,
        "is_active": user.is_active,
        "joined_at": user.date_joined.isoformat(),
    }


@router.get(
    "/patients",
    summary="Patients (staff and admins: all; a doctor: their own)",
    response={200: PatientPage, **ERRORS},
)
def patient_list(request, query: Query[PatientQuery], page: Query[Pagination]):
    _admin, queryset = _admin_scope(request, PatientProfile)
    start, end = query.bounds(reports.clinic_zone())
    words = query.q.split()
    for word in words:
        queryset = queryset.filter(
            Q(user__email__icontains=word)
            | Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(phone__icontains=word)
            | Q(national_id__icontains=word)
        )
    if query.is_active is not None:
        queryset = queryset.filter(user__is_active=query.is_active)
    if start is not None:
        queryset = queryset.filter(user__date_joined__gte=start)
    if end is not None:
        queryset = queryset.filter(user__date_joined__lt=end)
    queryset = queryset.select_related("user").order_by("user__last_name", "user__first_name", "pk")
    return paginate(queryset, page, patient_out)


@router.post(
    "/patients",
    summary="Register a patient (staff and admins)",
    description="The account gets a verified email and no password: the patient sets one with “Forgot password”. "
    "409 email_taken when the address already has an account.",
    response={201: PatientOut, **ERRORS},
)
def patient_create(request, payload: PatientIn):
    user = patient_register(
        email=payload.email,
        actor=request.auth,
        first_name=payload.first_name,
        last_name=payload.last_name,
        phone=payload.phone,
        national_id=payload.national_id,
        date_of_birth=payload.date_of_birth,
    )
    return Status(201, patient_out(PatientProfile.objects.select_related("user").get(user=user)))
