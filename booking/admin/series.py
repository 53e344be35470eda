"""Series of visits in the admin (issue 17 item 4): book a series in one step with a preview of every
date (``/admin/booking/appointmentseries/book/``), and list the series with their visits. Staff and
admins book for any doctor, a doctor in their own diary (``rules.series_booking_refusal``); each visit
is then an ordinary appointment, moved or cancelled on its page (alone, or "this and following").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextareaWidget

from accounts.models import Role
from booking import rules
from booking import services as svc
from booking.admin.appointments import _patient_row
from booking.admin.scheduling import is_doctor_user, own_doctor
from booking.models import MAX_SERIES_VISITS, OPEN_STATUSES, AppointmentSeries, AppointmentType, Doctor, Slot
from booking.slotting import resolve_local
from core.admin_actions import find
from core.errors import DomainError

CLINIC_BOOKERS = {Role.STAFF, Role.ADMIN}


class SeriesForm(forms.Form):
    """What the series is: who, with whom, from when, how many, how often. Parsing only; the rules are
    the services' (``series_preview``, ``series_book``)."""

    patient = forms.ModelChoiceField(
        label=gettext_lazy("Patient"),
        queryset=get_user_model().objects.filter(role="patient", is_active=True),
        widget=forms.HiddenInput,
        error_messages={"required": gettext_lazy("Pick a patient.")},
    )
    doctor = forms.ModelChoiceField(
        label=gettext_lazy("Doctor"), queryset=Doctor.objects.none(), widget=UnfoldAdminSelectWidget
    )
    first_date = forms.DateField(label=gettext_lazy("First visit"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label=gettext_lazy("Time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    count = forms.IntegerField(label=gettext_lazy("Number of visits"), min_value=2, max_value=MAX_SERIES_VISITS)
    interval_weeks = forms.TypedChoiceField(
        label=gettext_lazy("Repeat"),
        coerce=int,
        choices=[
            (1, gettext_lazy("Every week")),
            (2, gettext_lazy("Every 2 weeks")),
            (3, gettext_lazy("Every 3 weeks")),
            (4, gettext_lazy("Every 4 weeks")),
        ],
        widget=UnfoldAdminSelectWidget,
    )
    appointment_type = forms.ModelChoiceField(
        label=gettext_lazy("Visit type"),
        queryset=AppointmentType.objects.filter(rules.bookable_types_q()),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    phone = forms.CharField(label=gettext_lazy("Phone for these visits"), max_length=32, required=False)
    reason = forms.CharField(
        label=gettext_lazy("Reason for visit"),
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 2}),
        required=False,
        max_length=2000,
    )

    def __init__(self, *args, doctors, patients, pick_from_list: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = doctors
        self.fields["patient"].queryset = patients
        if pick_from_list:  # a doctor picks among their own patients (no clinic-wide search)
            self.fields["patient"].widget = UnfoldAdminSelectWidget(choices=[])
            self.fields["patient"].label_from_instance = lambda user: (
                f"{user.last_name} {user.first_name}".strip() or user.email
            )
            self.fields["patient"].widget.choices = self.fields["patient"].choices

    def first_start(self) -> dt.datetime:
        data = self.cleaned_data
        return resolve_local(data["first_date"], data["time"], data["doctor"].zone)


@admin.register(AppointmentSeries)
class AppointmentSeriesAdmin(ModelAdmin):
    list_display = ("number", "patient_name", "doctor", "visit_count", "interval_weeks", "created_by", "created_at")
    list_select_related = ("doctor__user", "patient", "created_by")
    list_filter = ("doctor",)
    search_fields = ("patient__last_name", "patient__first_name", "patient__email", "=id")
    readonly_fields = ("doctor", "patient", "interval_weeks", "planned_count", "created_by", "created_at", "visits")
    fields = readonly_fields

    def get_queryset(self, request):
        qs = (
            super()
            .get_queryset(request)
            .annotate(open_visits=Count("visits", filter=Q(visits__status__in=OPEN_STATUSES)))
        )
        if is_doctor_user(request):
            return qs.filter(doctor__user=request.user)
        return qs

    def has_add_permission(self, request):
        return self._may_book(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # visits are kept; cancel them instead

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:booking_appointmentseries_book"))

    @display(description=gettext_lazy("Series"))
    def number(self, obj):
        return f"#{obj.pk}"

    @display(description=gettext_lazy("Patient"))
    def patient_name(self, obj):
        return f"{obj.patient.last_name} {obj.patient.first_name}".strip() or obj.patient.email

    @display(description=gettext_lazy("Open visits"))
    def visit_count(self, obj):
        return obj.open_visits

    @display(description=gettext_lazy("Visits"))
    def visits(self, obj):
        rows = obj.visits.order_by("starts_at", "pk")
        return format_html(
            "<ul class='flex flex-col gap-1'>{}</ul>",
            format_html_join(
                "",
                "<li><a class='text-primary-600 underline' href='{}'>{}</a> · {}</li>",
                (
                    (
                        reverse("admin:booking_appointment_change", args=[visit.pk]),
                        timezone.localtime(visit.starts_at).strftime("%d/%m/%Y %H:%M"),
                        visit.get_status_display(),
                    )
                    for visit in rows
                ),
            ),
        )

    # --- booking a series ---
    def _may_book(self, request) -> bool:
        user = request.user
        if user.role in CLINIC_BOOKERS:
            return user.has_perm("booking.add_appointment")
        return is_doctor_user(request) and own_doctor(request) is not None

    def _doctors(self, request):
        doctors = Doctor.objects.filter(rules.bookable_doctors_q()).select_related("user").order_by("pk")
        if is_doctor_user(request):
            return doctors.filter(user=request.user)
        return doctors

    def get_urls(self):
        return [
            path("book/", self.admin_site.admin_view(self.book_view), name="booking_appointmentseries_book"),
            *super().get_urls(),
        ]

    def book_view(self, request):
        """Step 1: the series (patient, doctor, first date and time, how many, how often) → Preview.
        Step 2: for each visit the free slot at that time, or "taken" with the nearest free times that
        day (or skip it) → Book: all chosen visits at once, or none (the error names each one)."""
        if not self._may_book(request):
            raise Http404
        doctors = self._doctors(request)
        source = request.POST if request.method == "POST" else None
        initial = {"count": 8, "interval_weeks": 1, "patient": request.GET.get("patient", "")}
        if is_doctor_user(request):
            initial["doctor"] = own_doctor(request)
        doctor_user = is_doctor_user(request)
        form = SeriesForm(
            source,
            initial=initial,
            doctors=doctors,
            patients=rules.series_patients(actor=request.user).order_by("last_name", "first_name", "pk"),
            pick_from_list=doctor_user,
        )
        preview = None
        if source is not None and form.is_valid():
            data = form.cleaned_data
            if request.POST.get("step") == "book":
                series = self._book(request, form)
                if series is not None:
                    messages.success(
                        request,
                        _("Booked %(count)s visits for %(patient)s.")
                        % {"count": series.visits.count(), "patient": _patient_row(data["patient"])["name"]},
                    )
                    return redirect(reverse("admin:booking_appointmentseries_change", args=[series.pk]))
            try:
                preview = svc.series_preview(
                    doctor=data["doctor"],
                    first_start=form.first_start(),
                    count=data["count"],
                    interval_weeks=data["interval_weeks"],
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
        patient = None
        wanted = (source or {}).get("patient") or request.GET.get("patient")
        if wanted:
            patient = find(form.fields["patient"].queryset.select_related("patient_profile"), wanted)
        zone = form.cleaned_data["doctor"].zone if preview is not None else None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Book a series of visits"),
            "opts": self.opts,
            "form": form,
            "preview": [self._row(item, zone, request) for item in preview] if preview is not None else None,
            "free_count": sum(1 for item in preview or [] if item.free),
            "chosen_patient": _patient_row(patient) if patient else None,
            "search_url": "" if doctor_user else reverse("admin:booking_appointment_book_patients"),
        }
        return TemplateResponse(request, "admin/booking/appointmentseries/book.html", context)

    @staticmethod
    def _row(item, zone, request) -> dict:
        def local(slot):
            return timezone.localtime(slot.start, zone)

        chosen = request.POST.get(f"visit_{item.number}") if request.POST.get("step") == "book" else None
        return {
            "number": item.number,
            "wanted": timezone.localtime(item.wanted, zone),
            "slot": item.slot,
            "published": item.published,
            "local": local(item.slot) if item.slot else None,
            "alternatives": [{"slot": slot, "local": local(slot)} for slot in item.alternatives],
            "chosen": chosen,
        }

    def _book(self, request, form):
        data = form.cleaned_data
        ids = []
        for key, value in request.POST.items():
            if key.startswith("visit_") and value and value != "skip":
                try:
                    ids.append(int(value))
                except ValueError:
                    continue
        slots = list(Slot.objects.filter(pk__in=ids))
        if len(slots) < 2:
            form.add_error(None, _("Pick at least two visits to book a series."))
            return None
        details = svc.BookingDetails.from_patient(data["patient"], reason=data["reason"])
        if data["phone"]:
            details = replace(details, phone=data["phone"])
        try:
            return svc.series_book(
                doctor=data["doctor"],
                patient=data["patient"],
                actor=request.user,
                slots=slots,
                details=details,
                appointment_type=data["appointment_type"],
                interval_weeks=data["interval_weeks"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
            return None
