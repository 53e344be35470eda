"""The patient's waitlists: join a doctor's, see offers of freed times, accept (then pay) or decline."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.family import dependant_of, dependants_of
from booking import services as svc
from booking.models import Doctor
from booking.rules import bookable_doctors_q, speaks_for
from core.errors import DomainError
from portal.forms import WaitlistForm
from portal.views import patient_required
from workflows.operations.models import SlotOffer, WaitlistEntry
from workflows.operations.selectors import patient_waitlist
from workflows.operations.services import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
)


@patient_required
def waitlist(request):
    profile = getattr(request.user, "patient_profile", None)
    context = {"entries": patient_waitlist(request.user), "phone": getattr(profile, "phone", "")}
    return render(request, "portal/waitlist.html", context)


@patient_required
@require_http_methods(["GET", "POST"])
def waitlist_join_view(request, doctor_id: int):
    doctor = get_object_or_404(Doctor.objects.select_related("user").filter(bookable_doctors_q()), pk=doctor_id)
    today = timezone.now().astimezone(doctor.zone).date()
    # "who is this for?", as when booking: the account holder or one of their family members
    family = list(dependants_of(request.user)) if request.user.guardian_id is None else []
    form = WaitlistForm(
        request.POST or None,
        initial={"date_from": today, "date_to": today + dt.timedelta(days=14), "part_of_day": "any", "mode": "either"},
        family=family,
        holder=request.user,
    )
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        member = values.pop("patient", "")
        try:
            patient = dependant_of(request.user, member) if member else request.user
            waitlist_join(patient=patient, doctor=doctor, actor=request.user, **values)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("You are on the waitlist. We will offer you a time as soon as one frees up."))
            return redirect("portal:waitlist")
    return render(request, "portal/waitlist_join.html", {"doctor": doctor, "form": form})


@patient_required
@require_POST
def waitlist_leave_view(request, entry_id: int):
    entry = get_object_or_404(WaitlistEntry.objects.select_related("patient"), pk=entry_id)
    if not speaks_for(user=request.user, patient=entry.patient):
        raise Http404  # another patient's entry answers like a missing one
    waitlist_leave(entry=entry, actor=request.user)
    messages.success(request, _("You left the waitlist."))
    return redirect("portal:waitlist")


def _own_offer(request, offer_id: int) -> SlotOffer:
    offer = SlotOffer.objects.select_related("entry__patient", "slot").filter(pk=offer_id).first()
    if offer is None or not speaks_for(user=request.user, patient=offer.entry.patient):
        raise Http404  # another patient's offer answers like a missing one
    return offer


@patient_required
@require_POST
def offer_accept(request, offer_id: int):
    offer = _own_offer(request, offer_id)
    details = svc.BookingDetails.from_patient(offer.entry.patient)  # a dependant's: the holder's contact
    phone = request.POST.get("phone", "").strip()
    if phone:  # the form asks for it when the profile has none
        details = dataclasses.replace(details, phone=phone)
    try:
        appointment = waitlist_offer_accept(offer=offer, patient=request.user, details=details)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("portal:waitlist")
    messages.success(request, _("The time is yours. Pay now to confirm it."))
    return redirect("portal:appointment_detail", public_id=appointment.public_id)


@patient_required
@require_POST
def offer_decline(request, offer_id: int):
    offer = _own_offer(request, offer_id)
    try:
        waitlist_offer_decline(offer=offer, patient=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Declined. You stay on the waitlist for another time."))
    return redirect("portal:waitlist")
