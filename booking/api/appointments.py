"""Appointment endpoints (paths from seeds 000 and 001) under /api/v1.

Appointments are addressed by their unguessable ``public_id``; someone else's answers 404. Views
parse input, call a service, render the result: the rules live in booking.services.appointments.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time
from typing import Literal
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from booking import services as svc
from booking.models import Appointment, AppointmentType, IdempotencyRecord, Slot
from booking.selectors.appointments import appointment_stats, appointments_for_user
from core.errors import DomainError, NotFound, PermissionDenied

router = Router(tags=["appointments"])


# --- schemas --------------------------------------------------------------------------------------


class BookIn(Schema):
    doctor_id: int = Field(..., alias="doctorId")
    schedule_id: int = Field(..., alias="scheduleId", description="the slot to book")
    appointment_type_id: int | None = Field(None, alias="appointmentTypeId")
    patient_id: int | None = Field(None, alias="patientId", description="staff booking on behalf of a patient")
    first_name: str = Field(..., alias="firstName", max_length=150)
    last_name: str = Field(..., alias="lastName", max_length=150)
    phone: str = Field(..., max_length=32)
    email: str = Field(..., max_length=254)
    national_id: str = Field("", alias="nationalId", max_length=32)
    reason: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field("", max_length=1000)


class RescheduleIn(Schema):
    schedule_id: int = Field(..., alias="scheduleId")


class PayIn(Schema):
    gateway: str = "sandbox"
    success_url: str = Field("", alias="successUrl")
    cancel_url: str = Field("", alias="cancelUrl")


class VoucherIn(Schema):
    code: str = Field(..., max_length=40)


class DoctorActionIn(Schema):
    action: Literal["confirm", "decline", "cancel", "complete", "no_show"]
    reason: str = Field("", max_length=1000)


class AdminActionIn(Schema):
    action: Literal["confirm", "cancel"]
    reason: str = Field("", max_length=1000)


class SuggestFollowUpIn(Schema):
    patient_id: int = Field(..., alias="patientId")
    suggested_date: date = Field(..., alias="suggestedDate")
    suggested_time: time | None = Field(None, alias="suggestedTime")
    appointment_type_id: int | None = Field(None, alias="appointmentTypeId")
    notes: str = Field("", max_length=2000)
    parent_id: UUID | None = Field(None, alias="parentId")


class ConfirmFollowUpIn(Schema):
    schedule_id: int | None = Field(None, alias="scheduleId")
    final_date: date | None = Field(None, alias="finalDate")
    final_time: time | None = Field(None, alias="finalTime")


def appointment_out(appointment: Appointment) -> dict:
    zone = appointment.doctor.zone
    local = timezone.localtime(appointment.starts_at, zone) if appointment.starts_at else None
    return {
        "id": str(appointment.public_id),
        "number": appointment.pk,
        "status": appointment.status,
        "statusLabel": str(appointment.get_status_display()),
        "doctor": {"id": appointment.doctor_id, "name": str(appointment.doctor)},
        "patientId": appointment.patient_id,
        "scheduleId": appointment.slot_id,
        "appointmentTypeId": appointment.appointment_type_id,
        "mode": appointment.mode,
        "start": appointment.starts_at.isoformat() if appointment.starts_at else None,
        "end": appointment.ends_at.isoformat() if appointment.ends_at else None,
        "startLocal": local.isoformat() if local else None,
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
        "isFollowUpSuggestion": appointment.is_follow_up_suggestion,
        "suggestedDate": appointment.suggested_date.isoformat() if appointment.suggested_date else None,
        "suggestedTime": appointment.suggested_time.strftime("%H:%M") if appointment.suggested_time else None,
        "followUpDiscountPercent": str(appointment.follow_up_discount_percent),
        "followUpNotes": appointment.follow_up_notes,
        "createdAt": appointment.created_at.isoformat(),
        "updatedAt": appointment.updated_at.isoformat(),
    }


# --- helpers --------------------------------------------------------------------------------------


def _visible(request, public_id: UUID) -> Appointment:
    return get_object_or_404(appointments_for_user(user=request.auth), public_id=public_id)


def _require_role(request, *roles: str) -> None:
    if request.auth.role not in roles:
        raise PermissionDenied(_("Your account cannot do this."))


def idempotent(request, scope: str, handler):
    """Run ``handler`` once per ``Idempotency-Key``: a retry with the same key and body gets the first
    answer (success or domain error) again; the same key with another body is refused."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return handler()
    if len(key) > 255:
        raise DomainError(_("Idempotency-Key is too long."), code="idempotency_key_invalid")
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


# --- patient endpoints ----------------------------------------------------------------------------


@router.post(
    "/appointments",
    summary="Book a slot (holds it until payment)",
    response={201: dict, 409: dict, 400: dict, 403: dict, 404: dict, 422: dict},
)
def book(request, payload: BookIn):
    user = request.auth

    def handler():
        if user.role == "patient":
            patient = user
        elif user.role in {"staff", "admin"} and payload.patient_id:
            patient = get_object_or_404(
                get_user_model().objects.filter(role="patient", is_active=True), pk=payload.patient_id
            )
        else:
            raise PermissionDenied(_("Only patients (or staff on their behalf) can book."))
        slot = Slot.objects.filter(pk=payload.schedule_id, doctor_id=payload.doctor_id).first()
        if slot is None:
            raise NotFound(_("This time slot does not exist."))
        kind = None
        if payload.appointment_type_id:
            kind = get_object_or_404(AppointmentType, pk=payload.appointment_type_id, is_active=True)
        appointment = svc.appointment_book(
            slot=slot,
            patient=patient,
            actor=user,
            appointment_type=kind,
            details=svc.BookingDetails(
                first_name=payload.first_name,
                last_name=payload.last_name,
                phone=payload.phone,
                email=payload.email,
                national_id=payload.national_id,
                reason=payload.reason,
            ),
        )
        return 201, appointment_out(appointment)

    return Status(*idempotent(request, "appointments.book", handler))


@router.get("/appointments", summary="My appointments")
def my_appointments(request, status: str | None = None):
    qs = appointments_for_user(user=request.auth)
    if request.auth.role != "patient":
        qs = qs.filter(patient=request.auth)
    if status:
        qs = qs.filter(status=status)
    return {"results": [appointment_out(a) for a in qs.order_by("-starts_at", "-id")[:200]]}


@router.get("/appointments/all", summary="All appointments (staff and admins)")
def all_appointments(
    request, status: str | None = None, doctor_id: int | None = None, page: int = 1, page_size: int = 50
):
    _require_role(request, "staff", "admin")
    qs = appointments_for_user(user=request.auth).order_by("-starts_at", "-id")
    if status:
        qs = qs.filter(status=status)
    if doctor_id:
        qs = qs.filter(doctor_id=doctor_id)
    page_size = max(1, min(page_size, 200))
    offset = (max(page, 1) - 1) * page_size
    rows = list(qs[offset : offset + page_size + 1])
    return {
        "results": [appointment_out(a) for a in rows[:page_size]],
        "page": page,
        "hasNext": len(rows) > page_size,
    }


@router.get("/stats/appointments", summary="Appointment counts by status")
def stats(request, date_from: date | None = None, date_to: date | None = None, doctor_id: int | None = None):
    _require_role(request, "staff", "admin")
    zone = timezone.get_current_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=zone) if date_from else None
    end = datetime.combine(date_to, time.max, tzinfo=zone) if date_to else None
    return appointment_stats(start=start, end=end, doctor=doctor_id)


@router.get("/appointments/{uuid:public_id}", summary="One appointment")
def get_appointment(request, public_id: UUID):
    return appointment_out(_visible(request, public_id))


@router.post("/appointments/{uuid:public_id}/cancel", summary="Cancel (policy applies)")
def cancel(request, public_id: UUID, payload: ReasonIn):
    appointment = svc.appointment_cancel(
        appointment=_visible(request, public_id), actor=request.auth, reason=payload.reason
    )
    return appointment_out(appointment)


@router.post("/appointments/{uuid:public_id}/reschedule", summary="Move to another free slot")
def reschedule(request, public_id: UUID, payload: RescheduleIn):
    appointment = _visible(request, public_id)
    slot = Slot.objects.filter(pk=payload.schedule_id).first()
    if slot is None:
        raise NotFound(_("This time slot does not exist."))
    return appointment_out(svc.appointment_reschedule(appointment=appointment, new_slot=slot, actor=request.auth))


@router.post(
    "/appointments/{uuid:public_id}/pay",
    summary="Start paying (returns the checkout URL)",
    response={200: dict, 201: dict, 400: dict, 404: dict, 409: dict, 502: dict, 503: dict},
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


@router.post("/appointments/{uuid:public_id}/voucher", summary="Apply a voucher before paying")
def apply_voucher(request, public_id: UUID, payload: VoucherIn):
    appointment = svc.appointment_apply_voucher(
        appointment=_visible(request, public_id), code=payload.code, actor=request.auth
    )
    return appointment_out(appointment)


# --- follow-ups (seed 001) ------------------------------------------------------------------------


@router.post("/appointments/suggest-follow-up", summary="Doctor suggests a follow-up visit", response={201: dict})
def suggest_follow_up(request, payload: SuggestFollowUpIn):
    _require_role(request, "doctor")
    patient = get_object_or_404(get_user_model().objects.filter(role="patient"), pk=payload.patient_id)
    parent = None
    if payload.parent_id:
        parent = get_object_or_404(appointments_for_user(user=request.auth), public_id=payload.parent_id)
    elif not Appointment.objects.filter(doctor__user=request.auth, patient=patient).exists():
        raise NotFound(_("This patient has no appointment with you."))
    kind = get_object_or_404(AppointmentType, pk=payload.appointment_type_id) if payload.appointment_type_id else None
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
    "/appointments/{uuid:public_id}/confirm-follow-up", summary="Patient accepts a follow-up and picks the slot"
)
def confirm_follow_up(request, public_id: UUID, payload: ConfirmFollowUpIn):
    appointment = _visible(request, public_id)
    slots = Slot.objects.filter(doctor_id=appointment.doctor_id)
    if payload.schedule_id:
        slot = slots.filter(pk=payload.schedule_id).first()
    elif payload.final_date and payload.final_time:
        zone = appointment.doctor.zone
        start = datetime.combine(payload.final_date, payload.final_time, tzinfo=zone)
        slot = slots.filter(start=start).first()
    else:
        raise DomainError(_("Choose a time: scheduleId, or finalDate and finalTime."), code="slot_required")
    if slot is None:
        raise NotFound(_("This time slot does not exist."))
    return appointment_out(svc.follow_up_accept(appointment=appointment, slot=slot, actor=request.auth))


@router.post("/appointments/{uuid:public_id}/reject-follow-up", summary="Patient rejects a follow-up")
def reject_follow_up(request, public_id: UUID, payload: ReasonIn):
    appointment = svc.follow_up_reject(
        appointment=_visible(request, public_id), actor=request.auth, reason=payload.reason
    )
    return appointment_out(appointment)


# --- doctor and admin -----------------------------------------------------------------------------


@router.get("/doctor/appointments", summary="The doctor's appointments")
def doctor_appointments(request, status: str | None = None, date_from: date | None = None, date_to: date | None = None):
    _require_role(request, "doctor")
    qs = appointments_for_user(user=request.auth).order_by("starts_at", "id")
    if status:
        qs = qs.filter(status=status)
    zone = request.auth.doctor.zone if hasattr(request.auth, "doctor") else timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(starts_at__gte=datetime.combine(date_from, time.min, tzinfo=zone))
    if date_to:
        qs = qs.filter(starts_at__lte=datetime.combine(date_to, time.max, tzinfo=zone))
    return {"results": [appointment_out(a) for a in qs[:500]]}


@router.patch("/doctor/appointments/{uuid:public_id}", summary="Doctor: confirm, decline, cancel, complete, no-show")
def doctor_update(request, public_id: UUID, payload: DoctorActionIn):
    _require_role(request, "doctor")
    appointment = _visible(request, public_id)
    actor = request.auth
    actions = {
        "confirm": lambda: svc.appointment_confirm(appointment=appointment, actor=actor),
        "decline": lambda: svc.appointment_decline(appointment=appointment, actor=actor, reason=payload.reason),
        "cancel": lambda: svc.appointment_cancel(appointment=appointment, actor=actor, reason=payload.reason),
        "complete": lambda: svc.appointment_complete(appointment=appointment, actor=actor),
        "no_show": lambda: svc.appointment_mark_no_show(appointment=appointment, actor=actor),
    }
    return appointment_out(actions[payload.action]())


@router.patch("/appointments/{uuid:public_id}", summary="Admin: force confirm or cancel")
def admin_update(request, public_id: UUID, payload: AdminActionIn):
    _require_role(request, "admin")
    appointment = _visible(request, public_id)
    if payload.action == "confirm":
        appointment = svc.appointment_force_confirm(appointment=appointment, actor=request.auth)
    else:
        appointment = svc.appointment_cancel(
            appointment=appointment, actor=request.auth, reason=payload.reason, force=True
        )
    return appointment_out(appointment)


# --- payment webhooks -----------------------------------------------------------------------------

webhooks = Router(tags=["payments"], auth=None)


@webhooks.post("/payments/webhooks/{gateway}", summary="Payment gateway callback (signature-verified)")
def payment_webhook(request, gateway: str):
    if gateway not in {"sandbox", "stripe"}:
        raise NotFound(_("Unknown gateway."))
    headers = dict(request.headers.items())
    outcome = svc.payment_webhook_process(gateway=gateway, body=request.body, headers=headers)
    return {"received": True, "outcome": outcome}
