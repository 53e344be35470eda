"""Find a doctor and book: search → month calendar → free slots → details → hold → payment page."""

from __future__ import annotations

import calendar
import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from booking import services as svc
from booking.models import AppointmentType, BookingDefaults, Doctor, Facility, Slot, Specialty
from booking.rules import bookable_doctors_q, bookable_types_q, live_hold_q
from booking.selectors import available_dates, doctor_search, free_slots
from core.dates import weekday_initials
from core.errors import DomainError, InvalidInput
from portal.forms import BookingDetailsForm, DoctorSearchForm
from workflows.operations.selectors import rating_summaries


def doctor_list(request):
    specialties = list(Specialty.objects.filter(is_active=True).order_by("name"))
    facilities = list(Facility.objects.filter(is_active=True).order_by("city", "name"))
    form = DoctorSearchForm(request.GET or None, specialties=specialties, facilities=facilities)
    search = dict.fromkeys(("q", "specialty", "mode", "city", "facility"), "")
    if form.is_valid():
        search.update({name: form.cleaned_data[name] for name in search})
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    results = doctor_search(
        q=search["q"],
        specialty=search["specialty"] or None,
        mode=search["mode"],
        city=search["city"],
        facility=search["facility"] or None,
        page=page_number,
        per_page=10,
    )
    ratings = rating_summaries([doctor.pk for doctor in results.doctors])
    query = {key: value for key, value in search.items() if value}
    return render(
        request,
        "portal/doctor_list.html",
        {
            "form": form,
            "results": results,
            "entries": [(doctor, ratings[doctor.pk]) for doctor in results.doctors],
            "query": urlencode(query),
        },
    )


def _month_grid(year: int, month: int, *, highlighted: set[dt.date], today: dt.date, selected: dt.date | None):
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(
            [
                {
                    "date": day,
                    "in_month": day.month == month,
                    "past": day < today,
                    "free": day in highlighted,
                    "selected": day == selected,
                }
                for day in week
            ]
        )
    return weeks


def _parse_month(value: str | None, fallback: dt.date) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        dt.date(year, month, 1)
        return year, month
    except ValueError:
        return fallback.year, fallback.month


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
def book(request, doctor_id: int):
    """One page for the whole pick: calendar, the chosen day's slots, then the details form."""
    doctor = get_object_or_404(
        Doctor.objects.select_related("user").prefetch_related(
            Prefetch("specialties", queryset=Specialty.objects.filter(is_active=True))
        ),
        bookable_doctors_q(),
        pk=doctor_id,
    )
    now = timezone.now()
    defaults = BookingDefaults.load()
    zone = doctor.zone
    today = timezone.localtime(now, zone).date()
    selected_slot = None
    slot_param = request.POST.get("slot") or request.GET.get("slot")
    if slot_param and slot_param.isdigit():
        selected_slot = (
            Slot.objects.select_related("availability__facility", "availability__room")
            .filter(pk=int(slot_param), doctor=doctor)
            .first()
        )
    selected_date = _parse_date(request.GET.get("date"))
    if selected_slot is not None:
        selected_date = timezone.localtime(selected_slot.start, zone).date()
    if selected_date is None and not request.GET.get("month"):
        # open on the day of the doctor's next free slot
        first = free_slots(
            doctor=doctor, start=now, end=now + dt.timedelta(days=366), now=now, defaults=defaults
        ).first()
        if first is not None:
            selected_date = timezone.localtime(first.start, zone).date()
    year, month = _parse_month(request.GET.get("month"), selected_date or today)
    highlighted = set(available_dates(doctor=doctor, year=year, month=month, now=now, defaults=defaults))
    day_slots = []
    if selected_date is not None:
        start = dt.datetime.combine(selected_date, dt.time.min, tzinfo=zone)
        day_slots = list(
            free_slots(doctor=doctor, start=start, end=start + dt.timedelta(days=1), now=now, defaults=defaults)
        )
    if selected_slot is not None and selected_slot.pk not in {slot.pk for slot in day_slots}:
        if request.user.is_authenticated:
            mine = request.user.appointments.filter(live_hold_q(now=now), slot=selected_slot).first()
            if mine is not None:  # a double submit, or back to a slot the patient already holds
                return redirect("portal:appointment_detail", public_id=mine.public_id)
        messages.warning(request, _("That time is no longer available. Please pick another one."))
        selected_slot = None

    types = list(AppointmentType.objects.filter(bookable_types_q()).order_by("name"))
    form = None
    alternatives = []
    if selected_slot is not None and request.user.is_authenticated and request.user.is_patient:
        form = BookingDetailsForm(request.POST or None, initial=_initial_details(request.user), appointment_types=types)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            kind = next((t for t in types if str(t.pk) == data.get("appointment_type")), None)
            try:
                appointment = svc.appointment_book(
                    slot=selected_slot,
                    patient=request.user,
                    actor=request.user,
                    appointment_type=kind,
                    details=svc.BookingDetails(
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                        phone=data["phone"],
                        email=data["email"],
                        national_id=data["national_id"],
                        reason=data["reason"],
                    ),
                )
            except svc.SlotTaken as exc:
                form.add_error(None, str(exc))
                ids = [alt["id"] for alt in exc.details.get("alternatives", [])]
                alternatives = list(Slot.objects.filter(pk__in=ids).order_by("start"))
            except InvalidInput as exc:
                # each problem at its field (the booking service names them), the rest at the top
                for field, problem in exc.field_errors.items():
                    form.add_error(field if field in form.fields else None, problem)
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("portal:appointment_detail", public_id=appointment.public_id)
    elif request.method == "POST" and selected_slot is not None and not request.user.is_authenticated:
        # not logged in: come back to this slot after signing in
        return redirect(_login_url(request, doctor, selected_slot))

    prev_month = (dt.date(year, month, 1) - dt.timedelta(days=1)).replace(day=1)
    next_month = (dt.date(year, month, 28) + dt.timedelta(days=7)).replace(day=1)
    return render(
        request,
        "portal/book.html",
        {
            "doctor": doctor,
            "zone": zone,
            "weeks": _month_grid(year, month, highlighted=highlighted, today=today, selected=selected_date),
            "month_start": dt.date(year, month, 1),
            "prev_month": prev_month if prev_month >= today.replace(day=1) else None,
            "next_month": next_month,
            "selected_date": selected_date,
            "day_slots": day_slots,
            "selected_slot": selected_slot,
            "form": form,
            "alternatives": alternatives,
            "login_url": _login_url(request, doctor, selected_slot) if selected_slot else None,
            "signup_url": _signup_url(request, doctor, selected_slot) if selected_slot else None,
            "weekday_names": weekday_initials(),
        },
    )


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
