from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.adapter import home_url_for
from booking.models import Appointment, AppointmentStatus
from booking.payments import enabled_gateways, get_gateway
from booking.services.appointments import payment_start
from core.errors import DomainError


@login_required
def home(request):
    """The patient's start page; clinic accounts are sent to their own workspace."""
    if not request.user.is_patient:
        return redirect(home_url_for(request.user))
    return render(request, "portal/home.html", {})


def _own_appointment(request, public_id) -> Appointment:
    # another patient's appointment answers 404, exactly like a missing one
    return get_object_or_404(
        Appointment.objects.select_related("doctor__user", "appointment_type"), public_id=public_id, patient=request.user
    )


@login_required
def appointment_detail(request, public_id):
    appointment = _own_appointment(request, public_id)
    now = timezone.now()
    gateways = [(name, get_gateway(name).label) for name in enabled_gateways()]
    return render(
        request,
        "portal/appointment_detail.html",
        {
            "appointment": appointment,
            "can_pay": appointment.status == AppointmentStatus.PENDING_PAYMENT and appointment.hold_is_live(now),
            "gateways": gateways,
            "payments": appointment.payments.all(),
        },
    )


@login_required
@require_POST
def appointment_pay(request, public_id):
    appointment = _own_appointment(request, public_id)
    detail_url = reverse("portal:appointment_detail", kwargs={"public_id": public_id})
    try:
        payment = payment_start(
            appointment=appointment,
            gateway=request.POST.get("gateway", ""),
            actor=request.user,
            success_url=request.build_absolute_uri(detail_url),
            cancel_url=request.build_absolute_uri(detail_url),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect(detail_url)
    if payment.checkout_url:
        return redirect(payment.checkout_url)
    messages.success(request, _pay_at_clinic_message())
    return redirect(detail_url)


def _pay_at_clinic_message():
    from django.utils.translation import gettext as _

    return _("Please pay at the clinic's front desk when you arrive.")
