"""Appointment endpoints (paths from seeds 000 and 001) under /api/v1.

Appointments are addressed by their unguessable ``public_id``; someone else's answers 404. Views
parse input, call a service, render the result: the rules live in ``booking.services``.

Both the seeds' literal forms and Medbook's richer ones are accepted: ``POST /appointments
{doctorId, scheduleId}`` books with the patient's profile details; ``PATCH .../{id} {status}`` and
``{action}`` both move an appointment; ``confirm-follow-up`` takes ``finalDate``/``finalTime`` or a
``scheduleId``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from accounts.bearer import bearer_user
from booking import rules
from booking import services as svc
from booking.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingDefaults,
    IdempotencyRecord,
    Slot,
)
from booking.rules import Action
from booking.selectors.appointments import appointment_stats, appointments_for_user
from booking.slotting import resolve_local
from core.api import api, error_response
from core.apimiddleware import finish_as_route
from core.apitypes import (
    ERRORS,
    ApiDate,
    ApiQuery,
    ApiSchema,
    DateRangeQuery,
    ErrorOut,
    Id,
    LocalTime,
    OutSchema,
    PageOut,
    Pagination,
    paginate,
)
from core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from core.ratelimit import count_user_request

router = Router(tags=["appointments"], by_alias=True)


# --- schemas --------------------------------------------------------------------------------------


class BookIn(ApiSchema):
    """Seed 000's ``{doctorId, scheduleId}`` is enough for a patient: missing contact details come from
    the patient's profile (a detail missing there too is a 422 naming it)."""

    doctor_id: Id
    schedule_id: Id = Field(..., description="the slot to book")
    appointment_type_id: Id | None = None
    patient_id: Id | None = Field(
        None, description="staff booking on behalf of a patient; a patient booking for a family member (dependant)"
    )
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    phone: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254)
    national_id: str | None = Field(None, max_length=32)
    reason: str = Field("", max_length=2000)


class ReasonIn(ApiSchema):
    reason: str = Field("", max_length=1000)


class RescheduleIn(ApiSchema):
    schedule_id: Id


class PayIn(ApiSchema):
    gateway: str = Field("sandbox", max_length=16)
    success_url: str = Field("", max_length=1000)
    cancel_url: str = Field("", max_length=1000)


class VoucherIn(ApiSchema):
    code: str = Field(..., min_length=1, max_length=40)


#: seed 000's statuses for PATCH; "done" is Medbook's "completed"
SeedStatus = Literal["confirmed", "cancelled", "done", "completed", "no_show"]


class DoctorUpdateIn(ApiSchema):
    """Either seed 000's ``{"status": "confirmed" | "cancelled" | "done"}`` or ``{"action": ...}``."""

    action: Literal["confirm", "decline", "cancel", "complete", "no_show"] | None = None
    status: SeedStatus | None = None
    reason: str = Field("", max_length=1000)


class AdminUpdateIn(ApiSchema):
    """Admin override: ``{"status": "confirmed" | "cancelled" | "done"}`` or ``{"action": ...}``."""

    action: Literal["confirm", "cancel", "complete"] | None = None
    status: SeedStatus | None = None
    reason: str = Field("", max_length=1000)


class SuggestFollowUpIn(ApiSchema):
    patient_id: Id
    suggested_date: ApiDate
    suggested_time: LocalTime | None = None
    appointment_type: Id | Annotated[str, Field(min_length=1, max_length=120)] | None = Field(
        None, description="the visit type by id, or by code (its kind, e.g. follow_up, or its name)"
    )
    appointment_type_id: Id | None = None
    notes: str = Field("", max_length=2000)
    parent_id: UUID | None = None


class ConfirmFollowUpIn(ApiSchema):
    """Seed 001's ``{finalDate, finalTime}`` (a free slot of the doctor starting then, in the doctor's
    zone) or ``{scheduleId}``."""

    schedule_id: Id | None = None
    final_date: ApiDate | None = None
    final_time: LocalTime | None = None


class DoctorRef(OutSchema):
    id: int
    name: str


class AppointmentOut(OutSchema):
    """Seed 000 fields (``id, patientId, doctorId, scheduleId, status, createdAt, updatedAt``), seed 001
    fields (``isFollowUpSuggestion, suggestedFollowUpDate, suggestedFollowUpTime, followUpDiscount``)
    and Medbook's own. ``start``/``end`` are UTC; ``appointmentDate``/``startTime``/``endTime`` and
    ``startLocal`` are in the doctor's zone (``timeZone``)."""

    id: str = Field(..., description="public id (UUID)")
    number: int
    status: str
    status_label: str
    doctor_id: int
    doctor: DoctorRef
    patient_id: int
    schedule_id: int | None = Field(..., description="the booked slot")
    appointment_type_id: int | None
    mode: str
    start: str | None
    end: str | None
    start_local: str | None
    appointment_date: str | None
    start_time: str | None
    end_time: str | None
    time_zone: str
    first_name: str
    last_name: str
    phone: str
    email: str
    national_id: str
    reason: str
    price: str
    discount: str
    amount_due: str
    currency: str
    hold_expires_at: str | None
    cancelled_by: str | None
    cancellation_reason: str | None
    cancelled_late: bool
    free_change_until: str | None = Field(
        ..., description="open visits: until when the patient may cancel free of charge and reschedule"
    )
    late_window: bool = Field(
        ..., description="open visits: now is inside the late window (no rescheduling; a cancellation is late)"
    )
    is_follow_up_suggestion: bool
    suggested_date: str | None
    suggested_time: str | None
    suggested_follow_up_date: str | None
    suggested_follow_up_time: str | None
    follow_up_discount: float = Field(..., description="percent off for a follow-up (seed 001: 5)")
    follow_up_discount_percent: str
    follow_up_notes: str
    created_at: str
    updated_at: str


class AppointmentPage(PageOut):
    items: list[AppointmentOut]


class PaymentStartOut(OutSchema):
    payment_id: int
    gateway: str
    amount: str
    currency: str
    status: str
    checkout_url: str | None


class VoucherOut(Schema):
    """Seed 001: the voucher answer is wrapped."""

    success: bool
    data: AppointmentOut
    message: str


class StatsOut(Schema):
    """Appointment counts by status (snake_case, as first published)."""

    total: int
    by_status: dict[str, int]


class AppointmentFilters(DateRangeQuery):
    """Filters shared by the appointment lists. Dates are the visit's local days (clinic zone)."""

    status: AppointmentStatus | None = None
    doctor_id: Id | None = None
    patient_id: Id | None = None


class DoctorListQuery(ApiQuery):
    date_from: ApiDate | None = Field(None, description="older name of start_date")
    date_to: ApiDate | None = Field(None, description="older name of end_date")


class StatsQuery(DateRangeQuery):
    date_from: ApiDate | None = Field(None, description="older name of start_date")
    date_to: ApiDate | None = Field(None, description="older name of end_date")
    doctor_id: Id | None = None


def _status_label(status: str) -> str:
    """``get_status_display()`` without rebuilding the field's choices on every call."""
    try:
        return str(AppointmentStatus(status).label)
    except ValueError:
        return status


def appointment_out(appointment: Appointment, *, defaults: BookingDefaults | None = None) -> dict:
    """The API shape of ``appointment``; lists pass the clinic ``defaults`` read once, and a new booking
    brings the ones it was checked against (``booking_defaults``, set by the booking service)."""
    defaults = defaults or getattr(appointment, "booking_defaults", None)
    zone = appointment.doctor.zone
    terms = None
    if appointment.starts_at is not None and appointment.status in OPEN_STATUSES:
        terms = rules.change_terms(
            starts_at=appointment.starts_at, now=timezone.now(), policy=appointment.doctor.policy(defaults)
        )
    local = timezone.localtime(appointment.starts_at, zone) if appointment.starts_at else None
    local_end = timezone.localtime(appointment.ends_at, zone) if appointment.ends_at else None
    suggested_date = appointment.suggested_date.isoformat() if appointment.suggested_date else None
    suggested_time = appointment.suggested_time.strftime("%H:%M") if appointment.suggested_time else None
    return {
        "id": str(appointment.public_id),
        "number": appointment.pk,
        "status": appointment.status,
        "statusLabel": _status_label(appointment.status),
        "doctorId": appointment.doctor_id,
        "doctor": {"id": appointment.doctor_id, "name": str(appointment.doctor)},
        "patientId": appointment.patient_id,
        "scheduleId": appointment.slot_id,
        "appointmentTypeId": appointment.appointment_type_id,
        "mode": appointment.mode,
        "start": appointment.starts_at.isoformat() if appointment.starts_at else None,
        "end": appointment.ends_at.isoformat() if appointment.ends_at else None,
        "startLocal": local.isoformat() if local else None,
        "appointmentDate": local.date().isoformat() if local else None,
        "startTime": local.strftime("%H:%M") if local else None,
        "endTime": local_end.strftime("%H:%M") if local_end else None,
        "timeZone": appointment.doctor.time_zone,
        "firstName": appointment.first_name,
        "lastName": appointment.last_name,
        "phone": appointment.phone,
        "email": appointment.email,
        "nationalId": appointment.national_id,
        "reason": appointment.reason,
        "price": str(appointment.price),
        "discount": str(appointment.discount),
        "amountDue": str(appointment.amount_due),
        "currency": appointment.currency,
        "holdExpiresAt": appointment.hold_expires_at.isoformat() if appointment.hold_expires_at else None,
        "cancelledBy": appointment.cancelled_by or None,
        "cancellationReason": appointment.cancellation_reason or None,
        "cancelledLate": appointment.cancelled_late,
        "freeChangeUntil": terms.deadline.isoformat() if terms else None,
        "lateWindow": bool(terms and terms.late),
        "isFollowUpSuggestion": appointment.is_follow_up_suggestion,
        "suggestedDate": suggested_date,
        "suggestedTime": suggested_time,
        "suggestedFollowUpDate": suggested_date,
        "suggestedFollowUpTime": suggested_time,
        "followUpDiscount": float(appointment.follow_up_discount_percent),
        "followUpDiscountPercent": str(appointment.follow_up_discount_percent),
        "followUpNotes": appointment.follow_up_notes,
        "createdAt": appointment.created_at.isoformat(),
        "updatedAt": appointment.updated_at.isoformat(),
    }


def _appointments_out():
    """``appointment_out`` for a page of rows: the clinic defaults are read once, not per row."""
    defaults = BookingDefaults.load()
    return lambda appointment: appointment_out(appointment, defaults=defaults)


# --- helpers --------------------------------------------------------------------------------------


def _visible(request, public_id: UUID) -> Appointment:
    return get_object_or_404(appointments_for_user(user=request.auth), public_id=public_id)


def _require_role(request, *roles: str) -> None:
    if request.auth.role not in roles:
        raise PermissionDenied(_("Your account cannot do this."))


def _filtered(qs, filters: AppointmentFilters):
    start, end = filters.bounds(timezone.get_current_timezone())
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.doctor_id:
        qs = qs.filter(doctor_id=filters.doctor_id)
    if filters.patient_id:
        qs = qs.filter(patient_id=filters.patient_id)
    if start is not None:
        qs = qs.filter(starts_at__gte=start)
    if end is not None:
        qs = qs.filter(starts_at__lt=end)
    return qs


#: the booking details of BookIn, with their names in the API
DETAIL_FIELDS = {"first_name": "firstName", "last_name": "lastName", "phone": "phone", "email": "email"}


def _booking_details(payload: BookIn, patient) -> svc.BookingDetails:
    """The details given in the request, the rest from the patient's profile; a required one missing
    from both is a 422 naming it."""
    profile = svc.BookingDetails.from_patient(patient, reason=payload.reason)
    values = {}
    for name in (*DETAIL_FIELDS, "national_id"):
        given = getattr(payload, name)
        values[name] = given if given is not None and given.strip() else getattr(profile, name)
    details = svc.BookingDetails(**values, reason=payload.reason)
    try:
        return details.cleaned()
    except InvalidInput as exc:
        # the service names its own fields; answer with the API's names
        api_name = {**DETAIL_FIELDS, "national_id": "nationalId"}
        problems = {api_name.get(name, name): problem for name, problem in exc.field_errors.items()}
        missing = [api_name.get(name, name) for name in exc.details.get("missing", [])]
        message = exc.message
        if missing and len(missing) == len(problems):
            message = _("Please fill in: %(fields)s (not in the request, nor in the patient's profile).") % {
                "fields": ", ".join(missing)
            }
        raise InvalidInput(message, fields=problems, code=exc.code, extra={"missing": missing}) from None


def idempotent(request, scope: str, handler):
    """Run ``handler`` once per ``Idempotency-Key``: a retry with the same key and body gets the first
    answer (success or domain error) again; the same key with another body is refused."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return handler()
    if len(key) > 255 or not key.isprintable():
        raise DomainError(
            _("Idempotency-Key must be at most 255 printable characters."), code="idempotency_key_invalid"
        )
    fingerprint = hashlib.sha256(request.body or b"").hexdigest()
    user = request.auth

    def replay(record: IdempotencyRecord):
        if record.request_fingerprint != fingerprint:
            raise DomainError(
                _("This Idempotency-Key was used for a different request."), code="idempotency_key_reused"
            )
        return record.response_status, record.response_body

    existing = IdempotencyRecord.objects.filter(user=user, scope=scope, key=key).first()
    if existing is not None:
        return replay(existing)
    try:
        status, body = handler()
    except DomainError as exc:
        status, body = exc.status, {"error": {"code": exc.code, "message": str(exc.message), "details": exc.details}}
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                user=user,
                scope=scope,
                key=key,
                request_fingerprint=fingerprint,
                response_status=status,
                response_body=json.loads(json.dumps(body, default=str)),
            )
    except IntegrityError:
        # a concurrent retry stored its answer first: both callers get that one
        return replay(IdempotencyRecord.objects.get(user=user, scope=scope, key=key))
    return status, body


def _appointment_type(*, by_id: int | None = None, code: int | str | None = None) -> AppointmentType | None:
    """A visit type by id, or by code: a number is an id, a word its kind (``follow_up``) or name."""
    if code is not None and (isinstance(code, int) or code.strip().isdigit()):
        by_id = int(code)
    if by_id is not None:
        return get_object_or_404(AppointmentType, pk=by_id, is_active=True)
    if code is None:
        return None
    kind = (
        AppointmentType.objects.filter(is_active=True)
        .filter(Q(kind=code.strip()) | Q(name__iexact=code.strip()))
        .order_by("name", "pk")
        .first()
    )
    if kind is None:
        raise NotFound(_("No such visit type."))
    return kind


# --- patient endpoints ----------------------------------------------------------------------------


@router.post(
    "/appointments",
    summary="Book a slot (holds it until payment)",
    description="Seed 000: `{doctorId, scheduleId}` books with the patient's profile details. Staff book for "
    "a patient with `patientId`; a patient books for a family member they manage with `patientId`. Honours "
    "`Idempotency-Key`.",
    response={201: AppointmentOut, **ERRORS},
)
def book(request, payload: BookIn):
    user = request.auth

    def handler():
        if user.role == "patient" and payload.patient_id and payload.patient_id != user.pk:
            # a family member the caller manages (accounts.family); anyone else's answers 404
            patient = get_object_or_404(
                get_user_model()
                .objects.filter(role="patient", guardian=user, is_active=True)
                .select_related("patient_profile", "guardian__patient_profile"),
                pk=payload.patient_id,
            )
        elif user.role == "patient":
            patient = user
        elif user.role in {"staff", "admin"} and payload.patient_id:
            patient = get_object_or_404(
                get_user_model().objects.filter(role="patient", is_active=True).select_related("patient_profile"),
                pk=payload.patient_id,
            )
        else:
            raise PermissionDenied(_("Only patients (or staff on their behalf) can book."))
        kind = _appointment_type(by_id=payload.appointment_type_id)
        appointment = svc.appointment_book(
            # the slot asked for, by id and doctor: the service's claim reads it (404 when there is none)
            slot=Slot(pk=payload.schedule_id, doctor_id=payload.doctor_id),
            patient=patient,
            actor=user,
            appointment_type=kind,
            details=_booking_details(payload, patient),
        )
        return 201, appointment_out(appointment)

    return Status(*idempotent(request, "appointments.book", handler))


def fast_book(request) -> HttpResponse | None:
    """``book`` for its everyday caller, answered at the API edge (``API_FAST_WRITES``): a patient
    booking a slot for themself with a bearer token and a JSON body, no ``Idempotency-Key``, no visit
    type. The sessions, locale, messages and allauth middleware and django-ninja's routing, auth and
    validation cost several times the booking's own work; the token is checked in one query
    (``accounts.bearer``), the per-user rate limit counted once, the body validated by ``BookIn``, the
    booking made by the same service, and the answer is the route's: ``appointment_out`` or the API's
    error, in the caller's language, with the route's headers. Anything else answers None before
    anything was counted or changed, and the regular route takes it."""
    if request.content_type != "application/json" or "HTTP_IDEMPOTENCY_KEY" in request.META:
        return None
    identity = bearer_user(request.META["HTTP_AUTHORIZATION"])
    if identity is None or identity.user.role != "patient":
        return None
    user = identity.user
    try:  # as django-ninja reads a JSON body: json.loads, then the schema (python mode)
        payload = BookIn.model_validate(json.loads(request.body))
    except Exception:  # noqa: BLE001 - unreadable, too large, not JSON, invalid: the route says which
        return None
    if payload.appointment_type_id is not None or payload.patient_id not in (None, user.pk):
        return None
    request.user = request.auth = user
    if not count_user_request(request, user):
        return None  # the route answers 429 (the request was counted once)
    language = translation.get_language_from_request(request)
    with translation.override(language), timezone.override(settings.CLINIC_TIME_ZONE):
        try:
            appointment = svc.appointment_book(
                slot=Slot(pk=payload.schedule_id, doctor_id=payload.doctor_id),
                patient=user,
                actor=user,
                details=_booking_details(payload, user),
            )
            response = api.create_response(request, appointment_out(appointment), status=201)
        except DomainError as exc:
            response = error_response(
                request, status=exc.status, code=exc.code, message=exc.message, details=exc.details
            )
        return finish_as_route(request, response, translation.get_language())


@router.get("/appointments", summary="My appointments", response={200: AppointmentPage, **ERRORS})
def my_appointments(request, filters: Query[AppointmentFilters], page: Query[Pagination]):
    # the caller's own visits and those of the family members they manage
    qs = appointments_for_user(user=request.auth).filter(Q(patient=request.auth) | Q(patient__guardian=request.auth))
    return paginate(_filtered(qs, filters).order_by("-starts_at", "-id"), page, _appointments_out())


@router.get(
    "/appointments/all", summary="All appointments (staff and admins)", response={200: AppointmentPage, **ERRORS}
)
def all_appointments(request, filters: Query[AppointmentFilters], page: Query[Pagination]):
    _require_role(request, "staff", "admin")
    qs = appointments_for_user(user=request.auth)
    return paginate(_filtered(qs, filters).order_by("-starts_at", "-id"), page, _appointments_out())


@router.get(
    "/stats/appointments",
    summary="Appointment counts by status (staff and admins)",
    description="Visits starting between `start_date` and `end_date` (local days, inclusive).",
    response={200: StatsOut, **ERRORS},
)
def stats(request, query: Query[StatsQuery]):
    _require_role(request, "staff", "admin")
    period = DateRangeQuery(start_date=query.start_date or query.date_from, end_date=query.end_date or query.date_to)
    start, end = period.bounds(timezone.get_current_timezone())
    return appointment_stats(start=start, end=end, doctor=query.doctor_id)


@router.get("/appointments/{uuid:public_id}", summary="One appointment", response={200: AppointmentOut, **ERRORS})
def get_appointment(request, public_id: UUID):
    return appointment_out(_visible(request, public_id))


@router.post(
    "/appointments/{uuid:public_id}/cancel", summary="Cancel (policy applies)", response={200: AppointmentOut, **ERRORS}
)
def cancel(request, public_id: UUID, payload: ReasonIn):
    appointment = svc.appointment_cancel(
        appointment=_visible(request, public_id), actor=request.auth, reason=payload.reason
    )
    return appointment_out(appointment)


@router.post(
    "/appointments/{uuid:public_id}/reschedule",
    summary="Move to another free slot",
    response={200: AppointmentOut, **ERRORS},
)
def reschedule(request, public_id: UUID, payload: RescheduleIn):
    appointment = _visible(request, public_id)
    slot = Slot.objects.filter(pk=payload.schedule_id).first()
    if slot is None:
        raise NotFound(_("This time slot does not exist."))
    return appointment_out(svc.appointment_reschedule(appointment=appointment, new_slot=slot, actor=request.auth))


@router.post(
    "/appointments/{uuid:public_id}/pay",
    summary="Start paying (returns the checkout URL)",
    description="Honours `Idempotency-Key`.",
    response={201: PaymentStartOut, 502: ErrorOut, 503: ErrorOut, **ERRORS},
)
def pay(request, public_id: UUID, payload: PayIn):
    appointment = _visible(request, public_id)

    def handler():
        payment = svc.payment_start(
            appointment=appointment,
            gateway=payload.gateway,
            actor=request.auth,
            success_url=payload.success_url,
            cancel_url=payload.cancel_url,
        )
        return 201, {
            "paymentId": payment.pk,
            "gateway": payment.gateway,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "status": payment.status,
            "checkoutUrl": payment.checkout_url or None,
        }

    return Status(*idempotent(request, f"appointments.pay.{appointment.pk}", handler))


@router.post(
    "/appointments/{uuid:public_id}/voucher",
    summary="Apply a voucher before paying",
    description="Seed 001: the answer is wrapped as `{success, data, message}`.",
    response={200: VoucherOut, **ERRORS},
)
def apply_voucher(request, public_id: UUID, payload: VoucherIn):
    appointment = svc.appointment_apply_voucher(
        appointment=_visible(request, public_id), code=payload.code, actor=request.auth
    )
    return {"success": True, "data": appointment_out(appointment), "message": _("The voucher was applied.")}


# --- follow-ups (seed 001) ------------------------------------------------------------------------


@router.post(
    "/appointments/suggest-follow-up",
    summary="Doctor suggests a follow-up visit",
    response={201: AppointmentOut, **ERRORS},
)
def suggest_follow_up(request, payload: SuggestFollowUpIn):
    _require_role(request, "doctor")
    # a patient the doctor has never seen is "not found" (the service), like an id that does not exist
    patient = get_object_or_404(get_user_model().objects.filter(role="patient"), pk=payload.patient_id)
    parent = None
    if payload.parent_id:
        parent = get_object_or_404(appointments_for_user(user=request.auth), public_id=payload.parent_id)
    kind = _appointment_type(by_id=payload.appointment_type_id, code=payload.appointment_type)
    appointment = svc.follow_up_suggest(
        doctor_user=request.auth,
        patient=patient,
        suggested_date=payload.suggested_date,
        suggested_time=payload.suggested_time,
        appointment_type=kind,
        notes=payload.notes,
        parent=parent,
    )
    return Status(201, appointment_out(appointment))


@router.post(
    "/appointments/{uuid:public_id}/confirm-follow-up",
    summary="Patient accepts a follow-up and picks the slot",
    response={200: AppointmentOut, **ERRORS},
)
def confirm_follow_up(request, public_id: UUID, payload: ConfirmFollowUpIn):
    appointment = _visible(request, public_id)
    slots = Slot.objects.filter(doctor_id=appointment.doctor_id)
    if payload.schedule_id:
        slot = slots.filter(pk=payload.schedule_id).first()
    elif payload.final_date and payload.final_time:
        start = resolve_local(payload.final_date, payload.final_time, appointment.doctor.zone)
        slot = slots.filter(start=start).first()
    else:
        raise InvalidInput(
            _("Choose a time: scheduleId, or finalDate and finalTime."),
            fields=["finalDate", "finalTime"],
        )
    if slot is None:
        raise NotFound(_("The doctor has no slot at that time."))
    return appointment_out(svc.follow_up_accept(appointment=appointment, slot=slot, actor=request.auth))


@router.post(
    "/appointments/{uuid:public_id}/reject-follow-up",
    summary="Patient rejects a follow-up",
    description="Records `cancelledBy: patient` and the `cancellationReason`.",
    response={200: AppointmentOut, **ERRORS},
)
def reject_follow_up(request, public_id: UUID, payload: ReasonIn):
    appointment = svc.follow_up_reject(
        appointment=_visible(request, public_id), actor=request.auth, reason=payload.reason
    )
    return appointment_out(appointment)


# --- doctor and admin -----------------------------------------------------------------------------


@router.get("/doctor/appointments", summary="The doctor's appointments", response={200: AppointmentPage, **ERRORS})
def doctor_appointments(
    request, filters: Query[AppointmentFilters], legacy: Query[DoctorListQuery], page: Query[Pagination]
):
    _require_role(request, "doctor")
    if legacy.date_from or legacy.date_to:
        filters = filters.model_copy(
            update={
                "start_date": filters.start_date or legacy.date_from,
                "end_date": filters.end_date or legacy.date_to,
            }
        )
    qs = appointments_for_user(user=request.auth)
    return paginate(_filtered(qs, filters).order_by("starts_at", "id"), page, _appointments_out())


def _move(appointment: Appointment, actor, *, action: str, reason: str) -> Appointment:
    services = {
        Action.CONFIRM: lambda: svc.appointment_confirm(appointment=appointment, actor=actor),
        Action.FORCE_CONFIRM: lambda: svc.appointment_force_confirm(appointment=appointment, actor=actor),
        Action.DECLINE: lambda: svc.appointment_decline(appointment=appointment, actor=actor, reason=reason),
        Action.CANCEL: lambda: svc.appointment_cancel(appointment=appointment, actor=actor, reason=reason),
        Action.FORCE_CANCEL: lambda: svc.appointment_cancel(
            appointment=appointment, actor=actor, reason=reason, force=True
        ),
        Action.COMPLETE: lambda: svc.appointment_complete(appointment=appointment, actor=actor),
        Action.NO_SHOW: lambda: svc.appointment_mark_no_show(appointment=appointment, actor=actor),
    }
    return services[Action(action)]()


def _requested_action(
    payload, appointment: Appointment, actor, *, allowed: set[str], aliases: dict[str, Action] | None = None
) -> Action:
    """The transition asked for: ``{action}`` names it (``aliases`` rename some); seed 000's
    ``{status}`` is mapped by the rulebook (``rules.action_for_status``)."""
    if (payload.action is None) == (payload.status is None):
        raise InvalidInput(_("Send either “status” or “action”."), fields=["status", "action"])
    if payload.action is not None:
        action = (aliases or {}).get(payload.action) or Action(payload.action)
    else:
        action = rules.action_for_status(payload.status, appointment=appointment, user=actor, now=timezone.now())
    if action not in allowed:
        raise InvalidInput(_("This change is not possible here."), fields=["status" if payload.status else "action"])
    return action


@router.patch(
    "/doctor/appointments/{uuid:public_id}",
    summary="Doctor: confirm, decline, cancel, complete, no-show",
    description='Seed 000: `{"status": "confirmed" | "cancelled" | "done"}`; or `{"action": ...}`. '
    "Cancelling and declining need a `reason` for the patient.",
    response={200: AppointmentOut, **ERRORS},
)
def doctor_update(request, public_id: UUID, payload: DoctorUpdateIn):
    _require_role(request, "doctor")
    appointment = _visible(request, public_id)
    allowed = {Action.CONFIRM, Action.DECLINE, Action.CANCEL, Action.COMPLETE, Action.NO_SHOW}
    action = _requested_action(payload, appointment, request.auth, allowed=allowed)
    return appointment_out(_move(appointment, request.auth, action=action, reason=payload.reason))


@router.patch(
    "/appointments/{uuid:public_id}",
    summary="Admin: force confirm or cancel, or complete",
    description='Seed 000: `{"status": "confirmed" | "cancelled" | "done"}`; or `{"action": ...}`.',
    response={200: AppointmentOut, **ERRORS},
)
def admin_update(request, public_id: UUID, payload: AdminUpdateIn):
    _require_role(request, "admin")
    appointment = _visible(request, public_id)
    # an admin's "confirm" and "cancel" are the forced ones
    forced = {"confirm": Action.FORCE_CONFIRM, "cancel": Action.FORCE_CANCEL}
    if payload.action in forced:
        payload.action = forced[payload.action]
    action = _requested_action(
        payload, appointment, request.auth, allowed={Action.FORCE_CONFIRM, Action.FORCE_CANCEL, Action.COMPLETE}
    )
    return appointment_out(_move(appointment, request.auth, action=action, reason=payload.reason))
