"""The sandbox gateway's checkout page: Pay / Decline post a signed event through the same
verification and processing code as a real gateway's webhook."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from booking.models import Payment, PaymentStatus
from booking.payments import sandbox, sandbox_enabled
from booking.rules import speaks_for
from booking.services import payment_webhook_process
from core.errors import DomainError


@login_required
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request, reference: str):
    if not sandbox_enabled():
        raise Http404("The sandbox gateway is not enabled.")  # no test checkout on a real clinic's site
    payment = get_object_or_404(
        Payment.objects.select_related("appointment__doctor__user", "appointment__patient"),
        gateway="sandbox",
        provider_reference=reference,
    )
    appointment = payment.appointment
    if not speaks_for(user=request.user, patient=appointment.patient):  # the patient, or their account holder
        raise Http404
    if request.method == "POST" and payment.status == PaymentStatus.PENDING:
        outcome = "succeeded" if request.POST.get("action") == "pay" else "failed"
        body = sandbox.build_event(payment=payment, outcome=outcome)
        try:
            payment_webhook_process(
                gateway="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)}
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            payment.refresh_from_db()
            appointment.refresh_from_db()
            if payment.status == PaymentStatus.SUCCEEDED:
                messages.success(request, _("Payment received. Thank you!"))
            elif payment.status == PaymentStatus.REFUNDED:
                messages.warning(
                    request, _("The time reserved for you ran out and the slot was taken; your payment was refunded.")
                )
            else:
                messages.error(request, _("The payment was declined and the time slot has been released."))
        return redirect("portal:appointment_detail", public_id=appointment.public_id)
    return render(
        request,
        "portal/sandbox_checkout.html",
        {"payment": payment, "appointment": appointment, "now": timezone.now()},
    )
