"""Payments under /api/v1 (seed 002): the list and one payment, each person's own (patients) or all
(staff and admins); and the gateways' signed callbacks."""

from __future__ import annotations

from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router

from booking import services as svc
from booking.models import Payment, PaymentStatus
from booking.selectors.appointments import payments_for_user
from core.apitypes import ERRORS, DateRangeQuery, ErrorOut, Id, OutSchema, PageOut, Pagination, Text, paginate
from core.errors import NotFound, PermissionDenied

router = Router(tags=["payments"], by_alias=True)
webhooks = Router(tags=["payments"], auth=None, by_alias=True)

#: who may read payments (as in the admin: doctors do not)
PAYMENT_READERS = {"patient", "staff", "admin"}


class RefundOut(OutSchema):
    amount: str
    reason: str
    created_at: str


class PaymentOut(OutSchema):
    id: int
    appointment_id: str = Field(..., description="the appointment's public id")
    appointment_number: int
    doctor_id: int
    patient_id: int
    gateway: str
    amount: str
    refunded_amount: str
    currency: str
    status: str
    status_label: str
    provider_reference: str
    failure_reason: str
    created_at: str
    paid_at: str | None
    refunds: list[RefundOut]


class PaymentPage(PageOut):
    items: list[PaymentOut]


class PaymentFilters(DateRangeQuery):
    """``start_date``/``end_date``: local days (clinic zone) in which the payment was started."""

    status: PaymentStatus | None = None
    gateway: Text | None = Field(None, max_length=16)
    appointment_id: UUID | None = None


class WebhookOut(OutSchema):
    received: bool
    outcome: str = Field(..., description="processed, duplicate or ignored")


def payment_out(payment: Payment) -> dict:
    appointment = payment.appointment
    return {
        "id": payment.pk,
        "appointment_id": str(appointment.public_id),
        "appointment_number": appointment.pk,
        "doctor_id": appointment.doctor_id,
        "patient_id": appointment.patient_id,
        "gateway": payment.gateway,
        "amount": str(payment.amount),
        "refunded_amount": str(payment.refunded_amount),
        "currency": payment.currency,
        "status": payment.status,
        "status_label": str(payment.get_status_display()),
        "provider_reference": payment.provider_reference,
        "failure_reason": payment.failure_reason,
        "created_at": payment.created_at.isoformat(),
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
        "refunds": [
            {"amount": str(r.amount), "reason": r.reason, "created_at": r.created_at.isoformat()}
            for r in payment.refunds.all()
        ],
    }


def _readable(request):
    if request.auth.role not in PAYMENT_READERS:
        raise PermissionDenied(_("Your account cannot see payments."))
    return payments_for_user(user=request.auth)


@router.get(
    "/payments",
    summary="Payments: your own (patients) or all (staff and admins)",
    response={200: PaymentPage, **ERRORS},
)
def payment_list(request, filters: Query[PaymentFilters], page: Query[Pagination]):
    qs = _readable(request)
    start, end = filters.bounds(timezone.get_current_timezone())
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.gateway:
        qs = qs.filter(gateway=filters.gateway)
    if filters.appointment_id:
        qs = qs.filter(appointment__public_id=filters.appointment_id)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    return paginate(qs.order_by("-created_at", "-id"), page, payment_out)


@router.get("/payments/{int:payment_id}", summary="One payment", response={200: PaymentOut, **ERRORS})
def payment_detail(request, payment_id: Id):
    payment = _readable(request).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(_("Payment not found."))
    return payment_out(payment)


@webhooks.post(
    "/payments/webhooks/{gateway}",
    summary="Payment gateway callback (signature-verified)",
    description="Bodies over the upload limit answer 413; a bad signature 400; a gateway that is not "
    "configured 503.",
    response={200: WebhookOut, 502: ErrorOut, 503: ErrorOut, **ERRORS},
)
def payment_webhook(request, gateway: str):
    if gateway not in {"sandbox", "stripe"}:
        raise NotFound(_("Unknown gateway."))
    headers = dict(request.headers.items())
    outcome = svc.payment_webhook_process(gateway=gateway, body=request.body, headers=headers)
    return {"received": True, "outcome": outcome}
