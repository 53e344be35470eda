"""Book a doctor: week picker → the time's change rules and details → hold → payment page. (Finding a
doctor is the public site's directory: ``cms``; ``/portal/doctors/`` leads there.)"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.family import dependant_of, dependants_of
from booking import services as svc
from booking.models import Appointment, AppointmentType, BookingDefaults, Doctor, Slot, Specialty
from booking.rules import bookable_doctors_q, bookable_types_q, live_hold_q, visibility_q
from core.errors import DomainError, InvalidInput
from portal.forms import BookingDetailsForm
from portal.picker import build_picker, offered_alternatives, parse_day, policy_text, slot_is_free, when_text


def _doctor_slot(doctor: Doctor, value: str | None) -> Slot | None:
    if not value or not value.isdigit():
        return None
    return (
        Slot.objects.select_related("availability__facility", "availability__room")
        .filter(pk=int(value), doctor=doctor)
        .first()
    )


def _kept_details(data, fields) -> dict:
    """What the patient typed, to show again while they choose another time."""
    return {name: data.get(name, "") for name in fields}


@require_http_methods(["GET", "POST"])
def book(request, doctor_id: int):
    """One page for the whole pick: the week picker, then the chosen time with its change rules and
    the details form. A time taken by someone else meanwhile keeps the patient on this page with
    what they typed and the nearest free times as buttons (``choose_slot`` re-renders, never books)."""
    doctor = get_object_or_404(
        Doctor.objects.select_related("user").prefetch_related(
            Prefetch("specialties", queryset=Specialty.objects.filter(is_active=True))
        ),
        bookable_doctors_q(),
        pk=doctor_id,
    )
    now = timezone.now()
    defaults = BookingDefaults.load()
    posted = request.method == "POST"
    choosing = posted and bool(request.POST.get("choose_slot"))
    is_patient = request.user.is_authenticated and request.user.is_patient
    selected_slot = _doctor_slot(
        doctor, request.POST.get("choose_slot") or request.POST.get("slot") or request.GET.get("slot")
    )
    if (
        selected_slot is not None
        and (choosing or not posted)
        and not slot_is_free(selected_slot, now=now, defaults=defaults)
    ):
        if is_patient:  # their own holds and their family members'
            mine = Appointment.objects.filter(
                visibility_q(user=request.user), live_hold_q(now=now), slot=selected_slot
            ).first()
            if mine is not None:  # a double submit, or back to a slot the patient already holds
                return redirect("portal:appointment_detail", public_id=mine.public_id)
        messages.warning(request, _("That time is no longer available. Please pick another one."))
        selected_slot = None

    types = list(AppointmentType.objects.filter(bookable_types_q()).order_by("name"))
    # the family members this account books for ("who is this visit for?")
    family = list(dependants_of(request.user)) if is_patient and request.user.guardian_id is None else []
    form_options = {"appointment_types": types, "family": family, "holder": request.user}
    form = None
    taken = None  # the time someone else got between page load and submit
    alternatives = []
    if is_patient and (selected_slot is not None or posted):
        if posted and not choosing:
            form = BookingDetailsForm(request.POST, **form_options)
            if form.is_valid() and selected_slot is None:
                form.add_error(None, _("Please pick a time."))
            elif form.is_valid():
                try:
                    appointment = _book(request, form, selected_slot, types)
                except svc.SlotTaken as exc:
                    taken, selected_slot = selected_slot, None
                    alternatives = offered_alternatives(exc, doctor=doctor)
                except InvalidInput as exc:
                    # each problem at its field (the booking service names them), the rest at the top
                    for name, problem in exc.field_errors.items():
                        form.add_error(name if name in form.fields else None, problem)
                except DomainError as exc:
                    form.add_error(None, str(exc))
                else:
                    return redirect("portal:appointment_detail", public_id=appointment.public_id)
        elif posted:
            form = BookingDetailsForm(
                initial=_kept_details(request.POST, [*BookingDetailsForm.base_fields, "patient"]), **form_options
            )
        else:
            form = BookingDetailsForm(initial=_initial_details(request.user), **form_options)
    elif posted and selected_slot is not None and not request.user.is_authenticated:
        # not logged in: come back to this slot after signing in
        return redirect(_login_url(request, doctor, selected_slot))

    focus = parse_day(request.GET.get("day") or request.GET.get("date"))
    if taken is not None:
        focus = timezone.localtime(taken.start).date()
    picker = build_picker(doctor=doctor, now=now, selected=selected_slot, focus=focus, defaults=defaults)
    policy = (
        policy_text(starts_at=selected_slot.start, now=now, doctor=doctor, defaults=defaults)
        if selected_slot is not None
        else None
    )
    return render(
        request,
        "portal/book.html",
        {
            "doctor": doctor,
            "picker": picker,
            "selected_slot": selected_slot,
            "policy": policy,
            "form": form,
            "taken": taken,
            "taken_text": when_text(taken.start) if taken is not None else "",
            "alternatives": alternatives,
            "login_url": _login_url(request, doctor, selected_slot) if selected_slot else None,
            "signup_url": _signup_url(request, doctor, selected_slot) if selected_slot else None,
            "family": family,
        },
    )


def _book(request, form, slot, types):
    data = form.cleaned_data
    kind = next((t for t in types if str(t.pk) == data.get("appointment_type")), None)
    details = svc.BookingDetails(
        first_name=data["first_name"],
        last_name=data["last_name"],
        phone=data["phone"],
        email=data["email"],
        national_id=data["national_id"],
        reason=data["reason"],
    )
    patient = request.user
    if data.get("patient"):
        # a family member's visit: their name and ID from their record, the holder's contact details
        patient = dependant_of(request.user, data["patient"])
        own = svc.BookingDetails.from_patient(patient)
        details = svc.BookingDetails(
            first_name=own.first_name,
            last_name=own.last_name,
            phone=data["phone"],
            email=data["email"],
            national_id=own.national_id,
            reason=data["reason"],
        )
    return svc.appointment_book(slot=slot, patient=patient, actor=request.user, appointment_type=kind, details=details)


def _return_path(doctor, slot) -> str:
    path = reverse("portal:book", kwargs={"doctor_id": doctor.pk})
    return f"{path}?{urlencode({'slot': slot.pk})}" if slot else path


def _login_url(request, doctor, slot) -> str:
    return f"{reverse('account_login')}?{urlencode({'next': _return_path(doctor, slot)})}"


def _signup_url(request, doctor, slot) -> str:
    return f"{reverse('account_signup')}?{urlencode({'next': _return_path(doctor, slot)})}"


def _initial_details(user) -> dict:
    profile = getattr(user, "patient_profile", None)
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "phone": getattr(profile, "phone", ""),
        "national_id": getattr(profile, "national_id", ""),
    }
