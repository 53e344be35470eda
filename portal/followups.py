"""Follow-up suggestions (seed 001): schedule (pick a slot at the discounted price), reject, details."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from booking import services as svc
from booking.models import AppointmentStatus, BookingDefaults, Slot
from booking.rules import follow_up_price
from booking.selectors import free_slots
from core.errors import DomainError
from portal.forms import ReasonForm
from portal.views import patient_required

S = AppointmentStatus


def _suggestions(request):
    return request.user.appointments.filter(is_follow_up_suggestion=True).select_related(
        "doctor__user", "appointment_type", "parent"
    )


def _own_suggestion(request, public_id):
    return get_object_or_404(_suggestions(request), public_id=public_id)


@patient_required
def follow_up_list(request):
    rows = list(_suggestions(request).order_by("-created_at")[:100])
    for row in rows:
        row.discounted_price = follow_up_price(price=row.price, percent=row.follow_up_discount_percent)
    open_rows = [row for row in rows if row.status == S.PENDING_PATIENT_CONFIRMATION]
    closed_rows = [row for row in rows if row.status != S.PENDING_PATIENT_CONFIRMATION]
    return render(request, "portal/follow_ups.html", {"open": open_rows, "closed": closed_rows})


@patient_required
@require_http_methods(["GET", "POST"])
def follow_up_schedule(request, public_id):
    """Pick the final time: the slot is held and the payment page shows the discounted price."""
    suggestion = _own_suggestion(request, public_id)
    if suggestion.status != S.PENDING_PATIENT_CONFIRMATION:
        return redirect("portal:appointment_detail", public_id=public_id)
    now = timezone.now()
    if request.method == "POST":
        slot = Slot.objects.filter(pk=request.POST.get("slot") or 0, doctor_id=suggestion.doctor_id).first()
        if slot is None:
            messages.error(request, _("Please pick a time."))
        else:
            try:
                svc.follow_up_accept(appointment=suggestion, slot=slot, actor=request.user)
            except DomainError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Time reserved. Pay now to confirm your follow-up visit."))
                return redirect("portal:appointment_detail", public_id=public_id)
    zone = suggestion.doctor.zone
    start = now
    if suggestion.suggested_date:
        start = max(
            now, dt.datetime.combine(suggestion.suggested_date, dt.time.min, tzinfo=zone) - dt.timedelta(days=3)
        )
    options = list(
        free_slots(
            doctor=suggestion.doctor,
            start=start,
            end=start + dt.timedelta(days=21),
            now=now,
            defaults=BookingDefaults.load(),
        )[:200]
    )
    days: dict[dt.date, list[Slot]] = {}
    for slot in options:
        days.setdefault(timezone.localtime(slot.start).date(), []).append(slot)
    discounted = follow_up_price(price=suggestion.price, percent=suggestion.follow_up_discount_percent)
    return render(
        request,
        "portal/follow_up_schedule.html",
        {"suggestion": suggestion, "days": days, "discounted_price": discounted},
    )


@patient_required
@require_http_methods(["GET", "POST"])
def follow_up_reject(request, public_id):
    suggestion = _own_suggestion(request, public_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            svc.follow_up_reject(appointment=suggestion, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("You declined the follow-up. Your doctor has been told."))
        return redirect("portal:follow_ups")
    return render(request, "portal/follow_up_reject.html", {"suggestion": suggestion, "form": form})
