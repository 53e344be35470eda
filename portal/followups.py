"""Follow-up suggestions (seed 001): schedule (pick a time in the portal's picker, which pre-selects the
doctor's suggestion, at the discounted price), reject, details."""

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
from booking.selectors.appointments import nearest_free_slots
from booking.slotting import resolve_local
from core.dates import short_day_text
from core.errors import DomainError
from portal.forms import ReasonForm
from portal.picker import build_picker, offered_alternatives, parse_day, policy_text, slot_is_free, when_text
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


def _suggested_moment(suggestion) -> dt.datetime | None:
    """The doctor's suggested date and time (09:00 when only a date was given), in the doctor's zone."""
    if not suggestion.suggested_date:
        return None
    return resolve_local(suggestion.suggested_date, suggestion.suggested_time or dt.time(9), suggestion.doctor.zone)


@patient_required
@require_http_methods(["GET", "POST"])
def follow_up_schedule(request, public_id):
    """Pick the final time in the picker, which opens on the free time closest to the doctor's
    suggestion; the patient confirms it (POST): the slot is held and the payment page shows the
    discounted price."""
    suggestion = _own_suggestion(request, public_id)
    if suggestion.status != S.PENDING_PATIENT_CONFIRMATION:
        return redirect("portal:appointment_detail", public_id=public_id)
    now = timezone.now()
    defaults = BookingDefaults.load()
    slots = Slot.objects.select_related("availability__facility", "availability__room", "doctor").filter(
        doctor_id=suggestion.doctor_id
    )
    value = request.POST.get("slot") if request.method == "POST" else request.GET.get("slot")
    chosen = slots.filter(pk=value).first() if (value or "").isdigit() else None
    taken, alternatives = None, []  # a time someone else got between the pick and the confirmation
    if request.method == "POST":
        if chosen is None:
            messages.error(request, _("Please pick a time."))
        else:
            try:
                svc.follow_up_accept(appointment=suggestion, slot=chosen, actor=request.user)
            except svc.SlotTaken as exc:
                taken, chosen = chosen, None
                alternatives = offered_alternatives(exc, doctor=suggestion.doctor)
            except DomainError as exc:
                messages.error(request, str(exc))
                chosen = None
            else:
                messages.success(request, _("Time reserved. Pay now to confirm your follow-up visit."))
                return redirect("portal:appointment_detail", public_id=public_id)
    elif chosen is not None and not slot_is_free(chosen, now=now, defaults=defaults):
        messages.warning(request, _("That time is no longer available. Please pick another one."))
        chosen = None
    suggested = _suggested_moment(suggestion)
    focus = parse_day(request.GET.get("day"))
    if taken is not None:  # the picker opens on the lost time's week, beside the offered times
        focus = timezone.localtime(taken.start).date()
    chosen_is_suggested = False
    if chosen is None and focus is None and request.method == "GET" and suggested is not None:
        nearest = nearest_free_slots(doctor=suggestion.doctor, around=max(suggested, now), now=now, limit=1)
        if nearest:
            chosen, chosen_is_suggested = nearest[0], True
    picker = build_picker(doctor=suggestion.doctor, now=now, selected=chosen, focus=focus, defaults=defaults)
    discounted = follow_up_price(price=suggestion.price, percent=suggestion.follow_up_discount_percent)
    return render(
        request,
        "portal/follow_up_schedule.html",
        {
            "suggestion": suggestion,
            "picker": picker,
            "chosen": chosen,
            "chosen_text": when_text(chosen.start) if chosen else "",
            "chosen_is_suggested": chosen_is_suggested,
            "taken": taken,
            "taken_text": when_text(taken.start) if taken is not None else "",
            "alternatives": alternatives,
            "suggested_text": when_text(suggested) if suggestion.suggested_time else _date_text(suggestion),
            "policy": policy_text(starts_at=chosen.start, now=now, doctor=suggestion.doctor, defaults=defaults)
            if chosen
            else None,
            "discounted_price": discounted,
        },
    )


def _date_text(suggestion) -> str:
    return short_day_text(suggestion.suggested_date)


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
